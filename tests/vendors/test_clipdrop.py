"""ClipdropClient against the sandbox over real HTTP: both endpoints and every documented error."""

from __future__ import annotations

import io
from decimal import Decimal

import pytest
from django.conf import settings
from PIL import Image
from werkzeug.wrappers import Response

from django_imageops.vendors import (
    AuthenticationError,
    ImageUpload,
    InsufficientCredits,
    InvalidImage,
    InvalidRequest,
    RateLimited,
    VendorUnavailable,
)
from django_imageops.vendors.clipdrop import ClipdropClient
from tests.conftest import make_image

from .fakes import FakeServer


@pytest.fixture
def client(sandbox):
    return ClipdropClient("sandbox", f"{settings.SANDBOX_URL}/clipdrop", timeout=(2, 10))


def size_of(content: bytes) -> tuple[int, int]:
    return Image.open(io.BytesIO(content)).size


def test_uncrop_extends_each_side_and_reports_credits(client, sandbox):
    result = client.uncrop(make_image(64, 48), left=10, right=6, top=4, bottom=2)
    assert result.content_type == "image/jpeg"
    assert size_of(result.content) == (80, 54)
    assert result.credits_consumed == Decimal(1)
    assert result.credits_remaining == Decimal(99)
    assert sandbox.counters()["clipdrop"]["credits_consumed"] == 1


def test_uncrop_negative_offsets_crop(client):
    result = client.uncrop(
        ImageUpload(make_image(64, 48, fmt="JPEG"), "photo.jpg"), left=-10, bottom=-8
    )
    assert size_of(result.content) == (54, 40)


def test_uncrop_same_seed_same_bytes(client):
    image = make_image(40, 40)
    first = client.uncrop(image, right=20, seed=42)
    second = client.uncrop(image, right=20, seed=42)
    assert first.content == second.content


def test_reimagine_keeps_the_size(client):
    source = make_image(96, 64, fmt="JPEG")
    result = client.reimagine(source)
    assert result.content_type == "image/jpeg"
    assert size_of(result.content) == (96, 64)
    assert result.content != source
    assert result.credits_consumed == Decimal(1)
    assert result.credits_remaining is not None


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"left": 2001}, "left must be at most 2000"),
        ({"bottom": 1.5}, "bottom must be an integer"),
        ({"top": True}, "top must be an integer"),
        ({"seed": 100_001}, "seed must be at most 100000"),
        ({"seed": -1}, "seed must be at least 0"),
    ],
)
def test_bad_arguments_are_refused_before_any_request(client, sandbox, kwargs, message):
    with pytest.raises(InvalidRequest, match=message):
        client.uncrop(make_image(), **kwargs)
    assert sandbox.counters()["clipdrop"]["calls"] == 0


def test_missing_key_is_401(sandbox):
    client = ClipdropClient("", f"{settings.SANDBOX_URL}/clipdrop")
    with pytest.raises(AuthenticationError) as caught:
        client.reimagine(make_image())
    assert caught.value.status_code == 401
    assert caught.value.message  # the vendor's {"error": "..."} text


def test_wrong_key_is_403(sandbox):
    client = ClipdropClient("not-the-key", f"{settings.SANDBOX_URL}/clipdrop")
    with pytest.raises(AuthenticationError) as caught:
        client.uncrop(make_image(), left=10)
    assert caught.value.status_code == 403
    assert caught.value.vendor == "clipdrop"


def test_no_credits_is_402(client, sandbox):
    sandbox.reset(credits=0)
    with pytest.raises(InsufficientCredits) as caught:
        client.uncrop(make_image(), left=10)
    assert caught.value.status_code == 402
    assert not caught.value.retryable


def test_over_10_megapixels_is_400(client):
    with pytest.raises(InvalidImage) as caught:
        client.uncrop(make_image(3300, 3100), left=10)
    assert caught.value.status_code == 400


def test_reimagine_over_1024_is_400(client):
    with pytest.raises(InvalidImage) as caught:
        client.reimagine(make_image(1100, 600))
    assert caught.value.status_code == 400


def test_garbage_is_400_not_500(client):
    with pytest.raises(InvalidImage) as caught:
        client.uncrop(b"this is not an image at all", left=10)
    assert caught.value.status_code == 400


def test_422_is_invalid_image(client, sandbox):
    sandbox.fail_next("clipdrop", status=422)
    with pytest.raises(InvalidImage) as caught:
        client.uncrop(make_image(), left=10)
    assert caught.value.status_code == 422


