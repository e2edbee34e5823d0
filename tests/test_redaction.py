"""No configured secret is stored or shown where a vendor echoed it.

A vendor's error text may repeat a credential (PixLab: "Invalid API key <key> ..."), an API
token or an image's secret. Whatever came from a vendor and is stored (``error_message``, the
job's history) or shown (the REST API, the admin, an action's message) has them replaced by
``[redacted]``. The vendors are the sandbox over HTTP, told to answer with such texts.
"""

from __future__ import annotations

import copy
import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from rest_framework.test import APIClient

from django_imageops import jobs
from django_imageops.models import ImageJob, ImageJobEvent, VendorToken
from django_imageops.providers import Failure, Provider
from django_imageops.redaction import REDACTED
from tests.clippingmagic_support import create_review_job
from tests.jobs.support import CROP, make_image, photo, run_due_job

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_servers")]

KEY = "pxKEY-canary-2b7e151628aed2a6"
PASSWORD = "pw-canary-abf7158809cf4f3c"


@pytest.fixture
def distinctive_keys(settings, sandbox):
    """Every vendor's API key is ``KEY`` and PiktID's password ``PASSWORD``, in the settings
    and in the sandbox (the only ones it accepts)."""
    imageops = copy.deepcopy(settings.IMAGEOPS)
    for vendor in ("clipdrop", "clippingmagic", "pixlab"):
        imageops["VENDORS"][vendor]["API_KEY"] = KEY
    imageops["VENDORS"]["piktid"]["PASSWORD"] = PASSWORD
    settings.IMAGEOPS = imageops
    sandbox.reset(api_key=KEY, piktid_password=PASSWORD, piktid_delay=0)
    return sandbox


def shown(client, job: ImageJob) -> str:
    """Everything the REST API and the admin show of ``job`` (and the job list)."""
    api = APIClient()
    api.force_authenticate(client.user)
    pages = [
        api.get(f"/api/imageops/jobs/{job.uuid}/"),
        api.get("/api/imageops/jobs/"),
        client.get(reverse("admin:django_imageops_imagejob_change", args=[job.pk])),
        client.get(reverse("admin:django_imageops_imagejob_changelist")),
    ]
    for page in pages:
        assert page.status_code == 200
    return "\n".join(page.content.decode() for page in pages)


def stored(job: ImageJob) -> str:
    """What the database holds of ``job`` that came from a vendor."""
    job.refresh_from_db()
    events = ImageJobEvent.objects.filter(job=job).values_list("message", "data")
    return "\n".join([job.error_message, *(f"{m} {json.dumps(d)}" for m, d in events)])


@pytest.fixture
def staff_client(client, admin_user):
    client.force_login(admin_user)
    client.user = admin_user
    return client


@pytest.mark.parametrize(("status", "final"), [(403, "failed"), (503, "pending")])
def test_a_vendor_error_echoing_the_api_key_is_redacted(
    run, distinctive_keys, staff_client, status, final
):
    distinctive_keys.fail_next(
        "pixlab", status=status, message=f"Invalid API key {KEY} (key={KEY}); see the docs"
    )
    [job] = run(jobs.create_jobs, "crop", objects=[photo()], field="image", params=CROP)
    job.refresh_from_db()
    assert job.status == final
    assert f"Invalid API key {REDACTED}" in job.error_message
    assert KEY not in stored(job)
    assert KEY not in shown(staff_client, job)


def test_errors_stored_before_are_redacted_when_shown(distinctive_keys, staff_client):
    [job] = jobs.create_jobs("crop", objects=[photo()], field="image", params=CROP)
    ImageJob.objects.filter(pk=job.pk).update(
        status="failed", error_code="authentication", error_message=f"Invalid API key {KEY}"
    )
    ImageJobEvent.objects.create(
        job=job, kind="error", message=f"pixlab HTTP 403: {KEY}", data={"echo": [f"k={KEY}"]}
    )
    page = shown(staff_client, job)
    assert KEY not in page
    assert f"Invalid API key {REDACTED}" in page


def test_an_image_secret_echoed_by_the_vendor_is_redacted(distinctive_keys, staff_client):
    job = create_review_job(photo=photo())
    assert job.status == "waiting_for_editor" and job.vendor_secret
    secret = job.vendor_secret
    # The upload's answer named the secret: the history does not keep it.
    assert secret not in stored(job)
    distinctive_keys.fail_next(
        "clippingmagic", status=400, message=f"image secret {secret} does not match"
    )
    response = staff_client.post(
        reverse("admin:django_imageops_imagejob_changelist"),
        {"action": "fetch_editor_results", "_selected_action": [job.pk]},
        follow=True,
    )
    assert response.status_code == 200
    assert "skipped" in response.content.decode()
    assert secret not in response.content.decode()
    assert secret not in stored(job)
    # (Only the editor page gives it to the browser: that is what it is for.)
    assert secret not in shown(staff_client, job)


def test_piktid_tokens_and_password_echoed_by_the_vendor_are_redacted(run, distinctive_keys):
    first = photo(make_image(100, 100))
    [job] = run(
        jobs.create_jobs,
        "uncrop",
        provider="piktid",
        objects=[first],
        field="image",
        params={"left": 20},
    )
    job = run(run_due_job, job)
    assert job.status == "succeeded", job.error_message
    token = VendorToken.objects.get(vendor="piktid")
    distinctive_keys.fail_next(
        "piktid",
        status=400,
        message=f"bad request: token {token.access_token}, refresh {token.refresh_token}, "
        f"password {PASSWORD}",
    )
    [job] = run(
        jobs.create_jobs,
        "uncrop",
        provider="piktid",
        objects=[photo(make_image(90, 90))],
        field="image",
        params={"left": 20},
    )
    job.refresh_from_db()
    assert job.status == "failed"
    text = stored(job)
    for secret in (token.access_token, token.refresh_token, PASSWORD):
        assert secret not in text
    assert text.count(REDACTED) >= 3


class SecretFailure(Provider):
    """A provider whose vendor reports a failure in its own words, echoing the credential."""

    name = "secretive"
    operation = "reimagine"
    credentials = ("TOKEN",)
    default_settings = {"TOKEN": "", "BASE_URL": "local:"}

    def start(self, ctx, prepared):
        """The vendor's failure text, with its token in it."""
        ctx.note(f"vendor said: hello {ctx.settings['TOKEN']}", echo=ctx.settings["TOKEN"])
        return Failure("vendor_failed", f"rejected token {ctx.settings['TOKEN']}")


def test_a_providers_failure_and_notes_are_redacted(run, settings, fresh_servers):
    token = "tok-canary-5f2d9c1e7a"
    settings.IMAGEOPS = {
        **settings.IMAGEOPS,
        "PROVIDERS": ["tests.test_redaction.SecretFailure"],
        "VENDORS": {**settings.IMAGEOPS["VENDORS"], "secretive": {"TOKEN": token}},
    }
    upload = SimpleUploadedFile("p.png", make_image(), "image/png")
    [job] = run(jobs.create_jobs, "reimagine", provider="secretive", uploads=[upload])
    job.refresh_from_db()
    assert job.status == "failed"
    assert job.error_message == f"rejected token {REDACTED}"
    assert token not in stored(job)
