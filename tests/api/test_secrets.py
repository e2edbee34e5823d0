"""The vendors' API keys and passwords never appear in an API response (body or headers)."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from django_imageops.models import ImageJob, VendorCredits
from tests.conftest import make_image

from .conftest import CREDITS_URL, JOBS_URL, job_url

pytestmark = pytest.mark.django_db

SECRET_KEY = "sk-live-SECRET-7f3a9c"
SECRET_PASSWORD = "pw-SECRET-41d2e8"
WRONG_KEY = "sk-live-WRONG-SECRET-0b5e"


def _use_keys(settings, key: str, password: str):
    vendors = {name: dict(conf) for name, conf in settings.IMAGEOPS["VENDORS"].items()}
    vendors["clipdrop"]["API_KEY"] = key
    vendors["clippingmagic"]["API_KEY"] = key
    vendors["pixlab"]["API_KEY"] = key
    vendors["piktid"]["PASSWORD"] = password
    settings.IMAGEOPS = {**settings.IMAGEOPS, "VENDORS": vendors}


def _leaks(response, *secrets) -> list[str]:
    text = response.content.decode("utf-8", "replace")
    text += "\n".join(f"{name}: {value}" for name, value in response.items())
    return [secret for secret in secrets if secret in text]


REQUESTS = [
    {"operation": "uncrop", "left": 8},
    {"operation": "uncrop", "provider": "piktid", "left": 8},
    {"operation": "reimagine"},
    {"operation": "remove_background", "mode": "auto", "test": True},
    {"operation": "remove_background", "mode": "review", "test": True},
    {"operation": "crop", "x": 1, "y": 1, "width": 20, "height": 20},
]


def test_api_keys_are_absent_from_every_response(
    settings, sandbox, s3, alice_client, staff_client, django_capture_on_commit_callbacks
):
    sandbox.reset(api_key=SECRET_KEY, piktid_password=SECRET_PASSWORD, piktid_delay=0)
    _use_keys(settings, SECRET_KEY, SECRET_PASSWORD)
    responses = []
    for fields in REQUESTS:
        image = SimpleUploadedFile("p.png", make_image(64, 48), "image/png")
        with django_capture_on_commit_callbacks(execute=True):
            response = alice_client.post(JOBS_URL, {**fields, "image": image}, format="multipart")
        assert response.status_code == 202, response.content
        responses.append(response)
    jobs = list(ImageJob.objects.all())
    assert sum(job.status == "succeeded" for job in jobs) >= 3
    for job in jobs:
        responses.append(alice_client.get(job_url(job)))
        responses.append(staff_client.get(job_url(job)))
    responses.append(alice_client.get(JOBS_URL))
    responses.append(staff_client.get(JOBS_URL))
    responses.append(staff_client.get(CREDITS_URL))
    for job in jobs:
        responses.append(alice_client.post(job_url(job, "cancel")))
        responses.append(alice_client.post(job_url(job, "retry")))
    assert VendorCredits.objects.exists()
    for response in responses:
        assert response.status_code < 500
        assert _leaks(response, SECRET_KEY, SECRET_PASSWORD) == [], response.content


def test_a_rejected_key_is_not_echoed_in_the_job_error(
    settings, sandbox, s3, alice_client, django_capture_on_commit_callbacks
):
    sandbox.reset(api_key=SECRET_KEY)
    _use_keys(settings, WRONG_KEY, SECRET_PASSWORD)
    image = SimpleUploadedFile("p.png", make_image(64, 48), "image/png")
    with django_capture_on_commit_callbacks(execute=True):
        response = alice_client.post(
            JOBS_URL, {"operation": "uncrop", "left": 8, "image": image}, format="multipart"
        )
    assert response.status_code == 202
    job = ImageJob.objects.get()
    detail = alice_client.get(job_url(job))
    assert detail.json()["status"] == "failed"
    assert detail.json()["error"]["code"]
    assert _leaks(detail, WRONG_KEY, SECRET_KEY) == []
