"""The sandbox's Clipdrop Uncrop and Reimagine, through raw ``requests``."""

from __future__ import annotations

import pytest
import requests

from .conftest import KEY, URL, decode, encode, mean_abs_diff, noise_image

UNCROP = f"{URL}/clipdrop/uncrop/v1"
REIMAGINE = f"{URL}/clipdrop/reimagine/v1/reimagine"


def uncrop(content: bytes, key: str | None = KEY, **fields) -> requests.Response:
    headers = {"x-api-key": key} if key is not None else {}
    return requests.post(
        UNCROP,
        files={"image_file": ("image.png", content, "image/png")},
        data={k: str(v) for k, v in fields.items()},
        headers=headers,
        timeout=30,
    )


def test_uncrop_grows_each_side_and_keeps_the_original_pixels(sandbox):
    # A smooth picture: JPEG keeps it nearly exact, so "in place" can be checked tightly.
    smooth = noise_image(8, 6).resize((80, 60))
    response = uncrop(
        encode(smooth), extend_left=30, extend_right=10, extend_up=5, extend_down=20, seed=7
    )
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/jpeg"
    assert response.headers["x-credits-consumed"] == "1"
    assert response.headers["x-remaining-credits"] == "99"
    result = decode(response.content)
    assert result.format == "JPEG"
    assert result.size == (80 + 30 + 10, 60 + 5 + 20)
    assert mean_abs_diff(result.crop((30, 5, 110, 65)), smooth) < 4
    # The new border is not a copy of something misplaced: it differs from the inner pixels.
    assert result.crop((0, 0, 30, 85)).getextrema() != ((0, 0), (0, 0), (0, 0))
    assert sandbox.counters()["clipdrop"]["credits_consumed"] == 1


def test_negative_offsets_crop(sandbox):
    smooth = noise_image(8, 6).resize((80, 60))
    response = uncrop(encode(smooth), extend_left=-10, extend_down=-20, extend_right=15, seed=1)
    assert response.status_code == 200
    result = decode(response.content)
    assert result.size == (80 - 10 + 15, 60 - 20)
    assert mean_abs_diff(result.crop((0, 0, 70, 40)), smooth.crop((10, 0, 80, 40))) < 4


def test_same_seed_same_bytes_other_seed_other_bytes(sandbox):
    content = encode(noise_image(64, 48))
    first = uncrop(content, extend_left=40, extend_up=40, seed=1234)
    second = uncrop(content, extend_left=40, extend_up=40, seed=1234)
    other = uncrop(content, extend_left=40, extend_up=40, seed=4321)
    assert first.content == second.content
    assert first.content != other.content


def test_the_docs_quoted_curl_field_values_are_accepted(sandbox):
    # curl -F 'extend_left="120"' as in the docs' curl sample.
    response = uncrop(encode(noise_image(64, 48)), extend_left='"120"', extend_down='"-8"')
    assert response.status_code == 200
    assert decode(response.content).size == (184, 40)


@pytest.mark.parametrize(
    ("fields", "status"),
    [
        ({"extend_left": 2001}, 400),
        ({"extend_down": 2500}, 400),
        ({"extend_up": "ten"}, 400),
        ({"seed": -1}, 400),
        ({"seed": 100_001}, 400),
        ({"extend_left": -64}, 422),  # crops the whole 64 px wide picture away
    ],
)
def test_uncrop_limits(sandbox, fields, status):
    response = uncrop(encode(noise_image(64, 48)), **fields)
    assert response.status_code == status
    assert response.headers["content-type"] == "application/json"
    assert set(response.json()) == {"error"}
    assert sandbox.counters()["clipdrop"]["credits_consumed"] == 0


def test_edge_values_are_allowed(sandbox):
    response = uncrop(encode(noise_image(16, 16)), extend_left=2000, seed=100_000)
    assert response.status_code == 200
    assert decode(response.content).size == (2016, 16)
    assert uncrop(encode(noise_image(16, 16)), seed=0).status_code == 200


def test_uncrop_over_10_megapixels_is_400(sandbox):
    from PIL import Image

    big = encode(Image.new("L", (4000, 2501)))  # 10,004,000 px, compresses to a few KB
    response = uncrop(big)
    assert response.status_code == 400
    assert "too big" in response.json()["error"]


def test_uncrop_missing_image_file_is_400(sandbox):
    response = requests.post(UNCROP, data={"extend_left": "5"}, headers={"x-api-key": KEY})
    assert response.status_code == 400
    assert response.json() == {"error": "Missing image_file in request"}


def test_uncrop_rejects_formats_outside_jpg_png_webp(sandbox):
    response = uncrop(encode(noise_image(32, 32), "GIF"))
    assert response.status_code == 400


def test_webp_is_accepted(sandbox):
    response = uncrop(encode(noise_image(32, 32), "WEBP"), extend_right=8)
    assert response.status_code == 200
    assert decode(response.content).size == (40, 32)


@pytest.mark.parametrize(("key", "status"), [(None, 401), ("wrong", 403)])
@pytest.mark.parametrize("endpoint", [UNCROP, REIMAGINE])
def test_missing_key_401_wrong_key_403(sandbox, endpoint, key, status):
    headers = {"x-api-key": key} if key else {}
    response = requests.post(
        endpoint, files={"image_file": encode(noise_image(32, 32))}, headers=headers
    )
    assert response.status_code == status
    assert "error" in response.json()


def test_no_credits_402(sandbox):
    sandbox.reset(credits={"clipdrop": 1})
    assert uncrop(encode(noise_image(32, 32))).headers["x-remaining-credits"] == "0"
    response = uncrop(encode(noise_image(32, 32)))
    assert response.status_code == 402
    assert "error" in response.json()


def test_rate_limit_per_key_per_minute(sandbox):
    sandbox.reset(clipdrop_rpm=3)
    content = encode(noise_image(32, 32))
    statuses = [uncrop(content).status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    # Reimagine shares the key's budget.
    reimagined = requests.post(REIMAGINE, files={"image_file": content}, headers={"x-api-key": KEY})
    assert reimagined.status_code == 429
    counters = sandbox.counters()["clipdrop"]
    assert counters["rate_limited"] == 2
    assert counters["credits_consumed"] == 3


def test_reimagine_keeps_the_size_and_changes_the_picture(sandbox):
    original = noise_image(12, 9).resize((300, 200))
    response = requests.post(
        REIMAGINE,
        files={"image_file": ("appartment.jpg", encode(original, "JPEG"), "image/jpeg")},
        headers={"x-api-key": KEY},
    )
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/jpeg"
    assert response.headers["x-credits-consumed"] == "1"
    result = decode(response.content)
    assert result.size == (300, 200)
    assert mean_abs_diff(result, original) > 20


def test_reimagine_over_1024_is_400(sandbox):
    response = requests.post(
        REIMAGINE,
        files={"image_file": encode(noise_image(1025, 10))},
        headers={"x-api-key": KEY},
    )
    assert response.status_code == 400
    assert "1024" in response.json()["error"]
    assert sandbox.counters()["clipdrop"]["credits_consumed"] == 0
