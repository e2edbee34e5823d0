"""The ClippingMagic editor page, its callback and its status endpoint (django_imageops.views).

Real HTTP to the vendor sandbox and moto S3; the browser side is in tests/browser/.
"""

from __future__ import annotations

import json

import pytest
from django.test import Client
from django.urls import reverse

from django_imageops.models import ImageJob, ImageJobEvent
from tests.clippingmagic_support import (
    create_review_job,
    editor_config,
    has_alpha,
    make_photo,
    make_user,
)

pytestmark = pytest.mark.django_db


def editor_url(job):
    return reverse("django_imageops:clippingmagic-editor", args=[job.uuid])


def callback_url(job):
    return reverse("django_imageops:clippingmagic-callback", args=[job.uuid])


def status_url(job):
    return reverse("django_imageops:clippingmagic-status", args=[job.uuid])


def post_event(client, job, payload, **extra):
    return client.post(
        callback_url(job), data=json.dumps(payload), content_type="application/json", **extra
    )


@pytest.fixture
def creator():
    return make_user("creator")


@pytest.fixture
def review_job(sandbox, s3, creator):
    """A review job on an uploaded PNG, waiting for the editor, created by ``creator``."""
    job = create_review_job(user=creator)
    assert job.status == ImageJob.Status.WAITING_FOR_EDITOR
    assert job.vendor_image_id and job.vendor_secret
    return job


@pytest.fixture
def creator_client(creator):
    client = Client()
    client.force_login(creator)
    return client


def test_clippingmagic_editor_page_passes_api_id_image_and_locale(review_job, creator_client):
    response = creator_client.get(editor_url(review_job), HTTP_ACCEPT_LANGUAGE="en-us")
    assert response.status_code == 200
    config = editor_config(response.content)
    assert config["apiId"] == 1
    assert str(config["image"]["id"]) == review_job.vendor_image_id
    assert config["image"]["secret"] == review_job.vendor_secret
    assert config["locale"] == "en-US"
    assert config["callbackUrl"] == callback_url(review_job)
    assert config["statusUrl"] == status_url(review_job)
    html = response.content.decode()
    # ClippingMagic.js from the setting (the sandbox's stand-in in the tests), then our script.
    assert '<script src="http://127.0.0.1:' in html
    assert "/clippingmagic/api/v1/ClippingMagic.js" in html
    assert "django_imageops/clippingmagic/editor.js" in html
    assert response["Cache-Control"].startswith("max-age=0")


@pytest.mark.parametrize(
    ("accept_language", "locale"),
    [("de", "de"), ("pt-br", "pt-BR"), ("fr-FR,fr;q=0.9", "fr-FR"), ("en", "en-US"), ("", "en-US")],
)
def test_clippingmagic_editor_locale_follows_request_language(
    review_job, creator_client, accept_language, locale
):
    response = creator_client.get(editor_url(review_job), HTTP_ACCEPT_LANGUAGE=accept_language)
    assert editor_config(response.content)["locale"] == locale


def test_clippingmagic_editor_anonymous_is_sent_to_login(review_job):
    client = Client()
    for url in (editor_url(review_job), status_url(review_job)):
        response = client.get(url)
        assert response.status_code == 302
        assert "login" in response["Location"]
        assert review_job.vendor_secret not in response.content.decode()
    response = post_event(client, review_job, {"event": "editor-exit"})
    assert response.status_code == 302


def test_clippingmagic_editor_other_users_never_see_the_secret(sandbox, s3, creator):
    photo = make_photo()
    job = create_review_job(user=creator, photo=photo)
    stranger = make_user("stranger")
    staff_without_perm = make_user("staff", staff=True, perms=["django_imageops.change_imagejob"])
    for user, status in ((stranger, 404), (staff_without_perm, 403)):
        client = Client()
        client.force_login(user)
        for response in (
            client.get(editor_url(job)),
            client.get(status_url(job)),
            post_event(client, job, {"event": "result-generated", "image": {"id": 1}}),
        ):
            assert response.status_code == status, user
            assert job.vendor_secret not in response.content.decode()


