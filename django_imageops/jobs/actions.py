"""What a person or a cron job does to jobs: cancel, retry, and run or requeue the due ones."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.db.models import Q
from django.utils import timezone

from ..models import ImageJob
from .history import Kind, record_event
from .queue import enqueue_on_commit
from .runner import POLLING, run_job, without_polling
from .states import RUNNING, due_q, transition

Kind = Kind


def cancel(job: ImageJob) -> bool:
    """Cancel ``job`` if it is pending, running or waiting for the editor.

    A vendor call already under way finishes, but its result is not applied.

    Returns:
        True when the job was canceled, False when it had already finished.
    """
    if not transition(job, "cancel", finished_at=timezone.now(), next_attempt_at=None):
        job.refresh_from_db()
        return False
    record_event(job, Kind.CANCELED, "canceled")
    return True


def retry(job: ImageJob) -> bool:
    """Queue a failed or canceled ``job`` again (attempts reset; stored vendor references are
    kept, so e.g. an image already uploaded to the vendor is not uploaded again). The job runs
    its provider's ``start`` again, even one that failed while polling an asynchronous vendor
    (``start`` resumes from the stored references as it sees fit).

    Returns:
        True when the job was queued, False when it was not failed or canceled.
    """
    state = ImageJob.objects.filter(pk=job.pk).values_list("vendor_state", flat=True).first()
    fields: dict[str, Any] = (
        {"vendor_state": without_polling(state)} if state and POLLING in state else {}
    )
    if not transition(
        job,
        "retry",
        attempts=0,
        next_attempt_at=None,
        finished_at=None,
        error_code="",
        error_message="",
        **fields,
    ):
        job.refresh_from_db()
        return False
    record_event(job, Kind.RETRY_SCHEDULED, "retry requested")
    enqueue_on_commit([job.pk])
    return True


def requeue_stale(older_than: float = 1800.0) -> int:
    """Put back to pending the jobs left ``running`` by a worker that died (no update for
    ``older_than`` seconds and no scheduled poll). They resume from their stored vendor
    references (e.g. an image already uploaded to the vendor is not uploaded again).

    Returns:
        How many jobs were requeued.
    """
    now = timezone.now()
    stale = list(
        ImageJob.objects.filter(
            status=RUNNING,
            next_attempt_at__isnull=True,
            updated_at__lt=now - timedelta(seconds=older_than),
        ).values_list("pk", flat=True)
    )
    requeued = 0
    for job_id in stale:
        if transition(
            job_id,
            "requeue_stale",
            where=Q(next_attempt_at__isnull=True),
            next_attempt_at=now,
            updated_at=now,
        ):
            requeued += 1
            record_event(
                ImageJob(pk=job_id),
                Kind.RETRY_SCHEDULED,
                f"no progress for {older_than:.0f} s (worker gone?): requeued",
            )
    return requeued


def run_due(limit: int | None = None) -> int:
    """Run every job that is due now (pending with a passed or no ``next_attempt_at``, or a
    running job whose scheduled poll is due), oldest first. For backends that cannot defer.

    Returns:
        How many jobs were claimed and run.
    """
    ids = list(
        ImageJob.objects.filter(due_q(timezone.now()))
        .order_by("next_attempt_at", "pk")
        .values_list("pk", flat=True)[: limit or None]
    )
    return sum(1 for job_id in ids if run_job(job_id) is not None)
