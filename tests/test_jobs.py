"""ImageJob end to end: the real vendor sandbox over HTTP, moto S3, the ImmediateBackend.

Each test runs the on-commit callbacks (``create_jobs`` enqueues there), so a job runs inline
the way it does on a site with the default task backend.
"""

from __future__ import annotations

import hashlib
import io

import django
import pytest
from django.core.cache import caches
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from PIL import Image

from django_imageops import jobs, operations, signals
from django_imageops.models import ImageJob, ImageJobEvent, VendorCredits, VendorToken
from tests.test_jobs_support import calls, fresh_limits, make_image, photo, run_due_job

pytestmark = pytest.mark.django_db

CROP = {"x": 4, "y": 6, "width": 20, "height": 10}
DUMMY_BACKEND = (
    "django.tasks.backends.dummy.DummyBackend"
    if django.VERSION >= (6, 0)
    else "django_tasks.backends.dummy.DummyBackend"
)


@pytest.fixture
def run(django_capture_on_commit_callbacks):
    """Call ``fn(*args, **kwargs)`` and execute every on-commit callback it registers."""

    def call(fn, *args, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return fn(*args, **kwargs)

    return call


@pytest.fixture(autouse=True)
def _servers(sandbox, s3, settings):
    fresh_limits(settings)
    return sandbox


def s3_object(s3, name):
    from django.conf import settings

    return s3.get_object(Bucket=settings.S3_BUCKET, Key=name)


def kinds(job):
    return list(job.events.values_list("kind", flat=True))


# -- the happy paths -------------------------------------------------------------------------


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


def test_uncrop_clipdrop_records_credits(run, sandbox):
    [job] = run(
        jobs.create_jobs,
        "uncrop",
        objects=[photo(make_image(100, 80))],
        field="image",
        params={"left": 10, "right": 20, "top": 0, "bottom": -5},
    )
    job.refresh_from_db()
    assert job.status == "succeeded", job.error_message
    assert (job.result_width, job.result_height) == (130, 75)
    assert job.result.name.endswith(".jpg")
    assert job.credits_consumed == 1
    remaining = sandbox.counters()["clipdrop"]["credits_remaining"]
    assert job.credits_remaining == remaining
    assert VendorCredits.objects.get(vendor="clipdrop").remaining == remaining


def test_reimagine_downscales_to_1024_before_paying(run, sandbox):
    [job] = run(
        jobs.create_jobs, "reimagine", objects=[photo(make_image(2048, 1024))], field="image"
    )
    job.refresh_from_db()
    assert job.status == "succeeded", job.error_message
    assert max(job.result_width, job.result_height) <= 1024
    assert any("resized from 2048x1024" in e.message for e in job.events.all())
    assert sandbox.counters()["clipdrop"]["errors"] == 0


def test_remove_background_auto_keeps_ids_and_test_mode(run, sandbox, settings):
    settings.IMAGEOPS = {**settings.IMAGEOPS, "TEST_MODE": True}
    [job] = run(
        jobs.create_jobs,
        "remove_background",
        objects=[photo(make_image(80, 60))],
        field="image",
        params={"mode": "auto"},
    )
    job.refresh_from_db()
    assert job.params == {"mode": "auto", "test": True}
    assert job.status == "succeeded", job.error_message
    assert job.vendor_image_id and job.vendor_secret
    assert job.vendor_result_revision >= 1
    assert job.credits_consumed == 0  # test mode is free


def test_review_waits_for_editor_then_fetches_each_new_revision(run, sandbox, s3):
    [job] = run(
        jobs.create_jobs,
        "remove_background",
        objects=[photo(make_image(80, 60))],
        field="image",
        params={"mode": "review", "test": True},
    )
    job.refresh_from_db()
    assert job.status == "waiting_for_editor"
    assert job.vendor_image_id and job.vendor_secret and not job.result
    # Nothing new yet: no download.
    assert jobs.fetch_review_result(job) is False
    sandbox.clippingmagic_edit(job.vendor_image_id)
    run(jobs.request_review_result, job, job.vendor_image_id)
    job.refresh_from_db()
    assert job.status == "succeeded", job.error_message
    first = job.result.name
    assert first == f"imageops/results/remove_background/{job.uuid}.png" or first.startswith(
        f"imageops/results/remove_background/{job.uuid}."
    )
    revision = job.vendor_result_revision
    assert revision >= 1
    sandbox.clippingmagic_edit(job.vendor_image_id)
    assert jobs.fetch_review_result(job, image_id=job.vendor_image_id) is True
    job.refresh_from_db()
    assert job.vendor_result_revision > revision
    assert job.result.name != first
    replaced = job.events.filter(kind=ImageJobEvent.Kind.RESULT_REPLACED).get()
    assert replaced.data["previous"] == first
    # The earlier result is kept on storage.
    assert s3_object(s3, first)["ContentLength"] > 0
    with pytest.raises(ValueError):
        jobs.fetch_review_result(job, image_id="999999")


def _review_job(run, *, test: bool, mode: str = "review"):
    [job] = run(
        jobs.create_jobs,
        "remove_background",
        objects=[photo(make_image(80, 60))],
        field="image",
        params={"mode": mode, "test": test},
    )
    job.refresh_from_db()
    return job


def test_review_records_the_credit_of_the_first_production_download_only(run, sandbox):
    jobs.refresh_credits("clippingmagic")  # a known balance, as the admin's refresh leaves it
    job = _review_job(run, test=False)
    assert job.status == "waiting_for_editor"
    assert job.credits_consumed == 0  # the upload (format=json) is free
    sandbox.clippingmagic_edit(job.vendor_image_id)
    assert jobs.fetch_review_result(job) is True
    job.refresh_from_db()
    counters = sandbox.counters()["clippingmagic"]
    assert counters["credits_consumed"] == 1
    assert job.credits_consumed == 1
    # The balance follows what was spent, with no account call per job.
    balance = VendorCredits.objects.get(vendor="clippingmagic").remaining
    assert balance == counters["credits_remaining"]
    assert calls(sandbox, "clippingmagic", "account") <= 1
    # A later revision of the same image is free to download, at the vendor and in our books.
    sandbox.clippingmagic_edit(job.vendor_image_id)
    assert jobs.fetch_review_result(job) is True
    job.refresh_from_db()
    assert sandbox.counters()["clippingmagic"]["credits_consumed"] == 1
    assert job.credits_consumed == 1
    assert job.vendor_result_revision == 2


def test_review_of_a_test_image_records_no_credit(run, sandbox):
    job = _review_job(run, test=True)
    sandbox.clippingmagic_edit(job.vendor_image_id)
    assert jobs.fetch_review_result(job) is True
    job.refresh_from_db()
    assert job.credits_consumed == 0
    assert sandbox.counters()["clippingmagic"]["credits_consumed"] == 0


def test_editing_an_auto_clip_result_costs_no_second_credit(run, sandbox):
    job = _review_job(run, test=False, mode="auto")
    assert job.status == "succeeded", job.error_message
    assert job.credits_consumed == 1
    sandbox.clippingmagic_edit(job.vendor_image_id)
    assert jobs.fetch_review_result(job) is True
    job.refresh_from_db()
    assert sandbox.counters()["clippingmagic"]["credits_consumed"] == 1
    assert job.credits_consumed == 1


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
    original = jobs._piktid_generate

    def generate_after_a_503(job):
        sandbox.fail_next("piktid", status=503)  # the next PiktID call: generate
        original(job)

    monkeypatch.setattr(jobs, "_piktid_generate", generate_after_a_503)
    run(jobs.run_job, job.pk)
    monkeypatch.setattr(jobs, "_piktid_generate", original)
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


# -- errors and retries ----------------------------------------------------------------------


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
    from django_imageops import operations

    spec = operations.get_operation("crop")
    original = type(spec).call

    def call_then_cancel(self, client, provider, prepared):
        result = original(self, client, provider, prepared)
        jobs.cancel(ImageJob.objects.get(status="running"))
        return result

    monkeypatch.setattr(type(spec), "call", call_then_cancel)
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


def test_clippingmagic_429_backs_off_in_linear_5s_steps(run, sandbox):
    sandbox.fail_next("clippingmagic", count=2, status=429)
    [job] = run(
        jobs.create_jobs,
        "remove_background",
        objects=[photo()],
        field="image",
        params={"test": True},
    )
    # The limiter holds every worker back for those 5 s too (tested in the limiter's tests):
    # clear it to see the client's second step.
    caches["default"].clear()
    run(run_due_job, job)
    delays = [
        e.data["delay"] for e in ImageJobEvent.objects.filter(job=job, kind="retry_scheduled")
    ]
    assert delays == [5.0, 10.0]
    caches["default"].clear()
    job = run(run_due_job, job)
    assert job.status == "succeeded"


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


def test_released_after_every_vendor_call(run, sandbox, monkeypatch):
    from django_imageops import ratelimit

    seen = []
    monkeypatch.setattr(ratelimit, "reserve", lambda p, c: seen.append(("reserve", p)) or 0.0)
    monkeypatch.setattr(ratelimit, "release", lambda p, c: seen.append(("release", p)))
    sandbox.fail_next("pixlab", status=500)
    [job] = run(jobs.create_jobs, "crop", objects=[photo()], field="image", params=CROP)
    run(run_due_job, job)
    assert seen == [("reserve", "pixlab"), ("release", "pixlab")] * 2


def test_retry_is_enqueued_with_run_after_when_the_backend_can_defer(run, sandbox, settings):
    from django_imageops import tasks

    settings.TASKS = {"default": {"BACKEND": DUMMY_BACKEND}}
    backend = tasks.get_backend()
    assert backend.supports_defer
    [job] = run(jobs.create_jobs, "crop", objects=[photo()], field="image", params=CROP)
    assert [r.args for r in backend.results] == [[job.pk]]
    assert backend.results[0].task.run_after is None
    sandbox.fail_next("pixlab", status=503)
    run(jobs.run_job, job.pk)
    job.refresh_from_db()
    assert job.status == "pending"
    retry = backend.results[-1]
    assert retry.args == [job.pk]
    assert retry.task.run_after == job.next_attempt_at


@pytest.mark.parametrize("status", ["pending", "running"])  # a retry/deferral, a PiktID poll
def test_a_task_delivered_before_the_job_is_due_is_enqueued_again(run, sandbox, settings, status):
    # RQ keeps run_after in whole seconds (truncated): a deferred task can arrive up to 1 s
    # before next_attempt_at. Dropping it left the job pending (or polling) for ever.
    from datetime import timedelta

    from django.utils import timezone

    from django_imageops import tasks

    settings.TASKS = {"default": {"BACKEND": DUMMY_BACKEND}}
    backend = tasks.get_backend()
    [job] = run(jobs.create_jobs, "crop", objects=[photo()], field="image", params=CROP)
    due = timezone.now() + timedelta(seconds=30, microseconds=250_000)
    ImageJob.objects.filter(pk=job.pk).update(status=status, next_attempt_at=due)
    backend.clear()

    assert run(jobs.run_job, job.pk) is None  # early: not run...
    [again] = backend.results  # ...but enqueued again, at the due time, in whole seconds
    assert again.args == [job.pk]
    assert again.task.run_after == tasks.whole_second_after(due) > due
    assert again.task.run_after - due < timedelta(seconds=1)
    # A second copy of the task, also early, is not enqueued a second time.
    assert run(jobs.run_job, job.pk) is None
    assert len(backend.results) == 1
    job.refresh_from_db()
    assert (job.status, job.next_attempt_at, job.attempts) == (status, due, 0)
    assert calls(sandbox, "pixlab") == 0


def test_an_early_task_is_not_enqueued_again_without_defer_or_when_finished(run, sandbox, settings):
    from datetime import timedelta

    from django.utils import timezone

    from django_imageops import tasks

    [job] = jobs.create_jobs("crop", objects=[photo()], field="image", params=CROP)
    ImageJob.objects.filter(pk=job.pk).update(next_attempt_at=timezone.now() + timedelta(hours=1))
    # The ImmediateBackend cannot defer: the job waits for imageops_run --due (not run now).
    assert run(jobs.run_job, job.pk) is None
    assert calls(sandbox, "pixlab") == 0
    settings.TASKS = {"default": {"BACKEND": DUMMY_BACKEND}}
    backend = tasks.get_backend()
    backend.clear()
    ImageJob.objects.filter(pk=job.pk).update(status="succeeded")
    assert run(jobs.run_job, job.pk) is None
    assert backend.results == []


def test_whole_second_after_rounds_run_after_up():
    from datetime import UTC, datetime

    from django_imageops.tasks import whole_second_after

    exact = datetime(2026, 1, 1, 12, 0, 5, tzinfo=UTC)
    assert whole_second_after(exact) == exact
    assert whole_second_after(exact.replace(microsecond=1)) == exact.replace(second=6)
    assert whole_second_after(exact.replace(microsecond=999_999)) == exact.replace(second=6)


def test_without_defer_the_retry_waits_for_imageops_run(run, sandbox):
    from django_imageops import tasks

    assert not tasks.backend_supports_defer()  # the ImmediateBackend of tests/settings.py
    sandbox.fail_next("pixlab", status=503)
    [job] = run(jobs.create_jobs, "crop", objects=[photo()], field="image", params=CROP)
    job.refresh_from_db()
    assert job.status == "pending" and job.next_attempt_at
    assert calls(sandbox, "pixlab") == 1  # nothing ran it again inline
    assert jobs.run_due() == 0
    from tests.test_jobs_support import make_due

    make_due(job)
    assert jobs.run_due() == 1
    job.refresh_from_db()
    assert job.status == "succeeded"


# -- idempotency and transitions -------------------------------------------------------------


def test_a_job_delivered_twice_runs_once(run, sandbox):
    [job] = jobs.create_jobs("crop", objects=[photo()], field="image", params=CROP)
    assert jobs.run_job(job.pk).status == "succeeded"
    assert jobs.run_job(job.pk) is None
    ImageJob.objects.filter(pk=job.pk).update(status="running")
    assert jobs.run_job(job.pk) is None  # someone else is running it
    assert calls(sandbox, "pixlab") == 1


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


# -- dedupe ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("operation", "params", "vendor", "reused"),
    [
        ("crop", CROP, "pixlab", True),
        ("uncrop", {"left": 10, "seed": 42}, "clipdrop", True),
        ("remove_background", {"mode": "auto", "test": True}, "clippingmagic", True),
        ("uncrop", {"left": 10}, "clipdrop", False),
        ("reimagine", {}, "clipdrop", False),
    ],
)
def test_deterministic_work_is_not_paid_twice(run, sandbox, operation, params, vendor, reused):
    data = make_image(70, 50)
    [first] = run(jobs.create_jobs, operation, objects=[photo(data)], field="image", params=params)
    first.refresh_from_db()
    before = calls(sandbox, vendor)
    # Same content, another object and file name.
    [second] = run(
        jobs.create_jobs,
        operation,
        objects=[photo(data, name="copy.png")],
        field="image",
        params=params,
    )
    second.refresh_from_db()
    assert second.status == "succeeded"
    if reused:
        assert calls(sandbox, vendor) == before
        assert second.reused_from_id == first.pk
        assert second.result.name == first.result.name
        assert second.credits_consumed == 0
        assert second.result_width == first.result_width
    else:
        assert calls(sandbox, vendor) == before + 1
        assert second.reused_from_id is None
        assert second.result.name != first.result.name


