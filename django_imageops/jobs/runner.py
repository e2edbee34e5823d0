"""The job runner: one template for every provider, naming none.

``run_job(job_id)`` (called by the ``run_job`` task, once per delivery):

1. claims the job: one conditional ``UPDATE`` (pending and due, or running with a poll due),
   so a task delivered twice never runs a job twice; a task delivered before the job is due is
   enqueued again at the due time;
2. stores a spooled result, if an earlier attempt kept one (no vendor call; ``spool.find``
   also finds one the database never recorded);
3. polls an asynchronous provider whose job is waiting for the vendor (``Provider.poll``), or
   else: for deterministic work (``Provider.is_deterministic``) takes the work or waits for
   the identical job that has it (``twins``) and reuses an identical succeeded result; reads
   and hashes the source, fits it to the vendor (``Provider.prepare``; unusable images fail
   the job with ``invalid_input`` before any vendor call), takes its price from the budgets
   that apply (a spent budget makes it wait, nothing sent: ``RunContext.reserve_budget``) and
   starts it (``Provider.start``);
4. handles the outcome: ``Result`` (store it, succeed), ``PollLater`` (poll again later),
   ``StartAgain`` (back to pending: ``start`` runs again), ``WaitForEditor`` (a person
   finishes it), ``Failure`` (fail); a job that took the work and finished wakes the
   identical jobs waiting for it.

Vendor calls, errors, retries and credits happen in ``context.RunContext.call``.

When something fails after a vendor answered (storing or recording the result, our own code),
the result's bytes are spooled and the job retried: the next run stores them without calling
the vendor again (step 2). A transient database error (``TRANSIENT_DATABASE_ERRORS``) retries
the job like a vendor's 5xx; anything else fails it with ``internal_error``.
"""

from __future__ import annotations

import hashlib
import logging
from datetime import datetime, timedelta

from django.core.exceptions import ValidationError
from django.db import DatabaseError, InterfaceError, OperationalError
from django.db.models import Q, Value
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from ..conf import get_setting
from ..models import ImageJob
from ..providers import (
    Failure,
    PollLater,
    Provider,
    Result,
    StartAgain,
    WaitForEditor,
    find_provider,
)
from ..redaction import job_redactor
from ..vendors.base import sniff_image_type
from .context import RunContext, _Stop
from .history import Kind, flush_events, record_event
from .queue import enqueue, requeue_early_delivery, take_fresh, whole_second_after
from .results import finish_with_result, read_file, reuse, spool_answer, store_from_spool
from .spool import find as find_spooled
from .states import (
    PENDING,
    RUNNING,
    count_attempt,
    defer,
    due_q,
    fail,
    has_pending_fields,
    retry_later,
    schedule_poll,
    set_later,
    transition,
    update,
)
from .twins import take_work, took_work, wait_for, wake_twins

logger = logging.getLogger(__name__)

Kind = Kind

#: ``vendor_state`` key the runner sets while an asynchronous provider's job waits for the
#: vendor (its next run polls instead of starting again). ``StartAgain`` and a person's
#: ``retry`` drop it: the next run starts.
POLLING = "polling"


def without_polling(state: dict) -> dict:
    """``state`` (a job's ``vendor_state``) without the runner's ``POLLING`` mark."""
    return {key: value for key, value in state.items() if key != POLLING}


def run_job(job_id: int) -> ImageJob | None:
    """Run (or continue) job ``job_id`` if it is pending and due (or a scheduled poll is due).

    The claim is one conditional ``UPDATE``: a job that is running, finished, or not yet due
    is left alone, so a task delivered twice never runs the job twice. A task that arrives
    before the job is due (whole-second schedulers such as RQ's) is enqueued again at the due
    time rather than dropped (once per due time).

    Returns:
        The job after this run, or None when it was not claimed.
    """
    now = timezone.now()
    try:
        job = _claim(job_id, now)
    except TRANSIENT_DATABASE_ERRORS as exc:
        _claim_later(job_id, exc)
        return None
    if job is None:
        # Judged at the claim's time: a job due a moment after it is requeued, not dropped.
        if not requeue_early_delivery(job_id, now):
            logger.debug("run_job(%s): not claimable (running, finished or gone)", job_id)
        return None
    attempts, held_work = job.attempts, bool(job.work_key)
    try:
        _run(job)
    except Exception as exc:
        try:
            _recover(job, exc, attempts)
        except DatabaseError as again:
            # Not even the retry could be written: the job stays running until
            # ``imageops_run --due`` requeues it; a spooled result is found by its UUID then.
            logger.error(
                "run_job(%s): %s; the job could not be rescheduled: %s", job_id, exc, again
            )
    finally:
        try:
            flush_events(job)
            if has_pending_fields(job):
                update(job)
        except DatabaseError as exc:
            logger.error("run_job(%s): the job's history could not be written: %s", job_id, exc)
    if (took_work(job) or held_work) and job.is_finished:
        try:
            wake_twins(job)
        except DatabaseError as exc:  # they come back after their own back-off
            logger.warning("run_job(%s): identical jobs not woken: %s", job_id, exc)
    return job


