"""Garbage, zero-byte, truncated and decompression-bomb uploads get each vendor's 400 in its
own body shape, cost nothing, and never a 500 or a crash."""

from __future__ import annotations

import pytest
import requests

from .conftest import BAD_UPLOADS, CM_AUTH, KEY, URL


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
    else:
        assert set(body) == {"error"} and body["error"]
    counters = sandbox.counters()[vendor]
    assert counters["credits_consumed"] == 0
    assert counters["errors"] >= 1


def test_the_server_survives_the_whole_corpus(sandbox):
    for content in BAD_UPLOADS.values():
        clipdrop_uncrop(content, None)
    assert requests.get(f"{URL}/_sandbox/counters").status_code == 200