def test_other_params_are_not_reused(run, sandbox):
    data = make_image(70, 50)
    run(jobs.create_jobs, "crop", objects=[photo(data)], field="image", params=CROP)
    [other] = run(
        jobs.create_jobs,
        "crop",
        objects=[photo(data)],
        field="image",
        params={**CROP, "width": 21},
    )
    other.refresh_from_db()
    assert other.reused_from_id is None
    assert calls(sandbox, "pixlab") == 2


# -- creating jobs ---------------------------------------------------------------------------


def test_create_jobs_validates_everything_before_creating_anything(sandbox):
    good, empty = photo(), photo()
    empty.image = ""
    empty.save()
    with pytest.raises(ValidationError) as exc:
        jobs.create_jobs("crop", objects=[good, empty], field="image", params=CROP)
    assert "image" in exc.value.message_dict
    with pytest.raises(ValidationError) as exc:
        jobs.create_jobs("crop", objects=[good], field="image", params={"x": -1, "y": "a"})
    assert set(exc.value.message_dict) == {"x", "y", "width", "height"}
    with pytest.raises(ValidationError) as exc:
        jobs.create_jobs("crop", objects=[good], field="title", params=CROP)
    assert "is not an image field" in exc.value.message_dict["title"][0]
    with pytest.raises(ValidationError) as exc:
        jobs.create_jobs("sharpen", objects=[good], field="image")
    assert "operation" in exc.value.message_dict
    with pytest.raises(ValidationError) as exc:
        jobs.create_jobs("crop", provider="clipdrop", objects=[good], field="image", params=CROP)
    assert "provider" in exc.value.message_dict
    with pytest.raises(ValidationError) as exc:
        jobs.create_jobs("crop", objects=[good], field="image", params=CROP, target_field="nope")
    assert "target_field" in exc.value.message_dict
    with pytest.raises(ValueError):
        jobs.create_jobs("crop", params=CROP)
    assert ImageJob.objects.count() == 0
    assert calls(sandbox, "pixlab") == 0


