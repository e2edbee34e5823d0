"""The shared client plumbing: error bodies of every shape, transport failures, helpers."""

from __future__ import annotations

import socket
import time
from decimal import Decimal

import pytest
from werkzeug.wrappers import Response

from django_imageops.vendors import (
    AuthenticationError,
    ImageUpload,
    InvalidImage,
    InvalidRequest,
    NotFound,
    RateLimited,
    VendorError,
    VendorUnavailable,
)
from django_imageops.vendors.base import (
    BaseClient,
    parse_decimal,
    parse_retry_after,
    require_int,
    sniff_image_type,
)
from tests.conftest import make_image

from .fakes import FakeServer


def test_image_upload_coerce_sniffs_type_and_names_the_file():
    upload = ImageUpload.coerce(make_image(fmt="JPEG"))
    assert (upload.filename, upload.content_type) == ("image.jpg", "image/jpeg")
    named = ImageUpload.coerce(ImageUpload(make_image(), filename="cat.png"))
    assert named.as_multipart()[0::2] == ("cat.png", "image/png")
    assert sniff_image_type(make_image(fmt="WEBP")) == ("image/webp", "webp")
    assert sniff_image_type(b"garbage") == ("application/octet-stream", "bin")


def test_parse_helpers():
    assert parse_decimal("12") == Decimal(12)
    assert parse_decimal(" 0.5 ") == Decimal("0.5")
    assert parse_decimal(None) is None
    assert parse_decimal("n/a") is None
    assert parse_retry_after("7") == 7.0
    assert parse_retry_after(None) is None
    http_date = time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(time.time() + 30))
    assert 25 <= parse_retry_after(http_date) <= 31


def test_require_int_rejects_bools_floats_and_out_of_range():
    assert require_int("left", 5, maximum=10) == 5
    for bad in (True, 1.5, "3", None):
        with pytest.raises(InvalidRequest, match="left must be an integer"):
            require_int("left", bad)
    with pytest.raises(InvalidRequest, match="at most 10"):
        require_int("left", 11, maximum=10)
    with pytest.raises(InvalidRequest, match="at least 0"):
        require_int("x", -1, minimum=0)
    # It is an InvalidImage (jobs fail it, not retry) and a ValueError (plain callers).
    assert issubclass(InvalidRequest, InvalidImage)
    assert issubclass(InvalidRequest, ValueError)
    assert not InvalidRequest.retryable


@pytest.mark.parametrize(
    ("status", "exception", "retryable"),
    [
        (400, InvalidImage, False),
        (401, AuthenticationError, False),
        (403, AuthenticationError, False),
        (404, NotFound, False),
        (422, InvalidImage, False),
        (429, RateLimited, True),
        (500, VendorUnavailable, True),
        (502, VendorUnavailable, True),
        (418, VendorError, False),
    ],
)
def test_status_maps_to_the_hierarchy_even_with_an_html_body(status, exception, retryable):
    html = "<html><head><title>Bad Gateway</title></head><body><h1>nginx says no</h1></body></html>"
    with FakeServer(lambda request: Response(html, status, content_type="text/html")) as server:
        client = BaseClient(server.url)
        with pytest.raises(exception) as caught:
            client.check(client.send("GET", client.url("x")))
    error = caught.value
    assert type(error) is exception
    assert error.status_code == status
    assert error.retryable is retryable
    assert "non-JSON body (text/html" in error.message
    assert "nginx says no" in error.message
    assert "<h1>" not in error.message


def test_empty_error_body_says_so():
    with FakeServer(lambda request: Response(b"", 503)) as server:
        client = BaseClient(server.url)
        with pytest.raises(VendorUnavailable, match=r"empty body \(HTTP 503"):
            client.check(client.send("GET", client.url("x")))


def test_retry_after_header_is_read():
    def answer(request):
        return Response('{"error": "slow down"}', 429, {"Retry-After": "12"}, "application/json")

    with FakeServer(answer) as server:
        client = BaseClient(server.url)
        with pytest.raises(RateLimited) as caught:
            client.check(client.send("GET", client.url("x")))
    assert caught.value.retry_after == 12.0
    assert caught.value.message == "slow down"


def test_connection_refused_is_vendor_unavailable():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    client = BaseClient(f"http://127.0.0.1:{port}", timeout=(1, 1))
    with pytest.raises(VendorUnavailable, match="connection failed") as caught:
        client.send("GET", client.url("x"))
    assert caught.value.status_code is None
    assert caught.value.retryable


def test_read_timeout_is_vendor_unavailable():
    def slow(request):
        time.sleep(1.5)
        return Response("late")

    with FakeServer(slow) as server:
        client = BaseClient(server.url, timeout=(1, 0.3))
        started = time.monotonic()
        with pytest.raises(VendorUnavailable, match="within the timeout"):
            client.send("GET", client.url("x"))
        assert time.monotonic() - started < 1.4


def test_success_that_is_not_a_file_or_not_json_is_a_clear_error():
    with FakeServer(
        lambda request: Response("<html>maintenance</html>", 200, content_type="text/html")
    ) as server:
        client = BaseClient(server.url)
        response = client.send("GET", client.url("x"))
        with pytest.raises(VendorUnavailable, match="expected a file, got non-JSON body"):
            client.expect_image(response)
        with pytest.raises(VendorUnavailable, match=r"expected a JSON object.*maintenance"):
            client.expect_json(response)
