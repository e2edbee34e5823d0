"""The ClippingMagic API key never leaves the server.

Only the API Id and the image's id and secret may reach a page. This test runs the whole review
flow with a distinctive API key (set in the settings AND required by the sandbox, so the flow
only works if that key is really the one in use) and searches every response for it: the editor
HTML, its JSON callback and status answers, headers and cookies, the static script, the admin
pages and the REST API.
"""

from __future__ import annotations

import base64
import copy
import json

import pytest
from django.contrib.staticfiles import finders
from django.test import Client
from django.urls import NoReverseMatch, reverse

from django_imageops.models import ImageJob
from django_imageops.vendors import AuthenticationError
from django_imageops.vendors.clippingmagic import ClippingMagicClient
from tests.clippingmagic_support import create_review_job, make_photo, make_user

pytestmark = pytest.mark.django_db

API_KEY = "cmKEY-canary-5e1b07c3d9a24f68"
API_ID = "1"


@pytest.fixture
def distinctive_key(settings, sandbox):
    """ClippingMagic API key ``API_KEY`` in the settings and the only key the sandbox accepts."""
    imageops = copy.deepcopy(settings.IMAGEOPS)
    imageops["VENDORS"]["clippingmagic"]["API_KEY"] = API_KEY
    settings.IMAGEOPS = imageops
    sandbox.reset(api_key=API_KEY)
    base_url = imageops["VENDORS"]["clippingmagic"]["BASE_URL"]
    # The search below is only meaningful if the sandbox refuses any other key ...
    with pytest.raises(AuthenticationError):
        ClippingMagicClient(API_ID, "sandbox", base_url).account()
    # ... and takes this one.
    ClippingMagicClient(API_ID, API_KEY, base_url).account()
    return API_KEY


def forbidden_values(key: str) -> list[bytes]:
    """The key as it could leak: plain, in a basic-auth header, JSON-escaped."""
    basic = base64.b64encode(f"{API_ID}:{key}".encode())
    return [key.encode(), basic, json.dumps(key).encode()]


class ResponseLog:
    """Every response of the flow, searched for the key at the end."""

    def __init__(self):
        self.responses = []

    def add(self, label, response, expected=(200,)):
        assert response.status_code in expected, (label, response.status_code)
        if getattr(response, "streaming", False):
            body = b"".join(response.streaming_content)
        else:
            body = response.content
        headers = "\n".join(f"{k}: {v}" for k, v in response.items()).encode()
        cookies = response.cookies.output().encode()
        self.responses.append((label, body + b"\n" + headers + b"\n" + cookies))
        return response

    def assert_clean(self, key):
        assert len(self.responses) >= 10
        for label, blob in self.responses:
            for value in forbidden_values(key):
                assert value not in blob, f"API key found in {label}"


def test_clippingmagic_review_flow_never_sends_the_api_key(
    distinctive_key, sandbox, s3, django_capture_on_commit_callbacks
):
    creator = make_user("creator")
    photo = make_photo()
    job = create_review_job(user=creator, photo=photo)
    assert job.status == ImageJob.Status.WAITING_FOR_EDITOR
    log = ResponseLog()
    client = Client()
    client.force_login(creator)

    editor = reverse("django_imageops:clippingmagic-editor", args=[job.uuid])
    callback = reverse("django_imageops:clippingmagic-callback", args=[job.uuid])
    status = reverse("django_imageops:clippingmagic-status", args=[job.uuid])

    page = log.add("editor page", client.get(editor))
    assert job.vendor_secret in page.content.decode()  # the page gets what it needs ...
    log.add("status before", client.get(status))
    log.add("editor-exit", client.post(callback, {"event": "editor-exit"}, "application/json"))
    log.add(
        "editor error",
        client.post(
            callback,
            {"event": "error", "error": {"status": 500, "code": 1, "message": "boom"}},
            "application/json",
        ),
    )
    sandbox.clippingmagic_edit(job.vendor_image_id)
    with django_capture_on_commit_callbacks(execute=True):
        log.add(
            "result-generated",
            client.post(
                callback,
                {"event": "result-generated", "image": {"id": job.vendor_image_id}},
                "application/json",
            ),
            expected=(202,),
        )
    log.add("status after", client.get(status))
    log.add("editor page with result", client.get(editor))
    job.refresh_from_db()
    assert job.status == ImageJob.Status.SUCCEEDED  # ... and the key really was in use.
    log.add("foreign callback", client.post(callback, {"event": "x"}, "application/json"), (400,))

    static_path = finders.find("django_imageops/clippingmagic/editor.js")
    with open(static_path, "rb") as f:
        assert distinctive_key.encode() not in f.read()

    # Admin pages, as a superuser (when the admin is registered).
    admin_client = Client()
    admin_client.force_login(make_user("root", superuser=True))
    log.add("editor page (admin)", admin_client.get(editor))
    for label, name, args in (
        ("admin index", "admin:index", ()),
        ("job changelist", "admin:django_imageops_imagejob_changelist", ()),
        ("job change page", "admin:django_imageops_imagejob_change", (job.pk,)),
        ("photo changelist", "admin:testapp_photo_changelist", ()),
        ("photo change page", "admin:testapp_photo_change", (photo.pk,)),
    ):
        try:
            url = reverse(name, args=args)
        except NoReverseMatch:
            continue
        log.add(label, admin_client.get(url))

    # The REST API (when installed).
    for label, name, kwargs in (
        ("api job list", "django_imageops_api:imagejob-list", {}),
        ("api job detail", "django_imageops_api:imagejob-detail", {"uuid": job.uuid}),
        ("api credits", "django_imageops_api:credits-list", {}),
    ):
        try:
            url = reverse(name, kwargs=kwargs)
        except NoReverseMatch:
            continue
        log.add(label, admin_client.get(url, HTTP_ACCEPT="application/json"))
        # The creator may see their jobs; the credits are for staff only (403).
        log.add(label + " (creator)", client.get(url, HTTP_ACCEPT="application/json"), (200, 403))

    log.assert_clean(distinctive_key)
