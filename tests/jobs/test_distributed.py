"""The same tasks on a distributed engine: RQ (django-tasks-rq) with a real Redis broker.

A real ``rqworker`` process (django-rq's command, ``--job-class django_tasks_rq.Job``, with
RQ's scheduler for ``run_after``) runs the jobs this test enqueues through Django's tasks API;
the rate limiter keeps its state in the same Redis (Django's ``RedisCache``), as it would across
machines. Skips when ``redis-server`` is missing, unless ``IMAGEOPS_REQUIRE_SERVICES=1``.
"""

from __future__ import annotations

import pytest
from django.core.files.base import ContentFile
from django.utils import timezone

from django_imageops import jobs, tasks
from django_imageops.models import ImageJob, ImageJobEvent
from tests.conftest import make_image
from tests.services import start_process, stop_processes, wait_for_workers, worker_env

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


def rq_tasks_left(redis_url: str) -> tuple[int, int, int, int]:
    """The tasks RQ holds for queue "default": (queued, being taken by a worker, scheduled for
    later, running), read in one MULTI. A task is always in one of them until it has run (a
    worker moves it from the queue with LMOVE and into the started registry in one
    transaction), and a run enqueues its follow-up (a deferral, a poll) before it ends."""
    import redis
    from rq import Queue
    from rq.registry import ScheduledJobRegistry, StartedJobRegistry

    connection = redis.Redis.from_url(redis_url)
    queue = Queue("default", connection=connection)
    with connection.pipeline(transaction=True) as pipe:
        pipe.llen(queue.key)
        pipe.llen(queue.intermediate_queue_key)
        pipe.zcard(ScheduledJobRegistry(queue=queue).key)
        pipe.zcard(StartedJobRegistry(queue=queue).key)
        return tuple(pipe.execute())


def rq_workers_waiting(redis_url: str) -> int:
    """How many RQ workers have started and wait for tasks."""
    import redis
    from rq import Worker

    connection = redis.Redis.from_url(redis_url)
    return sum(1 for worker in Worker.all(connection=connection) if worker.get_state() == "idle")


def jobs_report() -> str:
    """The unfinished jobs with their history, for a failure message."""
    lines = [f"now {timezone.now().isoformat()}"]
    for job in ImageJob.objects.exclude(status="succeeded"):
        lines.append(f"job {job.pk}: {job.status}, next attempt at {job.next_attempt_at}")
        for event in job.events.all():
            lines.append(
                f"  {event.created_at.isoformat()} {event.kind} {event.message} {event.data}"
            )
    return "\n".join(lines)


def test_rq_worker_runs_jobs_and_rate_limit_deferrals(sandbox, s3, rq_backend):
    assert tasks.backend_supports_defer()
    env = worker_env(
        IMAGEOPS_TEST_TASK_BACKEND="rq",
        IMAGEOPS_TEST_REDIS_URL=rq_backend,
        IMAGEOPS_TEST_RATE_LIMIT_CACHE="imageops-redis",
        # A burst of 1 at this rate: jobs are deferred (run_after) and come back later.
        IMAGEOPS_TEST_CLIPDROP_RPM=str(RPM),
    )
    # Two workers, as on two machines: one broker, one limiter state. The jobs are created once
    # both wait for tasks (however long starting takes), so they take two at once and contend.
    workers = [
        start_process(
            ["rqworker", "--job-class", "django_tasks_rq.Job", "--with-scheduler", "default"],
            env,
            f"rqworker-{index}",
        )
        for index in range(2)
    ]
    try:
        problem = wait_for_workers(lambda: rq_workers_waiting(rq_backend) == 2, workers)
        if not problem:
            created = jobs.create_jobs(
                "uncrop",
                uploads=[ContentFile(make_image(30 + i, 20), name=f"{i}.png") for i in range(JOBS)],
                params={"left": 8},
            )
            # A duplicate delivery of one job: it must not run twice.
            tasks.enqueue(tasks.run_job_task, created[0].pk)
            # However long a busy machine takes; a task the workers dropped fails at once.
            problem = wait_for_workers(
                lambda: ImageJob.objects.filter(status="succeeded").count() == JOBS,
                workers,
                lambda: rq_tasks_left(rq_backend),
            )
    finally:
        log = stop_processes(workers)
    if problem:
        pytest.fail(f"{problem}\n{jobs_report()}\n{log}")
    assert sandbox.counters()["clipdrop"]["calls"] == JOBS, log
    assert sandbox.counters()["clipdrop"].get("rate_limited", 0) == 0
    for job in ImageJob.objects.all():
        assert job.events.filter(kind=ImageJobEvent.Kind.VENDOR_CALL).count() == 1
    # The limiter deferred jobs and RQ's scheduler brought them back.
    assert ImageJobEvent.objects.filter(kind=ImageJobEvent.Kind.RETRY_SCHEDULED).exists()
    # (That the processes share one budget through Redis is measured precisely in
    # tests/test_ratelimit.py::test_processes_sharing_redis_stay_within_the_limit.)
