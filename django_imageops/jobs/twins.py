"""Identical work in flight: a deterministic job whose identical twin is already at the vendor
waits for it and reuses its result, so ten identical jobs make one vendor call.

Reuse (``results.reuse``) serves a job from an identical job that has *succeeded*. Before a
deterministic job (``Provider.is_deterministic``: a crop, a seeded uncrop, an Auto-Clip) calls
its vendor, it also takes the work (``take_work``): it writes its ``work_key``, a digest of its
source bytes (SHA-256), operation, provider and parameters, which a unique constraint allows on
one unfinished job at a time (``imageops_job_one_work_in_flight``). The database decides, on
SQLite and PostgreSQL alike, whichever worker or machine runs the jobs:

- the job that wrote the key calls the vendor; the key is cleared when it finishes
  (``states.transition``), and it wakes the twins waiting for it (``wake_twins``);
- a job refused by the constraint waits (``wait_for``): it is deferred, not slept, and its next
  run reuses the twin's result, or takes the work itself when the twin failed or was canceled.

A waiting job comes back when its twin finishes (woken at once), or after a back-off
(``RETRY_BACKOFF`` doubling per wait, at most 60 s) should the wake be missed (its twin's worker
died: ``imageops_run --due`` requeues that one). Waiting counts no attempt.
"""

from __future__ import annotations

import hashlib
import json
import logging
from datetime import timedelta
from functools import partial

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from ..conf import get_setting
from ..models import ImageJob
from .queue import enqueue
from .states import PENDING, defer, set_later, update

logger = logging.getLogger(__name__)

#: ``vendor_state`` key: how many times the job has waited for a twin (for the back-off).
WAITS = "twin_waits"
#: The longest wait before a waiting job looks again (seconds).
MAX_WAIT = 60.0

_TOOK = "_took_work"


def took_work(job: ImageJob) -> bool:
    """Whether this run of ``job`` took the work (``take_work``), once."""
    return bool(job.__dict__.pop(_TOOK, False))


def work_key(job: ImageJob) -> str:
    """The digest identical jobs share: SHA-256 hex of the source's SHA-256, the operation, the
    provider and the parameters (key order does not matter)."""
    identity = [job.source_hash, job.operation, job.provider, job.params]
    return hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()


def take_work(job: ImageJob) -> ImageJob | None:
    """Take the work of deterministic ``job`` (its ``source_hash`` known), or find the twin that
    has it.

    Returns:
        None when ``job`` holds the work now (it writes its ``work_key``, with any fields set
        by ``set_later``), else the unfinished identical job that holds it.
    """
    key = work_key(job)
    if job.work_key == key:
        return None  # taken by an earlier run of this job (a retry, a resumed job)
    for _attempt in range(2):
        try:
            if connection.in_atomic_block:  # a savepoint keeps the caller's transaction usable
                with transaction.atomic():
                    update(job, work_key=key)
            else:
                update(job, work_key=key)
            job.__dict__[_TOOK] = True
            return None
        except IntegrityError:
            twin = ImageJob.objects.filter(work_key=key).exclude(pk=job.pk).first()
            if twin is not None:
                return twin
            # The twin finished between the refusal and the lookup: try again.
    return None


def wait_for(job: ImageJob, twin: ImageJob) -> None:
    """Defer ``job`` until ``twin`` (which holds the work) finishes: no vendor call, no attempt.

    Should the twin finish while ``job`` was being deferred (and so not be woken by it), the job
    is made due again at once.
    """
    waits = int(job.vendor_state.get(WAITS, 0))
    delay = min(MAX_WAIT, float(get_setting("RETRY_BACKOFF")) * (2**waits))
    set_later(job, vendor_state={**job.vendor_state, WAITS: waits + 1})
    defer(
        job,
        delay,
        f"waiting for identical job {twin.uuid} (same image, operation and parameters) to "
        "reuse its result",
    )
    if not ImageJob.objects.filter(pk=twin.pk, work_key=twin.work_key).exists():
        wake([job.pk])


def wake_twins(job: ImageJob) -> int:
    """Make the jobs waiting for ``job`` (identical, pending and deferred) due now and enqueue
    them: the first takes the work or reuses ``job``'s result. Returns how many were woken."""
    candidates = (
        ImageJob.objects.filter(
            status=PENDING,
            source_hash=job.source_hash,
            operation=job.operation,
            provider=job.provider,
            next_attempt_at__isnull=False,
        )
        .exclude(pk=job.pk)
        .values_list("pk", "params")
    )
    twins = [pk for pk, params in candidates if params == job.params]
    if twins:
        logger.debug("job %s finished: waking %s identical job(s)", job.pk, len(twins))
        wake(twins)
    return len(twins)


def wake(job_ids: list[int]) -> None:
    """Make pending jobs ``job_ids`` due now and enqueue them when the transaction commits."""
    now = timezone.now()
    ImageJob.objects.filter(pk__in=job_ids, status=PENDING).update(
        next_attempt_at=now - timedelta(microseconds=1), updated_at=now
    )
    for job_id in job_ids:
        transaction.on_commit(partial(enqueue, "run_job", job_id))
