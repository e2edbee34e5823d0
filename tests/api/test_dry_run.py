"""``POST jobs/`` with ``dry_run``: the same checks as creating the job, then what it would cost
(``jobs.estimate``, the figures of the admin's cost line); nothing created, no vendor called,
not counted by the ``imageops_jobs`` throttle."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from django_imageops.models import ImageJob, VendorCredits
from tests.conftest import make_image

from .conftest import JOBS_URL, grant

pytestmark = pytest.mark.django_db


def vendor_calls(sandbox) -> int:
    return sum(counters["calls"] for counters in sandbox.counters().values())


def upload(data: bytes):
    return SimpleUploadedFile("photo.png", data, "image/png")


def test_dry_run_on_an_object_prices_it_and_creates_nothing(alice_client, alice, photo, sandbox):
    grant(alice, "change_photo")
    VendorCredits.objects.create(vendor="clipdrop", remaining=92)
    body = {"operation": "uncrop", "left": 100, "model": "testapp.photo", "pk": photo.pk}
    body |= {"field": "image", "dry_run": True}
    response = alice_client.post(JOBS_URL, body, format="json")
    assert response.status_code == 200, response.content
    data = response.json()
    assert data["summary"] == "1 job · 1 Clipdrop credit · known balance 92"
    assert (data["jobs"], data["paid"], data["credits"], data["fits"]) == (1, 1, "1", True)
    [vendor] = data["vendors"]
    assert (vendor["vendor"], vendor["credits"], vendor["balance"]) == ("clipdrop", "1", "92")
    assert "Location" not in response
    assert ImageJob.objects.count() == 0
    assert vendor_calls(sandbox) == 0


def test_dry_run_of_a_free_test_mode_upload(alice_client, sandbox):
    response = alice_client.post(
        JOBS_URL,
        {"operation": "remove_background", "test": "true", "dry_run": "true"}
        | {"image": upload(make_image(64, 48))},
        format="multipart",
    )
    assert response.status_code == 200, response.content
    data = response.json()
    assert (data["jobs"], data["free"], data["paid"], data["credits"]) == (1, 1, 0, "0")
    assert ImageJob.objects.count() == 0
    assert vendor_calls(sandbox) == 0


@pytest.mark.django_db(transaction=True)
def test_dry_run_counts_a_reused_result_as_free(alice_client, fresh_servers):
    image = make_image(80, 60, color=(10, 200, 90))
    job = {"operation": "crop", "x": 0, "y": 0, "width": 40, "height": 30}
    first = alice_client.post(JOBS_URL, job | {"image": upload(image)}, format="multipart")
    assert first.status_code == 202
    assert ImageJob.objects.get().status == "succeeded"  # run inline on commit
    again = alice_client.post(
        JOBS_URL, job | {"image": upload(image), "dry_run": "1"}, format="multipart"
    )
    assert again.status_code == 200
    data = again.json()
    assert (data["jobs"], data["reused"], data["credits"]) == (1, 1, "0")
    assert ImageJob.objects.count() == 1


def test_dry_run_refuses_what_creating_refuses(alice_client, alice, photo):
    grant(alice, "change_photo")
    body = {"operation": "crop", "x": 0, "y": 0, "width": 10, "height": 10, "seed": 3}
    response = alice_client.post(JOBS_URL, body | {"image": upload(b"nope"), "dry_run": "1"})
    assert response.status_code == 400
    assert set(response.json()) >= {"seed"}
    response = alice_client.post(
        JOBS_URL,
        {"operation": "uncrop", "model": "testapp.photo", "pk": photo.pk, "field": "image"}
        | {"dry_run": True},
        format="json",
    )
    assert response.status_code == 400 and "left" in response.json()
    assert ImageJob.objects.count() == 0


def test_dry_runs_are_not_counted_by_the_jobs_throttle(settings, alice_client):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"imageops_jobs": "1/minute"},
    }
    dry = {"operation": "reimagine", "dry_run": "true"}
    for _ in range(3):
        response = alice_client.post(JOBS_URL, dry | {"image": upload(make_image(40, 30))})
        assert response.status_code == 200
    real = {"operation": "reimagine"}
    assert alice_client.post(JOBS_URL, real | {"image": upload(b"x")}).status_code == 400
    assert alice_client.post(JOBS_URL, real | {"image": upload(b"x")}).status_code == 429
