"""The sandbox's ClippingMagic API, through raw ``requests``."""

from __future__ import annotations

import concurrent.futures

import pytest
import requests
from PIL import Image

from tests.conftest import SAMPLES_DIR

from .conftest import CM_AUTH, URL, decode, encode, noise_image

IMAGES = f"{URL}/clippingmagic/api/v1/images"
IMAGE_KEYS = {"id", "secret", "resultRevision", "originalFilename", "test"}


def upload(
    content: bytes, filename="photo.jpg", auth=CM_AUTH, allow_redirects=True, **fields
) -> requests.Response:
    return requests.post(
        IMAGES,
        files={"image": (filename, content)},
        data={k: str(v).lower() for k, v in fields.items()},
        auth=auth,
        timeout=30,
        allow_redirects=allow_redirects,
    )


def subject_image() -> Image.Image:
    """A red disc on a light grey background."""
    from PIL import ImageDraw

    image = Image.new("RGB", (200, 160), (225, 225, 228))
    ImageDraw.Draw(image).ellipse((50, 30, 150, 130), fill=(200, 30, 30))
    return image


def test_upload_returns_the_image_json_object(sandbox):
    response = upload(encode(subject_image()), filename="shoe.png")
    assert response.status_code == 200
    image = response.json()["image"]
    assert set(image) == IMAGE_KEYS
    assert isinstance(image["id"], int)
    assert image["resultRevision"] == 0
    assert image["originalFilename"] == "shoe.png"
    assert image["test"] is False
    # The Image JSON is free.
    assert sandbox.counters()["clippingmagic"]["credits_consumed"] == 0


def test_format_result_returns_the_cutout_with_id_and_secret_headers(sandbox):
    response = upload(encode(subject_image()), filename="shoe.png", format="result")
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/png"
    image_id = int(response.headers["x-amz-meta-id"])
    assert response.headers["x-amz-meta-secret"]
    assert response.headers["x-amz-meta-resultrevision"] == "1"
    assert response.headers["content-disposition"].endswith('.png"')
    cutout = decode(response.content)
    assert cutout.mode == "RGBA"
    assert cutout.size == (200, 160)
    assert cutout.getpixel((100, 80))[3] == 255  # the subject stays
    assert cutout.getpixel((3, 3))[3] == 0  # the background goes
    assert sandbox.counters()["clippingmagic"]["credits_consumed"] == 1
    # Its JSON says a result exists; the image secret matches the header.
    info = requests.get(f"{IMAGES}/{image_id}", params={"format": "json"}, auth=CM_AUTH).json()
    assert info["image"]["resultRevision"] == 1
    assert info["image"]["secret"] == response.headers["x-amz-meta-secret"]


