"""The job runner end to end (``jobs.run_job``): the real vendor sandbox over HTTP, moto S3,
the ImmediateBackend. Each test runs the on-commit callbacks (``create_jobs`` enqueues there), so
a job runs inline the way it does on a site with the default task backend."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from django_imageops import jobs, providers, signals
from django_imageops.jobs import queue
from django_imageops.models import ImageJob, ImageJobEvent
from tests.jobs.support import (
    CROP,
    calls,
    kinds,
    make_image,
    photo,
    run_due_job,
    s3_object,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_servers")]


def test_crop_end_to_end(run, sandbox, s3):
    source = make_image(64, 48)
    obj = photo(source)
    [job] = run(jobs.create_jobs, "crop", objects=[obj], field="image", params=CROP)
    job.refresh_from_db()
    assert job.status == ImageJob.Status.SUCCEEDED, job.error_message
    assert job.provider == "pixlab"
    assert job.result.name == f"imageops/results/crop/{job.uuid}.png"
    assert (job.result_width, job.result_height) == (20, 10)
    assert job.result_content_type == "image/png"
    body = s3_object(s3, job.result.name)["Body"].read()
    assert len(body) == job.result_bytes
    assert Image.open(io.BytesIO(body)).size == (20, 10)
    assert job.attempts == 1
    assert job.started_at and job.finished_at and job.finished_at >= job.started_at
    assert kinds(job) == ["created", "vendor_call", "result_stored"]
    assert calls(sandbox, "pixlab", "crop") == 1
    # The source file is never modified.
    obj.refresh_from_db()
    assert obj.image.read() == source
    assert job.source_name == obj.image.name


VENDOR_JOBS = {
    "clipdrop": ("uncrop", {"left": 10}),
    "pixlab": ("crop", CROP),
    "clippingmagic": ("remove_background", {"test": True}),
}


@pytest.mark.parametrize("vendor", sorted(VENDOR_JOBS))
@pytest.mark.parametrize(
    ("status", "code", "words"),
    [
        (400, "invalid_image", "could not process this image"),
        (401, "authentication", "refused our credentials"),
        (402, "insufficient_credits", "no credits left"),
        (403, "authentication", "refused our credentials"),
        (422, "invalid_image", "could not process this image"),
    ],
)
def test_non_retryable_vendor_errors_fail_at_once(run, sandbox, vendor, status, code, words):
    operation, params = VENDOR_JOBS[vendor]
    sandbox.fail_next(vendor, status=status)
    [job] = run(jobs.create_jobs, operation, objects=[photo()], field="image", params=params)
    job.refresh_from_db()
    assert job.status == "failed"
    assert job.error_code == code
    assert words in job.error_message
    assert f"HTTP {status}" in job.error_message
    assert job.attempts == 1
    assert job.finished_at is not None
    assert calls(sandbox, vendor) == 1


def test_canceled_while_the_vendor_works_keeps_the_result_but_stays_canceled(
    run, sandbox, monkeypatch
):
    provider = type(providers.get_provider("crop"))
    original = provider.start

    def start_then_cancel(self, ctx, prepared):
        outcome = original(self, ctx, prepared)
        jobs.cancel(ImageJob.objects.get(status="running"))
        return outcome

    monkeypatch.setattr(provider, "start", start_then_cancel)
    [job] = run(jobs.create_jobs, "crop", objects=[photo()], field="image", params=CROP)
    job.refresh_from_db()
    assert job.status == "canceled"
    stored = job.events.get(kind="result_stored")
    assert "canceled meanwhile" in stored.message
    assert stored.data["name"].startswith("imageops/results/crop/")


@pytest.mark.parametrize(
    ("vendor", "operation", "params", "fault"),
    [
        ("clipdrop", "uncrop", {"left": 10}, {"status": 429}),
        ("clipdrop", "uncrop", {"left": 10}, {"status": 500}),
        ("clipdrop", "uncrop", {"left": 10}, {"status": 503}),
        ("clipdrop", "uncrop", {"left": 10}, {"kind": "reset"}),
        ("pixlab", "crop", CROP, {"status": 502}),
        ("clippingmagic", "remove_background", {"test": True}, {"status": 500}),
    ],
)
def test_retryable_errors_are_retried_then_succeed(run, sandbox, vendor, operation, params, fault):
    sandbox.fail_next(vendor, **fault)
    [job] = run(jobs.create_jobs, operation, objects=[photo()], field="image", params=params)
    job.refresh_from_db()
    assert job.status == "pending"
    assert job.attempts == 1
    assert job.next_attempt_at is not None
    assert job.error_code in ("rate_limited", "vendor_unavailable")
    assert jobs.run_job(job.pk) is None  # not due yet
    job = run(run_due_job, job)
    assert job.status == "succeeded", job.error_message
    assert job.attempts == 2
    assert job.error_message == ""
    assert "retry_scheduled" in kinds(job)


def test_retry_after_is_honoured(run, sandbox):
    sandbox.fail_next("clipdrop", status=429, retry_after=7)
    [job] = run(jobs.create_jobs, "uncrop", objects=[photo()], field="image", params={"left": 10})
    event = ImageJobEvent.objects.get(job=job, kind="retry_scheduled")
    assert event.data["delay"] == 7


def test_exponential_backoff_with_jitter_then_gives_up(run, sandbox, settings):
    settings.IMAGEOPS = {**settings.IMAGEOPS, "MAX_ATTEMPTS": 3, "RETRY_BACKOFF": 2.0}
    sandbox.fail_next("pixlab", count=3, status=503)
    [job] = run(jobs.create_jobs, "crop", objects=[photo()], field="image", params=CROP)
    run(run_due_job, job)
    job = run(run_due_job, job)
    delays = [
        e.data["delay"] for e in ImageJobEvent.objects.filter(job=job, kind="retry_scheduled")
    ]
    assert len(delays) == 2
    assert 1.0 <= delays[0] <= 3.0  # 2 s x [0.5, 1.5]
    assert 2.0 <= delays[1] <= 6.0  # 4 s x [0.5, 1.5]
    assert job.status == "failed"
    assert job.attempts == 3
    assert "Gave up after 3 attempts" in job.error_message
    assert calls(sandbox, "pixlab") == 3


def test_rate_limit_reservation_defers_without_counting_an_attempt(run, sandbox, monkeypatch):
    from django_imageops import ratelimit

    monkeypatch.setattr(ratelimit, "reserve", lambda provider, credential: 30.0)
    [job] = run(jobs.create_jobs, "crop", objects=[photo()], field="image", params=CROP)
    job.refresh_from_db()
    assert job.status == "pending"
    assert job.attempts == 0
    assert 29 <= (job.next_attempt_at - job.updated_at).total_seconds() <= 31
    assert calls(sandbox, "pixlab") == 0


def test_parameters_the_fitting_cannot_apply_fail_the_job_as_one_attempt(run, sandbox, monkeypatch):
    # No built-in provider's fitting overflows on parameters in range: a provider's might.
    def overflow(self, params, data, filename="", *, verified=False):
        raise OverflowError("the offsets overflow the scale")

    monkeypatch.setattr(providers.get_provider("crop").__class__, "prepare", overflow)
    [job] = run(jobs.create_jobs, "crop", objects=[photo()], field="image", params=CROP)
    job.refresh_from_db()
    assert (job.status, job.error_code, job.attempts) == ("failed", "invalid_input", 1)
    assert "cannot be applied to this image" in job.error_message
    assert calls(sandbox, "pixlab") == 0


def test_released_after_every_vendor_call(run, sandbox, monkeypatch):
    from django_imageops import ratelimit

    seen = []
    monkeypatch.setattr(ratelimit, "reserve", lambda p, c: seen.append(("reserve", p)) or 0.0)
    monkeypatch.setattr(ratelimit, "release", lambda p, c: seen.append(("release", p)))
    sandbox.fail_next("pixlab", status=500)
    [job] = run(jobs.create_jobs, "crop", objects=[photo()], field="image", params=CROP)
    run(run_due_job, job)
    assert seen == [("reserve", "pixlab"), ("release", "pixlab")] * 2


def test_a_job_delivered_twice_runs_once(run, sandbox):
    [job] = jobs.create_jobs("crop", objects=[photo()], field="image", params=CROP)
    assert jobs.run_job(job.pk).status == "succeeded"
    assert jobs.run_job(job.pk) is None
    ImageJob.objects.filter(pk=job.pk).update(status="running")
    assert jobs.run_job(job.pk) is None  # someone else is running it
    assert calls(sandbox, "pixlab") == 1


def test_signals_are_sent_after_commit(run, sandbox):
    received = []

    def on_success(sender, job, **kwargs):
        received.append(("succeeded", job.pk))

    def on_failure(sender, job, **kwargs):
        received.append(("failed", job.pk))

    signals.job_succeeded.connect(on_success)
    signals.job_failed.connect(on_failure)
    try:
        [ok] = run(jobs.create_jobs, "crop", objects=[photo()], field="image", params=CROP)
        sandbox.fail_next("pixlab", status=401)
        [bad] = run(
            jobs.create_jobs,
            "crop",
            objects=[photo(make_image(65, 48))],
            field="image",
            params=CROP,
        )
    finally:
        signals.job_succeeded.disconnect(on_success)
        signals.job_failed.disconnect(on_failure)
    assert received == [("succeeded", ok.pk), ("failed", bad.pk)]


def test_a_job_run_inline_is_not_read_back_nor_its_source_object_loaded(run, sandbox):
    """ImmediateBackend: the job create_jobs just made is claimed with one UPDATE and used as
    is, and its source object (in hand) is not fetched again: only the reuse lookup and, once
    the result is stored, the lookup of identical jobs waiting for it SELECT."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    source = photo()
    with CaptureQueriesContext(connection) as queries:
        [job] = run(jobs.create_jobs, "crop", objects=[source], field="image", params=CROP)
    selects = [
        q["sql"]
        for q in queries.captured_queries
        if q["sql"].startswith("SELECT") and "django_content_type" not in q["sql"]  # cached
    ]
    assert len(selects) == 2, selects
    assert "source_hash" in selects[0] and "'succeeded'" in selects[0]  # the reuse lookup
    assert "source_hash" in selects[1] and "next_attempt_at" in selects[1]  # waiting twins
    job.refresh_from_db()
    assert job.status == "succeeded" and job.started_at and job.attempts == 1
    # Changed since it was created (here: canceled, then queued again): read back as usual.
    from django.utils import timezone

    ImageJob.objects.filter(pk=job.pk).update(
        status="pending", result="", updated_at=timezone.now()
    )
    with CaptureQueriesContext(connection) as queries:
        queue._fresh.jobs = {job.pk: job}
        try:
            again = jobs.run_job(job.pk)
        finally:
            queue._fresh.jobs = {}
    assert again is not job and again.status == "succeeded"
    assert any(
        q["sql"].startswith('SELECT "django_imageops_imagejob"."id"') and "LIMIT 21" in q["sql"]
        for q in queries.captured_queries
    )


def test_parameters_out_of_bounds_fail_the_job_before_any_arithmetic(run, sandbox):
    """A row whose params no provider would accept (written by other means, or before a
    provider narrowed them) fails with invalid_input, not an overflow's internal_error."""
    job = ImageJob.objects.create(
        operation="uncrop",
        provider="piktid",
        params={"left": int("9" * 400), "right": 0, "top": 0, "bottom": 0},
        source_object=photo(make_image(64, 64)),
        source_field="image",
    )
    job = run(jobs.run_job, job.pk)
    assert (job.status, job.error_code) == ("failed", "invalid_input"), job.error_message
    assert "less than or equal to 100000" in job.error_message
    assert sandbox.counters()["piktid"]["calls"] == 0
