"""PixlabClient against the sandbox over real HTTP, plus PixLab's JSON errors inside HTTP 200."""

from __future__ import annotations

import io
import json

import pytest
from django.conf import settings
from PIL import Image
from werkzeug.wrappers import Response

from django_imageops.vendors import (
    AuthenticationError,
    InsufficientCredits,
    InvalidImage,
    InvalidRequest,
    RateLimited,
    VendorUnavailable,
)
from django_imageops.vendors.pixlab import PixlabClient
from tests.conftest import make_image

from .fakes import FakeServer


@pytest.fixture
def client(sandbox):
    return PixlabClient("sandbox", f"{settings.SANDBOX_URL}/pixlab", timeout=(2, 30))


def quadrants(width=80, height=60) -> bytes:
    """A PNG with four differently coloured quadrants, to check the exact region comes back."""
    picture = Image.new("RGB", (width, height), (255, 0, 0))
    picture.paste((0, 255, 0), (width // 2, 0, width, height // 2))
    picture.paste((0, 0, 255), (0, height // 2, width // 2, height))
    buffer = io.BytesIO()
    picture.save(buffer, "PNG")
    return buffer.getvalue()


def test_crop_returns_the_exact_region(client):
    result = client.crop(quadrants(), x=40, y=0, width=40, height=30)
    cropped = Image.open(io.BytesIO(result.content)).convert("RGB")
    assert cropped.size == (40, 30)
    assert cropped.getpixel((0, 0)) == (0, 255, 0)
    assert cropped.getpixel((39, 29)) == (0, 255, 0)
    assert result.content_type.startswith("image/")


def test_crop_region_across_quadrants(client):
    result = client.crop(quadrants(), x=30, y=20, width=20, height=20)
    cropped = Image.open(io.BytesIO(result.content)).convert("RGB")
    assert cropped.size == (20, 20)
    assert cropped.getpixel((0, 0)) == (255, 0, 0)
    assert cropped.getpixel((0, 19)) == (0, 0, 255)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"x": -1, "y": 0, "width": 10, "height": 10},
        {"x": 0, "y": 0, "width": 0, "height": 10},
        {"x": 0, "y": 0, "width": 10, "height": 2.5},
    ],
)
def test_bad_arguments_are_refused_before_any_request(client, sandbox, kwargs):
    with pytest.raises(InvalidRequest):
        client.crop(make_image(), **kwargs)
    assert sandbox.counters()["pixlab"]["calls"] == 0


def test_region_outside_the_image_is_invalid(client):
    with pytest.raises(InvalidImage) as caught:
        client.crop(make_image(64, 48), x=60, y=0, width=20, height=20)
    assert caught.value.message


def test_garbage_is_invalid(client):
    with pytest.raises(InvalidImage):
        client.crop(b"not an image", x=0, y=0, width=5, height=5)


def test_wrong_key_is_authentication_error(sandbox):
    client = PixlabClient("wrong", f"{settings.SANDBOX_URL}/pixlab")
    with pytest.raises(AuthenticationError) as caught:
        client.crop(make_image(), x=0, y=0, width=5, height=5)
    assert caught.value.status_code in (401, 403)


def test_no_credits(client, sandbox):
    sandbox.reset(credits=0)
    with pytest.raises(InsufficientCredits):
        client.crop(make_image(), x=0, y=0, width=5, height=5)


def test_faults(client, sandbox):
    sandbox.fail_next("pixlab", status=429, retry_after=2)
    with pytest.raises(RateLimited) as caught:
        client.crop(make_image(), x=0, y=0, width=5, height=5)
    assert caught.value.retry_after == 2
    sandbox.fail_next("pixlab", status=500)
    with pytest.raises(VendorUnavailable):
        client.crop(make_image(), x=0, y=0, width=5, height=5)
    sandbox.fail_next("pixlab", kind="non_json", status=502)
    with pytest.raises(VendorUnavailable, match="non-JSON body"):
        client.crop(make_image(), x=0, y=0, width=5, height=5)
    sandbox.fail_next("pixlab", kind="reset")
    with pytest.raises(VendorUnavailable):
        client.crop(make_image(), x=0, y=0, width=5, height=5)


def test_the_request_is_a_multipart_upload_never_a_url():
    png = make_image(10, 10)
    with FakeServer(lambda request: Response(png, content_type="image/png")) as server:
        result = PixlabClient("k", server.url).crop(make_image(), x=1, y=2, width=3, height=4)
    assert result.content == png
    (seen,) = server.seen
    assert (seen.method, seen.path) == ("POST", "/crop")
    assert seen.form == {
        "x": "1",
        "y": "2",
        "width": "3",
        "height": "4",
        "key": "k",
        "blob": "true",
    }
    assert seen.files["file"] == make_image()
    assert "img" not in seen.form


@pytest.mark.parametrize(
    ("http_status", "json_status", "exception"),
    [
        (200, 400, InvalidImage),
        (200, 401, AuthenticationError),
        (200, 403, AuthenticationError),
        (200, 429, RateLimited),
        (200, 500, VendorUnavailable),
        (400, 400, InvalidImage),
        (500, 403, AuthenticationError),
    ],
)
def test_json_status_is_the_answer(http_status, json_status, exception):
    body = json.dumps({"status": json_status, "error": "Missing or invalid API key"})

    with (
        FakeServer(
            lambda request: Response(body, http_status, content_type="application/json")
        ) as server,
        pytest.raises(exception) as caught,
    ):
        PixlabClient("k", server.url).crop(make_image(), x=0, y=0, width=5, height=5)
    assert caught.value.status_code == json_status
    assert caught.value.message == "Missing or invalid API key"


def test_json_success_without_blob_is_an_error():
    body = json.dumps({"status": 200, "link": "https://pixlab.xyz/x.png", "id": "x"})
    server = FakeServer(lambda request: Response(body, 200, content_type="application/json"))
    with server, pytest.raises(VendorUnavailable, match="expected a file, got JSON body"):
        PixlabClient("k", server.url).crop(make_image(), x=0, y=0, width=5, height=5)
