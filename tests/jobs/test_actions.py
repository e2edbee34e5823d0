"""A person's actions on jobs (``jobs.actions``): cancel and retry."""

from __future__ import annotations

import pytest

from django_imageops import jobs
from tests.jobs.support import (
    CROP,
    calls,
    kinds,
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
