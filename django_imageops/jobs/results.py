"""Results: storing them (and spooling them when that fails), reusing identical ones, and
putting them on the source object.

- ``finish_with_result``: store the bytes on the ``imageops`` storage at
  ``imageops/results/<operation>/<uuid>[-r<revision>].<ext>`` with their size recorded (read
  from the bytes in hand: no ``exists()`` call, no download) and a thumbnail beside it
  (``thumbnails``), then ``succeed``. When storing fails, the bytes wait in the spool
  (``jobs.spool``; ``spool_answer`` when something else failed after the vendor answered) and
  the next attempt stores them without calling the
  vendor again (``store_from_spool``).
- ``reuse``: a deterministic job (``Provider.is_deterministic``) whose source bytes, operation,
  provider and params match a succeeded job takes its result (``reused_from``, 0 credits).
- ``apply_result``: the result into the job's ``target_field`` (no copy) or, on request, into
  the source field (the original file stays on its storage).
"""

from __future__ import annotations

import io
import logging
import os
from decimal import Decimal
from hashlib import sha256
from pathlib import Path
from typing import Any

from django.core.exceptions import FieldDoesNotExist
from django.core.files.base import ContentFile
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from PIL import Image

from .. import signals
from ..conf import get_storage
from ..models import ImageJob, SourceImageHash
from ..providers import Provider
from ..thumbnails import make_thumbnail, thumbnail_name, wants_thumbnail
from ..vendors.base import sniff_image_type
from .history import Kind, record_event
from .spool import Spooled, discard, keep, recover_credits
from .states import (
    RUNNING,
    count_attempt,
    fail,
    retry_later,
    send_on_commit,
    set_later,
    transition,
    update,
)

logger = logging.getLogger(__name__)

Kind = Kind


def read_file(field_file) -> bytes:
    """All bytes of a ``FieldFile`` (opened and closed here)."""
    field_file.open("rb")
    try:
        return field_file.read()
    finally:
        field_file.close()


def result_name(job: ImageJob, ext: str, revision: int | None = None) -> str:
    """``imageops/results/<operation>/<uuid>.<ext>``; ``-r<revision>`` before the extension
    from revision 2 on."""
    suffix = "" if (revision or 1) <= 1 else f"-r{revision}"
    return f"imageops/results/{job.operation}/{job.uuid}{suffix}.{ext}"


def describe_ext(content: bytes, content_type: str = "") -> str:
    """The file extension of result bytes: sniffed, else from ``content_type`` (jpg or png)."""
    ext = sniff_image_type(content)[1]
    if ext == "bin":
        ext = "jpg" if "jpeg" in content_type else "png"
    return ext


def describe(content: bytes, content_type: str = "") -> dict[str, Any]:
    """Width/height (pixels), bytes and content type of result bytes, as ``ImageJob`` fields,
    plus ``ext`` (Pillow reads the header only)."""
    sniffed_type, ext = sniff_image_type(content)
    info: dict[str, Any] = {
        "result_bytes": len(content),
        "result_content_type": sniffed_type
        if sniffed_type != "application/octet-stream"
        else (content_type or sniffed_type),
        "ext": ext,
    }
    try:
        with Image.open(io.BytesIO(content)) as image:
            info["result_width"], info["result_height"] = image.size
    except (OSError, ValueError):
        info["result_width"] = info["result_height"] = None
    return info


def store(job: ImageJob, content: bytes, content_type: str, revision: int | None) -> dict | None:
    """Save ``content`` to the imageops storage; on failure spool it and schedule a retry.

    Returns:
        The result fields (name, size...) or None when storing failed (the job was rescheduled
        or failed, and the bytes are in the spool).
    """
    info = describe(content, content_type)
    info.pop("ext")
    ext = describe_ext(content, content_type)
    name = result_name(job, ext, revision)
    try:
        # The name is unique (the job's UUID): ``_save`` skips ``get_available_name``, whose
        # ``exists()`` would cost an S3 HEAD request per result.
        stored = get_storage()._save(name, ContentFile(content, name=name))
    except Exception as exc:
        path = keep(job, content, content_type, revision, ext)
        record_event(
            job,
            Kind.STORE_FAILED,
            f"storing the result failed ({exc.__class__.__name__}: {exc}); kept in the spool, "
            "stored on the next attempt without calling the vendor again",
            defer=True,
            spool=str(path),
        )
        retry_later(
            job, "storage_unavailable", _("Storing the result failed: %s") % exc, name="spool"
        )
        return None
    info["result"] = stored
    info["result_thumbnail"] = store_thumbnail(stored, content, info)
    return info