@pytest.mark.parametrize("name", ["astronaut.png", "chelsea.png", "coffee.png", "rocket.jpg"])
def test_cutout_of_the_sample_photos_keeps_the_subject(sandbox, name):
    content = (SAMPLES_DIR / name).read_bytes()
    response = upload(content, filename=name, format="alpha_mask_png")
    assert response.status_code == 200
    mask = decode(response.content).convert("L")
    width, height = mask.size
    centre = mask.crop((width * 2 // 5, height * 2 // 5, width * 3 // 5, height * 3 // 5))
    assert min(centre.getextrema()) == 255, "the subject in the middle stays opaque"
    ring = [mask.getpixel((x, 0)) for x in range(width)]
    ring += [mask.getpixel((0, y)) for y in range(height)]
    ring += [mask.getpixel((width - 1, y)) for y in range(height)]
    transparent = sum(1 for value in ring if value < 32) / len(ring)
    assert transparent > 0.8, "the border goes transparent"
    histogram = mask.histogram()
    opaque = sum(histogram[224:]) / (width * height)
    assert 0.1 < opaque < 0.9, "a real segmentation, neither all nor nothing"


def test_download_redirects_to_the_stored_result_and_charges_once(sandbox):
    image_id = upload(encode(subject_image()))
    image_id = image_id.json()["image"]["id"]
    # No result yet.
    response = requests.get(f"{IMAGES}/{image_id}", auth=CM_AUTH)
    assert response.status_code == 400
    assert set(response.json()["error"]) == {"status", "code", "message"}
    edited = sandbox.clippingmagic_edit(image_id)
    assert edited["image"]["resultRevision"] == 1
    redirect = requests.get(f"{IMAGES}/{image_id}", auth=CM_AUTH, allow_redirects=False)
    assert redirect.status_code == 302
    assert redirect.headers["location"].startswith(f"{URL}/_sandbox/files/")
    assert redirect.headers["x-amz-meta-resultrevision"] == "1"
    assert redirect.headers["content-disposition"].endswith('.png"')
    followed = requests.get(f"{IMAGES}/{image_id}", auth=CM_AUTH)
    assert followed.status_code == 200
    assert followed.history[0].status_code == 302
    assert decode(followed.content).mode == "RGBA"
    # The first download of a production result costs a credit; repeats are free.
    assert sandbox.counters()["clippingmagic"]["credits_consumed"] == 1


def test_an_editor_save_bumps_the_revision_and_changes_the_result(sandbox):
    first = upload(encode(subject_image()), format="result")
    image_id = first.headers["x-amz-meta-id"]
    assert sandbox.clippingmagic_edit(image_id)["image"]["resultRevision"] == 2
    again = requests.get(f"{IMAGES}/{image_id}", auth=CM_AUTH)
    assert again.headers["x-amz-meta-resultrevision"] == "2"
    assert again.content != first.content


def test_the_edit_control_checks_a_given_secret(sandbox):
    image = upload(encode(subject_image())).json()["image"]
    wrong = requests.post(
        f"{URL}/_sandbox/clippingmagic/{image['id']}/edit", json={"secret": "nope"}
    )
    assert wrong.status_code == 403
    right = requests.post(
        f"{URL}/_sandbox/clippingmagic/{image['id']}/edit", json={"secret": image["secret"]}
    )
    assert right.status_code == 200


def test_test_images_are_free_and_watermarked(sandbox):
    content = encode(subject_image())
    production = upload(content, format="result")
    test = upload(content, format="result", test=True)
    assert test.status_code == 200
    assert test.content != production.content
    assert (
        requests.get(
            f"{IMAGES}/{test.headers['x-amz-meta-id']}", params={"format": "json"}, auth=CM_AUTH
        ).json()["image"]["test"]
        is True
    )
    requests.get(f"{IMAGES}/{test.headers['x-amz-meta-id']}", auth=CM_AUTH).raise_for_status()
    assert sandbox.counters()["clippingmagic"]["credits_consumed"] == 1  # production only


def test_other_download_formats(sandbox):
    image_id = upload(encode(subject_image()), format="result").headers["x-amz-meta-id"]
    svg = requests.get(f"{IMAGES}/{image_id}", params={"format": "clipping_path_svg"}, auth=CM_AUTH)
    assert svg.headers["content-type"].startswith("image/svg+xml")
    assert b"<svg" in svg.content and b"<path" in svg.content
    mask = requests.get(f"{IMAGES}/{image_id}", params={"format": "alpha_mask_png"}, auth=CM_AUTH)
    assert decode(mask.content).mode == "L"


def test_list_with_limit_and_offset(sandbox):
    ids = [upload(encode(noise_image(40, 40, seed=i))).json()["image"]["id"] for i in range(3)]
    page = requests.get(IMAGES, params={"limit": 2, "offset": 1}, auth=CM_AUTH).json()
    assert page["limit"] == 2 and page["offset"] == 1
    assert [image["id"] for image in page["images"]] == ids[1:3]
    assert requests.get(IMAGES, params={"limit": 500}, auth=CM_AUTH).json()["limit"] == 100


def test_delete(sandbox):
    image = upload(encode(noise_image(40, 40))).json()["image"]
    deleted = requests.post(f"{IMAGES}/{image['id']}/delete", auth=CM_AUTH)
    assert deleted.status_code == 200
    assert deleted.json()["image"]["id"] == image["id"]
    gone = requests.get(f"{IMAGES}/{image['id']}", params={"format": "json"}, auth=CM_AUTH)
    assert gone.status_code == 404
    assert gone.json()["error"]["status"] == 404


def test_account(sandbox):
    sandbox.reset(credits=7)
    account = requests.get(f"{URL}/clippingmagic/api/v1/account", auth=CM_AUTH).json()
    assert account == {"subscriptionPlan": "sandbox", "subscriptionState": "active", "credits": 7}


@pytest.mark.parametrize(
    ("auth", "status"), [(None, 401), (("1", "wrong"), 403), (("2", "sandbox"), 403)]
)
def test_credentials(sandbox, auth, status):
    response = requests.get(f"{URL}/clippingmagic/api/v1/account", auth=auth)
    assert response.status_code == status
    assert response.json()["error"] == {
        "status": status,
        "code": 1001,
        "message": response.json()["error"]["message"],
    }


def test_no_credits_402_on_first_production_download(sandbox):
    sandbox.reset(credits=1)
    first, second = (upload(encode(subject_image())).json()["image"]["id"] for _ in range(2))
    sandbox.clippingmagic_edit(first)
    sandbox.clippingmagic_edit(second)
    assert requests.get(f"{IMAGES}/{first}", auth=CM_AUTH).status_code == 200
    response = requests.get(f"{IMAGES}/{second}", auth=CM_AUTH)
    assert response.status_code == 402
    assert response.json()["error"]["status"] == 402
    # The one already paid for stays downloadable; production uploads need credits, tests not.
    assert requests.get(f"{IMAGES}/{first}", auth=CM_AUTH).status_code == 200
    assert upload(encode(subject_image()), format="result").status_code == 402
    assert upload(encode(subject_image()), format="result", test=True).status_code == 200
    assert sandbox.counters()["clippingmagic"]["credits_consumed"] == 1


def test_over_16_megapixels_is_400_and_large_images_are_shrunk(sandbox):
    too_big = encode(Image.new("L", (4097, 4096)))
    response = upload(too_big, filename="big.png")
    assert response.status_code == 400
    assert response.json()["error"]["status"] == 400
    shrunk = upload(encode(Image.new("RGB", (4000, 2000), (9, 9, 9))), format="result", test=True)
    width, height = decode(shrunk.content).size
    assert width * height <= 4_194_404
    assert abs(width / height - 2) < 0.01


def test_webp_is_not_a_clippingmagic_format(sandbox):
    response = upload(encode(noise_image(40, 40), "WEBP"), filename="a.webp")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == 1006


def test_concurrent_uploads_get_distinct_ids(sandbox):
    content = encode(noise_image(48, 48))
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        responses = list(pool.map(lambda _: upload(content), range(16)))
    ids = {response.json()["image"]["id"] for response in responses}
    assert len(ids) == 16
    assert sandbox.counters()["clippingmagic"]["calls"] == 16


def host(name: str, content: bytes, content_type: str = "image/png") -> str:
    """Host ``content`` on the sandbox; returns its (loopback) URL."""
    response = requests.put(
        f"{URL}/_sandbox/files/{name}", data=content, headers={"Content-Type": content_type}
    )
    response.raise_for_status()
    return response.json()["url"]


def test_upload_by_image_url_fetches_loopback_urls(sandbox):
    url = host("inputs/shoe.png", encode(subject_image()))
    response = requests.post(IMAGES, data={"image.url": url, "test": "true"}, auth=CM_AUTH)
    assert response.status_code == 200, response.text
    image = response.json()["image"]
    assert image["originalFilename"] == "shoe.png"
    cutout = requests.post(
        IMAGES, data={"image.url": url, "format": "result", "test": "true"}, auth=CM_AUTH
    )
    assert cutout.status_code == 200
    assert decode(cutout.content).size == (200, 160)


def test_upload_by_image_url_off_loopback_is_refused_without_fetching(sandbox):
    response = requests.post(
        IMAGES, data={"image.url": "http://example.com/shoe.png"}, auth=CM_AUTH
    )
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == 1002 and "loopback" in error["message"]
    missing = requests.post(IMAGES, data={"test": "true"}, auth=CM_AUTH)
    assert missing.status_code == 400
    assert "image.url" in missing.json()["error"]["message"]


def test_format_result_can_be_answered_with_a_redirect_to_the_stored_result(sandbox):
    sandbox.configure(clippingmagic_result_redirect=True)
    response = upload(encode(subject_image()), format="result", allow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"].startswith(f"{URL}/_sandbox/files/clippingmagic/")
    assert sandbox.counters()["clippingmagic"]["credits_consumed"] == 1
    stored = requests.get(response.headers["location"])
    # The id and secret are the stored object's metadata.
    image_id = int(stored.headers["x-amz-meta-id"])
    assert stored.headers["x-amz-meta-secret"]
    assert decode(stored.content).mode == "RGBA"
    info = requests.get(f"{IMAGES}/{image_id}", params={"format": "json"}, auth=CM_AUTH).json()
    assert info["image"]["secret"] == stored.headers["x-amz-meta-secret"]
    # The plain upload is unchanged.
    assert upload(encode(subject_image()), allow_redirects=False).status_code == 200


def test_no_result_yet_is_not_the_trial_expired_code(sandbox):
    # Public integration code reads ClippingMagic's error code 1008 as "trial expired".
    image_id = upload(encode(subject_image())).json()["image"]["id"]
    response = requests.get(f"{IMAGES}/{image_id}", auth=CM_AUTH, allow_redirects=False)
    assert response.status_code == 400
    error = response.json()["error"]
    assert "No result" in error["message"]
    assert error["code"] != 1008