#: Database errors that pass (a locked SQLite file, a dropped connection, a deadlock victim):
#: the job is tried again later like after any transient error, never failed for good.
TRANSIENT_DATABASE_ERRORS = (OperationalError, InterfaceError)


def _claim_later(job_id: int, exc: Exception) -> None:
    """The claim itself failed on a transient database error: enqueue the task again a little
    later (a backend that cannot defer leaves the job pending for ``imageops_run --due``)."""
    when = timezone.now() + timedelta(seconds=float(get_setting("RETRY_BACKOFF")))
    logger.warning("run_job(%s): the database is unavailable (%s); trying again later", job_id, exc)
    try:
        enqueue("run_job", job_id, run_after=whole_second_after(when))
    except Exception as again:  # the task backend's own database may be just as busy
        logger.error("run_job(%s) could not be enqueued again: %s", job_id, again)


def _recover(job: ImageJob, exc: Exception, attempts: int) -> None:
    """After ``exc`` escaped a run: a result in hand was spooled (``_keep_answer``), and then,
    or on a transient database error, the job is retried later (the spool stored without a
    vendor call); anything else fails it with ``internal_error``."""
    if job.status != RUNNING:
        logger.exception("run_job(%s): %s after the job was %s", job.pk, exc, job.status)
        return
    spooled = bool(job.spool_path)
    if not spooled and not isinstance(exc, TRANSIENT_DATABASE_ERRORS):
        logger.exception("run_job(%s) failed unexpectedly", job.pk)
        reason = job_redactor(job).text(exc)  # it may quote what a vendor answered
        fail(job, "internal_error", _("Internal error: %(error)s") % {"error": reason})
        job.refresh_from_db()
        return
    logger.warning("run_job(%s): %s: %s; trying again later", job.pk, type(exc).__name__, exc)
    if job.attempts == attempts:  # no vendor call counted one
        count_attempt(job)
    reason = job_redactor(job).text(exc)  # it may quote what a vendor answered
    record_event(job, Kind.ERROR, f"{type(exc).__name__}: {reason}", defer=True)
    if spooled:
        code = "result_not_recorded"
        message = _(
            "Recording the result failed (%(error)s); it is kept and stored on the next "
            "attempt without calling the vendor again."
        ) % {"error": reason}
    else:
        code = "database_unavailable"
        message = _("The database was unavailable: %(error)s") % {"error": reason}
    retry_later(job, code, message, name="spool" if spooled else "retry_later")


def _claim(job_id: int, now: datetime) -> ImageJob | None:
    fresh = take_fresh(job_id)
    if fresh is not None and fresh.status == PENDING and fresh.next_attempt_at is None:
        # Run inline as its transaction commits (ImmediateBackend): the instance create_jobs
        # made is the row, unless someone changed it since (then its updated_at differs), so
        # the claim needs no OR-ed due condition and no COALESCE.
        started_at = fresh.started_at or now
        unchanged = Q(status=PENDING, next_attempt_at__isnull=True, updated_at=fresh.updated_at)
        if transition(
            job_id,
            "claim",
            where=unchanged,
            updated_at=now,
            next_attempt_at=None,
            started_at=started_at,
        ):
            fresh.status, fresh.next_attempt_at, fresh.updated_at = RUNNING, None, now
            fresh.started_at = started_at
            return fresh
    claimed = transition(
        job_id,
        "claim",
        where=due_q(now),
        updated_at=now,
        next_attempt_at=None,
        started_at=Coalesce("started_at", Value(now)),
    )
    return ImageJob.objects.get(pk=job_id) if claimed else None


def _run(job: ImageJob) -> None:
    provider = find_provider(job.operation, job.provider)
    if provider is None:
        fail(
            job,
            "unknown_provider",
            _("No provider %(provider)s runs %(operation)s (see IMAGEOPS['PROVIDERS']).")
            % {"provider": job.provider, "operation": job.operation},
        )
        return
    spooled = find_spooled(job)
    if spooled is not None:
        store_from_spool(job, spooled)
        return
    polling = provider.is_async and bool(job.vendor_state.get(POLLING))
    ctx = RunContext(provider, job, polling=polling)
    outcome = None
    try:
        outcome = provider.poll(ctx) if polling else _start(job, provider, ctx)
        if outcome is not None:
            _handle(job, provider, outcome, ctx)
    except _Stop:
        return
    except Exception:
        _keep_answer(job, ctx, outcome)
        raise


