"""The sandbox's PiktID Magic Expand, through raw ``requests``."""

from __future__ import annotations

import time

import pytest
import requests

from .conftest import PIKTID_LOGIN, URL, decode, encode, noise_image

API = f"{URL}/piktid/api"


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def upload(token: str, content: bytes) -> requests.Response:
    return requests.post(
        f"{API}/expand/target", headers=bearer(token), files={"file": content}, timeout=30
    )


def poll(token: str, image_id: str) -> list[dict]:
    response = requests.post(
        f"{API}/notification_by_name_json",
        headers=bearer(token),
        json={"name_list": "expand_generate,error", "id_image": image_id},
    )
    response.raise_for_status()
    return response.json()["notifications_list"]


def test_tokens_with_basic_auth_and_expirations(sandbox):
    response = requests.post(f"{API}/tokens", auth=PIKTID_LOGIN)
    assert response.status_code == 200
    tokens = response.json()
    assert set(tokens) == {
        "access_token",
        "access_expiration",
        "refresh_token",
        "refresh_expiration",
    }
    assert all(tokens.values())
    refused = requests.post(f"{API}/tokens", auth=("sandbox@example.com", "no"))
    assert refused.status_code == 401
    assert refused.json() == {
        "code": 401,
        "message": "Unauthorized",
        "description": "Invalid e-mail or password",
    }
    assert requests.post(f"{API}/tokens").status_code == 401


def test_expand_flow_upload_generate_notification_download(sandbox, piktid_token):
    sandbox.configure(piktid_delay=0.3)
    original = noise_image(100, 80)
    uploaded = upload(piktid_token, encode(original))
    assert uploaded.status_code == 200
    image_id = uploaded.json()["image_id"]
    assert uploaded.json()["id_image"] == image_id  # prose and sample code names
    generated = requests.post(
        f"{API}/edit/generate",
        headers=bearer(piktid_token),
        json={"id_image": image_id, "top": 20, "bottom": 0, "left": -25, "right": 10},
    )
    assert generated.status_code == 200
    assert generated.json()["id_task"]
    assert poll(piktid_token, image_id) == []  # not yet: asynchronous
    time.sleep(0.4)
    (notification,) = poll(piktid_token, image_id)
    assert notification["name"] == "expand_generate"
    assert notification["data"]["id_image"] == image_id
    assert notification["data"]["address"] == image_id
    link = notification["data"]["links"][0]["l"]
    assert link.startswith(f"{URL}/")
    result = decode(requests.get(link).content)
    assert result.size == (100 - 25 + 10, 80 + 20)
    # The original pixels, cropped by 25 on the left, sit below the 20 new rows, untouched.
    assert result.convert("RGB").crop((0, 20, 75, 100)).tobytes() == (
        original.crop((25, 0, 100, 80)).tobytes()
    )
    assert sandbox.counters()["piktid"]["credits_consumed"] == 1
    deleted = requests.delete(
        f"{API}/notification/delete_json",
        headers=bearer(piktid_token),
        json={"id": notification["id"]},
    )
    assert deleted.status_code == 200
    assert poll(piktid_token, image_id) == []


def test_notifications_vanish_after_their_lifetime(sandbox, piktid_token):
    sandbox.configure(piktid_delay=0, piktid_notification_ttl=0.3)
    image_id = upload(piktid_token, encode(noise_image(80, 80))).json()["image_id"]
    requests.post(
        f"{API}/edit/generate", headers=bearer(piktid_token), json={"id_image": image_id, "top": 8}
    ).raise_for_status()
    assert len(poll(piktid_token, image_id)) == 1
    time.sleep(0.4)
    assert poll(piktid_token, image_id) == []


def test_name_list_as_a_list_and_other_images_filtered_out(sandbox, piktid_token):
    sandbox.configure(piktid_delay=0)
    first, second = (
        upload(piktid_token, encode(noise_image(80, 80, seed=s))).json()["image_id"] for s in (1, 2)
    )
    for image_id in (first, second):
        requests.post(
            f"{API}/edit/generate", headers=bearer(piktid_token), json={"id_image": image_id}
        ).raise_for_status()
    listed = requests.post(
        f"{API}/notification_by_name_json",
        headers=bearer(piktid_token),
        json={"name_list": ["expand_generate"], "id_image": first},
    ).json()["notifications_list"]
    assert [n["data"]["id_image"] for n in listed] == [first]


@pytest.mark.parametrize("name", ["expand_generate", "edit_generate"])
def test_the_result_notification_name_is_an_option(sandbox, piktid_token, name):
    sandbox.configure(piktid_delay=0, piktid_notification_name=name)
    image_id = upload(piktid_token, encode(noise_image(80, 80))).json()["image_id"]
    requests.post(
        f"{API}/edit/generate", headers=bearer(piktid_token), json={"id_image": image_id}
    ).raise_for_status()
    other = "edit_generate" if name == "expand_generate" else "expand_generate"

    def listed(names):
        return requests.post(
            f"{API}/notification_by_name_json",
            headers=bearer(piktid_token),
            json={"name_list": names, "id_image": image_id},
        ).json()["notifications_list"]

    assert [n["name"] for n in listed(f"{name},error")] == [name]
    assert listed(f"{other},error") == []