def store_thumbnail(result_name: str, content: bytes, info: dict) -> str:
    """Make the thumbnail of result bytes ``content`` (described by ``info``: ``describe``)
    and store it beside the result (``thumbnails.thumbnail_name``). Returns its name, or ""
    when none was wanted (``thumbnails.wants_thumbnail``: a small result is its own) or made,
    or storing it failed (logged: the result itself is stored, and lists show it instead)."""
    if not wants_thumbnail(info["result_width"], info["result_height"], info["result_bytes"]):
        return ""
    thumbnail = make_thumbnail(content)
    if thumbnail is None:
        return ""
    name = thumbnail_name(result_name)
    try:
        return get_storage()._save(name, ContentFile(thumbnail, name=name))
    except Exception:
        logger.warning("storing the thumbnail %s failed", name, exc_info=True)
        return ""


def finish_with_result(
    job: ImageJob, content: bytes, content_type: str, *, revision: int | None = None
) -> bool:
    """Store the result bytes and mark ``job`` succeeded. False when storing failed (spooled)
    or the job was canceled meanwhile."""
    info = store(job, content, content_type, revision)
    if info is None:
        return False
    return mark_stored(job, info, revision)


def mark_stored(job: ImageJob, info: dict, revision: int | None) -> bool:
    """``succeed`` with the stored result's fields (``revision``: the vendor's, kept in
    ``vendor_result_revision``); a result stored while the job was canceled is only noted."""
    previous = job.result.name if job.result else ""
    fields = {
        **info,
        "finished_at": timezone.now(),
        "error_code": "",
        "error_message": "",
        "spool_path": "",
        "next_attempt_at": None,
    }
    if revision is not None:
        fields["vendor_result_revision"] = max(revision, job.vendor_result_revision)
    if not transition(job, "succeed", **fields):
        record_event(
            job,
            Kind.RESULT_STORED,
            "result stored, but the job was canceled meanwhile",
            name=info["result"],
        )
        return False
    kind = Kind.RESULT_REPLACED if previous and previous != info["result"] else Kind.RESULT_STORED
    record_event(
        job,
        kind,
        f"stored {info['result']} ({info.get('result_width')}x{info.get('result_height')}, "
        f"{info['result_bytes']} bytes)",
        name=info["result"],
        previous=previous,
        revision=revision or 1,
    )
    succeeded(job)
    return True


def store_from_spool(job: ImageJob, spooled: Spooled) -> None:
    """Store the result a previous attempt kept in the spool (no vendor call). A spool the
    database never recorded (found by the job's UUID) also brings the credits it carries."""
    try:
        content = spooled.path.read_bytes()
    except OSError as exc:
        discard(job, spooled)
        set_later(job, spool_path="")
        fail(job, "spool_lost", _("The spooled result is gone: %s") % exc)
        return
    if spooled.credits is not None:
        recover_credits(job, spooled)
        record_event(
            job,
            Kind.STORE_FAILED,
            "found a result spooled by an earlier attempt the database did not record; "
            "storing it without calling the vendor again",
            defer=True,
            spool=str(spooled.path),
        )
    count_attempt(job)
    revision = spooled.revision
    if finish_with_result(job, content, spooled.content_type, revision=revision):
        discard(job, spooled)


