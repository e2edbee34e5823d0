"""A worker killed right after PiktID accepted ``/edit/generate``, with real processes.

A django-tasks-db ``db_worker`` runs the job; the sandbox carries the generate out (and
charges it) but holds its answer, and the worker is killed with SIGKILL meanwhile: the job is
left ``running`` with the generate recorded as requested but its answer never stored. A second
worker process, ``imageops_run --due`` with its default ``--stale`` (1800 s), requeues the
stale job once PiktID's own ``stale_after`` (240 s) has passed, while PiktID still keeps the
notification (600 s), and resumes it: it must look for that generation's result instead of
paying PiktID for a second one.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.files.base import ContentFile

from django_imageops import jobs
from django_imageops.models import ImageJob
from tests.jobs.support import make_image
from tests.services import start_process, stop_processes, wait_until, worker_env

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


def test_a_worker_killed_after_piktid_accepted_the_generate_is_not_charged_twice(
    sandbox, s3, settings
):
    from django.core.cache import caches

    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    caches["imageops-shared"].clear()
    sandbox.configure(piktid_delay=1)
    # PiktID accepts and charges the generate; its answer never reaches the worker.
    sandbox.fail_next("piktid", kind="late", seconds=120, endpoint="generate")
    # An uploaded source lives on the S3 storage, which the worker processes share.
    [job] = jobs.create_jobs(
        "uncrop",
        provider="piktid",
        uploads=[ContentFile(make_image(100, 100), name="photo.png")],
        params={"left": 16},
    )
    env = worker_env(IMAGEOPS_TEST_TASK_BACKEND="db")
    worker = start_process(["db_worker", "--interval", "0.2", "--no-startup-delay"], env, "db")
    try:
        charged = wait_until(
            lambda: sandbox.counters()["piktid"]["credits_consumed"] == 1, timeout=60
        )
        worker.kill()  # SIGKILL: no clean-up, nothing more is written
        worker.wait(timeout=10)
    finally:
        log = stop_processes([worker])
    job.refresh_from_db()
    assert charged, (job.status, job.error_message, log)
    assert job.status == "running"
    assert job.vendor_state["step"] == "requested"  # recorded before the call

    # 250 s pass (the job's last write and its generate move back): more than PiktID's
    # stale_after, far less than the default --stale of 1800 s.
    state = {**job.vendor_state, "generated_at": job.vendor_state["generated_at"] - 250}
    ImageJob.objects.filter(pk=job.pk).update(
        vendor_state=state, updated_at=job.updated_at - timedelta(seconds=250)
    )
    resumer = start_process(["imageops_run", "--due", "--loop", "0.5"], env, "run")
    try:
        done = wait_until(
            lambda: ImageJob.objects.filter(pk=job.pk, status="succeeded").exists(), timeout=60
        )
    finally:
        log = stop_processes([resumer])
    job.refresh_from_db()
    assert done, (job.status, job.error_message, log)
    assert (job.result_width, job.result_height) == (116, 100)
    counters = sandbox.counters()["piktid"]
    assert counters["endpoints"]["generate"] == 1, counters
    assert counters["endpoints"]["target"] == 1
    assert counters["credits_consumed"] == 1
