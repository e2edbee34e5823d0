"""Garbage, zero-byte, truncated and decompression-bomb uploads get each vendor's 400 in its
own body shape, cost nothing, and never a 500 or a crash."""

from __future__ import annotations

import pytest
import requests
from PIL import Image

from .conftest import BAD_UPLOADS, CM_AUTH, KEY, URL, decode, encode


def clipdrop_uncrop(content, token):
    return "clipdrop", requests.post(
        f"{URL}/clipdrop/uncrop/v1",
        files={"image_file": ("image.jpg", content, "image/jpeg")},
        data={"extend_left": "10"},
        headers={"x-api-key": KEY},
    )


def clipdrop_reimagine(content, token):
    return "clipdrop", requests.post(
        f"{URL}/clipdrop/reimagine/v1/reimagine",
        files={"image_file": ("image.jpg", content, "image/jpeg")},
        headers={"x-api-key": KEY},
    )


def clippingmagic_upload(content, token):
    return "clippingmagic", requests.post(
        f"{URL}/clippingmagic/api/v1/images",
        files={"image": ("image.jpg", content)},
        data={"format": "result"},
        auth=CM_AUTH,
    )


def piktid_target(content, token):
    return "piktid", requests.post(
        f"{URL}/piktid/api/expand/target",
        files={"file": ("image.jpg", content)},
        headers={"Authorization": f"Bearer {token}"},
    )


def pixlab_crop(content, token):
    return "pixlab", requests.post(
        f"{URL}/pixlab/crop",
        files={"file": ("image.jpg", content)},
        data={"key": KEY, "x": 0, "y": 0, "width": 10, "blob": "true"},
    )


def pixlab_store(content, token):
    return "pixlab", requests.post(
        f"{URL}/pixlab/store", files={"file": ("image.jpg", content)}, data={"key": KEY}
    )


@pytest.mark.parametrize("name", sorted(BAD_UPLOADS))
@pytest.mark.parametrize(
    "send",
    [
        clipdrop_uncrop,
        clipdrop_reimagine,
        clippingmagic_upload,
        piktid_target,
        pixlab_crop,
        pixlab_store,
    ],
)
def test_bad_upload_is_the_vendors_400(sandbox, piktid_token, send, name):
    vendor, response = send(BAD_UPLOADS[name], piktid_token)
    assert response.status_code == 400, response.text
    body = response.json()
    if vendor == "clippingmagic":
        assert body["error"]["status"] == 400
        assert body["error"]["code"] == 1006
        assert body["error"]["message"]
    elif vendor == "pixlab":
        assert body["status"] == 400 and body["error"]
    elif vendor == "piktid":
        assert body["code"] == 400 and body["message"] == "Bad Request" and body["description"]
    else:
        assert set(body) == {"error"} and body["error"]
    counters = sandbox.counters()[vendor]
    assert counters["credits_consumed"] == 0
    assert counters["errors"] >= 1


def test_the_server_survives_the_whole_corpus(sandbox):
    for content in BAD_UPLOADS.values():
        clipdrop_uncrop(content, None)
    assert requests.get(f"{URL}/_sandbox/counters").status_code == 200


@pytest.mark.parametrize("size", [(1, 1), (2, 2), (10, 3000), (3000, 10), (1, 5000)])
@pytest.mark.parametrize(
    "send",
    [clipdrop_uncrop, clipdrop_reimagine, clippingmagic_upload, piktid_target, pixlab_crop],
)
def test_very_narrow_images_get_a_result_or_the_vendors_400_never_a_500(
    sandbox, piktid_token, send, size
):
    """A result, or the vendor's documented 400 (Reimagine's 1024x1024, PiktID's 64 pixels,
    a crop outside the image), free; never a 500 of the emulator's own. ClippingMagic
    documents no minimum: its cut-out of a 1x1 image is a 1x1 PNG."""
    vendor, response = send(encode(Image.new("RGB", size, (200, 40, 40))), piktid_token)
    assert response.status_code in (200, 400), response.text
    if response.status_code == 400:
        assert vendor != "clippingmagic", response.text
        assert sandbox.counters()[vendor]["credits_consumed"] == 0
    else:
        result = decode(response.content)
        if vendor == "clippingmagic":
            assert result.size == size
