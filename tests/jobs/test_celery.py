"""Jobs on the production setup (docs/howto/workers.md): Celery workers (``--pool threads``)
reached through django-tasks-fennel, with a real Redis broker and the rate limiter's state in the
same Redis.

This process enqueues through Django's tasks API on a ``django_tasks_fennel.CeleryBackend``
(its own Celery app pointed at the broker, as a site's web process would); real ``celery -A
django_tasks_fennel.app worker --pool threads`` processes run the tasks on the test database.
Runs in both Django runs of ``.ci/run`` (5.2 with the django-tasks backport, 6.1 with
``django.tasks``). Skips when ``redis-server`` is missing, unless ``IMAGEOPS_REQUIRE_SERVICES=1``.
"""

from __future__ import annotations

import math
import re

import pytest
from django.core.files.base import ContentFile

from django_imageops import jobs, tasks
from django_imageops.models import ImageJob, ImageJobEvent
from tests.conftest import make_image
from tests.services import (
    max_in_window,
    start_process,
    stop_processes,
    wait_until,
    worker_env,
)

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

TASK_LOG = re.compile(r"Task django_tasks:django_imageops\.tasks\.run_job_task\[\S+\] (\w+)")


@pytest.fixture(scope="module")
def redis_url():
    """A private redis-server for this module (tests/services.py)."""
    from tests.services import redis_server

    yield from redis_server()


@pytest.fixture
def celery_broker(settings, redis_url):
    """Enqueue on Celery from this process: the fennel backend on ``TASKS["default"]`` and a
    Celery app on the broker made current (what a site's ``celery.py`` app does in its web
    processes). Yields the broker URL (Redis database 1; the limiter's cache uses 0)."""
    import redis
    from celery import Celery
    from celery import _state as celery_state

    broker_url = redis_url.rsplit("/", 1)[0] + "/1"
    for url in (redis_url, broker_url):
        redis.Redis.from_url(url).flushdb()
    settings.TASKS = {"default": {"BACKEND": "django_tasks_fennel.CeleryBackend"}}
    app = Celery("imageops-tests", set_as_current=False)
    app.conf.update(broker_url=broker_url, task_default_queue="default")
    previous = celery_state._tls.current_app
    app.set_current()
    try:
        yield broker_url
    finally:
        celery_state._tls.current_app = previous
        app.close()


def start_workers(broker_url: str, redis_url: str, count: int, threads: int, **env: str):
    """``count`` Celery worker processes, each with a pool of ``threads`` threads."""
    environment = worker_env(
        IMAGEOPS_TEST_TASK_BACKEND="celery",
        IMAGEOPS_TEST_CELERY_BROKER_URL=broker_url,
        IMAGEOPS_TEST_REDIS_URL=redis_url,
        IMAGEOPS_TEST_RATE_LIMIT_CACHE="imageops-redis",
        **env,
    )
    return [
        start_process(
            [
                *("-A", "django_tasks_fennel.app", "worker"),
                *("--pool", "threads", "--concurrency", str(threads)),
                *("--loglevel", "INFO", "--hostname", f"w{index}@%h"),
                *("--without-gossip", "--without-mingle", "--without-heartbeat"),
            ],
            environment,
            f"celery-{index}",
            module="celery",
        )
        for index in range(count)
    ]


def task_log(workers) -> dict[str, int]:
    """How many ``run_job_task`` deliveries the workers logged per outcome (``received``,
    ``succeeded``, ``raised``, ...)."""
    counts: dict[str, int] = {}
    for worker in workers:
        for outcome in TASK_LOG.findall(worker.log_path.read_text(errors="replace")):
            counts[outcome] = counts.get(outcome, 0) + 1
    return counts


def all_tasks_done(workers, at_least: int) -> bool:
    """True when at least ``at_least`` tasks were received and every one received succeeded."""
    counts = task_log(workers)
    return counts.get("received", 0) >= at_least and counts.get("succeeded") == counts["received"]


def uploads(count: int, width: int = 40) -> list[ContentFile]:
    return [ContentFile(make_image(width + i, 30), name=f"{i}.png") for i in range(count)]


