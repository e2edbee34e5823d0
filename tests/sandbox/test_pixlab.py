"""The sandbox's PixLab crop and store, through raw ``requests``."""

from __future__ import annotations

import base64

import pytest
import requests

from .conftest import KEY, URL, decode, encode, noise_image

CROP = f"{URL}/pixlab/crop"


def test_multipart_crop_blob_is_the_exact_region(sandbox):
    original = noise_image(120, 90)
    response = requests.post(
        CROP,
        files={"file": ("photo.png", encode(original), "image/png")},
        data={"key": KEY, "x": 13, "y": 7, "width": 50, "height": 40, "blob": "true"},
    )
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/png"
    assert decode(response.content).convert("RGB").tobytes() == (
        original.crop((13, 7, 63, 47)).tobytes()
    )
    assert sandbox.counters()["pixlab"]["credits_consumed"] == 1


def test_json_reply_links_to_the_result(sandbox):
    original = noise_image(60, 60)
    response = requests.post(
        CROP,
        files={"file": encode(original)},
        data={"x": 10, "y": 20, "width": 30},  # height omitted: takes the width
        headers={"WWW-Authenticate": KEY},
    )
    assert response.status_code == 200
    reply = response.json()
    assert reply["status"] == 200 and reply["id"]
    cropped = decode(requests.get(reply["link"]).content)
    assert cropped.size == (30, 30)
    assert cropped.convert("RGB").tobytes() == original.crop((10, 20, 40, 50)).tobytes()


def test_get_with_a_loopback_img_url(sandbox):
    original = noise_image(64, 64)
    stored = requests.put(f"{URL}/_sandbox/files/tests/source.png", data=encode(original))
    url = stored.json()["url"]
    response = requests.get(
        CROP,
        params={"img": url, "key": KEY, "x": 1, "y": 2, "width": 10, "height": 12, "blob": "true"},
    )
    assert response.status_code == 200
    assert (
        decode(response.content).convert("RGB").tobytes() == original.crop((1, 2, 11, 14)).tobytes()
    )


def test_img_urls_off_loopback_are_refused_without_fetching(sandbox):
    response = requests.get(
        CROP,
        params={"img": "http://example.com/a.jpg", "key": KEY, "x": 0, "y": 0, "width": 5},
    )
    assert response.status_code == 400
    assert response.json()["status"] == 400
    assert "loopback" in response.json()["error"]


def test_base64_img_and_json_body(sandbox):
    original = noise_image(20, 20)
    response = requests.post(
        CROP,
        json={
            "img": base64.b64encode(encode(original)).decode(),
            "key": KEY,
            "x": 5,
            "y": 5,
            "width": 4,
            "height": 3,
            "blob": True,
        },
    )
    assert response.status_code == 200
    assert decode(response.content).size == (4, 3)


@pytest.mark.parametrize(
    "region",
    [
        {"x": 100, "y": 0, "width": 30, "height": 10},  # past the right edge
        {"x": 0, "y": 0},  # no width nor height
        {"x": -1, "y": 0, "width": 5},
        {"x": "a", "y": 0, "width": 5},
    ],
)
def test_bad_regions_are_400_in_pixlab_shape(sandbox, region):
    response = requests.post(
        CROP, files={"file": encode(noise_image(120, 90))}, data={"key": KEY, **region}
    )
    assert response.status_code == 400
    body = response.json()
    assert body["status"] == 400 and body["error"]
    assert sandbox.counters()["pixlab"]["credits_consumed"] == 0


@pytest.mark.parametrize(("key", "status"), [(None, 401), ("wrong", 403)])
def test_keys(sandbox, key, status):
    data = {"x": 0, "y": 0, "width": 5}
    if key:
        data["key"] = key
    response = requests.post(CROP, files={"file": encode(noise_image(10, 10))}, data=data)
    assert response.status_code == status
    assert response.json()["status"] == status


def test_no_credits_402(sandbox):
    sandbox.reset(credits={"pixlab": 0})
    response = requests.post(
        CROP,
        files={"file": encode(noise_image(10, 10))},
        data={"key": KEY, "x": 0, "y": 0, "width": 5},
    )
    assert response.status_code == 402
    assert response.json() == {"status": 402, "error": response.json()["error"]}


def test_store_hosts_a_file(sandbox):
    content = encode(noise_image(10, 10))
    reply = requests.post(
        f"{URL}/pixlab/store", files={"file": ("a.png", content, "image/png")}, data={"key": KEY}
    ).json()
    assert reply["status"] == 200
    assert requests.get(reply["link"]).content == content