def test_the_undocumented_406_is_invalid_image(client, sandbox):
    sandbox.fail_next("clipdrop", status=406, message="Image not acceptable")
    with pytest.raises(InvalidImage) as caught:
        client.uncrop(make_image(), left=10)
    assert caught.value.status_code == 406
    assert not caught.value.retryable
    assert caught.value.message == "Image not acceptable"
    # Without Clipdrop's JSON body the message still says what happened.
    sandbox.fail_next("clipdrop", kind="non_json", status=406)
    with pytest.raises(InvalidImage) as caught:
        client.uncrop(make_image(), left=10)
    assert caught.value.message.startswith("the image was not accepted (HTTP 406")


def test_429_carries_retry_after(client, sandbox):
    sandbox.fail_next("clipdrop", status=429, retry_after=7)
    with pytest.raises(RateLimited) as caught:
        client.uncrop(make_image(), left=10)
    assert caught.value.retry_after == 7
    assert caught.value.retryable
    # The fault was used up: the next call goes through.
    assert client.uncrop(make_image(), left=10).content


def test_the_rate_limiter_answers_429(client, sandbox):
    sandbox.reset(clipdrop_rpm=1)
    client.reimagine(make_image())
    with pytest.raises(RateLimited) as caught:
        client.reimagine(make_image())
    assert caught.value.status_code == 429


@pytest.mark.parametrize("status", [500, 503])
def test_5xx_is_vendor_unavailable(client, sandbox, status):
    sandbox.fail_next("clipdrop", status=status)
    with pytest.raises(VendorUnavailable) as caught:
        client.reimagine(make_image())
    assert caught.value.status_code == status
    assert caught.value.retryable


def test_non_json_error_body_is_described(client, sandbox):
    sandbox.fail_next("clipdrop", kind="non_json", status=502)
    with pytest.raises(VendorUnavailable) as caught:
        client.reimagine(make_image())
    assert caught.value.status_code == 502
    assert "non-JSON body" in caught.value.message


def test_timeout_is_vendor_unavailable(sandbox):
    client = ClipdropClient("sandbox", f"{settings.SANDBOX_URL}/clipdrop", timeout=(2, 0.5))
    sandbox.fail_next("clipdrop", kind="timeout", seconds=2)
    with pytest.raises(VendorUnavailable, match="timeout") as caught:
        client.reimagine(make_image())
    assert caught.value.status_code is None


def test_connection_reset_is_vendor_unavailable(client, sandbox):
    sandbox.fail_next("clipdrop", kind="reset")
    with pytest.raises(VendorUnavailable) as caught:
        client.uncrop(make_image(), left=10)
    assert caught.value.status_code is None


def test_request_shape_maps_our_sides_to_clipdrop_fields():
    """top/bottom become extend_up/extend_down (a swap would not show in the result size)."""
    jpeg = make_image(8, 8, fmt="JPEG")

    def answer(request):
        headers = {"x-remaining-credits": "41", "x-credits-consumed": "1"}
        return Response(jpeg, 200, headers, content_type="image/jpeg")

    with FakeServer(answer) as server:
        client = ClipdropClient("k3y", server.url)
        source = make_image(20, 10)
        result = client.uncrop(ImageUpload(source, "shop.png"), left=1, right=-2, top=3, seed=7)
        client.reimagine(source)
    uncrop, reimagine = server.seen
    assert (uncrop.method, uncrop.path) == ("POST", "/uncrop/v1")
    assert uncrop.headers["X-Api-Key"] == "k3y"
    assert uncrop.form == {"extend_left": "1", "extend_right": "-2", "extend_up": "3", "seed": "7"}
    assert uncrop.files == {"image_file": source}
    assert (reimagine.path, reimagine.form, reimagine.files) == (
        "/reimagine/v1/reimagine",
        {},
        {"image_file": source},
    )
    assert result.content == jpeg
    assert (result.credits_consumed, result.credits_remaining) == (Decimal(1), Decimal(41))


def test_json_success_instead_of_an_image_is_an_error():
    with FakeServer(
        lambda request: Response('{"ok": true}', content_type="application/json")
    ) as server:
        client = ClipdropClient("k", server.url)
        with pytest.raises(VendorUnavailable, match="expected a file, got JSON body"):
            client.reimagine(make_image())
