"""Identical deterministic jobs in flight make one vendor call: the others wait for it (deferred,
not slept) and reuse its result.

Ten threads run ten identical jobs at once against the real test database (the SQLite file, or
PostgreSQL) and the sandbox, whose answers take 400 ms so that the jobs overlap. The jobs are
enqueued on django.tasks' DummyBackend, so nothing else runs them; deferred ones are then run as
``imageops_run --due`` would. ``tests/jobs/test_multiworker.py`` does the same with several
worker processes.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from django.core.files.base import ContentFile
from django.db import connection

from django_imageops import jobs
from django_imageops.models import ImageJob, ImageJobEvent
from tests.jobs.support import CROP, DUMMY_BACKEND, calls, make_due, make_image

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("fresh_servers")]

SEEDED = {"left": 16, "seed": 7}


def identical_jobs(operation: str, params: dict, count: int = 10) -> list[ImageJob]:
    """``count`` jobs on uploads of the same bytes with the same parameters, queued (not run)."""
    data = make_image(64, 48)
    return jobs.create_jobs(
        operation,
        uploads=[ContentFile(data, name=f"same-{i}.png") for i in range(count)],
        params=params,
    )


def run_at_once(job_ids: list[int]) -> None:
    """``run_job`` for every id, each in its own thread (and database connection), at once."""

    def run(job_id):
        try:
            jobs.run_job(job_id)
        finally:
            connection.close()

    with ThreadPoolExecutor(len(job_ids)) as pool:
        list(pool.map(run, job_ids))


def run_until_finished(rounds: int = 5) -> None:
    """Run the deferred jobs now, as ``imageops_run --due`` would, until none is left."""
    for _round in range(rounds):
        pending = list(ImageJob.objects.filter(status="pending"))
        if not pending:
            return
        for job in pending:
            make_due(job)
            jobs.run_job(job.pk)


@pytest.fixture
def slow_vendors(sandbox, settings):
    settings.TASKS = {"default": {"BACKEND": DUMMY_BACKEND}}
    sandbox.configure(latency_ms=400)
    return sandbox


@pytest.mark.parametrize(
    ("operation", "params", "vendor"),
    [("crop", CROP, "pixlab"), ("uncrop", SEEDED, "clipdrop")],
    ids=["crop", "seeded-uncrop"],
)
def test_ten_identical_jobs_at_once_make_one_vendor_call(slow_vendors, operation, params, vendor):
    created = identical_jobs(operation, params)
    run_at_once([job.pk for job in created])
    run_until_finished()

    assert calls(slow_vendors, vendor) == 1
    finished = list(ImageJob.objects.all())
    assert {job.status for job in finished} == {"succeeded"}, [j.error_message for j in finished]
    [leader] = [job for job in finished if job.reused_from_id is None]
    assert leader.credits_consumed == sum(job.credits_consumed for job in finished)
    for job in finished:
        if job is not leader:
            assert job.reused_from_id == leader.pk
            assert job.result.name == leader.result.name
            assert job.attempts == 0  # waiting for a twin is not an attempt
    waits = ImageJobEvent.objects.filter(message__startswith="waiting for identical job")
    assert waits.exists()  # some of them were in flight together, and waited
    assert not ImageJob.objects.exclude(work_key="").exists()  # no job holds the work any more


def test_when_the_job_at_the_vendor_fails_a_waiting_twin_takes_the_work(slow_vendors):
    created = identical_jobs("crop", CROP, count=5)
    slow_vendors.fail_next("pixlab", status=400)  # the first call: a refused image
    run_at_once([job.pk for job in created])
    run_until_finished()

    assert calls(slow_vendors, "pixlab") == 2
    statuses = sorted(ImageJob.objects.values_list("status", flat=True))
    assert statuses == ["failed", "succeeded", "succeeded", "succeeded", "succeeded"]


def test_a_waiting_job_is_woken_when_its_twin_finishes(slow_vendors, settings):
    """The job at the vendor makes the jobs waiting for it due (and enqueues them) as soon as
    it has stored its result: they do not wait out their back-off (30 s here)."""
    from django.utils import timezone

    settings.IMAGEOPS = {**settings.IMAGEOPS, "RETRY_BACKOFF": 30.0}
    created = identical_jobs("crop", CROP, count=3)
    run_at_once([job.pk for job in created])
    waiting = list(ImageJob.objects.filter(status="pending"))
    assert waiting, "no job waited for its twin"
    for job in waiting:
        assert job.next_attempt_at <= timezone.now()  # due now, not in 30 s
        jobs.run_job(job.pk)  # what its enqueued task does
    assert set(ImageJob.objects.values_list("status", flat=True)) == {"succeeded"}
    assert calls(slow_vendors, "pixlab") == 1