def test_object_sources_are_not_read_when_jobs_are_created(sandbox, settings):
    """Queueing N objects costs no storage read (in production: no S3 GET per object inside
    the admin's request); the bytes are read and checked when the job runs."""
    from django.core.files.storage import default_storage

    settings.TASKS = {"default": {"BACKEND": DUMMY_BACKEND}}
    gone = photo()
    default_storage.delete(gone.image.name)  # a name, but no file behind it
    [job] = jobs.create_jobs("crop", objects=[gone], field="image", params=CROP)
    assert job.status == "pending" and job.source_hash == ""
    job = jobs.run_job(job.pk)
    assert job.status == "failed" and job.error_code == "source_missing"
    assert calls(sandbox, "pixlab") == 0


def test_an_unusable_object_source_fails_its_job_before_any_vendor_call(run, sandbox):
    broken = photo(b"%PDF-1.4 not an image", name="report.png")
    outside = photo(make_image(64, 48))
    created = run(jobs.create_jobs, "crop", objects=[broken], field="image", params=CROP)
    created += run(
        jobs.create_jobs, "crop", objects=[outside], field="image", params={**CROP, "x": 60}
    )
    broken_job, outside_job = (ImageJob.objects.get(pk=j.pk) for j in created)
    assert broken_job.status == outside_job.status == "failed"
    assert broken_job.error_code == outside_job.error_code == "invalid_input"
    assert "not an image we can read" in broken_job.error_message
    assert "beyond the image's width of 64" in outside_job.error_message
    assert broken_job.credits_consumed == outside_job.credits_consumed == 0
    assert broken_job.source_hash  # hashed when it ran
    assert calls(sandbox, "pixlab") == 0


