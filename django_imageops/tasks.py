"""Thin ``@task`` wrappers around ``django_imageops.jobs`` for Django's tasks framework.

``django.tasks`` on Django 6.x, the ``django_tasks`` backport on 5.2: import ``task`` and
``task_backends`` from here, never from either directly. Tasks take ids only (JSON-safe) and are
enqueued on the ``TASKS`` alias ``IMAGEOPS["TASK_BACKEND"]`` inside ``transaction.on_commit``.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

try:  # Django >= 6.0
    from django.tasks import task, task_backends
    from django.tasks.exceptions import InvalidTaskBackend as InvalidTaskBackendError
except ImportError:  # Django 5.2: the django-tasks backport
    from django_tasks import task, task_backends
    from django_tasks.exceptions import InvalidTaskBackendError

from django.utils import timezone

from .conf import get_setting

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
    from . import jobs

    jobs.run_job(job_id)


@task(backend=get_setting("TASK_BACKEND"))
def fetch_review_result_task(job_id: int) -> None:
    """Fetch a newer ClippingMagic result of job ``job_id`` (``jobs.fetch_review_result``).

    When the rate limiter (or ClippingMagic's 429) says to wait, the task is enqueued again
    that much later (backends that cannot defer: ``RateLimited`` is raised)."""
    from . import jobs
    from .models import ImageJob
    from .vendors import RateLimited

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


def get_backend():
    """The task backend of the ``TASKS`` alias ``IMAGEOPS["TASK_BACKEND"]``."""
    return task_backends[get_setting("TASK_BACKEND")]


def backend_supports_defer() -> bool:
    """Whether the configured backend can run a task later (``run_after``)."""
    return bool(getattr(get_backend(), "supports_defer", False))


def whole_second_after(when: datetime) -> datetime:
    """``when`` rounded up to the next whole second (unchanged when it is one already).

    Some schedulers keep ``run_after`` in whole seconds, truncated (RQ's
    ``ScheduledJobRegistry`` stores ``calendar.timegm(dt.utctimetuple())``) and so run a task
    up to 1 s early; a rounded-up time is never early for them.
    """
    if not when.microsecond:
        return when
    return when.replace(microsecond=0) + timedelta(seconds=1)


def enqueue(task_obj, job_id: int, *, run_after: datetime | None = None) -> bool:
    """Enqueue ``task_obj(job_id)`` on the configured backend, at ``run_after`` when given.

    Returns:
        False when ``run_after`` was asked for but the backend cannot defer (nothing was
        enqueued: ``manage.py imageops_run --due`` runs the job when it is due), else True.
    """
    alias = get_setting("TASK_BACKEND")
    if run_after is not None:
        if not backend_supports_defer():
            return False
        task_obj = task_obj.using(backend=alias, run_after=run_after)
    else:
        task_obj = task_obj.using(backend=alias)
    task_obj.enqueue(job_id)
    return True
