"""PiktidClient against the sandbox over real HTTP: tokens, the expand flow, errors; and the
token-renewal rules against a scripted server."""

from __future__ import annotations

import base64
import io
import json
import threading
import time

import pytest
from django.conf import settings
from PIL import Image
from werkzeug.wrappers import Response

from django_imageops.vendors import (
    AuthenticationError,
    InvalidImage,
    RateLimited,
    VendorUnavailable,
)
from django_imageops.vendors.piktid import PiktidClient
from tests.conftest import make_image

from .fakes import FakeServer

BASE = f"{settings.SANDBOX_URL}/piktid/api"


@pytest.fixture
def saved():
    """Token pairs handed to ``on_tokens``, in order."""
    return []


@pytest.fixture
def client(sandbox, saved):
    sandbox.configure(piktid_delay=0)
    return PiktidClient(
        "sandbox@example.com", "sandbox", BASE, on_tokens=saved.append, timeout=(2, 30)
    )


def wait_for_result(client, image_id, attempts=40):
    for _ in range(attempts):
        polled = client.poll(image_id)
        if polled.data["state"] != "pending":
            return polled
        time.sleep(0.1)
    raise AssertionError("no notification arrived")


def test_first_call_logs_in_and_hands_over_the_tokens(client, saved):
    result = client.upload_target(make_image(100, 80))
    assert result.vendor_ids["image_id"]
    assert len(saved) == 1
    assert set(saved[0]) == {"access_token", "refresh_token"}
    assert saved[0]["access_token"] and saved[0]["refresh_token"]
    # Stored tokens are reused: no new login for the next call.
    client.upload_target(make_image(100, 80))
    assert len(saved) == 1


def test_expand_flow_end_to_end(client):
    image_id = client.upload_target(make_image(100, 80)).vendor_ids["image_id"]
    assert client.poll(image_id).data == {
        "state": "pending",
        "link": None,
        "notification_id": None,
        "error": None,
    }
    started = client.generate_expand(image_id, left=10, right=-20, top=6, bottom=0)
    assert started.vendor_ids["image_id"] == image_id
    polled = wait_for_result(client, image_id)
    assert polled.data["state"] == "succeeded"
    assert polled.data["link"].startswith("http")
    assert polled.data["notification_id"]
    assert polled.data["error"] is None
    assert polled.vendor_ids["notification_id"] == polled.data["notification_id"]
    downloaded = client.download(polled.data["link"])
    assert Image.open(io.BytesIO(downloaded.content)).size == (90, 86)
    client.delete_notification(polled.data["notification_id"])
    assert client.poll(image_id).data["state"] == "pending"


def test_poll_ignores_other_images(client):
    mine = client.upload_target(make_image(100, 80)).vendor_ids["image_id"]
    other = client.upload_target(make_image(100, 80)).vendor_ids["image_id"]
    client.generate_expand(other, left=10)
    wait_for_result(client, other)
    assert client.poll(mine).data["state"] == "pending"


def test_generation_error_notification_is_failed(client, sandbox):
    sandbox.fail_next("piktid", kind="notification_error")
    image_id = client.upload_target(make_image(100, 80)).vendor_ids["image_id"]
    client.generate_expand(image_id, top=10)
    polled = wait_for_result(client, image_id)
    assert polled.data["state"] == "failed"
    assert polled.data["link"] is None
    assert polled.data["error"]
    assert polled.data["notification_id"]


def test_expired_access_token_is_refreshed_once_and_persisted(client, sandbox, saved):
    sandbox.configure(piktid_token_ttl=0.3)
    client.upload_target(make_image(100, 80))
    first = dict(saved[-1])
    sandbox.configure(piktid_token_ttl=3600)
    time.sleep(0.4)
    # The stored access token has expired: the client refreshes (PUT /tokens) and retries.
    assert client.upload_target(make_image(100, 80)).vendor_ids["image_id"]
    assert len(saved) == 2
    assert saved[-1]["access_token"] != first["access_token"]
    assert saved[-1]["refresh_token"] != first["refresh_token"]
    assert client.tokens == saved[-1]
    # The new pair is good for later calls: no further renewal.
    client.poll("anything")
    assert len(saved) == 2


