"""A budget holds across worker processes: three ``db_worker``s (PostgreSQL in CI, the SQLite
file otherwise), a Clipdrop daily budget of 10 credits and 30 queued uncrop jobs. The sandbox
counts exactly 10 charged calls, 20 jobs wait with the budget's reason, and raising the cap
(new settings, workers restarted, ``resume_waiting`` as ``imageops_run --due`` runs it) lets
them finish."""

from __future__ import annotations

import copy
import json

import pytest
from django.core.cache import caches
from django.core.files.base import ContentFile

from django_imageops import jobs
from django_imageops.models import BudgetCounter, ImageJob
from tests.conftest import make_image
from tests.services import start_process, stop_processes, wait_until, worker_env

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

WORKERS = 3
JOBS = 30
BUDGET = 10


def start_workers(budget: int) -> list:
    env = worker_env(
        IMAGEOPS_TEST_TASK_BACKEND="db",
        IMAGEOPS_TEST_CLIPDROP_RPM="6000",
        IMAGEOPS_TEST_VENDOR_SETTINGS=json.dumps({"clipdrop": {"DAILY_BUDGET": budget}}),
    )
    return [
        start_process(
            ["db_worker", "--interval", "0.1", "--no-startup-delay", "--worker-id", f"b{i}"],
            env,
            f"budget-worker-{i}",
        )
        for i in range(WORKERS)
    ]


def set_budget(settings, budget: int) -> None:
    conf = copy.deepcopy(settings.IMAGEOPS)
    conf["VENDORS"]["clipdrop"]["DAILY_BUDGET"] = budget
    settings.IMAGEOPS = conf


def counts() -> tuple[int, int]:
    succeeded = ImageJob.objects.filter(status="succeeded").count()
    waiting = ImageJob.objects.filter(status="pending", error_code="budget_exhausted").count()
    return succeeded, waiting


def test_three_workers_spend_exactly_the_budget_then_resume_when_it_is_raised(
    sandbox, s3, settings
):
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    caches["imageops-shared"].clear()
    set_budget(settings, BUDGET)
    jobs.create_jobs(
        "uncrop",
        uploads=[ContentFile(make_image(40 + i, 30), name=f"{i}.png") for i in range(JOBS)],
        params={"right": 16},
    )
    workers = start_workers(BUDGET)
    try:
        settled = wait_until(lambda: counts() == (BUDGET, JOBS - BUDGET), timeout=120)
    finally:
        log = stop_processes(workers)
    assert settled, (counts(), log[-4000:])
    clipdrop = sandbox.counters()["clipdrop"]
    assert (clipdrop["calls"], clipdrop["credits_consumed"]) == (BUDGET, BUDGET), log[-4000:]
    for job in ImageJob.objects.filter(status="pending"):
        assert job.error_message == (
            "Clipdrop's daily budget of 10 credits is spent; resumes at 00:00 UTC."
        )
        assert job.attempts == 0 and not job.vendor_image_id
    assert BudgetCounter.objects.get().spent == BUDGET

    # The cap is raised: the site's settings change and its workers restart; the cron's
    # `imageops_run --due` (resume_waiting) makes the waiting jobs due.
    set_budget(settings, JOBS)
    workers = start_workers(JOBS)
    try:
        assert jobs.resume_waiting() == JOBS - BUDGET
        finished = wait_until(lambda: counts() == (JOBS, 0), timeout=120)
    finally:
        log = stop_processes(workers)
    assert finished, (counts(), log[-4000:])
    clipdrop = sandbox.counters()["clipdrop"]
    assert (clipdrop["calls"], clipdrop["credits_consumed"]) == (JOBS, JOBS)
    assert BudgetCounter.objects.get().spent == JOBS
