"""Creating jobs: validate everything first, then bulk-create the jobs and enqueue them.

``create_jobs`` is where every interface ends (admin action, REST API, ``DerivedImageField``,
``imageops_batch``): it never calls a vendor.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from dataclasses import field as dataclass_field

from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.core.files.base import ContentFile
from django.db import models, transaction
from django.utils.translation import gettext_lazy as _

from ..images import ImageInfo, file_type, inspect_image, read_bytes
from ..models import ImageJob, ImageJobEvent
from ..operations import get_operation
from ..providers import Provider, get_provider
from .queue import enqueue_on_commit

Kind = ImageJobEvent.Kind


class SniffedFile(ContentFile):
    """An upload's bytes as they are stored: named, with the ``content_type`` that storages
    honouring it (django-storages' S3) send instead of guessing from the name."""

    name: str

    def __init__(self, data: bytes, name: str, content_type: str):
        super().__init__(data, name=name)
        self.content_type = content_type


def _upload_file(upload, index: int, data: bytes, info: ImageInfo | None) -> SniffedFile:
    """The file an upload is stored as: the client's name without its extension, then the
    extension and ``Content-Type`` of the format sniffed from the bytes (``images.file_type``):
    a PNG sent as ``page.html``/``text/html`` is stored as ``page.png``, ``image/png``."""
    name = os.path.basename(getattr(upload, "name", "") or "")
    # Keep the name printable and short; the storage cleans it further.
    stem = "".join(c if c.isprintable() and c not in "\\/" else "_" for c in name)
    stem = os.path.splitext(stem)[0].strip(". ")[:100] or f"upload-{index}"
    content_type, extension = file_type(info) if info else ("application/octet-stream", "bin")
    return SniffedFile(data, f"{stem}.{extension}", content_type)


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
        provider: the provider's name (``ImageJob.provider``); default:
            ``providers.default_provider(operation)``.
        params: the operation's parameters as the provider takes them
            (``Provider.clean_params``), validated here.
        created_by: the user, or None.
        batch: a UUID shared by jobs queued together (None: no batch).
        target_field: the field of the source model the result is for. It is filled on
            success only when it is not a ``DerivedImageField``, or one that declares this job
            (``DerivedImageField.declares``: the same source, operation, provider and
            parameters); otherwise the result waits for a person to apply it
            (``apply_result``).
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
    queries) and the ``run_job`` task is enqueued with each job id when the transaction
    commits.

    Returns:
        The created jobs, in input order.

    Raises:
        ValidationError: keyed by field: ``operation``, ``provider``, a parameter name,
            ``target_field``, the source field name (objects) or ``"image"`` (uploads).
        ValueError: when both or neither of ``objects``/``uploads`` are given, ``objects``
            without ``field``, or ``source_hashes`` not one per object.
    """
    planned = plan_jobs(
        operation,
        objects=objects,
        field=field,
        uploads=uploads,
        provider=provider,
        params=params,
        created_by=created_by,
        batch=batch,
        target_field=target_field,
        source_hashes=source_hashes,
    )
    if not planned.jobs:
        return []
    jobs, source_files = planned.jobs, planned.source_files
    cleaned, provider = planned.params, planned.provider.name
    with transaction.atomic():
        while source_files:
            job, file = source_files.pop(0)
            job.source_file.save(file.name, file, save=False)
            job.source_name = job.source_file.name or ""
            del file
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
        enqueue_on_commit([job.pk for job in jobs], jobs)
    return jobs


@dataclass
class Plan:
    """The jobs ``create_jobs`` would create, validated and not saved (``plan_jobs``).

    Attributes:
        provider: the provider that runs them.
        params: the cleaned parameters (``Provider.clean_params``).
        jobs: unsaved ``ImageJob`` instances, in input order (uploads have ``source_hash``).
        source_files: ``(job, file)`` of each upload, to be stored with its job: a
            ``SniffedFile`` named and typed after the format of its bytes (``_upload_file``).
    """

    provider: Provider
    params: dict
    jobs: list[ImageJob]
    source_files: list[tuple[ImageJob, SniffedFile]] = dataclass_field(default_factory=list)


def plan_jobs(
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
) -> Plan:
    """Validate ``create_jobs``' arguments (the same ones) and return the jobs it would create,
    unsaved: nothing is written, no vendor is called, no object's image is read.

    Raises:
        ValidationError, ValueError: as ``create_jobs``.
    """
    if (objects is None) == (uploads is None):
        raise ValueError("create_jobs: give exactly one of objects= or uploads=")
    get_operation(operation)
    runner = get_provider(operation, provider)
    provider = runner.name
    cleaned = runner.clean_params(params or {})

    errors: dict[str, list] = {}
    jobs: list[ImageJob] = []
    source_files: list[tuple[ImageJob, SniffedFile]] = []
    data: bytes | None  # an upload's bytes, one at a time
    if objects is not None:
        if not field:
            raise ValueError("create_jobs: objects= needs field=")
        objects = list(objects)
        if not objects:
            return Plan(runner, cleaned, [], [])
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
                data = read_bytes(upload)
            except OSError as exc:
                errors.setdefault("image", []).append(str(exc))
                continue
            name = os.path.basename(getattr(upload, "name", "") or "") or f"upload-{index}"
            digest, info = _check(runner, cleaned, data, errors, "image", prefix=name)
            job = ImageJob(
                operation=operation,
                provider=provider,
                params=cleaned,
                source_hash=digest,
                created_by=created_by,
                batch=batch,
            )
            jobs.append(job)
            source_files.append((job, _upload_file(upload, index, data, info)))
    # The jobs may run inline when they are created: do not keep a source's bytes alive.
    data = None
    if errors:
        raise ValidationError(errors)
    return Plan(runner, cleaned, jobs, source_files)


def _check(provider: Provider, params, data, errors, key, prefix) -> tuple[str, ImageInfo | None]:
    """Validate one source image into ``errors``; return its SHA-256 hex digest and what
    ``inspect_image`` read (None when it is not a usable image)."""
    info = None
    try:
        info = inspect_image(data)
        provider.check_image(params, info)
    except ValidationError as exc:
        if hasattr(exc, "error_dict"):
            for name, messages in exc.message_dict.items():
                target = key if name == "image" else name
                errors.setdefault(target, []).extend(f"{prefix}: {m}" for m in messages)
        else:
            errors.setdefault(key, []).extend(f"{prefix}: {m}" for m in exc.messages)
    return hashlib.sha256(data).hexdigest(), info
