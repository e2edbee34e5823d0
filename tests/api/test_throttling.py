"""The ``imageops_jobs`` throttle: per user, on the requests that spend vendor credits."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from django_imageops.api import throttling
from django_imageops.models import ImageJob

from .conftest import JOBS_URL, job_url

pytestmark = pytest.mark.django_db


def _post_bad_job(client):
    """A job request that fails validation (cheap, and still counted by the throttle)."""
    image = SimpleUploadedFile("x.png", b"not an image", "image/png")
    return client.post(JOBS_URL, {"operation": "reimagine", "image": image}, format="multipart")


@pytest.fixture
def two_per_minute(settings):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"imageops_jobs": "2/minute"},
    }


def test_job_creation_is_throttled_per_user(
    two_per_minute, alice_client, bob_client, alice, make_job
):
    assert _post_bad_job(alice_client).status_code == 400
    assert _post_bad_job(alice_client).status_code == 400
    response = _post_bad_job(alice_client)
    assert response.status_code == 429
    assert int(response["Retry-After"]) > 0
    assert "detail" in response.json()
    # Another user has their own allowance; reading is not throttled.
    assert _post_bad_job(bob_client).status_code == 400
    assert alice_client.get(JOBS_URL).status_code == 200
    # Retrying spends credits too: it shares the scope.
    failed = make_job(created_by=alice, status=ImageJob.Status.FAILED)
    assert alice_client.post(job_url(failed, "retry")).status_code == 429
    failed.refresh_from_db()
    assert failed.status == ImageJob.Status.FAILED
    # Canceling spends nothing.
    pending = make_job(created_by=alice)
    assert alice_client.post(job_url(pending, "cancel")).status_code == 200


def test_default_rate_applies_when_unset(settings, alice_client, monkeypatch):
    settings.REST_FRAMEWORK = {
        key: value
        for key, value in settings.REST_FRAMEWORK.items()
        if key != "DEFAULT_THROTTLE_RATES"
    }
    assert throttling.ImageJobCreateThrottle().rate == "100/hour"
    monkeypatch.setattr(throttling, "DEFAULT_JOB_RATE", "1/hour")
    assert _post_bad_job(alice_client).status_code == 400
    assert _post_bad_job(alice_client).status_code == 429


def test_rate_none_switches_the_throttle_off(settings, alice_client):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"imageops_jobs": None},
    }
    for _ in range(5):
        assert _post_bad_job(alice_client).status_code == 400