def test_given_source_hashes_are_stored_but_the_bytes_are_still_checked(run, sandbox):
    broken = photo(b"not an image either", name="x.png")
    [job] = run(
        jobs.create_jobs,
        "crop",
        objects=[broken],
        field="image",
        params=CROP,
        source_hashes=[hashlib.sha256(b"not an image either").hexdigest()],
    )
    job.refresh_from_db()
    assert job.status == "failed" and job.error_code == "invalid_input"
    assert calls(sandbox, "pixlab") == 0
    with pytest.raises(ValueError):
        jobs.create_jobs("crop", objects=[broken], field="image", params=CROP, source_hashes=[])


def test_create_jobs_uses_a_constant_number_of_queries(django_assert_num_queries, settings):
    settings.TASKS = {"default": {"BACKEND": DUMMY_BACKEND}}
    one = [photo()]
    many = [photo() for _ in range(6)]
    from django.contrib.contenttypes.models import ContentType

    from tests.testapp.models import Photo

    ContentType.objects.get_for_model(Photo)  # cached, as on a running site
    with django_assert_num_queries(4) as captured:
        jobs.create_jobs("crop", objects=one, field="image", params=CROP)
    count = len(captured.captured_queries)
    with django_assert_num_queries(count):
        created = jobs.create_jobs("crop", objects=many, field="image", params=CROP, batch=None)
    assert len(created) == 6 and all(j.pk for j in created)


