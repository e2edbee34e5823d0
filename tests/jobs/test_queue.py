"""Enqueueing (``jobs.queue``): deferred runs with ``run_after``, tasks delivered early,
backends that cannot defer (``imageops_run --due``), jobs left running by a dead worker."""

from __future__ import annotations

import io

import pytest

from django_imageops import jobs
from django_imageops.models import ImageJob
from tests.jobs.support import (
    CROP,
    DUMMY_BACKEND,
    calls,
    make_image,
    photo,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_servers")]


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


def test_an_early_task_is_enqueued_again_when_the_job_became_due_after_its_claim(
    run, sandbox, settings, monkeypatch
):
    # On a busy machine a worker can be paused between the failed claim of a task that came a
    # moment early and the look at why: the job is due by then. That task was dropped (taken
    # for a copy of a task that had already run the job) and the job left pending for ever.
    import time
    from datetime import timedelta

    from django.utils import timezone

    from django_imageops import tasks
    from django_imageops.jobs import runner

    settings.TASKS = {"default": {"BACKEND": DUMMY_BACKEND}}
    backend = tasks.get_backend()
    [job] = run(jobs.create_jobs, "crop", objects=[photo()], field="image", params=CROP)
    due = timezone.now() + timedelta(milliseconds=300)
    ImageJob.objects.filter(pk=job.pk).update(next_attempt_at=due)
    backend.clear()

    claim = runner._claim

    def claim_then_pause(job_id, *args):
        claimed = claim(job_id, *args)
        while timezone.now() <= due:  # the worker is paused until the job is due
            time.sleep(0.05)
        return claimed

    monkeypatch.setattr(runner, "_claim", claim_then_pause)
    assert run(jobs.run_job, job.pk) is None  # early: not run...
    [again] = backend.results  # ...but enqueued again, not dropped
    assert again.args == [job.pk]
    assert again.task.run_after == tasks.whole_second_after(due)
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
    from tests.jobs.support import make_due

    make_due(job)
    assert jobs.run_due() == 1
    job.refresh_from_db()
    assert job.status == "succeeded"


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
    assert "Ran 0 jobs." in out.getvalue()
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
    assert "Requeued 1 stale job." in out.getvalue()
    job.refresh_from_db()
    assert job.status == "succeeded", job.error_message


def test_a_stale_job_is_requeued_after_its_providers_threshold_when_shorter():
    """PiktID's ``stale_after`` (240 s) is under its notifications' lifetime (600 s): its dead
    worker's job is requeued by the default threshold (1800 s) once 240 s have passed, other
    providers' jobs only after the caller's threshold."""
    from datetime import timedelta

    from django.core.files.base import ContentFile
    from django.utils import timezone

    from django_imageops.providers import get_provider

    assert get_provider("uncrop", "piktid").stale_after == 240
    [piktid] = jobs.create_jobs(
        "uncrop",
        provider="piktid",
        uploads=[ContentFile(make_image(100, 100), name="p.png")],
        params={"left": 16},
    )
    [crop] = jobs.create_jobs("crop", objects=[photo()], field="image", params=CROP)

    def left_running(seconds_ago):
        when = timezone.now() - timedelta(seconds=seconds_ago)
        ImageJob.objects.filter(pk__in=[piktid.pk, crop.pk]).update(
            status="running", updated_at=when, next_attempt_at=None
        )

    left_running(200)
    assert jobs.requeue_stale() == 0  # a live PiktID run may go that long without a write
    left_running(300)
    assert jobs.requeue_stale() == 1
    assert ImageJob.objects.get(pk=piktid.pk).status == "pending"
    assert ImageJob.objects.get(pk=crop.pk).status == "running"
    assert jobs.requeue_stale(older_than=100) == 1  # the caller's shorter threshold wins
    assert ImageJob.objects.get(pk=crop.pk).status == "pending"


@pytest.mark.django_db(transaction=True)
def test_imageops_run_loop_ends_after_its_round_on_sigterm(s3):
    """A supervisor's SIGTERM (or ``make serve`` stopping) ends ``imageops_run --due --loop``
    cleanly between rounds: exit status 0 and its summary, instead of dying on the signal."""
    from datetime import timedelta

    from django.core.files.base import ContentFile
    from django.utils import timezone

    from tests.services import start_process, stop_processes, wait_until, worker_env

    # An upload lives on the S3 storage, which the loop's process shares.
    [job] = jobs.create_jobs(
        "crop", uploads=[ContentFile(make_image(60, 40), name="p.png")], params=CROP
    )
    ImageJob.objects.filter(pk=job.pk).update(
        status="running", updated_at=timezone.now() - timedelta(hours=1)
    )
    loop = start_process(["imageops_run", "--due", "--loop", "30"], worker_env(), "loop")
    try:
        done = wait_until(
            lambda: ImageJob.objects.filter(pk=job.pk, status="succeeded").exists(), timeout=60
        )
        assert done, (
            ImageJob.objects.values("status", "error_message").get(pk=job.pk),
            loop.log_path.read_text(),
        )
        loop.terminate()
        assert loop.wait(timeout=15) == 0
    finally:
        log = stop_processes([loop])
    assert "Requeued 1 stale job." in log and "Ran 1 job." in log, log
