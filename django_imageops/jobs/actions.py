"""What a person or a cron job does to jobs: cancel, retry, run or requeue the due ones, and
resume the ones waiting for a budget that was raised."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.db.models import Count, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from ..models import ImageJob
from ..providers import all_providers, find_provider, vendor_settings
from .budgets import budget_statuses
from .history import Kind, record_event
from .queue import enqueue_on_commit
from .runner import POLLING, run_job, without_polling
from .states import BUDGET_WAIT, PENDING, RUNNING, budget_wait_q, due_q, transition

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


#: Error codes of jobs that failed on their input: running them again on the same image and
#: parameters fails the same way (before any vendor call).
INPUT_ERRORS = frozenset({"invalid_input"})


def retry_refusal(job: ImageJob) -> str:
    """Why ``retry(job)`` would refuse ``job``, in plain words, or "" when it would queue it.

    Refused: a job that is not failed or canceled, and a job that failed on its input
    (``INPUT_ERRORS``: the image cannot be sent as it is) while its source is still the same
    file (an upload never changes; an object's image may have been replaced since, and then a
    retry reads the new one). At most one query (the source object), no storage request.
    """
    if job.status not in (ImageJob.Status.FAILED, ImageJob.Status.CANCELED):
        return str(_("Only failed or canceled jobs can be retried."))
    if job.status == ImageJob.Status.FAILED and job.error_code in INPUT_ERRORS:
        source = job.source_storage_file
        if source is None or job.source_file or source.name == job.source_name:
            return str(
                _(
                    "It failed on its image, which has not changed: it would fail the same way. "
                    "Replace the image, or queue a new job with other parameters."
                )
            )
    return ""


def retry(job: ImageJob) -> bool:
    """Queue a failed or canceled ``job`` again (attempts, start and finish times reset: the
    job's attempts and duration are those of this new try; stored vendor references are kept,
    so e.g. an image already uploaded to the vendor is not uploaded again). The job runs its
    provider's ``start`` again, even one that failed while polling an asynchronous vendor
    (``start`` resumes from the stored references as it sees fit).

    A job that failed on an image that has not changed since is not queued (``retry_refusal``).

    Returns:
        True when the job was queued, False when it was not (``retry_refusal`` says why).
    """
    if retry_refusal(job):
        return False
    state = ImageJob.objects.filter(pk=job.pk).values_list("vendor_state", flat=True).first()
    fields: dict[str, Any] = (
        {"vendor_state": without_polling(state)} if state and POLLING in state else {}
    )
    if not transition(
        job,
        "retry",
        attempts=0,
        next_attempt_at=None,
        started_at=None,
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
    """Put back to pending the jobs left ``running`` by a worker that died: no update for
    ``older_than`` seconds, or for their provider's ``stale_after`` seconds when that is
    shorter (a vendor that keeps a paid result only for minutes: the job must resume while it
    can still be fetched), and no scheduled poll. They resume from their stored vendor references
    (e.g. an image already uploaded to the vendor is not uploaded again). Two queries, plus two
    per requeued job.

    Returns:
        How many jobs were requeued.
    """
    now = timezone.now()
    thresholds = _stale_thresholds(older_than)
    stale_q = Q(updated_at__lt=now - timedelta(seconds=older_than))
    for (operation, name), seconds in thresholds.items():
        stale_q |= Q(
            operation=operation, provider=name, updated_at__lt=now - timedelta(seconds=seconds)
        )
    stale = list(
        ImageJob.objects.filter(stale_q, status=RUNNING, next_attempt_at__isnull=True).values_list(
            "pk", "operation", "provider"
        )
    )
    requeued = 0
    for job_id, operation, name in stale:
        seconds = thresholds.get((operation, name), older_than)
        if transition(
            job_id,
            "requeue_stale",
            # Not if it made progress meanwhile (a live worker wrote to it).
            where=Q(next_attempt_at__isnull=True, updated_at__lt=now - timedelta(seconds=seconds)),
            next_attempt_at=now,
            updated_at=now,
        ):
            requeued += 1
            record_event(
                ImageJob(pk=job_id),
                Kind.RETRY_SCHEDULED,
                f"no progress for {seconds:.0f} s (worker gone?): requeued",
            )
    return requeued


def _stale_thresholds(older_than: float) -> dict[tuple[str, str], float]:
    """(operation, provider name) -> its ``Provider.stale_after``, for the providers whose
    threshold is shorter than ``older_than`` seconds."""
    return {
        (provider.operation, provider.name): float(provider.stale_after)
        for provider in all_providers()
        if provider.stale_after is not None and provider.stale_after < older_than
    }


def waiting_for_budget():
    """The jobs waiting for a budget (``pending``, ``error_code`` ``budget_exhausted``), as a
    queryset."""
    return ImageJob.objects.filter(status=PENDING, error_code=BUDGET_WAIT)


def status_counts(queryset, *, now=None) -> tuple[dict[str, int], int]:
    """How many jobs of ``queryset`` have each status, and how many of them wait for a budget
    at ``now`` (default: now; ``states.budget_wait_q``; they are also counted as pending).

    Returns:
        ``({status: number of jobs}, number waiting for a budget)``. One query.
    """
    rows = queryset.values_list("status").annotate(
        n=Count("id"), budget=Count("id", filter=budget_wait_q(now or timezone.now()))
    )
    by_status = {status: n for status, n, _budget in rows}
    return by_status, sum(budget for _status, _n, budget in rows)


def budget_wait_reasons(queryset=None, *, now=None) -> list[tuple[str, int]]:
    """Why the jobs of ``queryset`` (default: every job) that wait for a budget at ``now``
    (default: now; ``states.budget_wait_q``) wait: ``[(reason, number of jobs), ...]``, most
    jobs first. The reason is the one stored on the job in plain words ("Clipdrop's daily
    budget of 10 credits is spent; resumes at 00:00 UTC."). One query.
    """
    queryset = ImageJob.objects.all() if queryset is None else queryset
    rows = (
        queryset.filter(budget_wait_q(now or timezone.now()))
        .values_list("error_message")
        .annotate(n=Count("id"))
        .order_by("-n", "error_message")
    )
    return [(reason, n) for reason, n in rows]


def resume_waiting(*, enqueue: bool = True) -> int:
    """Make the jobs waiting for a budget due now where every budget that applies to them has
    room for their price again (its cap was raised, or removed), and enqueue them. They take
    their credits atomically when they run: those that no longer fit wait again.

    Run by ``run_due`` (``manage.py imageops_run --due``, which runs them itself:
    ``enqueue=False``) and the admin's credits page. Jobs waiting for a period to roll over
    become due then by themselves.

    Returns:
        How many jobs were made due.
    """
    now = timezone.now()
    waiting = (
        waiting_for_budget()
        .filter(next_attempt_at__gt=now)
        .values_list("pk", "operation", "provider", "params", "created_by_id", "batch")
    )
    groups: dict[tuple, list[int]] = {}
    for pk, operation, name, params, user_id, batch in waiting:
        provider = find_provider(operation, name)
        if provider is None:
            continue
        try:
            price = provider.price(params, vendor_settings(provider.vendor))
        except (KeyError, ValueError):
            continue
        groups.setdefault((provider.vendor, user_id, batch, price), []).append(pk)
    due: list[int] = []
    for (vendor, user_id, batch, price), ids in groups.items():
        statuses = budget_statuses(vendor, user=user_id, batch=batch)
        if all(status.remaining >= price for status in statuses):
            due.extend(ids)
    if not due:
        return 0
    resumed = list(
        ImageJob.objects.filter(pk__in=due, status=PENDING, error_code=BUDGET_WAIT).values_list(
            "pk", flat=True
        )
    )
    ImageJob.objects.filter(pk__in=resumed, status=PENDING).update(
        next_attempt_at=now, updated_at=now
    )
    if enqueue:
        enqueue_on_commit(resumed)
    return len(resumed)


def run_due(limit: int | None = None) -> int:
    """Run every job that is due now (pending with a passed or no ``next_attempt_at``, or a
    running job whose scheduled poll is due), oldest first, after ``resume_waiting``. For
    backends that cannot defer, and for cron.

    Returns:
        How many jobs were claimed and run.
    """
    resume_waiting(enqueue=False)
    ids = list(
        ImageJob.objects.filter(due_q(timezone.now()))
        .order_by("next_attempt_at", "pk")
        .values_list("pk", flat=True)[: limit or None]
    )
    return sum(1 for job_id in ids if run_job(job_id) is not None)