def test_each_job_runs_once_when_its_task_is_delivered_twice(sandbox, s3, celery_broker, redis_url):
    assert tasks.backend_supports_defer()
    created = jobs.create_jobs("uncrop", uploads=uploads(6), params={"left": 8})
    for job in created:  # a second delivery of every job, as after a redelivered message
        tasks.enqueue(tasks.run_job_task, job.pk)

    workers = start_workers(celery_broker, redis_url, count=1, threads=4)
    try:
        done = wait_until(
            lambda: ImageJob.objects.filter(status="succeeded").count() == len(created),
            timeout=90,
        )
        # Both deliveries of every job ran to the end (the second as a no-op), and so did the
        # tasks the rate limiter deferred.
        drained = wait_until(lambda: all_tasks_done(workers, 2 * len(created)), timeout=30)
    finally:
        log = stop_processes(workers)
    assert done, log
    assert drained, log
    assert sandbox.counters()["clipdrop"]["calls"] == len(created), log
    for job in ImageJob.objects.all():
        assert job.attempts == 1
        assert job.events.filter(kind=ImageJobEvent.Kind.VENDOR_CALL).count() == 1
        assert job.credits_consumed > 0


@pytest.mark.parametrize(
    ("processes", "threads"),
    [(1, 8), (2, 4)],
    ids=["threads-of-one-worker", "two-workers"],
)
def test_threads_and_workers_share_the_rate_limit(
    sandbox, s3, celery_broker, redis_url, processes, threads
):
    rpm = 120  # limiter slots of 60 / (120 - BURST 2) s: about 2 calls per second
    created = jobs.create_jobs("uncrop", uploads=uploads(12), params={"right": 16})

    workers = start_workers(
        celery_broker,
        redis_url,
        count=processes,
        threads=threads,
        IMAGEOPS_TEST_CLIPDROP_RPM=str(rpm),
    )
    try:
        done = wait_until(
            lambda: ImageJob.objects.filter(status="succeeded").count() == len(created),
            timeout=90,
        )
    finally:
        log = stop_processes(workers)
    assert done, log
    counters = sandbox.counters()["clipdrop"]
    assert counters["calls"] == len(created), log
    assert counters.get("rate_limited", 0) == 0
    # Every thread could call at once; the shared limiter spread the calls over its slots ...
    call_times = [
        e.created_at.timestamp() - e.data["seconds"]
        for e in ImageJobEvent.objects.filter(kind=ImageJobEvent.Kind.VENDOR_CALL)
    ]
    slot = 60 / (rpm - 2)
    assert max_in_window(call_times, 1.0) <= math.ceil(1.0 / slot + 2) + 1, sorted(call_times)
    # ... by deferring jobs (run_after: a Celery ETA) rather than letting the threads call.
    assert ImageJobEvent.objects.filter(kind=ImageJobEvent.Kind.RETRY_SCHEDULED).exists()


def test_a_retry_is_deferred_with_run_after(sandbox, s3, celery_broker, redis_url):
    # The first PixLab call answers 503 with Retry-After: 2; the retry is the same task enqueued
    # with run_after (a Celery ETA). Delivered early, it would find its job not due and end.
    sandbox.fail_next("pixlab", status=503, retry_after=2)
    crop = {"x": 0, "y": 0, "width": 10, "height": 10}
    created = jobs.create_jobs("crop", uploads=uploads(3), params=crop)

    workers = start_workers(celery_broker, redis_url, count=1, threads=4)
    try:
        done = wait_until(
            lambda: ImageJob.objects.filter(status="succeeded").count() == len(created),
            timeout=60,
        )
        drained = wait_until(lambda: all_tasks_done(workers, len(created) + 1), timeout=30)
        deliveries = task_log(workers)
    finally:
        log = stop_processes(workers)
    assert done, log
    assert drained, log
    # One delivery per job plus the retry, which came when due: none was delivered early.
    assert deliveries["received"] == len(created) + 1, log
    assert "delivered before it is due" not in log
    retried = [job for job in ImageJob.objects.all() if job.attempts == 2]
    assert len(retried) == 1, log
    job = retried[0]
    error = job.events.get(kind=ImageJobEvent.Kind.ERROR)
    scheduled = job.events.get(kind=ImageJobEvent.Kind.RETRY_SCHEDULED)
    call = job.events.get(kind=ImageJobEvent.Kind.VENDOR_CALL)
    second_call_started = call.created_at.timestamp() - call.data["seconds"]
    assert second_call_started >= error.created_at.timestamp() + 2 - 0.05, log
    assert scheduled.created_at <= call.created_at
    assert sandbox.counters()["pixlab"]["calls"] == 4
    assert job.result.name == f"imageops/results/crop/{job.uuid}.png"
