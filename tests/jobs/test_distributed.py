"""The same tasks on a distributed engine: RQ (django-tasks-rq) with a real Redis broker.

A real ``rqworker`` process (django-rq's command, ``--job-class django_tasks_rq.Job``, with
RQ's scheduler for ``run_after``) runs the jobs this test enqueues through Django's tasks API;
the rate limiter keeps its state in the same Redis (Django's ``RedisCache``), as it would across
machines. Skips when ``redis-server`` is missing, unless ``IMAGEOPS_REQUIRE_SERVICES=1``.
"""

from __future__ import annotations

import pytest
from django.core.files.base import ContentFile

from django_imageops import jobs, tasks
from django_imageops.models import ImageJob, ImageJobEvent
from tests.conftest import make_image
from tests.services import start_process, stop_processes, wait_until, worker_env

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

JOBS = 3
RPM = 12  # slots of 60/11 s: the two workers cannot both call at once


@pytest.fixture(scope="module")
def redis_url():
    """A private redis-server for this module (tests/services.py)."""
    from tests.services import redis_server

    yield from redis_server()


@pytest.fixture
def rq_backend(settings, redis_url):
    """This process enqueues on RQ (the worker process gets the same through its env)."""
    import redis

    redis.Redis.from_url(redis_url).flushdb()
    settings.RQ_QUEUES = {"default": {"URL": redis_url}}
    settings.TASKS = {"default": {"BACKEND": "django_tasks_rq.RQBackend", "QUEUES": ["default"]}}
    return redis_url


def test_rq_worker_runs_jobs_and_rate_limit_deferrals(sandbox, s3, rq_backend):
    assert tasks.backend_supports_defer()
    created = jobs.create_jobs(
        "uncrop",
        uploads=[ContentFile(make_image(30 + i, 20), name=f"{i}.png") for i in range(JOBS)],
        params={"left": 8},
    )
    # A duplicate delivery of one job: it must not run twice.
    tasks.enqueue(tasks.run_job_task, created[0].pk)

    env = worker_env(
        IMAGEOPS_TEST_TASK_BACKEND="rq",
        IMAGEOPS_TEST_REDIS_URL=rq_backend,
        IMAGEOPS_TEST_RATE_LIMIT_CACHE="imageops-redis",
        # A burst of 1 at this rate: jobs are deferred (run_after) and come back later.
        IMAGEOPS_TEST_CLIPDROP_RPM=str(RPM),
    )
    # Two workers, as on two machines: one broker, one limiter state.
    workers = [
        start_process(
            ["rqworker", "--job-class", "django_tasks_rq.Job", "--with-scheduler", "default"],
            env,
            f"rqworker-{index}",
        )
        for index in range(2)
    ]
    try:
        done = wait_until(
            lambda: ImageJob.objects.filter(status="succeeded").count() == JOBS, timeout=60
        )
    finally:
        log = stop_processes(workers)
    if not done:
        stuck = ImageJob.objects.filter(status="pending", next_attempt_at__isnull=False)
        assert not stuck.exists(), (
            "a deferred job was delivered before its run_after (RQ keeps run_after in whole "
            "seconds), found not due, and dropped: " + log
        )
    assert done, log
    assert sandbox.counters()["clipdrop"]["calls"] == JOBS, log
    assert sandbox.counters()["clipdrop"].get("rate_limited", 0) == 0
    for job in ImageJob.objects.all():
        assert job.events.filter(kind=ImageJobEvent.Kind.VENDOR_CALL).count() == 1
    # The limiter deferred jobs and RQ's scheduler brought them back.
    assert ImageJobEvent.objects.filter(kind=ImageJobEvent.Kind.RETRY_SCHEDULED).exists()
    # (That the processes share one budget through Redis is measured precisely in
    # tests/test_ratelimit.py::test_processes_sharing_redis_stay_within_the_limit.)
