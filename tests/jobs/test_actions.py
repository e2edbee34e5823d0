"""A person's actions on jobs (``jobs.actions``): cancel and retry (not a job that failed on its
unchanged image)."""

from __future__ import annotations

import pytest
from django.core.files.base import ContentFile

from django_imageops import jobs
from django_imageops.models import ImageJob
from tests.jobs.support import (
    CROP,
    calls,
    kinds,
    make_image,
    photo,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_servers")]


def test_cancel_and_retry(run, sandbox):
    [job] = jobs.create_jobs("crop", objects=[photo()], field="image", params=CROP)
    assert jobs.cancel(job) is True
    assert job.status == "canceled" and job.finished_at
    assert jobs.run_job(job.pk) is None
    assert jobs.cancel(job) is False
    assert calls(sandbox, "pixlab") == 0
    run(jobs.retry, job)
    job.refresh_from_db()
    assert job.status == "succeeded"
    assert jobs.retry(job) is False  # succeeded jobs are not retried
    assert "canceled" in kinds(job)


def test_waiting_for_editor_can_be_canceled(run, sandbox):
    [job] = run(
        jobs.create_jobs,
        "remove_background",
        objects=[photo()],
        field="image",
        params={"mode": "review", "test": True},
    )
    job.refresh_from_db()
    assert jobs.cancel(job)
    sandbox.clippingmagic_edit(job.vendor_image_id)
    assert jobs.fetch_review_result(job) is False
    job.refresh_from_db()
    assert job.status == "canceled"


def test_failed_job_can_be_retried(run, sandbox):
    sandbox.fail_next("pixlab", status=402)
    [job] = run(jobs.create_jobs, "crop", objects=[photo()], field="image", params=CROP)
    job.refresh_from_db()
    assert job.status == "failed"
    assert run(jobs.retry, job) is True
    job.refresh_from_db()
    assert job.status == "succeeded"
    assert job.error_code == ""


def test_a_job_that_failed_on_its_unchanged_image_is_not_retried(run, sandbox):
    # A crop box outside the 64x48 image: the job fails on its input, before any vendor call.
    source = photo()
    box = {"x": 40, "y": 30, "width": 40, "height": 30}
    [job] = run(jobs.create_jobs, "crop", objects=[source], field="image", params=box)
    job.refresh_from_db()
    assert (job.status, job.error_code) == ("failed", "invalid_input")
    assert job.attempts == 1  # it was tried, even though no vendor was called
    assert "has not changed" in jobs.retry_refusal(job)
    assert jobs.retry(job) is False
    job.refresh_from_db()
    assert (job.status, job.attempts) == ("failed", 1)
    assert calls(sandbox, "pixlab") == 0

    # Once the image is replaced by one the box fits, the job may be retried, and succeeds;
    # its attempts and duration are those of the new try.
    source.image.save("bigger.png", ContentFile(make_image(128, 96)), save=True)
    job.refresh_from_db()
    assert jobs.retry_refusal(job) == ""
    first_start = job.started_at
    assert run(jobs.retry, job) is True
    job.refresh_from_db()
    assert job.status == "succeeded", job.error_message
    assert job.attempts == 1
    assert job.started_at > first_start
    assert job.source_name == source.image.name  # the image the job really sent


def test_an_upload_that_failed_on_its_input_is_never_retried(run, sandbox):
    [job] = jobs.create_jobs("crop", uploads=[ContentFile(make_image(), name="u.png")], params=CROP)
    ImageJob.objects.filter(pk=job.pk).update(status="failed", error_code="invalid_input")
    job.refresh_from_db()
    assert jobs.retry_refusal(job)
    assert jobs.retry(job) is False
