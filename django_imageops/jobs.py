"""The one state machine of ``ImageJob``: every status change happens here.

::

    pending -> running -> succeeded | failed
                 |  \\-> waiting_for_editor -> succeeded   (ClippingMagic review)
                 \\-> pending (retry scheduled)            canceled from any unfinished status

Interfaces (admin, API, editor view, model field, commands) call ``create_jobs``; a task
(``tasks.run_job_task``) calls ``run_job(job_id)``, which claims the job with one conditional
``UPDATE`` so a job delivered twice never runs twice. ``operations.py`` validates and fits the
image and calls the vendor; this module stores the result, records credits and events, schedules
retries and sends ``signals.job_succeeded`` / ``job_failed`` after commit.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import io
import logging
import os
import random
import tempfile
import threading
import time
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.core.files.base import ContentFile
from django.db import models, transaction
from django.db.models import F, Q, Value
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from PIL import Image

from . import operations, ratelimit, signals, tasks
from .conf import get_setting, get_storage, vendor_settings
from .models import ImageJob, ImageJobEvent, VendorCredits, VendorToken
from .vendors import (
    AuthenticationError,
    InsufficientCredits,
    InvalidImage,
    NotFound,
    RateLimited,
    VendorError,
    VendorResult,
)
from .vendors.base import sniff_image_type

logger = logging.getLogger(__name__)

Status = ImageJob.Status
Kind = ImageJobEvent.Kind

#: Statuses ``cancel`` accepts.
CANCELABLE = (Status.PENDING, Status.RUNNING, Status.WAITING_FOR_EDITOR)
#: Statuses ``retry`` accepts.
RETRYABLE = (Status.FAILED, Status.CANCELED)

VENDOR_NAMES = dict(ImageJob.Provider.choices)
#: ``vendor_state`` key set once a ClippingMagic production result was paid for (its first
#: download; later downloads and revisions of the same image are free).
CHARGED = "result_charged"

__all__ = [
    "apply_result",
    "cancel",
    "create_jobs",
    "fetch_review_result",
    "record_editor_error",
    "refresh_credits",
    "request_review_result",
    "requeue_stale",
    "retry",
    "run_due",
    "run_job",
]


# -- small helpers ---------------------------------------------------------------------------


def _event(
    job: ImageJob, kind: str, message: str = "", *, defer: bool = False, **data: Any
) -> None:
    """Record an ``ImageJobEvent``. ``defer=True`` buffers it until the next event is written
    (or ``run_job`` ends): one INSERT for several events, in order."""
    buffer = job.__dict__.setdefault("_event_buffer", [])
    buffer.append(ImageJobEvent(job=job, kind=kind, message=str(message)[:4000], data=data))
    if not defer:
        _flush_events(job)


def _flush_events(job: ImageJob) -> None:
    buffer = job.__dict__.get("_event_buffer")
    if buffer:
        ImageJobEvent.objects.bulk_create(buffer)
        buffer.clear()


def _set_later(job: ImageJob, **fields: Any) -> None:
    """Set ``fields`` on ``job`` now and write them with its next ``_update`` (or when
    ``run_job`` ends): one UPDATE fewer for facts that need not be stored on their own."""
    for name, value in fields.items():
        setattr(job, name, value)
    job.__dict__.setdefault("_pending_fields", {}).update(fields)


def _count_attempt(job: ImageJob) -> None:
    """Count one attempt; written with the job's next update (one UPDATE fewer per run)."""
    _set_later(job, attempts=job.attempts + 1)


def _update(job: ImageJob, expect: tuple | str | None = None, **fields: Any) -> bool:
    """Set ``fields`` on ``job`` and in the database, only while its status is in ``expect``.

    Fields set with ``_set_later`` (e.g. a counted attempt) and not yet written go with it.

    Returns:
        True when the row was updated (False: someone else changed the status, e.g. canceled).
    """
    fields["updated_at"] = timezone.now()
    pending = job.__dict__.get("_pending_fields")
    if pending:
        fields = {**pending, **fields}
    queryset = ImageJob.objects.filter(pk=job.pk)
    if expect is not None:
        queryset = queryset.filter(status__in=(expect,) if isinstance(expect, str) else expect)
    updated = queryset.update(**fields)
    if updated:
        if pending:
            pending.clear()
        for name, value in fields.items():
            setattr(job, name, value)
    return bool(updated)


def _vendor_name(provider: str) -> str:
    return str(VENDOR_NAMES.get(provider, provider))


def _read_file(field_file) -> bytes:
    """All bytes of a ``FieldFile`` (opened and closed here)."""
    field_file.open("rb")
    try:
        return field_file.read()
    finally:
        field_file.close()