def test_two_workers_refreshing_one_pair_within_the_grace_both_keep_working(client, sandbox, saved):
    """Two workers holding the same stored pair both see it expire and both refresh it: the
    second refresh comes within PiktID's 5 s grace, so nobody's tokens are revoked."""
    sandbox.configure(piktid_token_ttl=0.3)
    client.upload_target(make_image(100, 80))
    shared = dict(saved[-1])
    other = PiktidClient("sandbox@example.com", "sandbox", BASE, tokens=shared)
    sandbox.configure(piktid_token_ttl=3600)
    time.sleep(0.4)
    assert client.upload_target(make_image(100, 80)).vendor_ids["image_id"]  # refreshes
    assert other.upload_target(make_image(100, 80)).vendor_ids["image_id"]  # refreshes too
    assert client.upload_target(make_image(100, 80)).vendor_ids["image_id"]  # still valid
    assert sandbox.counters()["piktid"]["endpoints"]["tokens"] == 3  # 1 login, 2 refreshes
    assert client.tokens != other.tokens


def test_a_pair_reused_after_the_grace_revokes_all_and_the_client_logs_in_again(
    client, sandbox, saved
):
    sandbox.configure(piktid_refresh_grace=0.2)
    client.upload_target(make_image(100, 80))
    stale = dict(saved[-1])
    client.refresh()  # stale is valid 0.2 s more
    time.sleep(0.3)
    other = PiktidClient(
        "sandbox@example.com", "sandbox", BASE, tokens=stale, on_tokens=saved.append
    )
    # 401, then the stale refresh token revokes everything, then a login: it keeps working.
    assert other.upload_target(make_image(100, 80)).vendor_ids["image_id"]
    assert other.tokens == saved[-1]
    # The first client's pair was revoked with the rest: it logs in again too.
    assert client.upload_target(make_image(100, 80)).vendor_ids["image_id"]
    assert len(saved) == 4  # login, refresh, other's login, client's login


def test_a_client_whose_pair_another_worker_renewed_takes_the_stored_pair(client, sandbox, saved):
    """With ``load_tokens`` and ``tokens_lock`` (what the jobs give it), a client meeting its
    expired token after the grace reads the stored pair again instead of spending the old
    refresh token: nothing is revoked and nobody logs in again."""
    sandbox.configure(piktid_refresh_grace=0.2)
    lock = threading.Lock()
    client.load_tokens, client.tokens_lock = (lambda: saved[-1] if saved else None), (lambda: lock)
    client.upload_target(make_image(100, 80))  # logs in
    stale = dict(saved[-1])
    client.refresh()  # another worker's renewal: stale is valid 0.2 s more
    time.sleep(0.3)
    other = PiktidClient(
        "sandbox@example.com",
        "sandbox",
        BASE,
        tokens=stale,
        on_tokens=saved.append,
        load_tokens=lambda: saved[-1],
        tokens_lock=lambda: lock,
    )
    assert other.upload_target(make_image(100, 80)).vendor_ids["image_id"]
    assert other.tokens == client.tokens == saved[-1]
    assert client.upload_target(make_image(100, 80)).vendor_ids["image_id"]  # not revoked
    assert sandbox.counters()["piktid"]["endpoints"]["tokens"] == 2  # 1 login, 1 refresh
    assert len(saved) == 2


def test_a_refresh_token_sent_as_a_cookie_only_is_kept():
    def answer(request):
        if request.path == "/tokens":
            response = Response(
                '{"access_token": "a1", "access_expiration": "2030-01-01T00:00:00",'
                ' "refresh_token": null}',
                content_type="application/json",
            )
            response.set_cookie("refresh_token", "r1", path="/tokens", httponly=True)
            return response
        return Response('{"notifications_list": []}', content_type="application/json")

    saved = []
    with FakeServer(answer) as server:
        client = PiktidClient("me@example.com", "pw", server.url, on_tokens=saved.append)
        client.login()
    assert saved == [{"access_token": "a1", "refresh_token": "r1"}]


def test_stored_tokens_are_used_without_login(client, saved, sandbox):
    client.upload_target(make_image(100, 80))
    again = PiktidClient("sandbox@example.com", "wrong password", BASE, tokens=saved[-1])
    assert again.upload_target(make_image(100, 80)).vendor_ids["image_id"]


def test_wrong_password_is_authentication_error(sandbox):
    client = PiktidClient("sandbox@example.com", "wrong", BASE)
    with pytest.raises(AuthenticationError) as caught:
        client.upload_target(make_image(100, 80))
    assert caught.value.status_code == 401