def test_a_job_run_inline_is_not_read_back_nor_its_source_object_loaded(run, sandbox):
    """ImmediateBackend: the job create_jobs just made is claimed with one UPDATE and used as
    is, and its source object (in hand) is not fetched again: only the reuse lookup SELECTs."""
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
    assert len(selects) == 1 and "source_hash" in selects[0], selects  # the reuse lookup
    job.refresh_from_db()
    assert job.status == "succeeded" and job.started_at and job.attempts == 1
    # Changed since it was created (here: canceled, then queued again): read back as usual.
    from django.utils import timezone

    ImageJob.objects.filter(pk=job.pk).update(
        status="pending", result="", updated_at=timezone.now()
    )
    with CaptureQueriesContext(connection) as queries:
        jobs._fresh.jobs = {job.pk: job}
        try:
            again = jobs.run_job(job.pk)
        finally:
            jobs._fresh.jobs = {}
    assert again is not job and again.status == "succeeded"
    assert any(
        q["sql"].startswith('SELECT "django_imageops_imagejob"."id"') and "LIMIT 21" in q["sql"]
        for q in queries.captured_queries
    )


def test_create_jobs_from_uploads_stores_the_source(run, sandbox, s3):
    upload = ContentFile(make_image(64, 48), name="holiday photo (1).png")
    [job] = run(jobs.create_jobs, "crop", uploads=[upload], params=CROP)
    job.refresh_from_db()
    assert job.source_file.name.startswith(f"imageops/sources/{job.uuid}/")
    assert job.source_name == job.source_file.name
    assert s3_object(s3, job.source_file.name)["ContentLength"] > 0
    assert job.status == "succeeded", job.error_message
    with pytest.raises(ValidationError) as exc:
        jobs.create_jobs("crop", uploads=[ContentFile(b"not an image", name="x.png")], params=CROP)
    assert "image" in exc.value.message_dict