def _hash(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


#: Jobs just created by this thread, while their tasks are being enqueued: a backend that runs
#: the task inline (the ImmediateBackend) claims the job without reading it back (see _claim).
_fresh = threading.local()


def _enqueue_on_commit(job_ids: list[int], created: list[ImageJob] | None = None) -> None:
    def enqueue_all():
        outer = getattr(_fresh, "jobs", {})
        _fresh.jobs = {**outer, **{job.pk: job for job in created or ()}}
        try:
            for job_id in job_ids:
                tasks.enqueue(tasks.run_job_task, job_id)
        finally:
            _fresh.jobs = outer

    transaction.on_commit(enqueue_all)


def _send_on_commit(signal, job: ImageJob) -> None:
    transaction.on_commit(lambda: signal.send(sender=ImageJob, job=job))


# -- creating jobs ---------------------------------------------------------------------------


def _upload_name(upload, index: int) -> str:
    name = os.path.basename(getattr(upload, "name", "") or "") or f"upload-{index}"
    # Keep the name printable and short; the storage cleans it further.
    name = "".join(c if c.isprintable() and c not in "\\/" else "_" for c in name)[:100]
    return name or f"upload-{index}"


def create_jobs(
    operation: str,
    *,
    objects=None,
    field: str | None = None,
    uploads=None,
    provider: str | None = None,
    params: dict | None = None,
    created_by=None,
    batch=None,
    target_field: str = "",
    source_hashes=None,
) -> list[ImageJob]:
    """Validate and create jobs, one per object (or per uploaded file), and enqueue them.

    Args:
        operation: ``"uncrop"``, ``"reimagine"``, ``"remove_background"`` or ``"crop"``.
        objects: model instances whose ImageField ``field`` is the source (iterable/queryset).
        field: the ImageField name on ``objects``.
        uploads: files (Django ``File``/``UploadedFile`` or file objects with ``.name``) to
            process; stored on the ``imageops`` storage under ``imageops/sources/<uuid>/``.
        provider: defaults to ``IMAGEOPS["DEFAULT_PROVIDERS"][operation]``.
        params: operation parameters (see ``operations``), validated here.
        created_by: the user, or None.
        batch: a UUID shared by jobs queued together (None: no batch).
        target_field: a field on the source model that the result fills on success.
        source_hashes: SHA-256 hex digests of the objects' source bytes, one per object in
            order, when the caller already computed them (the ``DerivedImageField`` handler):
            stored as ``source_hash`` so a job for the same content is recognised before it
            runs. Not a validation: ``run_job`` still checks the bytes.

    Exactly one of ``objects``/``uploads`` is given. Every parameter is validated BEFORE
    anything is created. Uploads (in memory) are validated and hashed here too, and refused
    before a job exists. Object sources are not read here (that would be one storage GET and a
    decode per object inside the request): only the field (it exists and is an ImageField) and
    the file name are checked; ``run_job`` validates and hashes the bytes before any vendor
    call, and fails the job with a clear message, no vendor call and no credit, when the image
    is unusable. The jobs and their "created" events are bulk-created (a constant number of
    queries) and ``tasks.run_job_task`` is enqueued with each job id when the transaction
    commits.

    Returns:
        The created jobs, in input order.

    Raises:
        ValidationError: keyed by field: ``operation``, ``provider``, a parameter name,
            ``target_field``, the source field name (objects) or ``"image"`` (uploads).
        ValueError: when both or neither of ``objects``/``uploads`` are given, ``objects``
            without ``field``, or ``source_hashes`` not one per object.
    """
    if (objects is None) == (uploads is None):
        raise ValueError("create_jobs: give exactly one of objects= or uploads=")
    if objects is not None and not field:
        raise ValueError("create_jobs: objects= needs field=")
    spec = operations.get_operation(operation)
    provider = provider or get_setting("DEFAULT_PROVIDERS")[operation]
    cleaned = spec.clean_params(provider, params or {})

    errors: dict[str, list] = {}
    jobs: list[ImageJob] = []
    source_files: list[tuple[ImageJob, Any, str]] = []
    if objects is not None:
        objects = list(objects)
        if not objects:
            return []
        if source_hashes is not None and len(source_hashes) != len(objects):
            raise ValueError("create_jobs: source_hashes must give one digest per object")
        model = type(objects[0])
        for name in (field, target_field):
            if not name:
                continue
            try:
                model_field = model._meta.get_field(name)
            except FieldDoesNotExist:
                key = "target_field" if name == target_field else name
                errors.setdefault(key, []).append(
                    _("%(model)s has no field %(name)s.")
                    % {"model": model._meta.verbose_name, "name": name}
                )
                continue
            if name == field and not isinstance(model_field, models.ImageField):
                errors.setdefault(name, []).append(
                    _("%(model)s.%(name)s is not an image field.")
                    % {"model": model._meta.verbose_name, "name": name}
                )
        if errors:
            raise ValidationError(errors)
        for index, obj in enumerate(objects):
            # Only what is known without touching the storage: the bytes are checked by run_job.
            field_file = getattr(obj, field)
            if not field_file or not field_file.name:
                errors.setdefault(field, []).append(_("%(object)s has no image.") % {"object": obj})
                continue
            digest = str(source_hashes[index]) if source_hashes is not None else ""
            jobs.append(
                ImageJob(
                    operation=operation,
                    provider=provider,
                    params=cleaned,
                    # Sets the content type and id, and keeps ``obj``: a job run inline right
                    # after this (the ImmediateBackend) opens its file without a query.
                    source_object=obj,
                    source_field=field,
                    source_name=field_file.name,
                    source_hash=digest,
                    target_field=target_field,
                    created_by=created_by,
                    batch=batch,
                )
            )
    else:
        if target_field:
            errors["target_field"] = [_("Uploaded files have no object to fill.")]
        for index, upload in enumerate(uploads):
            try:
                data = operations.read_bytes(upload)
            except OSError as exc:
                errors.setdefault("image", []).append(str(exc))
                continue
            name = _upload_name(upload, index)
            digest = _check(spec, provider, cleaned, data, errors, "image", prefix=name)
            job = ImageJob(
                operation=operation,
                provider=provider,
                params=cleaned,
                source_hash=digest,
                created_by=created_by,
                batch=batch,
            )
            jobs.append(job)
            source_files.append((job, data, name))
    # The jobs may run inline when this commits: do not keep a source's bytes alive meanwhile.
    data = None
    if errors:
        raise ValidationError(errors)

    with transaction.atomic():
        while source_files:
            job, content, name = source_files.pop(0)
            job.source_file.save(name, ContentFile(content), save=False)
            job.source_name = job.source_file.name
            del content
        jobs = ImageJob.objects.bulk_create(jobs)
        if any(job.pk is None for job in jobs):  # backends that do not return ids
            uuids = [job.uuid for job in jobs]
            by_uuid = {j.uuid: j for j in ImageJob.objects.filter(uuid__in=uuids)}
            jobs = [by_uuid[u] for u in uuids]
        ImageJobEvent.objects.bulk_create(
            ImageJobEvent(
                job=job,
                kind=Kind.CREATED,
                message=f"{operation} on {provider}",
                data={"params": cleaned, "source": job.source_name},
            )
            for job in jobs
        )
        _enqueue_on_commit([job.pk for job in jobs], jobs)
    return jobs


def _check(spec, provider, params, data, errors, key, prefix) -> str:
    """Validate one source image into ``errors``; return its SHA-256 hex digest."""
    try:
        info = operations.inspect_image(data)
        spec.check_image(provider, params, info)
    except ValidationError as exc:
        if hasattr(exc, "error_dict"):
            for name, messages in exc.message_dict.items():
                target = key if name == "image" else name
                errors.setdefault(target, []).extend(f"{prefix}: {m}" for m in messages)
        else:
            errors.setdefault(key, []).extend(f"{prefix}: {m}" for m in exc.messages)
    return _hash(data)


# -- running jobs ----------------------------------------------------------------------------


def _due_q(now: datetime) -> Q:
    """Jobs ``run_job`` may claim: pending and due, or running with a scheduled poll due."""
    return Q(status=Status.PENDING) & (
        Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now)
    ) | Q(status=Status.RUNNING, next_attempt_at__isnull=False, next_attempt_at__lte=now)