def test_an_unknown_notification_name_is_refused(sandbox):
    response = requests.post(
        f"{URL}/_sandbox/config", json={"piktid_notification_name": "generate"}
    )
    assert response.status_code == 400


def test_error_notification_fault(sandbox, piktid_token):
    sandbox.configure(piktid_delay=0)
    sandbox.fail_next("piktid", kind="notification_error")
    image_id = upload(piktid_token, encode(noise_image(80, 80))).json()["image_id"]
    requests.post(
        f"{API}/edit/generate", headers=bearer(piktid_token), json={"id_image": image_id}
    ).raise_for_status()
    (notification,) = poll(piktid_token, image_id)
    assert notification["name"] == "error"
    assert sandbox.counters()["piktid"]["credits_consumed"] == 0


def test_refresh_keeps_the_old_pair_for_the_grace_then_its_reuse_revokes_everything(sandbox):
    sandbox.configure(piktid_refresh_grace=0.5)
    tokens = requests.post(f"{API}/tokens", auth=PIKTID_LOGIN).json()
    pair = {"access_token": tokens["access_token"], "refresh_token": tokens["refresh_token"]}
    refreshed = requests.put(f"{API}/tokens", json=pair)
    assert refreshed.status_code == 200
    new = refreshed.json()
    assert new["access_token"] != tokens["access_token"]
    assert new["access_expiration"] and new["refresh_expiration"]
    image = encode(noise_image(80, 80))
    assert upload(new["access_token"], image).status_code == 200
    # Within the grace the old pair still works, and may even be refreshed again.
    assert upload(tokens["access_token"], image).status_code == 200
    again = requests.put(f"{API}/tokens", json=pair)
    assert again.status_code == 200
    time.sleep(0.6)
    expired = upload(tokens["access_token"], image)
    assert expired.status_code == 401
    assert expired.headers["WWW-Authenticate"].startswith("Bearer")
    # Used after the grace, the old refresh token revokes every token, the new ones included.
    reused = requests.put(f"{API}/tokens", json=pair)
    assert reused.status_code == 401
    assert "revoked" in reused.json()["description"]
    assert upload(new["access_token"], image).status_code == 401
    assert upload(again.json()["access_token"], image).status_code == 401


def test_refresh_takes_the_refresh_token_from_a_cookie(sandbox):
    tokens = requests.post(f"{API}/tokens", auth=PIKTID_LOGIN).json()
    refreshed = requests.put(
        f"{API}/tokens",
        json={"access_token": tokens["access_token"]},
        cookies={"refresh_token": tokens["refresh_token"]},
    )
    assert refreshed.status_code == 200
    assert refreshed.json()["access_token"] != tokens["access_token"]
    missing = requests.put(f"{API}/tokens", json={"access_token": tokens["access_token"]})
    assert missing.status_code == 401


def test_expired_access_token_is_401(sandbox):
    sandbox.configure(piktid_token_ttl=0.2)
    token = requests.post(f"{API}/tokens", auth=PIKTID_LOGIN).json()["access_token"]
    image = encode(noise_image(80, 80))
    assert upload(token, image).status_code == 200
    time.sleep(0.3)
    response = upload(token, image)
    assert response.status_code == 401
    assert response.json() == {
        "code": 401,
        "message": "Unauthorized",
        "description": "Access token expired",
    }


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer nope"}])
def test_missing_or_unknown_token_is_401(sandbox, headers):
    response = requests.post(f"{API}/expand/target", headers=headers, files={"file": b"x"})
    assert response.status_code == 401


@pytest.mark.parametrize("size", [(63, 100), (100, 63), (4097, 64)])
def test_sizes_outside_64_to_4096_are_400(sandbox, piktid_token, size):
    from PIL import Image

    response = upload(piktid_token, encode(Image.new("L", size)))
    assert response.status_code == 400
    error = response.json()
    # PiktID's error shape: the reason is in "description", "message" is the reason phrase.
    assert (error["code"], error["message"]) == (400, "Bad Request")
    assert "x" in error["description"]


def test_generate_result_outside_limits_is_400(sandbox, piktid_token):
    image_id = upload(piktid_token, encode(noise_image(80, 80))).json()["image_id"]
    response = requests.post(
        f"{API}/edit/generate",
        headers=bearer(piktid_token),
        json={"id_image": image_id, "left": -40},
    )
    assert response.status_code == 400
    assert sandbox.counters()["piktid"]["credits_consumed"] == 0


def test_no_credits_402(sandbox, piktid_token):
    sandbox.configure(credits={"piktid": 0})
    image_id = upload(piktid_token, encode(noise_image(80, 80))).json()["image_id"]
    response = requests.post(
        f"{API}/edit/generate", headers=bearer(piktid_token), json={"id_image": image_id}
    )
    assert response.status_code == 402