def test_clippingmagic_editor_staff_with_change_permission_on_source_may_edit(sandbox, s3, creator):
    job = create_review_job(user=creator, photo=make_photo())
    editor = make_user("editor", staff=True, perms=["testapp.change_photo"])
    client = Client()
    client.force_login(editor)
    response = client.get(editor_url(job))
    assert response.status_code == 200
    assert editor_config(response.content)["image"]["secret"] == job.vendor_secret
    # A non-staff user with the permission is not enough.
    not_staff = make_user("notstaff", perms=["testapp.change_photo"])
    client.force_login(not_staff)
    assert client.get(editor_url(job)).status_code == 404
    # Superusers may.
    client.force_login(make_user("root", superuser=True))
    assert client.get(editor_url(job)).status_code == 200


def test_clippingmagic_editor_links_back_to_the_admin_for_staff(sandbox, s3, creator):
    photo = make_photo()
    job = create_review_job(user=creator, photo=photo)
    client = Client()
    client.force_login(make_user("root", superuser=True))
    html = client.get(editor_url(job)).content.decode()
    assert f'href="{reverse("admin:testapp_photo_change", args=[photo.pk])}"' in html
    try:
        job_admin = reverse("admin:django_imageops_imagejob_change", args=[job.pk])
    except Exception:  # the ImageJob admin is registered by django_imageops.admin
        job_admin = None
    if job_admin:
        assert f'href="{job_admin}"' in html
    # The creator (not staff) gets no admin links.
    client.force_login(creator)
    assert "imageops-editor-source-link" not in client.get(editor_url(job)).content.decode()


def test_clippingmagic_editor_only_for_clippingmagic_jobs(creator_client, creator):
    job = ImageJob.objects.create(
        operation=ImageJob.Operation.CROP, provider="pixlab", created_by=creator
    )
    assert creator_client.get(editor_url(job)).status_code == 404


def test_clippingmagic_editor_pending_job_has_no_image_yet(sandbox, s3, creator, creator_client):
    job = create_review_job(user=creator, run=False)
    assert job.status == ImageJob.Status.PENDING
    response = creator_client.get(editor_url(job))
    assert response.status_code == 200
    config = editor_config(response.content)
    assert config["image"] is None
    assert config["status"] == "pending"
    # No ClippingMagic.js until there is an image to edit.
    assert "api/v1/ClippingMagic.js" not in response.content.decode()


def test_clippingmagic_editor_status_endpoint(review_job, creator_client):
    response = creator_client.get(status_url(review_job))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    data = response.json()
    assert data == {
        "status": "waiting_for_editor",
        "status_display": "Waiting for editor",
        "finished": False,
        "editor_ready": True,
        "result_revision": 0,
        "result": None,
        "error": None,
    }
    assert review_job.vendor_secret not in response.content.decode()


def test_clippingmagic_review_callback_downloads_the_result(
    review_job, creator_client, sandbox, django_capture_on_commit_callbacks
):
    sandbox.clippingmagic_edit(review_job.vendor_image_id)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = post_event(
            creator_client,
            review_job,
            {"event": "result-generated", "image": {"id": int(review_job.vendor_image_id)}},
        )
    assert response.status_code == 202
    assert callbacks, "the download is enqueued on commit"
    review_job.refresh_from_db()
    assert review_job.status == ImageJob.Status.SUCCEEDED
    assert review_job.vendor_result_revision == 1
    with review_job.result.open("rb") as f:
        content = f.read()
    assert has_alpha(content)
    data = creator_client.get(status_url(review_job)).json()
    assert data["status"] == "succeeded"
    assert data["result_revision"] == 1
    assert data["result"]["url"] == review_job.result.url
    assert data["result"]["width"] == review_job.result_width
    # The page shows the stored result on the next visit.
    html = creator_client.get(editor_url(review_job)).content.decode()
    assert "imageops-editor-result-image" in html
    assert review_job.result.name.rsplit("/", 1)[-1] in html