def spool_answer(job: ImageJob, content: bytes, content_type: str, revision: int | None) -> Path:
    """Keep a vendor's answer in the spool after something failed on our side (the next
    attempt stores it without calling the vendor again); noted on ``job`` for its next write."""
    return keep(job, content, content_type, revision, describe_ext(content, content_type))


def succeeded(job: ImageJob) -> None:
    """What follows a success: ``job_succeeded`` after commit, and the result into the
    job's ``target_field`` when that field declares the job (``fills_on_its_own``; else a
    person applies it); a failure there is only recorded: the job succeeded."""
    send_on_commit(signals.job_succeeded, job)
    if job.target_field and job.source_object_id:
        try:
            if fills_on_its_own(job):
                apply_result(job)
            else:
                record_event(
                    job,
                    Kind.RESULT_STORED,
                    f"not applied to {job.target_field}: the field is declared with another "
                    "operation, provider or parameters; a person may apply it",
                )
        except Exception as exc:
            logger.exception("applying the result of job %s failed", job.pk)
            record_apply_error(job, exc)


def fills_on_its_own(job: ImageJob) -> bool:
    """Whether ``job``'s result goes into its ``target_field`` without a person: the field is
    not a derived image, or its declaration is the job's (the field's ``declares``: the same
    source, operation, provider and parameters). Any other result waits to be applied."""
    content_type = job.source_content_type if job.source_content_type_id else None
    model = content_type.model_class() if content_type is not None else None
    try:
        field = model._meta.get_field(job.target_field) if model else None
    except FieldDoesNotExist:
        return False
    declares = getattr(field, "declares", None)
    if declares is None:
        return field is not None
    return declares(job.operation, job.source_field, job.provider, job.params)


def reuse(job: ImageJob, provider: Provider) -> bool:
    """Finish ``job`` with the result of an identical succeeded job (0 credits), if any.

    Identical: the same source SHA-256, operation, provider and params, for a provider whose
    result is deterministic for these params. Returns True when the job was finished (or
    someone else finished or canceled it meanwhile).
    """
    if not job.source_hash or not provider.is_deterministic(job.params):
        return False
    # Only the columns needed to choose (params compare as Python values, whatever the JSON
    # key order in the database); the chosen job is then read whole. The job itself is
    # running, so ``status=SUCCEEDED`` leaves it out.
    candidates = (
        ImageJob.objects.filter(
            source_hash=job.source_hash,
            operation=job.operation,
            provider=job.provider,
            status=ImageJob.Status.SUCCEEDED,
        )
        .order_by("-finished_at")
        .values_list("pk", "params", "result")[:20]
    )
    match = next((pk for pk, params, result in candidates if result and params == job.params), None)
    if match is None:
        return False
    other = ImageJob.objects.get(pk=match)
    fields = {
        "result": other.result.name,
        "result_thumbnail": other.result_thumbnail.name,
        "result_width": other.result_width,
        "result_height": other.result_height,
        "result_bytes": other.result_bytes,
        "result_content_type": other.result_content_type,
        "reused_from_id": other.reused_from_id or other.pk,
        "credits_consumed": Decimal(0),
        "finished_at": timezone.now(),
        "error_code": "",
        "error_message": "",
    }
    # Only from running: this job is being run now (the table also allows the editor's paths).
    if not transition(job, "succeed", where=Q(status=RUNNING), **fields):
        return True
    job.refresh_from_db()
    record_event(
        job,
        Kind.RESULT_STORED,
        f"reused the result of job {other.uuid} (same image, operation and parameters; 0 credits)",
        name=other.result.name,
        reused_from=str(other.uuid),
    )
    succeeded(job)
    return True