def _claim(job_id: int) -> ImageJob | None:
    now = timezone.now()
    fields = {
        "status": Status.RUNNING,
        "next_attempt_at": None,
        "updated_at": now,
        "started_at": Coalesce("started_at", Value(now)),
    }
    fresh = getattr(_fresh, "jobs", {}).pop(job_id, None)
    if fresh is not None and fresh.status == Status.PENDING and fresh.next_attempt_at is None:
        # Run inline as its transaction commits (ImmediateBackend): the instance create_jobs
        # made is the row, unless someone changed it since (then its updated_at differs), so
        # the claim needs no OR-ed due condition and no COALESCE.
        started_at = fresh.started_at or now
        unchanged = ImageJob.objects.filter(
            pk=job_id,
            status=Status.PENDING,
            next_attempt_at__isnull=True,
            updated_at=fresh.updated_at,
        )
        if unchanged.update(**{**fields, "started_at": started_at}):
            fresh.status, fresh.next_attempt_at, fresh.updated_at = Status.RUNNING, None, now
            fresh.started_at = started_at
            return fresh
    claimed = ImageJob.objects.filter(_due_q(now), pk=job_id).update(**fields)
    if not claimed:
        return None
    return ImageJob.objects.get(pk=job_id)


def _requeue_early_delivery(job_id: int) -> bool:
    """Enqueue job ``job_id`` again at its ``next_attempt_at`` when a task arrived before it.

    A scheduler may deliver a deferred task early: RQ keeps ``run_after`` in whole seconds
    (``calendar.timegm``), so a retry, a rate-limit deferral or a PiktID poll can arrive up to
    1 s before the job is due. Dropping that task would leave the job pending (or running with
    a poll due) for ever, since nothing else enqueues it. The new task's ``run_after`` is
    rounded up to a whole second, so a whole-second scheduler delivers it on time.

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
            status__in=(Status.PENDING, Status.RUNNING),
            next_attempt_at__gt=timezone.now(),
        )
        .values_list("next_attempt_at", flat=True)
        .first()
    )
    if due is None or not tasks.backend_supports_defer():
        return False
    when = tasks.whole_second_after(due)
    cache = ratelimit.get_cache()
    key = f"imageops:requeued:{job_id}:{due.timestamp():.6f}"
    # Whole seconds, rounded down: the key is gone by the time the new task is due.
    ttl = int((when - timezone.now()).total_seconds())
    if ttl >= 1 and not cache.add(key, 1, ttl):
        logger.debug("run_job(%s): not due until %s, already requeued", job_id, due)
        return True

    def enqueue():
        tasks.enqueue(tasks.run_job_task, job_id, run_after=when)

    logger.info("run_job(%s): delivered before it is due (%s); requeued", job_id, due)
    transaction.on_commit(enqueue)
    return True


def run_job(job_id: int) -> ImageJob | None:
    """Run (or continue) job ``job_id`` if it is pending and due (or a scheduled poll is due).

    The claim is one conditional ``UPDATE``: a job that is running, finished, or not yet due
    is left alone, so a task delivered twice never runs the job twice. A task that arrives
    before the job is due (whole-second schedulers such as RQ's) is enqueued again at the due
    time rather than dropped (once per due time).

    Steps: reuse an identical succeeded job's result (deterministic operations); store a spooled
    result (no vendor call); otherwise fit the image, reserve a rate-limit slot, call the vendor
    and store the result. Retryable vendor errors schedule another attempt; the rest fail the job
    with the vendor's reason.

    Returns:
        The job after this run, or None when it was not claimed.
    """
    job = _claim(job_id)
    if job is None:
        if not _requeue_early_delivery(job_id):
            logger.debug("run_job(%s): not claimable (running, finished or gone)", job_id)
        return None
    try:
        _run(job)
    except Exception as exc:
        logger.exception("run_job(%s) failed unexpectedly", job_id)
        _fail(job, "internal_error", _("Internal error: %(error)s") % {"error": exc})
        job.refresh_from_db()
    finally:
        _flush_events(job)
        if job.__dict__.get("_pending_fields"):
            _update(job)
    return job


def _run(job: ImageJob) -> None:
    if job.spool_path:
        _store_from_spool(job)
        return
    if job.provider == "piktid" and job.vendor_state.get("step") in ("generating",):
        _piktid_poll(job)
        return
    spec = operations.get_operation(job.operation)
    if not job.vendor_image_id and _reuse(job, spec):
        return

    source = job.source_storage_file
    if source is None:
        _fail(job, "source_missing", _("The source image no longer exists."))
        return
    try:
        data = _read_file(source)
    except FileNotFoundError as exc:
        _fail(job, "source_missing", _("The source image no longer exists: %s") % exc)
        return
    except Exception as exc:  # storage outage (OSError, botocore errors): try again later
        _count_attempt(job)
        _retry_or_fail(job, "source_unreadable", _("The source image cannot be read: %s") % exc)
        return
    digest = _hash(data)
    # An upload's bytes were validated by create_jobs (same digest: only the header is read
    # again). Object sources are validated here, once, before any vendor call.
    verified = bool(job.source_file) and digest == job.source_hash
    if digest != job.source_hash:
        _set_later(job, source_hash=digest)
        if not job.vendor_image_id and _reuse(job, spec):
            return

    try:
        prepared = spec.prepare(job.provider, job.params, data, source.name, verified=verified)
    except ValidationError as exc:
        _fail(
            job,
            "invalid_input",
            _("The source image cannot be sent: %(reason)s") % {"reason": " ".join(_flatten(exc))},
        )
        return
    del data
    for note in prepared.notes:
        _event(job, Kind.ATTEMPT, note, defer=True)

    if job.provider == "piktid":
        _piktid_start(job, prepared)
        return

    # Held in a box so that the source bytes can be let go before the result is stored.
    box = {"prepared": prepared}
    del prepared
    result = _call_vendor(job, lambda client: spec.call(client, job.provider, box["prepared"]))
    box.clear()
    if result is None:
        return
    if job.operation == "remove_background":
        ids = {
            "vendor_image_id": str(result.vendor_ids.get("id", "")),
            "vendor_secret": str(result.vendor_ids.get("secret", "")),
        }
        if result.credits_consumed:
            # Auto-Clip paid for this image's first download: editing it later is free.
            ids["vendor_state"] = {**job.vendor_state, CHARGED: True}
        _update(job, **ids)
        if job.params.get("mode") == "review":
            if _update(job, Status.RUNNING, status=Status.WAITING_FOR_EDITOR, error_code=""):
                _event(
                    job,
                    Kind.EDITOR,
                    "uploaded to ClippingMagic; waiting for a person to review the cut-out",
                    image_id=job.vendor_image_id,
                )
            return
        revision = _int(result.vendor_ids.get("result_revision"), 1)
        _finish_with_result(job, result.content, result.content_type, revision=revision)
        return
    _finish_with_result(job, result.content, result.content_type)


def _flatten(exc: ValidationError) -> list[str]:
    if hasattr(exc, "error_dict"):
        return [f"{k}: {m}" for k, ms in exc.message_dict.items() for m in ms]
    return list(exc.messages)


def _int(value, default: int = 0) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def _reuse(job: ImageJob, spec) -> bool:
    """Finish ``job`` with the result of an identical succeeded job (0 credits), if any."""
    if not job.source_hash or not spec.is_deterministic(job.provider, job.params):
        return False
    # Only the columns needed to choose (params compare as Python values, whatever the JSON
    # key order in the database); the chosen job is then read whole. The job itself is
    # running, so ``status=SUCCEEDED`` leaves it out.
    candidates = (
        ImageJob.objects.filter(
            source_hash=job.source_hash,
            operation=job.operation,
            provider=job.provider,
            status=Status.SUCCEEDED,
        )
        .order_by("-finished_at")
        .values_list("pk", "params", "result")[:20]
    )
    match = next((pk for pk, params, result in candidates if result and params == job.params), None)
    if match is None:
        return False
    other = ImageJob.objects.get(pk=match)
    now = timezone.now()
    fields = {
        "status": Status.SUCCEEDED,
        "result": other.result.name,
        "result_width": other.result_width,
        "result_height": other.result_height,
        "result_bytes": other.result_bytes,
        "result_content_type": other.result_content_type,
        "reused_from_id": other.reused_from_id or other.pk,
        "credits_consumed": Decimal(0),
        "finished_at": now,
        "error_code": "",
        "error_message": "",
    }
    if not _update(job, Status.RUNNING, **fields):
        return True
    job.refresh_from_db()
    _event(
        job,
        Kind.RESULT_STORED,
        f"reused the result of job {other.uuid} (same image, operation and parameters; 0 credits)",
        name=other.result.name,
        reused_from=str(other.uuid),
    )
    _succeeded(job)
    return True


def _client(provider: str):
    if provider == "piktid":
        account = vendor_settings("piktid")["EMAIL"]
        token = VendorToken.objects.filter(vendor="piktid", account=account).first()
        tokens = (
            {"access_token": token.access_token, "refresh_token": token.refresh_token}
            if token
            else None
        )

        def on_tokens(pair: dict) -> None:
            VendorToken.objects.update_or_create(
                vendor="piktid",
                account=account,
                defaults={
                    "access_token": pair.get("access_token", ""),
                    "refresh_token": pair.get("refresh_token", ""),
                },
            )

        return operations.build_client(provider, tokens=tokens, on_tokens=on_tokens)
    return operations.build_client(provider)


def _reserve_now(provider: str, credential: str) -> None:
    """Reserve a rate-limit slot for a call made while someone waits (an admin button, the
    editor's fetch): nothing to defer, so a wait is an error.

    Raises:
        RateLimited: the limiter (or a vendor's ``Retry-After``) says to wait; ``retry_after``
            gives the seconds. No slot is held then.
    """
    wait = ratelimit.reserve(provider, credential)
    if wait and wait > 0:
        raise RateLimited(
            f"our own rate limit for {_vendor_name(provider)}: try again in {wait:.0f} s",
            vendor=provider,
            retry_after=wait,
        )


def _back_off_if_told(provider: str, credential: str, exc: VendorError) -> None:
    """After a 429 with ``Retry-After``, make every worker wait it out, not only this job."""
    if isinstance(exc, RateLimited) and exc.retry_after:
        ratelimit.backoff(provider, credential, exc.retry_after)


def _call_vendor(job: ImageJob, call, *, count_attempt: bool = True) -> VendorResult | None:
    """Reserve a rate-limit slot, call ``call(client)``, record the call; on an error schedule a
    retry or fail the job and return None."""
    provider = job.provider
    credential = operations.credential(provider)
    wait = ratelimit.reserve(provider, credential)
    if wait and wait > 0:
        _defer(job, wait, f"{_vendor_name(provider)} rate limit: waiting {wait:.1f} s")
        return None
    if count_attempt:
        _count_attempt(job)
    started = time.monotonic()
    try:
        result = call(_client(provider))
    except VendorError as exc:
        _event(
            job,
            Kind.ERROR,
            str(exc),
            error_code=exc.error_code,
            status=exc.status_code,
            vendor_code=str(exc.code or ""),
            retry_after=exc.retry_after,
            seconds=round(time.monotonic() - started, 3),
        )
        _back_off_if_told(provider, credential, exc)
        if exc.retryable:
            _retry_or_fail(job, exc.error_code, _plain_message(exc), error=exc)
        else:
            _fail(job, exc.error_code, _plain_message(exc))
        return None
    finally:
        ratelimit.release(provider, credential)
    _record_credits(job, result)
    _event(
        job,
        Kind.VENDOR_CALL,
        f"{_vendor_name(provider)} answered HTTP {result.status_code}",
        defer=True,
        seconds=round(time.monotonic() - started, 3),
        credits_consumed=_num(result.credits_consumed),
        credits_remaining=_num(result.credits_remaining),
        vendor_ids=dict(result.vendor_ids),
        bytes=len(result.content),
    )
    return result


def _num(value) -> str | None:
    return None if value is None else str(value)


def _plain_message(exc: VendorError) -> str:
    """The vendor's reason in plain words (stored in ``error_message``)."""
    vendor = _vendor_name(exc.vendor) if exc.vendor else _("The vendor")
    status = f" (HTTP {exc.status_code})" if exc.status_code else ""
    reason = exc.message or ""
    if isinstance(exc, AuthenticationError):
        text = _(
            "%(vendor)s refused our credentials%(status)s: %(reason)s. Check the API key in "
            "IMAGEOPS['VENDORS']."
        )
    elif isinstance(exc, InsufficientCredits):
        text = _(
            "The %(vendor)s account has no credits left%(status)s: %(reason)s. Buy credits, "
            "then retry the job."
        )
    elif isinstance(exc, InvalidImage):
        text = _("%(vendor)s could not process this image%(status)s: %(reason)s.")
    elif isinstance(exc, NotFound):
        text = _("%(vendor)s no longer has this image%(status)s: %(reason)s.")
    elif isinstance(exc, RateLimited):
        text = _("%(vendor)s is rate limiting our requests%(status)s: %(reason)s.")
    elif exc.retryable:
        text = _("%(vendor)s is unavailable%(status)s: %(reason)s.")
    else:
        text = _("%(vendor)s refused the request%(status)s: %(reason)s.")
    return str(text % {"vendor": vendor, "status": status, "reason": reason.rstrip(". ")})


def _record_credits(job: ImageJob, result: VendorResult, **extra: Any) -> None:
    """Add the credits ``result`` consumed to the job and keep the vendor's balance.

    The balance (``VendorCredits``) is the vendor's own figure when the answer carries one
    (Clipdrop's headers); otherwise (ClippingMagic: only its account endpoint tells) the credits
    spent are taken off the last known balance, so no account call is needed per job. ``extra``
    job fields are written in the same UPDATE.
    """
    fields: dict[str, Any] = dict(extra)
    consumed = Decimal(result.credits_consumed or 0)
    if consumed:
        fields["credits_consumed"] = Decimal(job.credits_consumed or 0) + consumed
    if result.credits_remaining is not None:
        fields["credits_remaining"] = Decimal(result.credits_remaining)
        VendorCredits.objects.update_or_create(
            vendor=job.provider,
            defaults={"remaining": Decimal(result.credits_remaining), "details": {}},
        )
    elif consumed:
        VendorCredits.objects.filter(vendor=job.provider, remaining__isnull=False).update(
            remaining=F("remaining") - consumed, updated_at=timezone.now()
        )
    if fields:
        _update(job, **fields)


def refresh_credits(provider: str = "clippingmagic") -> Decimal | None:
    """Ask the vendor for the account's remaining credits and store them in ``VendorCredits``.

    Only ClippingMagic has an account endpoint (``GET /api/v1/account``); other vendors report
    credits in the headers of each call, which ``run_job`` records.

    Returns:
        The remaining credits, or None when the vendor did not say.

    Raises:
        VendorError: when the account call fails; ValueError for another provider.
    """
    if provider != "clippingmagic":
        raise ValueError(f"{provider} has no account endpoint; credits come with each call")
    credential = operations.credential(provider)
    _reserve_now(provider, credential)
    try:
        result = _client(provider).account()
    except VendorError as exc:
        _back_off_if_told(provider, credential, exc)
        raise
    finally:
        ratelimit.release(provider, credential)
    VendorCredits.objects.update_or_create(
        vendor=provider,
        defaults={"remaining": result.credits_remaining, "details": dict(result.data)},
    )
    return result.credits_remaining


def _backoff(job: ImageJob, error: VendorError | None) -> float:
    """Seconds before the next attempt: Retry-After, ClippingMagic's 5 s steps, else exponential
    back-off with jitter (``IMAGEOPS["RETRY_BACKOFF"]`` base, ``RETRY_BACKOFF_MAX`` cap)."""
    cap = float(get_setting("RETRY_BACKOFF_MAX"))
    if error is not None and error.retry_after is not None:
        # Retry-After, or ClippingMagic's 5 s x consecutive 429s (counted by its client).
        return min(float(error.retry_after), cap)
    base = float(get_setting("RETRY_BACKOFF"))
    delay = base * (2 ** max(0, job.attempts - 1))
    return min(delay * random.uniform(0.5, 1.5), cap)


def _schedule(job: ImageJob, when: datetime, status: str = Status.PENDING) -> None:
    """Make ``job`` due at ``when`` and enqueue it there (or leave it for ``--due``)."""
    job_id = job.pk

    def enqueue():
        tasks.enqueue(tasks.run_job_task, job_id, run_after=when)

    transaction.on_commit(enqueue)


def _retry_or_fail(
    job: ImageJob,
    code: str,
    message: str,
    error: VendorError | None = None,
    expect: tuple = (Status.RUNNING,),
):
    max_attempts = int(get_setting("MAX_ATTEMPTS"))
    if job.attempts >= max_attempts:
        _fail(
            job,
            code,
            _("%(message)s Gave up after %(attempts)s attempts.")
            % {"message": message, "attempts": job.attempts},
        )
        return
    delay = _backoff(job, error)
    when = timezone.now() + timedelta(seconds=delay)
    if _update(
        job,
        expect,
        status=Status.PENDING,
        next_attempt_at=when,
        error_code=code,
        error_message=message,
    ):
        _event(
            job,
            Kind.RETRY_SCHEDULED,
            f"attempt {job.attempts + 1} of {max_attempts} in {delay:.1f} s",
            delay=round(delay, 3),
            at=when.isoformat(),
            error_code=code,
        )
        _schedule(job, when)


def _defer(job: ImageJob, seconds: float, message: str) -> None:
    """Put ``job`` back to pending for ``seconds`` without counting an attempt."""
    when = timezone.now() + timedelta(seconds=seconds)
    if _update(job, Status.RUNNING, status=Status.PENDING, next_attempt_at=when):
        _event(job, Kind.RETRY_SCHEDULED, message, delay=round(seconds, 3), at=when.isoformat())
        _schedule(job, when)


def _fail(job: ImageJob, code: str, message) -> None:
    now = timezone.now()
    if _update(
        job,
        (Status.RUNNING, Status.WAITING_FOR_EDITOR, Status.PENDING),
        status=Status.FAILED,
        error_code=str(code)[:64],
        error_message=str(message),
        finished_at=now,
        next_attempt_at=None,
    ):
        _event(job, Kind.ERROR, str(message), error_code=str(code), final=True)
        _send_on_commit(signals.job_failed, job)


def _succeeded(job: ImageJob) -> None:
    _send_on_commit(signals.job_succeeded, job)
    if job.target_field and job.source_object_id:
        try:
            apply_result(job)
        except Exception as exc:
            logger.exception("applying the result of job %s failed", job.pk)
            _event(job, Kind.ERROR, f"applying the result failed: {exc}", error_code="apply")


# -- results ---------------------------------------------------------------------------------


def _result_name(job: ImageJob, ext: str, revision: int = 1) -> str:
    suffix = "" if revision <= 1 else f"-r{revision}"
    return f"imageops/results/{job.operation}/{job.uuid}{suffix}.{ext}"


def _describe(content: bytes, content_type: str = "") -> dict[str, Any]:
    """Width/height/bytes/content type of result bytes (Pillow reads the header only)."""
    sniffed_type, ext = sniff_image_type(content)
    info: dict[str, Any] = {
        "result_bytes": len(content),
        "result_content_type": sniffed_type
        if sniffed_type != "application/octet-stream"
        else (content_type or sniffed_type),
        "ext": "jpg" if ext == "jpg" else ext,
    }
    try:
        with Image.open(io.BytesIO(content)) as image:
            info["result_width"], info["result_height"] = image.size
    except (OSError, ValueError):
        info["result_width"] = info["result_height"] = None
    return info


def _spool_dir() -> Path:
    configured = get_setting("SPOOL_DIR")
    if configured:
        path = Path(configured)
    elif getattr(settings, "MEDIA_ROOT", ""):
        path = Path(settings.MEDIA_ROOT) / "imageops-spool"
    else:
        path = Path(tempfile.gettempdir()) / "imageops-spool"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _store(job: ImageJob, content: bytes, content_type: str, revision: int) -> dict | None:
    """Save ``content`` to the imageops storage; on failure spool it and schedule a retry.

    Returns:
        The result fields (name, size...) or None when storing failed (the job was rescheduled
        or failed, and the bytes are in the spool).
    """
    info = _describe(content, content_type)
    ext = info.pop("ext")
    if ext == "bin":
        ext = "jpg" if "jpeg" in content_type else "png"
    name = _result_name(job, ext, revision)
    try:
        # The name is unique (the job's UUID): ``_save`` skips ``get_available_name``, whose
        # ``exists()`` would cost an S3 HEAD request per result.
        stored = get_storage()._save(name, ContentFile(content, name=name))
    except Exception as exc:
        spool = _spool_dir() / f"{job.uuid}-r{revision}.{ext}"
        spool.write_bytes(content)
        _update(
            job,
            spool_path=str(spool),
            vendor_state={
                **job.vendor_state,
                "spool_revision": revision,
                "spool_type": content_type,
            },
        )
        _event(
            job,
            Kind.STORE_FAILED,
            f"storing the result failed ({exc.__class__.__name__}: {exc}); kept in the spool, "
            "stored on the next attempt without calling the vendor again",
            spool=str(spool),
        )
        _retry_or_fail(
            job,
            "storage_unavailable",
            _("Storing the result failed: %s") % exc,
            expect=(Status.RUNNING, Status.WAITING_FOR_EDITOR, Status.SUCCEEDED),
        )
        return None
    info["result"] = stored
    return info


def _finish_with_result(
    job: ImageJob, content: bytes, content_type: str, *, revision: int = 1
) -> bool:
    info = _store(job, content, content_type, revision)
    if info is None:
        return False
    return _mark_stored(job, info, revision)


def _mark_stored(job: ImageJob, info: dict, revision: int) -> bool:
    previous = job.result.name if job.result else ""
    fields = {
        **info,
        "status": Status.SUCCEEDED,
        "finished_at": timezone.now(),
        "error_code": "",
        "error_message": "",
        "spool_path": "",
        "next_attempt_at": None,
    }
    if job.provider == "clippingmagic":
        fields["vendor_result_revision"] = max(revision, job.vendor_result_revision)
    updated = _update(job, (Status.RUNNING, Status.WAITING_FOR_EDITOR, Status.SUCCEEDED), **fields)
    if not updated:
        _event(
            job,
            Kind.RESULT_STORED,
            "result stored, but the job was canceled meanwhile",
            name=info["result"],
        )
        return False
    kind = Kind.RESULT_REPLACED if previous and previous != info["result"] else Kind.RESULT_STORED
    _event(
        job,
        kind,
        f"stored {info['result']} ({info.get('result_width')}x{info.get('result_height')}, "
        f"{info['result_bytes']} bytes)",
        name=info["result"],
        previous=previous,
        revision=revision,
    )
    _succeeded(job)
    return True


def _store_from_spool(job: ImageJob) -> None:
    path = Path(job.spool_path)
    try:
        content = path.read_bytes()
    except OSError as exc:
        _update(job, spool_path="")
        _fail(job, "spool_lost", _("The spooled result is gone: %s") % exc)
        return
    _count_attempt(job)
    revision = _int(job.vendor_state.get("spool_revision"), 1)
    content_type = str(job.vendor_state.get("spool_type", ""))
    if _finish_with_result(job, content, content_type, revision=revision):
        with contextlib.suppress(OSError):
            path.unlink()


# -- PiktID: upload, generate, poll (each poll its own scheduled task) -------------------------


def _piktid_start(job: ImageJob, prepared) -> None:
    state = dict(job.vendor_state)
    if not job.vendor_image_id:
        result = _call_vendor(job, lambda client: client.upload_target(prepared.upload))
        if result is None:
            return
        state.update(
            step="uploaded", offsets={k: prepared.params[k] for k in operations.UncropSpec.SIDES}
        )
        _update(job, vendor_image_id=str(result.vendor_ids["image_id"]), vendor_state=state)
    _piktid_generate(job)


def _piktid_generate(job: ImageJob) -> None:
    state = dict(job.vendor_state)
    offsets = state.get("offsets") or {k: job.params[k] for k in operations.UncropSpec.SIDES}
    image_id = job.vendor_image_id
    result = _call_vendor(job, lambda client: client.generate_expand(image_id, **offsets))
    if result is None:
        return
    state.update(step="generating", generated_at=time.time(), polls=0)
    _update(job, vendor_state=state)
    _piktid_schedule_poll(job)


def _piktid_schedule_poll(job: ImageJob, interval: float | None = None) -> None:
    if interval is None:
        interval = max(3.0, float(vendor_settings("piktid").get("POLL_INTERVAL", 3.0)))
    when = timezone.now() + timedelta(seconds=interval)
    if _update(job, Status.RUNNING, next_attempt_at=when):
        _schedule(job, when)


def _piktid_poll(job: ImageJob) -> None:
    state = dict(job.vendor_state)
    timeout = float(vendor_settings("piktid").get("TIMEOUT", 600.0))
    image_id = job.vendor_image_id
    elapsed = time.time() - float(state.get("generated_at", time.time()))
    if elapsed > timeout:
        _fail(
            job,
            "timeout",
            _("PiktID did not deliver a result within %(seconds)d seconds.") % {"seconds": timeout},
        )
        return
    provider = job.provider
    credential = operations.credential(provider)
    wait = ratelimit.reserve(provider, credential, resource=image_id)
    if wait and wait > 0:
        _piktid_schedule_poll(job, max(wait, 0.5))
        return
    try:
        client = _client(provider)
        answer = client.poll(image_id)
    except VendorError as exc:
        ratelimit.release(provider, credential)
        _back_off_if_told(provider, credential, exc)
        if not exc.retryable:
            _event(job, Kind.ERROR, str(exc), error_code=exc.error_code, status=exc.status_code)
            _fail(job, exc.error_code, _plain_message(exc))
            return
        _event(job, Kind.ERROR, f"poll failed, polling again: {exc}", error_code=exc.error_code)
        answer = None
    else:
        ratelimit.release(provider, credential)
    state["polls"] = int(state.get("polls", 0)) + 1
    _update(job, vendor_state=state)
    data = dict(answer.data) if answer is not None else {"state": "pending"}
    if data.get("state") == "succeeded":
        result = _call_vendor(job, lambda c: c.download(data["link"]), count_attempt=False)
        if result is None:
            return
        if data.get("notification_id"):
            try:
                client.delete_notification(data["notification_id"])
            except VendorError as exc:
                logger.info("PiktID notification %s not deleted: %s", data["notification_id"], exc)
        state["step"] = "downloaded"
        _update(job, vendor_state=state)
        _finish_with_result(job, result.content, result.content_type)
        return
    if data.get("state") == "failed":
        message = _("PiktID could not expand the image: %(error)s") % {
            "error": data.get("error") or "unknown error"
        }
        _fail(job, "vendor_failed", message)
        return
    _piktid_schedule_poll(job)


# -- user actions ----------------------------------------------------------------------------


def cancel(job: ImageJob) -> bool:
    """Cancel ``job`` if it is pending, running or waiting for the editor.

    A vendor call already under way finishes, but its result is not applied.

    Returns:
        True when the job was canceled, False when it had already finished.
    """
    if not _update(
        job, CANCELABLE, status=Status.CANCELED, finished_at=timezone.now(), next_attempt_at=None
    ):
        job.refresh_from_db()
        return False
    _event(job, Kind.CANCELED, "canceled")
    return True


def retry(job: ImageJob) -> bool:
    """Queue a failed or canceled ``job`` again (attempts reset; stored vendor references are
    kept, so e.g. a PiktID image already uploaded is not uploaded again).

    Returns:
        True when the job was queued, False when it was not failed or canceled.
    """
    if not _update(
        job,
        RETRYABLE,
        status=Status.PENDING,
        attempts=0,
        next_attempt_at=None,
        finished_at=None,
        error_code="",
        error_message="",
    ):
        job.refresh_from_db()
        return False
    _event(job, Kind.RETRY_SCHEDULED, "retry requested")
    _enqueue_on_commit([job.pk])
    return True


def requeue_stale(older_than: float = 1800.0) -> int:
    """Put back to pending the jobs left ``running`` by a worker that died (no update for
    ``older_than`` seconds and no scheduled poll). They resume from their stored vendor
    references (e.g. a PiktID image already uploaded is not uploaded again).

    Returns:
        How many jobs were requeued.
    """
    now = timezone.now()
    stale = list(
        ImageJob.objects.filter(
            status=Status.RUNNING,
            next_attempt_at__isnull=True,
            updated_at__lt=now - timedelta(seconds=older_than),
        ).values_list("pk", flat=True)
    )
    requeued = 0
    for job_id in stale:
        updated = ImageJob.objects.filter(
            pk=job_id, status=Status.RUNNING, next_attempt_at__isnull=True
        ).update(status=Status.PENDING, next_attempt_at=now, updated_at=now)
        if updated:
            requeued += 1
            ImageJobEvent.objects.create(
                job_id=job_id,
                kind=Kind.RETRY_SCHEDULED,
                message=f"no progress for {older_than:.0f} s (worker gone?): requeued",
            )
    return requeued


def run_due(limit: int | None = None) -> int:
    """Run every job that is due now (pending with a passed or no ``next_attempt_at``, or a
    running job whose scheduled poll is due), oldest first. For backends that cannot defer.

    Returns:
        How many jobs were claimed and run.
    """
    ids = list(
        ImageJob.objects.filter(_due_q(timezone.now()))
        .order_by("next_attempt_at", "pk")
        .values_list("pk", flat=True)[: limit or None]
    )
    return sum(1 for job_id in ids if run_job(job_id) is not None)


def apply_result(job: ImageJob, *, replace_source: bool = False) -> None:
    """Put a succeeded job's result where it belongs on the source object.

    - ``job.target_field`` (a DerivedImageField on the imageops storage) gets the stored result
      name: no copy.
    - ``replace_source=True`` also replaces the source ImageField's file with a copy of the
      result saved on that field's storage; the original file stays on its storage, named in
      ``job.source_name``.

    Raises:
        ValueError: the job has not succeeded, has no result, or its source is an upload or
            gone.
    """
    job.refresh_from_db()
    if job.status != Status.SUCCEEDED or not job.result:
        raise ValueError("only a succeeded job with a result can be applied")
    obj = job.source_object
    if obj is None:
        raise ValueError("the job's source is an upload or no longer exists")
    update_fields = []
    if job.target_field:
        setattr(obj, job.target_field, job.result.name)
        update_fields.append(job.target_field)
    if replace_source:
        content = _read_file(job.result)
        base = os.path.basename(job.result.name)
        getattr(obj, job.source_field).save(base, ContentFile(content), save=False)
        update_fields.append(job.source_field)
    if update_fields:
        obj.save(update_fields=update_fields)
    _update(job, applied_at=timezone.now())
    _event(
        job,
        Kind.APPLIED,
        f"applied to {obj._meta.label} {obj.pk}: {', '.join(update_fields) or 'nothing'}",
        fields=update_fields,
        replaced_source=replace_source,
        original=job.source_name,
    )


# -- ClippingMagic review --------------------------------------------------------------------


def fetch_review_result(job: ImageJob, *, image_id: str | None = None) -> bool:
    """Download a newer ClippingMagic result of ``job`` (the editor's ``result-generated``
    callback and ``imageops_fetch_results`` both land here).

    Calls ``GET /api/v1/images/{id}?format=json`` (free) and, when its ``resultRevision`` is
    newer than the stored ``vendor_result_revision``, ``GET /api/v1/images/{id}`` (one credit
    for a production result's first download) and stores it as the job's result; earlier result
    files stay on storage, named in the job's events.

    Returns:
        True when a new result was stored.

    Raises:
        ValueError: ``image_id`` is not the job's ClippingMagic image, or the job has none.
        VendorError: when ClippingMagic fails (the job's status does not change).
    """
    if not job.vendor_image_id or job.provider != "clippingmagic":
        raise ValueError("the job has no ClippingMagic image")
    if image_id is not None and str(image_id) != job.vendor_image_id:
        raise ValueError("image_id is not this job's ClippingMagic image")
    if job.status not in (Status.WAITING_FOR_EDITOR, Status.SUCCEEDED, Status.RUNNING):
        return False
    provider = job.provider
    credential = operations.credential(provider)
    _reserve_now(provider, credential)
    try:
        client = _client(provider)
        info = client.get(job.vendor_image_id)
        image = info.data.get("image", info.data)
        revision = _int(info.vendor_ids.get("result_revision"), 0)
        if not revision:
            revision = _int(image.get("resultRevision") if isinstance(image, dict) else 0)
        test_image = bool(
            image["test"] if isinstance(image, dict) and "test" in image else job.params.get("test")
        )
        job.refresh_from_db()
        if revision <= job.vendor_result_revision:
            return False
        result = client.download(job.vendor_image_id)
    except VendorError as exc:
        _back_off_if_told(provider, credential, exc)
        raise
    finally:
        ratelimit.release(provider, credential)
    # ClippingMagic charges a production image's first download only (the client cannot tell
    # which download is the first): one credit unless this image was paid for already.
    charge = not test_image and _mark_charged(job)
    _record_credits(job, dataclasses.replace(result, credits_consumed=Decimal(1 if charge else 0)))
    revision = max(revision, _int(result.vendor_ids.get("result_revision"), revision))
    _event(
        job,
        Kind.EDITOR,
        f"downloaded ClippingMagic result revision {revision}",
        revision=revision,
        credits_consumed=str(Decimal(1 if charge else 0)),
    )
    info_fields = _store(job, result.content, result.content_type, revision)
    if info_fields is None:
        return False
    return _mark_stored(job, info_fields, revision)


def _mark_charged(job: ImageJob) -> bool:
    """Mark ``job``'s ClippingMagic image as paid for (its first download was charged).

    One conditional UPDATE: when two fetches download the same new result at once (the
    editor's callback and ``imageops_fetch_results``, or two workers), only one of them marks
    it, and only that one records the credit.

    Returns:
        True for the caller that marked it; False when it was marked already.
    """
    if job.vendor_state.get(CHARGED):
        return False
    state = {**job.vendor_state, CHARGED: True}
    marked = (
        ImageJob.objects.filter(pk=job.pk)
        .exclude(vendor_state__has_key=CHARGED)
        .update(vendor_state=state, updated_at=timezone.now())
    )
    job.vendor_state = state
    return bool(marked)


def request_review_result(job: ImageJob, image_id: str) -> None:
    """Enqueue ``tasks.fetch_review_result_task`` for ``job`` when the transaction commits.

    Raises:
        ValueError: ``image_id`` is not the job's ClippingMagic image.
    """
    if not job.vendor_image_id or str(image_id) != job.vendor_image_id:
        raise ValueError("image_id is not this job's ClippingMagic image")
    _event(job, Kind.EDITOR, "the editor saved a result; fetching it", image_id=str(image_id))
    job_id = job.pk
    transaction.on_commit(lambda: tasks.enqueue(tasks.fetch_review_result_task, job_id))


def record_editor_error(job: ImageJob, *, status=None, code: str = "", message: str = "") -> None:
    """Record an error ClippingMagic.js reported in the browser (the job's status is kept, so
    the person can open the editor again)."""
    _event(
        job,
        Kind.EDITOR,
        f"editor error: {message}",
        status=status,
        code=code,
    )
    _update(
        job, error_code=("editor_" + code)[:64] if code else "editor_error", error_message=message
    )


# -- vendor-side copies ----------------------------------------------------------------------


def delete_vendor_copy(job: ImageJob) -> bool:
    """Delete the job's image on ClippingMagic's side (``POST /api/v1/images/{id}/delete``).

    The job's ``vendor_image_id`` and ``vendor_secret`` are cleared (the editor can no longer
    open it) and the deleted id is kept in a job event; the stored result is untouched. An image
    ClippingMagic no longer has counts as deleted.

    Returns:
        True when the vendor deleted it, False when it was already gone.

    Raises:
        ValueError: the job has no ClippingMagic image.
        VendorError: when ClippingMagic fails otherwise (e.g. test images cannot be deleted).
    """
    if job.provider != "clippingmagic" or not job.vendor_image_id:
        raise ValueError("the job has no ClippingMagic image")
    image_id = job.vendor_image_id
    credential = operations.credential(job.provider)
    _reserve_now(job.provider, credential)
    try:
        _client(job.provider).delete(image_id)
        deleted = True
    except NotFound:
        deleted = False
    except VendorError as exc:
        _back_off_if_told(job.provider, credential, exc)
        raise
    finally:
        ratelimit.release(job.provider, credential)
    _update(job, vendor_image_id="", vendor_secret="")
    _event(
        job,
        Kind.EDITOR,
        f"ClippingMagic image {image_id} {'deleted' if deleted else 'was already gone'}",
        image_id=image_id,
        deleted=deleted,
    )
    return deleted
