"""PiktID's asynchronous provider through jobs, against the sandbox: upload, generate, then
polls as scheduled runs; resuming without a second upload; the timeout; a 429 on a poll."""

from __future__ import annotations

import pytest
from django.utils import timezone

from django_imageops import jobs
from django_imageops.models import ImageJob, VendorToken
from tests.jobs.support import (
    calls,
    make_due,
    make_image,
    photo,
    run_due_job,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_servers")]


def piktid_job(run, size=(100, 100), **offsets):
    """An ``uncrop`` job on PiktID for a new photo of ``size`` pixels, created and run as a
    commit would (its first run: upload, generate). Returns it, not refreshed."""
    [job] = run(
        jobs.create_jobs,
        "uncrop",
        provider="piktid",
        objects=[photo(make_image(*size))],
        field="image",
        params=offsets,
    )
    return job


def test_piktid_upload_generate_then_scheduled_polls(run, sandbox):
    sandbox.configure(piktid_delay=0)
    job = piktid_job(run, left=20, top=10)
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
    second = piktid_job(run, size=(90, 90), right=5)
    run(run_due_job, second)
    second.refresh_from_db()
    assert second.status == "succeeded", second.error_message
    assert calls(sandbox, "piktid", "tokens") == logins


def test_piktid_polls_are_three_seconds_apart_from_request_to_request(run, sandbox):
    """A poll is due ``POLL_INTERVAL`` (3 s) after the previous poll was *sent*: PiktID's
    answer time is part of the interval, not added to it (which made a poll every 3 s + L)."""
    sandbox.configure(piktid_delay=60)  # no result: the job keeps polling
    [job] = run(
        jobs.create_jobs,
        "uncrop",
        provider="piktid",
        objects=[photo(make_image(100, 100))],
        field="image",
        params={"left": 20},
    )
    sandbox.configure(latency_ms={"piktid": 1000})
    make_due(job)
    sent = timezone.now()
    run(jobs.run_job, job.pk)
    answered = timezone.now()
    job.refresh_from_db()
    assert job.status == "running" and job.vendor_state["polls"] == 1
    assert (answered - sent).total_seconds() >= 1.0  # the poll took the vendor's 1 s
    # Due 3 s after the poll was sent, not 3 s after its answer.
    assert 2.0 <= (job.next_attempt_at - sent).total_seconds() <= 3.5


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
    job = piktid_job(run, left=8)
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
    job = piktid_job(run, left=20)
    sandbox.fail_next("piktid", status=429, retry_after=40)
    job = run(run_due_job, job)
    assert job.status == "running"  # polls again later
    # Not only this job: any call with this account now waits out the Retry-After.
    assert 30 < ratelimit.reserve("piktid", "sandbox@example.com") <= 40


def _timed_out_piktid_job(run, sandbox):
    """A PiktID job that failed with ``timeout`` while polling (the sandbox never delivers)."""
    sandbox.configure(piktid_delay=10_000)
    job = piktid_job(run, left=8)
    job = run(run_due_job, job)
    state = {**job.vendor_state, "generated_at": job.vendor_state["generated_at"] - 601}
    ImageJob.objects.filter(pk=job.pk).update(vendor_state=state)
    job = run(run_due_job, job)
    assert (job.status, job.error_code) == ("failed", "timeout")
    return job


def test_a_retry_after_a_poll_timeout_starts_over(run, sandbox):
    job = _timed_out_piktid_job(run, sandbox)
    sandbox.configure(piktid_delay=0)
    assert run(jobs.retry, job)
    job.refresh_from_db()
    # Generated again (the old generate time is gone), the first poll scheduled.
    assert (job.status, job.vendor_state["step"]) == ("running", "generating"), job.error_message
    job = run(run_due_job, job)
    assert job.status == "succeeded", job.error_message
    assert (job.result_width, job.result_height) == (108, 100)
    assert calls(sandbox, "piktid", "target") == 1
    assert calls(sandbox, "piktid", "generate") == 2


def test_a_retry_a_day_later_uploads_again(run, sandbox):
    # PiktID deletes uploads after 24 hours: the stored image id is no use any more.
    job = _timed_out_piktid_job(run, sandbox)
    sandbox.configure(piktid_delay=0)
    state = {**job.vendor_state, "uploaded_at": job.vendor_state["uploaded_at"] - 86_400}
    ImageJob.objects.filter(pk=job.pk).update(vendor_state=state)
    assert run(jobs.retry, job)
    job = run(run_due_job, job)
    assert job.status == "succeeded", job.error_message
    assert calls(sandbox, "piktid", "target") == 2
    assert calls(sandbox, "piktid", "generate") == 2


def test_a_generate_whose_answer_was_lost_is_polled_for_not_paid_twice(run, sandbox, settings):
    # PiktID carries the generate out (and charges) but its answer comes after our read
    # timeout: the retry looks for that generation's result before generating again.
    from tests.jobs.support import vendor_setting

    vendor_setting(settings, "piktid", READ_TIMEOUT=1)
    sandbox.configure(piktid_delay=0)
    sandbox.fail_next("piktid", kind="late", seconds=30, endpoint="generate")
    job = piktid_job(run, top=12)
    job.refresh_from_db()
    assert (job.status, job.error_code) == ("pending", "vendor_unavailable")
    assert job.vendor_state["step"] == "requested"
    job = run(run_due_job, job)  # no second generate: a poll is scheduled
    assert (job.status, job.vendor_state["step"]) == ("running", "recovering")
    job = run(run_due_job, job)  # the poll finds the first generation's result
    assert job.status == "succeeded", job.error_message
    assert (job.result_width, job.result_height) == (100, 112)
    counters = sandbox.counters()["piktid"]
    assert counters["endpoints"]["generate"] == 1
    assert counters["credits_consumed"] == 1
    # The generate whose answer was lost was paid for: its price is recorded, estimated.
    assert (job.credits_consumed, job.credits_estimated) == (1, True)


def test_an_unconfirmed_generate_without_a_result_is_generated_again(run, sandbox, settings):
    # The answer was lost and no result ever shows up: after TIMEOUT seconds from the request
    # the job generates again (bounded: it does not wait for ever).
    from tests.jobs.support import vendor_setting

    vendor_setting(settings, "piktid", READ_TIMEOUT=1)
    sandbox.configure(piktid_delay=10_000)
    sandbox.fail_next("piktid", kind="late", seconds=30, endpoint="generate")
    job = piktid_job(run, top=12)
    job = run(run_due_job, job)
    assert job.vendor_state["step"] == "recovering"
    job = run(run_due_job, job)  # nothing yet, still within TIMEOUT
    assert (job.status, job.vendor_state["step"]) == ("running", "recovering")
    assert calls(sandbox, "piktid", "generate") == 1
    state = {**job.vendor_state, "generated_at": job.vendor_state["generated_at"] - 601}
    ImageJob.objects.filter(pk=job.pk).update(vendor_state=state)
    job = run(run_due_job, job)  # nothing, window over: back to pending to start again
    assert (job.status, job.vendor_state["step"]) == ("pending", "uploaded")
    assert "polling" not in job.vendor_state
    sandbox.configure(piktid_delay=0)
    job = run(run_due_job, job)  # generates again
    assert calls(sandbox, "piktid", "generate") == 2
    job = run(run_due_job, job)
    assert job.status == "succeeded", job.error_message
    assert calls(sandbox, "piktid", "target") == 1


def test_a_refused_piktid_login_names_the_e_mail_and_password(run, sandbox, settings):
    import copy

    conf = copy.deepcopy(settings.IMAGEOPS)
    conf["VENDORS"]["piktid"]["PASSWORD"] = "not-the-password"
    settings.IMAGEOPS = conf
    job = piktid_job(run, left=8)
    job.refresh_from_db()
    assert (job.status, job.error_code) == ("failed", "authentication")
    assert "API key" not in job.error_message
    assert "Check EMAIL and PASSWORD in IMAGEOPS['VENDORS']['piktid']" in job.error_message
    assert "e-mail or password" in job.error_message  # PiktID's own reason
    assert "not-the-password" not in job.error_message
    assert calls(sandbox, "piktid", "target") == 0


@pytest.mark.parametrize("name", ["expand_generate", "edit_generate"])
def test_a_piktid_job_finishes_under_either_notification_name(run, sandbox, name):
    sandbox.configure(piktid_delay=0, piktid_notification_name=name)
    job = piktid_job(run, right=6)
    job = run(run_due_job, job)
    assert job.status == "succeeded", job.error_message
    assert (job.result_width, job.result_height) == (106, 100)


def test_piktids_reason_is_stored_not_its_reason_phrase(run, sandbox):
    sandbox.configure(piktid_delay=0)
    # The generate is refused (the sandbox's 402: no credits left) with PiktID's error shape.
    sandbox.configure(credits={"piktid": 0})
    job = piktid_job(run, right=6)
    job.refresh_from_db()
    assert (job.status, job.error_code) == ("failed", "insufficient_credits")
    assert "Not enough credits" in job.error_message
    assert "Payment Required" not in job.error_message


def test_a_piktid_job_is_one_attempt_not_one_per_call(run, sandbox, monkeypatch):
    """An attempt is one try at the job: its upload and its generate are one attempt, and a
    rate-limit wait between them (the try paused, not tried again) adds none; polls add none."""
    from django_imageops import ratelimit
    from django_imageops.providers.piktid import PiktidUncrop

    sandbox.configure(piktid_delay=0)
    original = PiktidUncrop.generate

    def generate_after_a_rate_limit(self, ctx):
        monkeypatch.setattr(PiktidUncrop, "generate", original)
        ratelimit.backoff(ctx.provider.vendor, ctx.credential, 30)  # every worker waits 30 s
        return original(self, ctx)

    monkeypatch.setattr(PiktidUncrop, "generate", generate_after_a_rate_limit)
    job = piktid_job(run, left=20)
    job.refresh_from_db()
    assert (job.status, job.attempts, job.vendor_state["step"]) == ("pending", 0, "uploaded")
    ratelimit.get_cache().clear()  # the 30 s are over
    job = run(run_due_job, job)  # generates (no second upload)
    assert (job.status, job.attempts) == ("running", 1)
    job = run(run_due_job, job)  # polls and stores the result
    assert (job.status, job.attempts) == ("succeeded", 1), job.error_message
    assert (calls(sandbox, "piktid", "target"), calls(sandbox, "piktid", "generate")) == (1, 1)


def test_max_attempts_counts_tries_not_vendor_calls(run, sandbox, settings):
    """MAX_ATTEMPTS 2: a PiktID job whose generate fails twice is tried twice (upload and
    generate, then generate again) before it gives up, not once."""
    settings.IMAGEOPS = {**settings.IMAGEOPS, "MAX_ATTEMPTS": 2}
    sandbox.configure(piktid_delay=0)
    sandbox.fail_next("piktid", count=2, status=503, endpoint="generate")
    job = piktid_job(run, left=20)
    job.refresh_from_db()
    assert (job.status, job.attempts, job.error_code) == ("pending", 1, "vendor_unavailable")
    job = run(run_due_job, job)
    assert (job.status, job.attempts) == ("failed", 2)
    assert "Gave up after 2 attempts" in job.error_message
    assert (calls(sandbox, "piktid", "target"), calls(sandbox, "piktid", "generate")) == (1, 2)
