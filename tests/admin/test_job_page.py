"""A job's page in the admin: its actions as buttons at the top (by state and capability), the
status JSON it polls (the provider's progress in words), and applying a result explicitly."""

from __future__ import annotations

import re
import time
from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission, User
from django.urls import reverse
from django.utils import timezone

from django_imageops.models import ImageJob
from tests.admin.support import act, make_jobs

pytestmark = pytest.mark.django_db


def page(client, job) -> str:
    response = client.get(reverse("admin:django_imageops_imagejob_change", args=[job.pk]))
    assert response.status_code == 200
    return response.content.decode()


def buttons(client, job) -> list[str]:
    response = client.get(reverse("admin:django_imageops_imagejob_change", args=[job.pk]))
    return [button.name for button in response.context["imageops_buttons"]]


def press(client, job, button):
    url = reverse("admin:django_imageops_imagejob_button", args=[job.pk, button])
    return client.post(url, follow=True)


def test_buttons_follow_the_state_and_the_provider(admin_client, photo):
    failed = make_jobs(photo, 1, status=ImageJob.Status.FAILED, result="")[0]
    pending = make_jobs(photo, 1, status=ImageJob.Status.PENDING, result="", finished_at=None)[0]
    succeeded = make_jobs(photo, 1, target_field="cutout")[0]
    review = make_jobs(
        photo,
        1,
        status=ImageJob.Status.WAITING_FOR_EDITOR,
        result="",
        vendor_image_id="77",
        params={"mode": "review"},
    )[0]
    reimagine = make_jobs(photo, 1, operation="reimagine", provider="clipdrop")[0]
    assert buttons(admin_client, failed) == ["retry"]
    assert buttons(admin_client, pending) == ["cancel"]
    assert buttons(admin_client, succeeded) == ["apply"]
    assert buttons(admin_client, review) == ["cancel", "editor"]
    # Photo has no image made by reimagine: nothing to apply it to.
    assert buttons(admin_client, reimagine) == []
    html = page(admin_client, succeeded)
    assert "Apply to cutout" in html
    assert 'class="object-tools"' in html
    assert html.index("imageops-tool-apply") < html.index('id="imagejob_form"')
    html = page(admin_client, review)
    assert reverse("django_imageops:clippingmagic-editor", args=[review.uuid]) in html
    assert 'data-status-url="' in html and 'data-finished="0"' in html


def test_no_buttons_without_the_change_permission(client, photo):
    viewer = User.objects.create_user("viewer", password="pw", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_imagejob"))
    client.force_login(viewer)
    failed = make_jobs(photo, 1, status=ImageJob.Status.FAILED, result="")[0]
    assert buttons(client, failed) == []
    assert press(client, failed, "retry").status_code == 403
    failed.refresh_from_db()
    assert failed.status == ImageJob.Status.FAILED


def test_pressing_retry_cancel_and_apply(admin_client, photo):
    failed = make_jobs(photo, 1, status=ImageJob.Status.FAILED, result="")[0]
    response = press(admin_client, failed, "retry")
    assert "The job was queued again." in response.content.decode()
    failed.refresh_from_db()
    assert failed.status == ImageJob.Status.PENDING
    response = press(admin_client, failed, "cancel")
    assert "The job was canceled." in response.content.decode()
    failed.refresh_from_db()
    assert failed.status == ImageJob.Status.CANCELED

    done = make_jobs(photo, 1)[0]  # no target field: the person applies it explicitly
    response = press(admin_client, done, "apply")
    assert "The result is now the object&#x27;s cutout." in response.content.decode()
    photo.refresh_from_db()
    done.refresh_from_db()
    assert photo.cutout.name == done.result.name
    assert done.target_field == "cutout" and done.applied_at

    # A button the job does not offer says why, and changes nothing.
    response = press(admin_client, done, "retry")
    assert "Only failed or canceled jobs can be retried." in response.content.decode()
    assert press(admin_client, done, "explode").status_code == 404


def test_retry_refused_for_a_job_that_failed_on_its_unchanged_image(admin_client, photo):
    job = make_jobs(photo, 1, status=ImageJob.Status.FAILED, result="", error_code="invalid_input")[
        0
    ]
    assert buttons(admin_client, job) == []
    response = act(admin_client, "retry_jobs", [job])
    assert "1 job skipped. It failed on its image, which has not changed" in (
        response.content.decode().replace("&#x27;", "'")
    )
    job.refresh_from_db()
    assert job.status == ImageJob.Status.FAILED


def test_apply_action_says_why_a_job_has_nothing_to_apply_to(admin_client, photo):
    crop = make_jobs(photo, 2, operation="crop", provider="pixlab")
    response = act(admin_client, "apply_results", crop)
    text = response.content.decode()
    assert "2 jobs skipped. Its object has no image field made by this operation" in text
    assert "results applied" not in text and "result applied" not in text
    assert not ImageJob.objects.filter(events__kind="applied").exists()


def test_status_json_has_the_providers_progress_in_words(admin_client, photo):
    job = make_jobs(
        photo,
        1,
        operation="uncrop",
        provider="piktid",
        status=ImageJob.Status.RUNNING,
        result="",
        finished_at=None,
        vendor_state={"step": "generating", "polls": 5, "generated_at": time.time() - 15},
    )[0]
    url = reverse("admin:django_imageops_imagejob_status", args=[job.pk])
    data = admin_client.get(url).json()
    assert data["status"] == "running" and data["finished"] is False
    assert re.fullmatch(r"waiting for PiktID: poll 5, 1[5-9] s", data["progress"])
    assert "waiting for PiktID: poll 5, 1" in page(admin_client, job)
    assert "generated_at" in page(admin_client, job)  # the raw state stays, further down

    retrying = make_jobs(
        photo,
        1,
        status=ImageJob.Status.PENDING,
        result="",
        finished_at=None,
        next_attempt_at=timezone.now() + timedelta(seconds=30.4),
    )[0]
    data = admin_client.get(
        reverse("admin:django_imageops_imagejob_status", args=[retrying.pk])
    ).json()
    assert data["progress"] == "next attempt in 30 seconds"

    done = make_jobs(photo, 1)[0]
    data = admin_client.get(reverse("admin:django_imageops_imagejob_status", args=[done.pk])).json()
    assert data["finished"] is True and data["result"]["width"] == 64
    assert data["progress"] == ""


def test_status_json_needs_the_view_permission(client, photo):
    job = make_jobs(photo, 1)[0]
    url = reverse("admin:django_imageops_imagejob_status", args=[job.pk])
    assert client.get(url).status_code == 302  # to the login page
    User.objects.create_user("staff", password="pw", is_staff=True)
    client.login(username="staff", password="pw")
    assert client.get(url).status_code == 403
