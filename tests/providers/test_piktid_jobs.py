"""PiktID's asynchronous provider through jobs, against the sandbox: upload, generate, then
polls as scheduled runs; resuming without a second upload; the timeout; a 429 on a poll."""

from __future__ import annotations

import pytest

from django_imageops import jobs
from django_imageops.models import ImageJob, VendorToken
from tests.jobs.support import (
    calls,
    make_image,
    photo,
    run_due_job,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_servers")]


def test_piktid_upload_generate_then_scheduled_polls(run, sandbox):
    sandbox.configure(piktid_delay=0)
    [job] = run(
        jobs.create_jobs,
        "uncrop",
        provider="piktid",
        objects=[photo(make_image(100, 100))],
        field="image",
        params={"left": 20, "top": 10},
    )
    job.refresh_from_db()
    # Uploaded and generating: the poll is a scheduled run >= 3 s later, never a sleep.
    assert job.status == "running"
    assert job.vendor_image_id
    assert job.vendor_state["step"] == "generating"
    assert (job.next_attempt_at - job.updated_at).total_seconds() >= 2.9
    assert jobs.run_job(job.pk) is None  # not due yet
    job = run(run_due_job, job)
    assert job.status == "succeeded", job.error_message
    assert (job.result_width, job.result_height) == (120, 110)
    assert calls(sandbox, "piktid", "target") == 1
    assert calls(sandbox, "piktid", "generate") == 1
    token = VendorToken.objects.get(vendor="piktid", account="sandbox@example.com")
    assert token.access_token
    # The next job uses the stored tokens: no new login.
    logins = calls(sandbox, "piktid", "tokens")
    [second] = run(
        jobs.create_jobs,
        "uncrop",
        provider="piktid",
        objects=[photo(make_image(90, 90))],
        field="image",
        params={"right": 5},
    )
    run(run_due_job, second)
    second.refresh_from_db()
    assert second.status == "succeeded", second.error_message
    assert calls(sandbox, "piktid", "tokens") == logins


def test_piktid_resumes_after_upload_without_uploading_again(run, sandbox, monkeypatch):
    sandbox.configure(piktid_delay=0)
    [job] = jobs.create_jobs(
        "uncrop",
        provider="piktid",
        objects=[photo(make_image(100, 100))],
        field="image",
        params={"left": 8},
    )
    from django_imageops.providers.piktid import PiktidUncrop

    original = PiktidUncrop.generate

    def generate_after_a_503(self, ctx):
        sandbox.fail_next("piktid", status=503)  # the next PiktID call: generate
        return original(self, ctx)

    monkeypatch.setattr(PiktidUncrop, "generate", generate_after_a_503)
    run(jobs.run_job, job.pk)
    monkeypatch.setattr(PiktidUncrop, "generate", original)
    job.refresh_from_db()
    assert job.status == "pending"
    assert job.vendor_image_id
    assert job.error_code == "vendor_unavailable"
    job = run(run_due_job, job)  # generate again (no upload)
    assert job.vendor_state["step"] == "generating"
    job = run(run_due_job, job)  # poll
    assert job.status == "succeeded", job.error_message
    assert calls(sandbox, "piktid", "target") == 1
    assert calls(sandbox, "piktid", "generate") == 2


def test_piktid_fails_clearly_after_the_timeout(run, sandbox):
    sandbox.configure(piktid_delay=10_000)
    [job] = run(
        jobs.create_jobs,
        "uncrop",
        provider="piktid",
        objects=[photo(make_image(100, 100))],
        field="image",
        params={"left": 8},
    )
    job = run(run_due_job, job)
    assert job.status == "running"  # still waiting, another poll scheduled
    assert job.vendor_state["polls"] == 1
    state = {**job.vendor_state, "generated_at": job.vendor_state["generated_at"] - 601}
    ImageJob.objects.filter(pk=job.pk).update(vendor_state=state)
    job = run(run_due_job, job)
    assert job.status == "failed"
    assert job.error_code == "timeout"
    assert "600 seconds" in job.error_message


def test_a_429_on_a_piktid_poll_makes_every_worker_wait(run, sandbox):
    from django_imageops import ratelimit

    sandbox.configure(piktid_delay=0)
    [job] = run(
        jobs.create_jobs,
        "uncrop",
        provider="piktid",
        objects=[photo(make_image(100, 100))],
        field="image",
        params={"left": 20},
    )
    sandbox.fail_next("piktid", status=429, retry_after=40)
    job = run(run_due_job, job)
    assert job.status == "running"  # polls again later
    # Not only this job: any call with this account now waits out the Retry-After.
    assert 30 < ratelimit.reserve("piktid", "sandbox@example.com") <= 40
