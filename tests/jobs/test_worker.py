"""Jobs through django-tasks-db's ``db_worker`` in a separate process (the one-machine worker of
docs/howto/workers.md): enqueued on commit, run by the worker, a retry deferred with
``run_after``."""

from __future__ import annotations

import pytest
from django.core.files.base import ContentFile

from django_imageops import jobs
from django_imageops.models import ImageJob
from tests.jobs.support import calls, make_image
from tests.services import (
    db_tasks_left,
    start_process,
    stop_processes,
    wait_for_workers,
    worker_env,
)

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

CROP = {"x": 0, "y": 0, "width": 10, "height": 10}


def test_db_worker_runs_jobs_and_deferred_retries(sandbox, s3, settings):
    from django.core.cache import caches

    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    caches["imageops-shared"].clear()
    from django_tasks_db.models import DBTaskResult

    from django_imageops import tasks

    assert tasks.backend_supports_defer()
    # The first PixLab call answers 503 with Retry-After: 1; the retry is a task with
    # run_after one second later that the worker picks up when it is due.
    sandbox.fail_next("pixlab", status=503, retry_after=1)
    # Uploaded sources live on the S3 storage, which the worker process shares.
    created = jobs.create_jobs(
        "crop",
        uploads=[ContentFile(make_image(40 + i, 30), name=f"{i}.png") for i in range(3)],
        params=CROP,
    )
    assert DBTaskResult.objects.count() == 3  # enqueued on commit, ids only
    assert all(
        r.args_kwargs["args"] == [j.pk]
        for r, j in zip(DBTaskResult.objects.order_by("enqueued_at", "id"), created, strict=True)
    )
    worker = start_process(
        ["db_worker", "--interval", "0.2", "--no-startup-delay"],
        worker_env(IMAGEOPS_TEST_TASK_BACKEND="db"),
        "db_worker",
    )
    try:
        problem = wait_for_workers(
            lambda: ImageJob.objects.filter(status="succeeded").count() == 3,
            [worker],
            db_tasks_left,
        )
    finally:
        log = stop_processes([worker])
    assert not problem, (problem, log)
    retried = [j for j in ImageJob.objects.all() if j.attempts == 2]
    assert len(retried) == 1, log
    results = list(DBTaskResult.objects.order_by("enqueued_at"))
    assert len(results) == 4
    assert results[-1].args_kwargs["args"] == [retried[0].pk]
    assert results[-1].run_after < results[0].run_after  # a real time, not "whenever"
    assert all(r.status == "SUCCESSFUL" for r in results)
    assert calls(sandbox, "pixlab") == 4
    for job in ImageJob.objects.all():
        assert job.result.name == f"imageops/results/crop/{job.uuid}.png"