def test_batch_and_created_by_are_recorded(sandbox, django_user_model, settings):
    import uuid

    settings.TASKS = {"default": {"BACKEND": DUMMY_BACKEND}}
    user = django_user_model.objects.create_user("editor")
    batch = uuid.uuid4()
    created = jobs.create_jobs(
        "crop", objects=[photo(), photo()], field="image", params=CROP, created_by=user, batch=batch
    )
    assert set(ImageJob.objects.filter(batch=batch).values_list("created_by", flat=True)) == {
        user.pk
    }
    assert all(j.status == "pending" for j in created)
    assert ImageJobEvent.objects.filter(kind="created").count() == 2


# -- results on the source object, credits ---------------------------------------------------


def test_apply_result_fills_the_target_field_and_replaces_the_source_on_request(run, sandbox):
    from django.core.files.storage import default_storage

    obj = photo(make_image(64, 48))
    original = obj.image.name
    [job] = run(
        jobs.create_jobs, "crop", objects=[obj], field="image", params=CROP, target_field="banner"
    )
    job.refresh_from_db()
    obj.refresh_from_db()
    assert job.applied_at is not None
    assert obj.banner.name == job.result.name  # the stored name, no copy
    assert obj.image.name == original
    jobs.apply_result(job, replace_source=True)
    obj.refresh_from_db()
    assert obj.image.name != original
    assert Image.open(obj.image).size == (20, 10)
    assert default_storage.exists(original)  # the original stays, named in source_name
    assert job.source_name == original
    assert "applied" in kinds(job)


def test_apply_result_refuses_unfinished_jobs(sandbox, settings):
    settings.TASKS = {"default": {"BACKEND": DUMMY_BACKEND}}
    [job] = jobs.create_jobs("crop", objects=[photo()], field="image", params=CROP)
    with pytest.raises(ValueError):
        jobs.apply_result(job)