def test_too_small_image_is_invalid_with_piktids_reason(client):
    with pytest.raises(InvalidImage) as caught:
        client.upload_target(make_image(32, 32))
    assert caught.value.status_code == 400
    # The reason from "description", not "Bad Request" from "message".
    assert "32x32" in caught.value.message
    assert "Bad Request" not in str(caught.value)


def test_a_validation_error_shows_its_fields():
    def answer(request):
        if request.path == "/tokens":
            return Response(
                '{"access_token": "a", "refresh_token": "r"}', content_type="application/json"
            )
        body = {
            "code": 400,
            "message": "Validation Error",
            "description": "The server found one or more errors in the information that you sent.",
            "errors": {"json": {"top": ["Not a valid integer."]}},
        }
        return Response(json.dumps(body), 400, content_type="application/json")

    with FakeServer(answer) as server:
        client = PiktidClient("me@example.com", "pw", server.url)
        with pytest.raises(InvalidImage) as caught:
            client.generate_expand("img", top=10)
    assert caught.value.message.startswith("The server found one or more errors")
    assert "Not a valid integer." in caught.value.message


@pytest.mark.parametrize("name", ["expand_generate", "edit_generate"])
def test_a_result_under_either_notification_name_is_found(client, sandbox, name):
    sandbox.configure(piktid_notification_name=name)
    image_id = client.upload_target(make_image(100, 80)).vendor_ids["image_id"]
    client.generate_expand(image_id, left=10)
    polled = wait_for_result(client, image_id)
    assert polled.data["state"] == "succeeded"
    assert Image.open(io.BytesIO(client.download(polled.data["link"]).content)).size == (110, 80)


def test_garbage_is_invalid(client):
    with pytest.raises(InvalidImage):
        client.upload_target(b"\x89PNG\r\n\x1a\n truncated")


def test_429_and_5xx_and_non_json(client, sandbox):
    client.upload_target(make_image(100, 80))  # log in first: faults then hit the API call
    sandbox.fail_next("piktid", status=429, retry_after=3)
    with pytest.raises(RateLimited) as caught:
        client.upload_target(make_image(100, 80))
    assert caught.value.retry_after == 3
    sandbox.fail_next("piktid", status=503)
    with pytest.raises(VendorUnavailable):
        client.poll("whatever")
    sandbox.fail_next("piktid", kind="non_json", status=502)
    with pytest.raises(VendorUnavailable, match="non-JSON body"):
        client.poll("whatever")


def test_timeout_is_vendor_unavailable(sandbox, saved):
    client = PiktidClient("sandbox@example.com", "sandbox", BASE, timeout=(2, 0.5))
    client.login()
    sandbox.fail_next("piktid", kind="timeout", seconds=2)
    with pytest.raises(VendorUnavailable, match="timeout"):
        client.poll("x")


def test_bad_offsets_are_refused_before_any_request(client, sandbox):
    with pytest.raises(ValueError, match="left must be an integer"):
        client.generate_expand("abc", left="10")
    assert sandbox.counters()["piktid"]["calls"] == 0


# -- token renewal rules against a scripted server ------------------------------------------


class TokenServer:
    """A PiktID stand-in: issues numbered pairs, accepts only the latest access token, and
    can be told to refuse refreshes."""

    def __init__(self, refuse_refresh=False, always_401=False):
        self.issued = 0
        self.valid_access = None
        self.refuse_refresh = refuse_refresh
        self.always_401 = always_401
        self.server = FakeServer(self.answer)

    def pair(self):
        self.issued += 1
        self.valid_access = f"access-{self.issued}"
        return Response(
            json.dumps(
                {"access_token": self.valid_access, "refresh_token": f"refresh-{self.issued}"}
            ),
            200,
            content_type="application/json",
        )

    def answer(self, request):
        if request.path == "/tokens" and request.method == "POST":
            expected = "Basic " + base64.b64encode(b"me@example.com:pw").decode()
            if request.headers.get("Authorization") != expected:
                return Response(
                    '{"error": "bad credentials"}', 401, content_type="application/json"
                )
            return self.pair()
        if request.path == "/tokens" and request.method == "PUT":
            if self.refuse_refresh:
                return Response('{"error": "revoked"}', 401, content_type="application/json")
            return self.pair()
        bearer = request.headers.get("Authorization", "")
        if self.always_401 or bearer != f"Bearer {self.valid_access}":
            return Response('{"error": "token expired"}', 401, content_type="application/json")
        return Response('{"notifications_list": []}', 200, content_type="application/json")


