"""Enqueueing: the tasks that run jobs, on the ``TASKS`` alias ``IMAGEOPS["TASK_BACKEND"]``.

``jobs`` never imports ``tasks``: ``django_imageops.tasks`` defines the ``@task`` wrappers and
registers them here when it is imported (``AppConfig.ready``), under the names ``"run_job"``
and ``"fetch_review_result"``. Tasks get job ids only and are enqueued when the transaction
commits; ``run_after`` defers them (retries, rate-limit waits, polls) where the backend can.

Django's tasks framework is ``django.tasks`` on Django 6, the ``django_tasks`` backport on 5.2:
import ``task``, ``task_backends`` and ``InvalidTaskBackendError`` from here.
"""

from __future__ import annotations

import logging
import threading
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import django
from django.core.exceptions import ImproperlyConfigured
from django.db import transaction
from django.utils import timezone

# mypy checks against django.tasks (django-stubs); the backport has the same API.
if TYPE_CHECKING or django.VERSION >= (6, 0):
    from django.tasks import task, task_backends
    from django.tasks.exceptions import InvalidTaskBackend as InvalidTaskBackendError
else:  # Django 5.2: the django-tasks backport
    from django_tasks import task, task_backends
    from django_tasks.exceptions import InvalidTaskBackendError

from .. import ratelimit
from ..conf import get_setting
from ..models import ImageJob

__all__ = [
    "InvalidTaskBackendError",
    "backend_supports_defer",
    "enqueue",
    "enqueue_on_commit",
    "get_backend",
    "register",
    "requeue_early_delivery",
    "schedule",
    "take_fresh",
    "task",
    "task_backends",
    "whole_second_after",
]

logger = logging.getLogger(__name__)

#: Task name -> the task object ``tasks.py`` registered.
_tasks: dict[str, Any] = {}

#: Jobs just created by this thread, while their tasks are being enqueued: a backend that runs
#: the task inline (the ImmediateBackend) claims the job without reading it back (``take_fresh``).
_fresh = threading.local()


def register(**tasks: Any) -> None:
    """Register the task objects that run jobs: ``register(run_job=..., fetch_review_result=...)``
    (done by ``django_imageops.tasks`` on import)."""
    _tasks.update(tasks)


def _task(name_or_task: Any):
    if not isinstance(name_or_task, str):
        return name_or_task
    try:
        return _tasks[name_or_task]
    except KeyError:
        raise ImproperlyConfigured(
            f"No {name_or_task!r} task is registered: django_imageops.tasks could not be imported "
            "(see `manage.py check`, django_imageops.E003)."
        ) from None


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


def enqueue(task_obj: Any, job_id: int, *, run_after: datetime | None = None) -> bool:
    """Enqueue ``task_obj(job_id)`` on the configured backend, at ``run_after`` when given.

    ``task_obj`` is a task object or a registered name (``"run_job"``).

    Returns:
        False when ``run_after`` was asked for but the backend cannot defer (nothing was
        enqueued: ``manage.py imageops_run --due`` runs the job when it is due), else True.

    Raises:
        ImproperlyConfigured: a name no task was registered under.
    """
    task_obj = _task(task_obj)
    alias = get_setting("TASK_BACKEND")
    if run_after is not None:
        if not backend_supports_defer():
            return False
        task_obj = task_obj.using(backend=alias, run_after=run_after)
    else:
        task_obj = task_obj.using(backend=alias)
    task_obj.enqueue(job_id)
    return True


def enqueue_on_commit(job_ids: list[int], created: list[ImageJob] | None = None) -> None:
    """Enqueue ``run_job(job_id)`` for each id when the transaction commits. ``created``: the
    instances just made, handed to an inline run (``take_fresh``) instead of being read back."""

    def enqueue_all():
        """Enqueue every id, with ``created`` offered to ``take_fresh`` meanwhile."""
        outer = getattr(_fresh, "jobs", {})
        _fresh.jobs = {**outer, **{job.pk: job for job in created or ()}}
        try:
            for job_id in job_ids:
                enqueue("run_job", job_id)
        finally:
            _fresh.jobs = outer

    transaction.on_commit(enqueue_all)


def take_fresh(job_id: int) -> ImageJob | None:
    """The instance ``enqueue_on_commit`` is enqueueing for ``job_id`` in this thread, if any
    (an inline backend runs the task during the enqueue)."""
    return getattr(_fresh, "jobs", {}).pop(job_id, None)


def schedule(job: ImageJob, when: datetime) -> None:
    """Enqueue ``run_job(job)`` at ``when`` once the transaction commits (backends that cannot
    defer leave it to ``imageops_run --due``)."""
    job_id = job.pk
    transaction.on_commit(lambda: enqueue("run_job", job_id, run_after=when))


def requeue_early_delivery(job_id: int, now: datetime | None = None) -> bool:
    """Enqueue job ``job_id`` again at its ``next_attempt_at`` when a task arrived before it.

    A scheduler may deliver a deferred task early: RQ keeps ``run_after`` in whole seconds
    (``calendar.timegm``), so a retry, a rate-limit deferral or a poll can arrive up to 1 s
    before the job is due. Dropping that task would leave the job pending (or running with a
    poll due) for ever, since nothing else enqueues it. The new task's ``run_after`` is rounded
    up to a whole second, so a whole-second scheduler delivers it on time.

    ``now``: the time the claim was judged at (default: now). A job that was not due then but
    is by the time this runs (a busy machine can pause a worker between the two) is enqueued
    again as well: judged at the later time, its task would be taken for a duplicate of a
    running job's and dropped, and the job left pending for ever.

    Copies of the task arriving more than a second early are enqueued once per due time: an
    ``add`` on the limiter's shared cache (``IMAGEOPS["RATE_LIMIT_CACHE"]``) lets the first
    through and drops the others. That key expires before the new task is due, so a task that
    is early again (clocks of two machines apart) is requeued again, never dropped; a
    duplicate that gets through is harmless (the claim is idempotent). Backends that cannot
    defer enqueue nothing (``imageops_run --due`` runs due jobs there).

    Returns:
        True when the job is not due yet and a task was enqueued (or already was).
    """
    due = (
        ImageJob.objects.filter(
            pk=job_id,
            status__in=(ImageJob.Status.PENDING, ImageJob.Status.RUNNING),
            next_attempt_at__gt=now or timezone.now(),
        )
        .values_list("next_attempt_at", flat=True)
        .first()
    )
    if due is None or not backend_supports_defer():
        return False
    when = whole_second_after(due)
    cache = ratelimit.get_cache()
    key = f"imageops:requeued:{job_id}:{due.timestamp():.6f}"
    # Whole seconds, rounded down: the key is gone by the time the new task is due.
    ttl = int((when - timezone.now()).total_seconds())
    if ttl >= 1 and not cache.add(key, 1, ttl):
        logger.debug("run_job(%s): not due until %s, already requeued", job_id, due)
        return True
    logger.info("run_job(%s): delivered before it is due (%s); requeued", job_id, due)
    transaction.on_commit(lambda: enqueue("run_job", job_id, run_after=when))
    return True