def test_refresh_credits_from_the_clippingmagic_account(sandbox):
    remaining = jobs.refresh_credits("clippingmagic")
    assert remaining == sandbox.counters()["clippingmagic"]["credits_remaining"]
    assert VendorCredits.objects.get(vendor="clippingmagic").remaining == remaining


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


def test_admin_calls_told_to_wait_raise_instead_of_calling(sandbox):
    # refresh_credits / fetch_review_result / delete_vendor_copy run while someone waits: a
    # wait from the limiter is an error, not a call that ignores the limit.
    from django_imageops import ratelimit
    from django_imageops.vendors import RateLimited

    ratelimit.backoff("clippingmagic", operations.credential("clippingmagic"), 20)
    before = calls(sandbox, "clippingmagic")
    with pytest.raises(RateLimited) as caught:
        jobs.refresh_credits("clippingmagic")
    assert 10 < caught.value.retry_after <= 20
    assert calls(sandbox, "clippingmagic") == before


def test_a_review_fetch_told_to_wait_is_enqueued_again_later(run, sandbox, settings):
    from django_imageops import ratelimit, tasks

    job = _review_job(run, test=True)
    settings.TASKS = {"default": {"BACKEND": DUMMY_BACKEND}}
    backend = tasks.get_backend()
    backend.clear()
    ratelimit.backoff("clippingmagic", operations.credential("clippingmagic"), 20)
    tasks.fetch_review_result_task.call(job.pk)
    [later] = backend.results
    assert later.task.func is tasks.fetch_review_result_task.func
    assert later.args == [job.pk]
    assert later.task.run_after is not None


def test_imageops_run_command(run, sandbox):
    from django.core.management import call_command

    sandbox.fail_next("pixlab", status=503)
    [job] = run(jobs.create_jobs, "crop", objects=[photo()], field="image", params=CROP)
    job.refresh_from_db()
    assert job.status == "pending"
    out = io.StringIO()
    call_command("imageops_run", "--due", stdout=out)
    job.refresh_from_db()
    assert job.status == "pending"  # not due yet
    assert "Ran 0 job(s)" in out.getvalue()
    call_command("imageops_run", str(job.uuid), stdout=out)
    job.refresh_from_db()
    assert job.status == "succeeded"


def test_a_job_left_running_by_a_dead_worker_is_requeued_and_resumes(run, sandbox):
    from datetime import timedelta

    from django.core.management import call_command
    from django.utils import timezone

    [job] = jobs.create_jobs("crop", objects=[photo()], field="image", params=CROP)
    long_ago = timezone.now() - timedelta(hours=1)
    ImageJob.objects.filter(pk=job.pk).update(status="running", updated_at=long_ago)
    assert jobs.run_job(job.pk) is None
    assert jobs.requeue_stale(older_than=3600 * 2) == 0  # not stale enough
    out = io.StringIO()
    run(call_command, "imageops_run", "--due", stdout=out)
    assert "Requeued 1 stale job(s)" in out.getvalue()
    job.refresh_from_db()
    assert job.status == "succeeded", job.error_message


def test_the_result_fills_a_derived_image_field_without_a_copy(run, sandbox, s3):
    from django.conf import settings as django_settings

    obj = photo(make_image(80, 60))
    [job] = run(
        jobs.create_jobs,
        "remove_background",
        objects=[obj],
        field="image",
        params={"mode": "auto", "test": True},
        target_field="cutout",
    )
    job.refresh_from_db()
    obj.refresh_from_db()
    assert job.status == "succeeded", job.error_message
    assert obj.cutout.name == job.result.name
    assert job.result.name in obj.cutout.url  # a presigned URL, built without a request
    keys = [
        item["Key"]
        for page in s3.get_paginator("list_objects_v2").paginate(
            Bucket=django_settings.S3_BUCKET, Prefix="imageops/"
        )
        for item in page.get("Contents", [])
    ]
    assert [k for k in keys if str(job.uuid) in k or "cutout" in k] == [job.result.name]