def _keep_answer(job: ImageJob, ctx: RunContext, outcome) -> None:
    """Something failed after the vendor answered (recording the call, the provider's own
    bookkeeping, storing or recording the result): spool the result's bytes (``outcome``'s,
    else the step's last answer when it is an image) so that the retry stores them without
    paying again. Nothing to keep when the job finished meanwhile or is spooled already."""
    if job.status != RUNNING or job.spool_path:
        return
    if isinstance(outcome, Result):
        content, content_type, revision = outcome.content, outcome.content_type, outcome.revision
    elif ctx.answered is not None and sniff_image_type(ctx.answered.content)[1] != "bin":
        content, content_type, revision = ctx.answered.content, ctx.answered.content_type, None
    else:
        return
    try:
        path = spool_answer(job, content, content_type, revision)
    except OSError:
        logger.exception("run_job(%s): the vendor's result could not be spooled", job.pk)
        return
    record_event(
        job,
        Kind.STORE_FAILED,
        "recording the result failed; kept in the spool, stored on the next attempt without "
        "calling the vendor again",
        defer=True,
        spool=str(path),
    )


def _start(job: ImageJob, provider: Provider, ctx: RunContext):
    """Reuse, read, check and fit the source, then ``provider.start``. Returns its outcome, or
    None when the job was finished here (reused, or its source unusable). The source bytes and
    the prepared upload are let go when this returns, before the result is stored."""
    deterministic = not job.vendor_image_id and provider.is_deterministic(job.params)
    if deterministic and job.source_hash and _served_by_twin(job, provider):
        return None
    source = job.source_storage_file
    if source is None:
        count_attempt(job)  # the job was tried, even though no vendor was called
        fail(job, "source_missing", _("The source image no longer exists."))
        return None
    try:
        data = read_file(source)
    except FileNotFoundError as exc:
        count_attempt(job)
        fail(job, "source_missing", _("The source image no longer exists: %s") % exc)
        return None
    except Exception as exc:  # storage outage (OSError, botocore errors): try again later
        count_attempt(job)
        retry_later(job, "source_unreadable", _("The source image cannot be read: %s") % exc)
        return None
    digest = hashlib.sha256(data).hexdigest()
    # An upload's bytes were validated by create_jobs (same digest: only the header is read
    # again). Object sources are validated here, once, before any vendor call.
    verified = bool(job.source_file) and digest == job.source_hash
    if source.name != job.source_name:  # the object's image was replaced since the job was made
        set_later(job, source_name=source.name)
    if digest != job.source_hash:
        set_later(job, source_hash=digest)
        if deterministic and _served_by_twin(job, provider):
            return None
    try:
        # The parameters' bounds first (a row written by other means, or before a provider
        # narrowed them): no arithmetic on a value out of range.
        provider.clean_params(job.params)
        prepared = provider.prepare(job.params, data, source.name, verified=verified)
    except ValidationError as exc:
        count_attempt(job)
        fail(
            job,
            "invalid_input",
            _("The source image cannot be sent: %(reason)s") % {"reason": " ".join(_flat(exc))},
        )
        return None
    except ArithmeticError as exc:  # a size the fitting cannot compute: refused, not a crash
        count_attempt(job)
        fail(
            job,
            "invalid_input",
            _("The parameters cannot be applied to this image: %(reason)s") % {"reason": exc},
        )
        return None
    del data
    for note in prepared.notes:
        record_event(job, Kind.ATTEMPT, note, defer=True)
    if not ctx.reserve_budget():  # a budget is spent: the job waits, nothing was sent
        return None
    try:
        return provider.start(ctx, prepared)
    finally:
        ctx.release_budget()  # unless its paid call settled it


def _served_by_twin(job: ImageJob, provider: Provider) -> bool:
    """For a deterministic job whose source hash is known: take the work, or wait for the
    identical job at the vendor (``twins``); then reuse an identical succeeded job's result
    (looked up after taking the work, so a twin that finished just before is seen). True when
    the job was deferred or finished here."""
    twin = take_work(job)
    if twin is not None:
        wait_for(job, twin)
        return True
    return reuse(job, provider)


def _handle(job: ImageJob, provider: Provider, outcome, ctx: RunContext) -> None:
    """Act on ``outcome``; its messages (the vendor's words, in a provider's sentence) are
    stored without the vendor's secrets (``ctx.redact``)."""
    if isinstance(outcome, Result):
        finish_with_result(job, outcome.content, outcome.content_type, revision=outcome.revision)
    elif isinstance(outcome, PollLater):
        state = {**job.vendor_state, **outcome.state, POLLING: True}
        schedule_poll(job, outcome.after_seconds, vendor_state=state)
    elif isinstance(outcome, StartAgain):
        set_later(job, vendor_state=without_polling({**job.vendor_state, **outcome.state}))
        defer(job, outcome.after_seconds, ctx.redact(outcome.message) or "starting again")
    elif isinstance(outcome, WaitForEditor):
        if transition(job, "wait_for_editor", error_code=""):
            message = ctx.redact(outcome.message)
            record_event(job, Kind.EDITOR, message, image_id=job.vendor_image_id)
    elif isinstance(outcome, Failure):
        fail(job, outcome.code, ctx.redact(outcome.message))
    else:
        raise TypeError(f"{provider!r} returned {outcome!r}, not a providers outcome")


def _flat(exc: ValidationError) -> list[str]:
    if hasattr(exc, "error_dict"):
        return [f"{k}: {m}" for k, ms in exc.message_dict.items() for m in ms]
    return list(exc.messages)
