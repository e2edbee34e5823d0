"""The state machine of ``ImageJob``: the transition table, and the one function that writes a
status.

Every status write is ``transition(job, name, ...)``: one conditional ``UPDATE`` that changes
the status only while it is one of the transition's "from" statuses, so two workers (or a
worker and a person canceling) can never both win. The transitions, ``from --name--> to``
(``tests/jobs/test_states.py`` checks this diagram against ``TRANSITIONS``)::

    pending                                --claim-->            running
    running                                --claim-->            running   (a poll is due)
    running                                --schedule_poll-->    running   (PollLater)
    running                                --wait_for_editor-->  waiting_for_editor
    running, waiting_for_editor, succeeded --succeed-->          succeeded (a result stored)
    running                                --retry_later-->      pending   (retry, wait, StartAgain)
    running, waiting_for_editor, succeeded --spool-->            pending   (storing failed)
    running                                --requeue_stale-->    pending   (its worker died)
    pending, running, waiting_for_editor   --fail-->             failed
    pending, running, waiting_for_editor   --cancel-->           canceled
    failed, canceled                       --retry-->            pending

``succeeded --succeed--> succeeded`` is a newer result of the vendor's editor replacing the
stored one; ``spool`` keeps the result's bytes in ``SPOOL_DIR`` and stores them on the next
attempt without calling the vendor again. ``succeeded``, ``failed`` and ``canceled`` are
finished (``ImageJob.FINISHED_STATUSES``); only a person's ``retry`` (``jobs.retry``) leaves
``failed``/``canceled``.

Besides the table: ``update`` (fields other than the status), ``set_later`` (fields written with
the next write), and the transitions with their side effects that the runner, the results and
the review share: ``fail`` (``job_failed`` after commit), ``retry_later`` (back-off, history,
re-enqueue), ``defer`` (a rate-limit wait, no attempt counted), ``wait_for_budget`` (a budget
is spent: pending until it rolls over), ``schedule_poll``.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, time, timedelta
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .. import signals
from ..conf import get_setting
from ..models import ImageJob
from ..vendors import VendorError
from .history import Kind, record_event
from .queue import schedule

Status = ImageJob.Status
Kind = Kind

PENDING, RUNNING = Status.PENDING.value, Status.RUNNING.value
WAITING, SUCCEEDED = Status.WAITING_FOR_EDITOR.value, Status.SUCCEEDED.value
FAILED, CANCELED = Status.FAILED.value, Status.CANCELED.value

#: Transition name -> (the statuses it may leave, the status it enters).
TRANSITIONS: dict[str, tuple[frozenset[str], str]] = {
    "claim": (frozenset({PENDING, RUNNING}), RUNNING),
    "schedule_poll": (frozenset({RUNNING}), RUNNING),
    "wait_for_editor": (frozenset({RUNNING}), WAITING),
    "succeed": (frozenset({RUNNING, WAITING, SUCCEEDED}), SUCCEEDED),
    "retry_later": (frozenset({RUNNING}), PENDING),
    "spool": (frozenset({RUNNING, WAITING, SUCCEEDED}), PENDING),
    "requeue_stale": (frozenset({RUNNING}), PENDING),
    "fail": (frozenset({PENDING, RUNNING, WAITING}), FAILED),
    "cancel": (frozenset({PENDING, RUNNING, WAITING}), CANCELED),
    "retry": (frozenset({FAILED, CANCELED}), PENDING),
}

_PENDING_FIELDS = "_pending_fields"
_FINISHED = frozenset({SUCCEEDED, FAILED, CANCELED})


def sources(name: str) -> frozenset[str]:
    """The statuses transition ``name`` may leave."""
    return TRANSITIONS[name][0]


def transition(job: ImageJob | int, name: str, *, where: Q | None = None, **fields: Any) -> bool:
    """Move ``job`` (an instance or a primary key) along transition ``name``, writing
    ``fields`` with the status in one conditional ``UPDATE``.

    The row is updated only while its status is one of the transition's "from" statuses (and
    it matches ``where``, e.g. "its poll is due"). For an instance, fields set with
    ``set_later`` go with it, and the instance is updated when the row was. A transition into
    a finished status also clears ``work_key``: identical jobs no longer wait for this one
    (``jobs.twins``).

    Returns:
        True when the row was updated (False: someone else changed it first, e.g. canceled).

    Raises:
        KeyError: an unknown transition name.
    """
    from_statuses, to_status = TRANSITIONS[name]
    values = {"updated_at": timezone.now(), **fields, "status": to_status}
    if to_status in _FINISHED:
        values["work_key"] = ""
    return _write(job, values, from_statuses, where)


def update(job: ImageJob, **fields: Any) -> bool:
    """Write ``fields`` (not the status: see ``transition``) of ``job``, with any fields set by
    ``set_later``, in one UPDATE. Returns True when the row still exists."""
    if "status" in fields:
        raise ValueError("a status is written by jobs.states.transition()")
    return _write(job, {"updated_at": timezone.now(), **fields})


def set_later(job: ImageJob, **fields: Any) -> None:
    """Set ``fields`` on ``job`` now and write them with its next ``transition``/``update`` (or
    when its run ends): one UPDATE fewer for facts that need not be stored on their own."""
    for field_name, value in fields.items():
        setattr(job, field_name, value)
    job.__dict__.setdefault(_PENDING_FIELDS, {}).update(fields)


def has_pending_fields(job: ImageJob) -> bool:
    """Whether ``set_later`` left fields to write."""
    return bool(job.__dict__.get(_PENDING_FIELDS))


def count_attempt(job: ImageJob, step: int = 1) -> None:
    """Count one attempt (``step`` -1: take one back); written with the job's next write (one
    UPDATE fewer per run).

    An attempt is one try at the job: a run that starts it at the vendor (however many calls
    that takes), or finds it cannot (the source is missing or unusable), or stores a result an
    earlier try kept. Its retries count one each and ``IMAGEOPS["MAX_ATTEMPTS"]`` bounds
    them; polls for an asynchronous result, rate-limit and budget waits, waiting for an
    identical job or for a person, and a reused result count none."""
    set_later(job, attempts=max(0, job.attempts + step))


def _write(
    job: ImageJob | int,
    values: dict[str, Any],
    statuses: frozenset[str] | None = None,
    where: Q | None = None,
) -> bool:
    instance = job if isinstance(job, ImageJob) else None
    pending = instance.__dict__.get(_PENDING_FIELDS) if instance is not None else None
    if pending:
        values = {**pending, **values}
    conditions: dict[str, Any] = {"pk": instance.pk if instance is not None else job}
    if statuses is not None:
        conditions["status__in"] = statuses
    # One filter() call: each call clones the queryset (this runs several times per job).
    queryset = ImageJob.objects.filter(*([where] if where is not None else []), **conditions)
    updated = queryset.update(**values)
    if updated and instance is not None:
        if pending:
            pending.clear()
        for field_name, value in values.items():
            setattr(instance, field_name, value)
    return bool(updated)


def due_q(now: datetime) -> Q:
    """Jobs ``run_job`` may claim: pending and due, or running with a scheduled poll due."""
    return Q(status=PENDING) & (Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now)) | Q(
        status=RUNNING, next_attempt_at__isnull=False, next_attempt_at__lte=now
    )


def budget_wait_q(now: datetime) -> Q:
    """Jobs waiting for a budget at ``now``: pending with ``error_code`` ``budget_exhausted``
    (``BUDGET_WAIT``) and not due yet. One whose budget's period rolled over, or that
    ``jobs.resume_waiting`` made due after its cap was raised, is due: queued, no longer
    waiting."""
    return Q(status=PENDING, error_code=BUDGET_WAIT, next_attempt_at__gt=now)


# -- transitions with their side effects ---------------------------------------------------


def send_on_commit(signal, job: ImageJob) -> None:
    """Send ``signal`` (``job_succeeded``/``job_failed``) with ``sender=ImageJob, job=job``
    once the transaction commits."""
    transaction.on_commit(lambda: signal.send(sender=ImageJob, job=job))


def fail(job: ImageJob, code: str, message: Any) -> None:
    """Fail ``job`` with ``code`` and ``message`` (plain words); ``job_failed`` after commit."""
    if transition(
        job,
        "fail",
        error_code=str(code)[:64],
        error_message=str(message),
        finished_at=timezone.now(),
        next_attempt_at=None,
    ):
        record_event(job, Kind.ERROR, str(message), error_code=str(code), final=True)
        send_on_commit(signals.job_failed, job)


def backoff(job: ImageJob, error: VendorError | None) -> float:
    """Seconds before the next attempt: the vendor's ``retry_after`` (``Retry-After``, or a
    client's own steps such as ClippingMagic's 5 s x consecutive 429s), else exponential
    back-off with jitter (``IMAGEOPS["RETRY_BACKOFF"]`` base, ``RETRY_BACKOFF_MAX`` cap)."""
    cap = float(get_setting("RETRY_BACKOFF_MAX"))
    if error is not None and error.retry_after is not None:
        return min(float(error.retry_after), cap)
    base = float(get_setting("RETRY_BACKOFF"))
    delay = base * (2 ** max(0, job.attempts - 1))
    return min(delay * random.uniform(0.5, 1.5), cap)


def retry_later(
    job: ImageJob,
    code: str,
    message: Any,
    error: VendorError | None = None,
    *,
    name: str = "retry_later",
) -> None:
    """Schedule another attempt of ``job`` after ``backoff`` seconds (transition ``name``:
    ``retry_later``, or ``spool`` when storing a result failed), or fail it once
    ``IMAGEOPS["MAX_ATTEMPTS"]`` attempts were made."""
    max_attempts = int(get_setting("MAX_ATTEMPTS"))
    if job.attempts >= max_attempts:
        fail(
            job,
            code,
            _("%(message)s Gave up after %(attempts)s attempts.")
            % {"message": message, "attempts": job.attempts},
        )
        return
    delay = backoff(job, error)
    when = timezone.now() + timedelta(seconds=delay)
    if transition(job, name, next_attempt_at=when, error_code=code, error_message=str(message)):
        record_event(
            job,
            Kind.RETRY_SCHEDULED,
            f"attempt {job.attempts + 1} of {max_attempts} in {delay:.1f} s",
            delay=round(delay, 3),
            at=when.isoformat(),
            error_code=code,
        )
        schedule(job, when)


def defer(job: ImageJob, seconds: float, message: str) -> None:
    """Put ``job`` back to pending for ``seconds`` without counting an attempt (the rate
    limiter said to wait)."""
    when = timezone.now() + timedelta(seconds=seconds)
    if transition(job, "retry_later", next_attempt_at=when):
        record_event(
            job, Kind.RETRY_SCHEDULED, message, delay=round(seconds, 3), at=when.isoformat()
        )
        schedule(job, when)


#: ``error_code`` of a job waiting for a budget (``wait_for_budget``).
BUDGET_WAIT = "budget_exhausted"


def wait_for_budget(job: ImageJob, message: Any, until: datetime | None) -> None:
    """Put ``job`` back to pending, without counting an attempt, because a budget is spent:
    due again at ``until`` (the budget's rollover; None: the next 00:00 UTC, when a batch
    budget is looked at again), with ``message`` (the reason, plain words) and ``error_code``
    ``budget_exhausted``. ``jobs.resume_waiting`` makes it due sooner when the cap is raised."""
    if until is None:
        now = timezone.now().astimezone(UTC)
        until = datetime.combine(now.date() + timedelta(days=1), time.min, tzinfo=UTC)
    if transition(
        job,
        "retry_later",
        next_attempt_at=until,
        error_code=BUDGET_WAIT,
        error_message=str(message),
    ):
        record_event(
            job, Kind.RETRY_SCHEDULED, str(message), at=until.isoformat(), error_code=BUDGET_WAIT
        )
        schedule(job, until)


def schedule_poll(job: ImageJob, seconds: float, **fields: Any) -> None:
    """Keep ``job`` running and run it again (a poll) in ``seconds``, writing ``fields`` with
    it (e.g. the provider's new ``vendor_state``)."""
    when = timezone.now() + timedelta(seconds=seconds)
    if transition(job, "schedule_poll", next_attempt_at=when, **fields):
        schedule(job, when)
