"""Several ``db_worker`` processes on one database (PostgreSQL in CI, the SQLite file otherwise).

Every job is delivered twice (its task enqueued two times) and still runs exactly once: one
vendor call, one attempt, credits counted once. The workers share one rate limit through the
database cache, so together they keep Clipdrop's requests per minute.
"""

from __future__ import annotations

import math

import pytest
from django.core.cache import caches
from django.core.files.base import ContentFile

from django_imageops import jobs, tasks
from django_imageops.models import ImageJob, ImageJobEvent
from tests.conftest import make_image
from tests.services import (
    db_tasks_left,
    max_in_window,
    start_process,
    stop_processes,
    wait_for_workers,
    worker_env,
)

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

WORKERS = 3
JOBS = 12
RPM = 120  # limiter: slots of 60 / (120 - BURST 2) s, about 2 calls per second


def run_workers(succeeded: int, *, rpm: int, name: str) -> tuple[str, str]:
    """Run ``WORKERS`` db_worker processes until ``succeeded`` jobs have succeeded and every
    task (duplicate deliveries too) has been taken. Returns ``(problem, their logs)``: the
    problem is "" when they did (``tests.services.wait_for_workers``)."""
    env = worker_env(IMAGEOPS_TEST_TASK_BACKEND="db", IMAGEOPS_TEST_CLIPDROP_RPM=str(rpm))
    workers = [
        start_process(
            ["db_worker", "--interval", "0.1", "--no-startup-delay", "--worker-id", f"{name}{i}"],
            env,
            f"db_worker-{name}{i}",
        )
        for i in range(WORKERS)
    ]
    try:
        problem = wait_for_workers(
            lambda: (
                ImageJob.objects.filter(status="succeeded").count() == succeeded
                and not db_tasks_left()
            ),
            workers,
            db_tasks_left,
        )
    finally:
        log = stop_processes(workers)
    return problem, log


def test_jobs_delivered_twice_run_once_across_workers_within_the_rate(sandbox, s3, settings):
    from django_tasks_db.models import DBTaskResult

    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    caches["imageops-shared"].clear()
    created = jobs.create_jobs(
        "uncrop",
        uploads=[ContentFile(make_image(40 + i, 30), name=f"{i}.png") for i in range(JOBS)],
        params={"right": 16},
    )
    for job in created:  # a second delivery of every job
        tasks.enqueue(tasks.run_job_task, job.pk)
    assert DBTaskResult.objects.count() == 2 * JOBS

    problem, log = run_workers(JOBS, rpm=RPM, name="w")
    assert not problem, (problem, log)

    counters = sandbox.counters()["clipdrop"]
    assert counters["calls"] == JOBS, log
    assert counters.get("rate_limited", 0) == 0
    for job in ImageJob.objects.all():
        assert job.attempts == 1
        assert job.events.filter(kind=ImageJobEvent.Kind.VENDOR_CALL).count() == 1
        assert job.credits_consumed > 0
    # Every task finished without error, the duplicates as no-ops.
    assert not DBTaskResult.objects.exclude(status="SUCCESSFUL").exists()
    # More than one worker did the work ...
    worker_ids = {
        w for ids in DBTaskResult.objects.values_list("worker_ids", flat=True) for w in ids
    }
    assert len(worker_ids) > 1, log
    # ... and together they kept the shared rate: slots of 60/118 s, catch-up of 2.
    call_times = [
        e.created_at.timestamp()
        for e in ImageJobEvent.objects.filter(kind=ImageJobEvent.Kind.VENDOR_CALL)
    ]
    slot = 60 / (RPM - 2)
    assert max_in_window(call_times, 2.0) <= math.ceil(2.0 / slot + 2) + 1, sorted(call_times)
    # The limiter deferred jobs rather than letting all workers call at once.
    assert ImageJobEvent.objects.filter(kind=ImageJobEvent.Kind.RETRY_SCHEDULED).exists()


def test_identical_jobs_run_by_several_workers_make_one_vendor_call(sandbox, s3, settings):
    """Ten identical crops and ten identical seeded uncrops, created at once and run by three
    workers (on PostgreSQL in CI): one PixLab call and one Clipdrop call; every other job waits
    for its twin at the vendor and reuses its result."""
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    caches["imageops-shared"].clear()
    sandbox.configure(latency_ms=300)  # the vendors take a while: the jobs overlap
    image = make_image(64, 48)
    work = {"crop": {"x": 0, "y": 0, "width": 20, "height": 10}, "uncrop": {"left": 8, "seed": 3}}
    for operation, params in work.items():
        jobs.create_jobs(
            operation,
            uploads=[ContentFile(image, name=f"{operation}-{i}.png") for i in range(10)],
            params=params,
        )
    problem, log = run_workers(20, rpm=6000, name="t")
    assert not problem, (
        problem,
        list(ImageJob.objects.values_list("status", "error_message")),
        log,
    )
    counters = sandbox.counters()
    assert counters["pixlab"]["calls"] == 1, log
    assert counters["clipdrop"]["calls"] == 1, log
    assert ImageJob.objects.filter(reused_from__isnull=False).count() == 18
    assert not ImageJob.objects.exclude(work_key="").exists()
