"""Thin ``@task`` wrappers around ``django_imageops.jobs`` for Django's tasks framework.

``django.tasks`` on Django 6.x, the ``django_tasks`` backport on 5.2 (``jobs.queue`` imports
whichever is there). Tasks take ids only (JSON-safe) and are enqueued on the ``TASKS`` alias
``IMAGEOPS["TASK_BACKEND"]`` inside ``transaction.on_commit`` by ``jobs.queue``, which gets
them from the ``register`` call at the end of this module: ``tasks`` imports ``jobs``, ``jobs``
never imports ``tasks``. ``AppConfig.ready`` imports this module; when ``TASK_BACKEND`` is
misconfigured the ``@task`` decorator fails here, and check ``django_imageops.E003`` says why.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.utils import timezone

from . import jobs
from .conf import get_setting
from .jobs.queue import (
    InvalidTaskBackendError,
    backend_supports_defer,
    enqueue,
    get_backend,
    register,
    task,
    task_backends,
    whole_second_after,
)
from .models import ImageJob
from .vendors import RateLimited

__all__ = [
    "InvalidTaskBackendError",
    "backend_supports_defer",
    "enqueue",
    "fetch_review_result_task",
    "get_backend",
    "run_job_task",
    "task",
    "task_backends",
    "whole_second_after",
]

logger = logging.getLogger(__name__)


@task(backend=get_setting("TASK_BACKEND"))
def run_job_task(job_id: int) -> None:
    """Run (or continue) the ``ImageJob`` with primary key ``job_id`` (``jobs.run_job``)."""
    jobs.run_job(job_id)


@task(backend=get_setting("TASK_BACKEND"))
def fetch_review_result_task(job_id: int) -> None:
    """Fetch a newer editor result of job ``job_id`` (``jobs.fetch_review_result``).

    When the rate limiter (or the vendor's 429) says to wait, the task is enqueued again
    that much later (backends that cannot defer: ``RateLimited`` is raised)."""
    job = ImageJob.objects.filter(pk=job_id).first()
    if job is None:
        logger.warning("fetch_review_result_task: no ImageJob %s", job_id)
        return
    try:
        jobs.fetch_review_result(job)
    except RateLimited as exc:
        # Told to wait (our limiter or a vendor's 429): fetch later rather than lose the save.
        when = timezone.now() + timedelta(seconds=float(exc.retry_after or 5.0))
        if not enqueue(fetch_review_result_task, job_id, run_after=whole_second_after(when)):
            raise


register(run_job=run_job_task, fetch_review_result=fetch_review_result_task)