def set_dimension_fields(obj, field_name: str, job: ImageJob, content: bytes) -> list[str]:
    """Set the ``width_field``/``height_field`` of ``obj``'s ImageField ``field_name`` to the
    size of the result that replaced its file: the job's recorded ``result_width``/
    ``result_height`` (pixels), else the size Pillow reads from ``content``. Django's own update
    cannot be relied on here: it reads the size from the content after the storage saved it, and
    some storages (django-storages' S3) close that content, leaving ``None``.

    Returns:
        The names of the fields set (for ``save(update_fields=...)``); empty when the field
        has no dimension fields.
    """
    field = obj._meta.get_field(field_name)
    names = [name for name in (field.width_field, field.height_field) if name]
    if not names:
        return []
    width, height = job.result_width, job.result_height
    if not (width and height):
        size = describe(content)
        width, height = size["result_width"], size["result_height"]
    if field.width_field:
        setattr(obj, field.width_field, width)
    if field.height_field:
        setattr(obj, field.height_field, height)
    return names


def apply_result(job: ImageJob, *, field: str = "", replace_source: bool = False) -> None:
    """Put a succeeded job's result where it belongs on the source object.

    - ``field`` (a person's explicit choice, e.g. the admin's "Apply"; its declaration need not
      match the job's), else ``job.target_field``: that image field (a DerivedImageField on
      the imageops storage) gets the stored result name, no copy. A chosen ``field`` becomes
      the job's ``target_field``.
    - ``replace_source=True`` also replaces the source ImageField's file with a copy of the
      result saved on that field's storage, and its ``width_field``/``height_field`` with the
      result's size (``set_dimension_fields``); the original file stays on its storage, named
      in ``job.source_name``.

    Raises:
        ValueError: the job has not succeeded or has no result, its source is an upload or
            gone, ``field`` is not a file field of the source model, or there is nothing to
            apply it to (no field, no ``target_field``, no ``replace_source``).
    """
    job.refresh_from_db()
    result_name = job.result.name
    if job.status != ImageJob.Status.SUCCEEDED or not result_name:
        raise ValueError("only a succeeded job with a result can be applied")
    obj = job.source_object
    if obj is None:
        raise ValueError("the job's source is an upload or no longer exists")
    target = field or job.target_field
    if not target and not replace_source:
        raise ValueError("the job has no field to apply its result to")
    if field:
        try:
            model_field = obj._meta.get_field(field)
        except FieldDoesNotExist:
            model_field = None
        if not isinstance(model_field, models.FileField) or field == job.source_field:
            raise ValueError(f"{obj._meta.label} has no image field {field!r} to fill")
    update_fields = []
    if target:
        setattr(obj, target, result_name)
        update_fields.append(target)
    if replace_source:
        content = read_file(job.result)
        base = os.path.basename(result_name)
        source = getattr(obj, job.source_field)
        source.save(base, ContentFile(content), save=False)
        update_fields.append(job.source_field)
        update_fields += set_dimension_fields(obj, job.source_field, job, content)
        # The new source's hash from the bytes in hand: the images derived from the source
        # know they are stale (and auto ones requeue) without reading it back.
        SourceImageHash.record(obj, job.source_field, source.name, sha256(content).hexdigest())
    obj.save(update_fields=update_fields)
    record_applied(
        job, obj, update_fields, job_fields={"target_field": target}, replaced_source=replace_source
    )


def record_applied(
    job: ImageJob, obj, fields: list[str], *, job_fields: dict | None = None, **data: Any
) -> None:
    """Mark ``job``'s result applied (``applied_at``, plus ``job_fields``) and record it in the
    job's history: that ``fields`` of ``obj`` (a model instance) now hold it. For
    ``apply_result``, and for an interface that puts a result somewhere itself (e.g. the Wagtail
    image library); ``data`` (JSON-safe) is kept with the event."""
    update(job, applied_at=timezone.now(), **(job_fields or {}))
    record_event(
        job,
        Kind.APPLIED,
        f"applied to {obj._meta.label} {obj.pk}: {', '.join(fields)}",
        fields=list(fields),
        original=job.source_name,
        **data,
    )


def record_apply_error(job: ImageJob, error: Exception) -> None:
    """Record in ``job``'s history that applying its result failed (the job stays succeeded;
    its result can be applied again). The caller logs the exception."""
    record_event(job, Kind.ERROR, f"applying the result failed: {error}", error_code="apply")