def test_clippingmagic_review_callback_only_accepts_the_jobs_own_image(
    review_job, creator_client, sandbox, django_capture_on_commit_callbacks
):
    other = create_review_job(user=review_job.created_by)
    sandbox.clippingmagic_edit(other.vendor_image_id)
    for image_id in (other.vendor_image_id, "999999", None, {"x": 1}):
        with django_capture_on_commit_callbacks(execute=True) as callbacks:
            response = post_event(
                creator_client, review_job, {"event": "result-generated", "image": {"id": image_id}}
            )
        assert response.status_code == 400, image_id
        assert not callbacks
    review_job.refresh_from_db()
    assert review_job.status == ImageJob.Status.WAITING_FOR_EDITOR
    assert not review_job.result


@pytest.mark.parametrize(
    "body", [b"not json", b"[1, 2]", b'{"event": "nonsense"}', b'{"event": "error", "error": 1}']
)
def test_clippingmagic_review_callback_rejects_malformed_bodies(review_job, creator_client, body):
    response = creator_client.post(callback_url(review_job), data=body, content_type="text/plain")
    assert response.status_code == 400
    assert "error" in response.json()


def test_clippingmagic_review_callback_is_csrf_protected(review_job, creator):
    client = Client(enforce_csrf_checks=True)
    client.force_login(creator)
    payload = {"event": "editor-exit"}
    assert post_event(client, review_job, payload).status_code == 403
    page = client.get(editor_url(review_job))
    token = page.cookies["csrftoken"].value
    response = post_event(client, review_job, payload, HTTP_X_CSRFTOKEN=token)
    assert response.status_code == 200


def test_clippingmagic_review_editor_exit_leaves_the_job_waiting(review_job, creator_client):
    response = post_event(creator_client, review_job, {"event": "editor-exit"})
    assert response.status_code == 200
    assert response.json()["status"] == "waiting_for_editor"
    review_job.refresh_from_db()
    assert review_job.status == ImageJob.Status.WAITING_FOR_EDITOR


def test_clippingmagic_review_editor_error_is_recorded(review_job, creator_client):
    error = {"status": 400, "code": 1006, "message": "Failed to read the supplied image."}
    response = post_event(creator_client, review_job, {"event": "error", "error": error})
    assert response.status_code == 200
    review_job.refresh_from_db()
    assert review_job.error_code == "editor_1006"
    assert "Failed to read the supplied image." in review_job.error_message
    assert response.json()["error"]["code"] == "editor_1006"
    event = review_job.events.filter(kind=ImageJobEvent.Kind.EDITOR).latest("id")
    assert "Failed to read the supplied image." in event.message
    assert event.data["code"] == "1006"
    assert event.data["status"] == 400
    # Still editable: the person may try again.
    assert review_job.status == ImageJob.Status.WAITING_FOR_EDITOR


def test_clippingmagic_review_callback_refused_for_canceled_job(
    review_job, creator_client, sandbox
):
    from django_imageops import jobs

    jobs.cancel(review_job)
    review_job.refresh_from_db()
    sandbox.clippingmagic_edit(review_job.vendor_image_id)
    response = post_event(
        creator_client,
        review_job,
        {"event": "result-generated", "image": {"id": review_job.vendor_image_id}},
    )
    assert response.status_code == 409
    assert not ImageJob.objects.get(pk=review_job.pk).result


class PhotoObjectPermissionBackend:
    """An object-level permission backend (like django-guardian): ``objeditor`` may change the
    photo titled "Red square" and nothing else."""

    def authenticate(self, request, **credentials):
        return None

    def has_perm(self, user, perm, obj=None):
        return (
            user.username == "objeditor"
            and perm == "testapp.change_photo"
            and getattr(obj, "title", None) == "Red square"
        )


def test_clippingmagic_editor_object_level_permission_on_the_source(sandbox, s3, settings):
    settings.AUTHENTICATION_BACKENDS = [
        "django.contrib.auth.backends.ModelBackend",
        "tests.test_editor.PhotoObjectPermissionBackend",
    ]
    job = create_review_job(user=make_user("creator"), photo=make_photo())
    other_photo = make_photo()
    other_photo.title = "Blue square"
    other_photo.save()
    other_job = create_review_job(user=make_user("creator2"), photo=other_photo)
    client = Client()
    client.force_login(make_user("objeditor", staff=True))
    assert client.get(editor_url(job)).status_code == 200
    assert client.get(editor_url(other_job)).status_code == 403