def test_refresh_sends_the_pair_and_retries_once():
    fake = TokenServer()
    saved = []
    with fake.server:
        client = PiktidClient(
            "me@example.com",
            "pw",
            fake.server.url,
            tokens={"access_token": "stale", "refresh_token": "refresh-0"},
            on_tokens=saved.append,
        )
        fake.issued, fake.valid_access = 0, "not-stale"
        assert client.poll("img").data["state"] == "pending"
    methods = [(seen.method, seen.path) for seen in fake.server.seen]
    assert methods == [
        ("POST", "/notification_by_name_json"),
        ("PUT", "/tokens"),
        ("POST", "/notification_by_name_json"),
    ]
    put = fake.server.seen[1]
    assert "Authorization" not in put.headers
    assert saved == [{"access_token": "access-1", "refresh_token": "refresh-1"}]
    assert put.json == {"access_token": "stale", "refresh_token": "refresh-0"}
    assert fake.server.seen[0].headers["Authorization"] == "Bearer stale"
    assert fake.server.seen[2].headers["Authorization"] == "Bearer access-1"


def test_refused_refresh_logs_in_again_once():
    fake = TokenServer(refuse_refresh=True)
    saved = []
    with fake.server:
        client = PiktidClient(
            "me@example.com",
            "pw",
            fake.server.url,
            tokens={"access_token": "stale", "refresh_token": "old"},
            on_tokens=saved.append,
        )
        assert client.poll("img").data["state"] == "pending"
    methods = [(seen.method, seen.path) for seen in fake.server.seen]
    assert methods == [
        ("POST", "/notification_by_name_json"),
        ("PUT", "/tokens"),
        ("POST", "/tokens"),
        ("POST", "/notification_by_name_json"),
    ]
    assert saved == [{"access_token": "access-1", "refresh_token": "refresh-1"}]


def test_a_second_401_is_an_authentication_error_not_a_loop():
    fake = TokenServer(always_401=True)
    with fake.server:
        client = PiktidClient("me@example.com", "pw", fake.server.url)
        with pytest.raises(AuthenticationError, match="token expired"):
            client.poll("img")
    # login, call, refresh, retried call: no more.
    assert len(fake.server.seen) == 4


def test_poll_reads_both_notification_shapes():
    notifications = {
        "notifications_list": [
            {
                "id": 1,
                "name": "expand_generate",
                "data": {"address": "other", "links": [{"l": "x"}]},
            },
            {"id": 2, "name": "error", "data": {"id_image": "img", "msg": "GPU fell over"}},
            {
                "id": 4,
                "name": "edit_generate",
                "data": {"id_image": "img2", "links": [{"l": "http://r/2.png"}]},
            },
            {
                "id": 3,
                "name": "expand_generate",
                "data": {"address": "img", "links": [{"l": "http://r/1.png"}]},
            },
        ]
    }

    def answer(request):
        if request.path == "/tokens":
            return Response(
                '{"access_token": "a", "refresh_token": "r"}', content_type="application/json"
            )
        return Response(json.dumps(notifications), content_type="application/json")

    with FakeServer(answer) as server:
        client = PiktidClient("me@example.com", "pw", server.url)
        # A result for this image wins over an error for it.
        assert client.poll("img").data == {
            "state": "succeeded",
            "link": "http://r/1.png",
            "notification_id": "3",
            "error": None,
        }
        notifications["notifications_list"].pop()
        assert client.poll("img").data == {
            "state": "failed",
            "link": None,
            "notification_id": "2",
            "error": "GPU fell over",
        }
        assert client.poll("nobody").data["state"] == "pending"
        # The name PiktID's samples poll for is a result too.
        assert client.poll("img2").data["link"] == "http://r/2.png"
    assert server.seen[1].json == {
        "name_list": "expand_generate,edit_generate,error",
        "id_image": "img",
    }


def test_download_never_sends_the_bearer_token():
    png = make_image(8, 8)

    def answer(request):
        if request.path == "/tokens":
            return Response(
                '{"access_token": "a", "refresh_token": "r"}', content_type="application/json"
            )
        return Response(png, content_type="image/png")

    with FakeServer(answer) as server:
        client = PiktidClient("me@example.com", "pw", server.url)
        client.login()
        result = client.download(f"{server.url}/results/1.png")
    assert result.content == png
    assert "Authorization" not in server.seen[-1].headers
