"""Signal receivers: the content hash of source images, and ``DerivedImageField(auto=True)``
queueing derived images.

``connect_derived_fields`` (called by ``AppConfig.ready``, and on ``class_prepared`` for models
made later) connects, for each concrete model with a ``DerivedImageField``:

- ``remember_source_names`` (``post_init``): the source file names the object was loaded with;
- ``hash_new_uploads`` (``pre_save``): the SHA-256 of a source file being uploaded, from the
  bytes in hand (no storage read);
- ``record_source_changes`` (``post_save``): when a source file changed, its hash is recorded
  (``SourceImageHash``, what makes derived images *stale*: ``derived``), and for each ``auto``
  field a callback runs after the transaction commits: it hashes the source bytes when no
  stored hash answers (one read), then queues a job through ``jobs.create_jobs`` unless a job
  for the same field and content hash already exists.

Filling the field is ``jobs``' part: a succeeded job with a ``target_field`` applies its result.
This module imports ``fields`` and ``jobs``; neither imports it.
"""

from __future__ import annotations

import hashlib
import logging
from functools import partial

from django.apps import apps
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db import router, transaction
from django.db.models.signals import class_prepared, post_init, post_save, pre_save

from . import jobs
from .fields import DerivedImageField
from .models import ImageJob, SourceImageHash

logger = logging.getLogger(__name__)

_NAMES_ATTR = "_imageops_source_names"
_HASHES_ATTR = "_imageops_upload_hashes"
_UNKNOWN = object()
_CHUNK = 1024 * 1024


def _derived_fields(model):
    """The ``DerivedImageField``s declared on ``model`` itself (not inherited)."""
    return [f for f in model._meta.local_fields if isinstance(f, DerivedImageField)]


def _sources(model) -> list[str]:
    """The source field names of ``model``'s derived fields, each once."""
    return list(dict.fromkeys(f.source for f in _derived_fields(model)))


def connect(model) -> bool:
    """Connect the receivers for ``model`` when it is concrete and has a ``DerivedImageField``.
    Returns whether it did (idempotent: one ``dispatch_uid`` per model)."""
    opts = model._meta
    if opts.abstract or opts.proxy or not _derived_fields(model):
        return False
    uid = f"imageops-derived-{opts.label_lower}"
    post_init.connect(remember_source_names, sender=model, weak=False, dispatch_uid=uid)
    pre_save.connect(hash_new_uploads, sender=model, weak=False, dispatch_uid=uid)
    post_save.connect(record_source_changes, sender=model, weak=False, dispatch_uid=uid)
    return True


def connect_derived_fields() -> None:
    """Connect the receivers for every installed model with a ``DerivedImageField``, and for
    models created later (``class_prepared``)."""
    for model in apps.get_models():
        connect(model)
    class_prepared.connect(_on_class_prepared, dispatch_uid="imageops-derived-class-prepared")


def _on_class_prepared(sender, **kwargs):
    connect(sender)


def _raw_name(value) -> str:
    """The stored name of a raw ImageField attribute value (a string or a ``File``)."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return getattr(value, "name", "") or ""


def remember_source_names(sender, instance, **kwargs):
    """``post_init``: remember the source file names the object was loaded with (no I/O)."""
    names: dict[str, object] = {}  # source field -> file name, or _UNKNOWN
    for source_name in _sources(sender):
        source = sender._meta.get_field(source_name)
        if source.attname in instance.__dict__:
            names[source_name] = _raw_name(instance.__dict__[source.attname])
        else:  # deferred: unknown, so the next save hashes the file to find out
            names[source_name] = _UNKNOWN
    instance.__dict__[_NAMES_ATTR] = names


def _hash_filelike(handle) -> str:
    digest = hashlib.sha256()
    for chunk in iter(partial(handle.read, _CHUNK), b""):
        digest.update(chunk)
    return digest.hexdigest()


def hash_new_uploads(sender, instance, raw=False, update_fields=None, **kwargs):
    """``pre_save``: the SHA-256 of each source file about to be stored (an upload, a
    ``ContentFile``: bytes in memory or in a temporary file, read here and rewound), kept for
    ``record_source_changes``. Files already on storage are not read."""
    if raw:
        return
    hashes = {}
    for source_name in _sources(sender):
        if update_fields is not None and source_name not in update_fields:
            continue
        file = getattr(instance, source_name)
        if not file or getattr(file, "_committed", True):
            continue
        handle = file.file
        try:
            handle.seek(0)
            hashes[source_name] = _hash_filelike(handle)
            handle.seek(0)
        except (OSError, ValueError, AttributeError):  # not rewindable: hashed after commit
            continue
    instance.__dict__[_HASHES_ATTR] = hashes


def record_source_changes(sender, instance, created, raw=False, update_fields=None, **kwargs):
    """``post_save``: for each source file that changed, record its hash when known
    (``SourceImageHash``), and schedule ``queue_if_new_content`` after commit for the ``auto``
    fields made from it (fixture loading, ``raw=True``, does nothing)."""
    if raw:
        return
    names = instance.__dict__.setdefault(_NAMES_ATTR, {})
    hashes = instance.__dict__.pop(_HASHES_ATTR, {})
    using = kwargs.get("using") or router.db_for_write(sender)
    for source_name in _sources(sender):
        if update_fields is not None and source_name not in update_fields:
            continue
        file = getattr(instance, source_name)
        name = file.name if file else ""
        previous = names.get(source_name, _UNKNOWN)
        names[source_name] = name
        if not name or (name == previous and not created):
            continue
        digest = hashes.get(source_name)
        if digest:
            SourceImageHash.record(instance, source_name, name, digest)
        for field in _derived_fields(sender):
            if field.auto and field.source == source_name:
                transaction.on_commit(
                    partial(queue_if_new_content, sender, instance.pk, field.name, digest),
                    using=using,
                )


def source_hash(file) -> str:
    """SHA-256 hex digest of a ``FieldFile``'s bytes (read in chunks from its storage)."""
    with file.storage.open(file.name, "rb") as handle:
        return _hash_filelike(handle)


def current_source_hash(instance, source_name: str) -> str:
    """The SHA-256 of the file ``instance``'s image field ``source_name`` holds: the recorded
    one (``SourceImageHash``) when it is for this file, else read and hashed once from storage
    and recorded."""
    file = getattr(instance, source_name)
    content_type = ContentType.objects.get_for_model(instance, for_concrete_model=False)
    known = SourceImageHash.current(content_type, [str(instance.pk)], source_name)
    name, digest = known.get(str(instance.pk), ("", ""))
    if name == file.name and digest:
        return digest
    digest = source_hash(file)
    SourceImageHash.record(instance, source_name, file.name, digest)
    return digest


def queue_if_new_content(model, pk, field_name: str, digest: str | None = None):
    """Queue the derived field's job for object ``pk`` unless a job for this field was already
    created for the same source bytes (``ImageJob.source_hash``, passed to ``jobs.create_jobs``).

    ``digest``: the source's SHA-256 when the save knew it (else ``current_source_hash``).

    Returns:
        The created ``ImageJob`` list, or ``[]`` when nothing was queued.
    """
    instance = model._default_manager.filter(pk=pk).first()
    if instance is None:
        return []
    field = model._meta.get_field(field_name)
    file = getattr(instance, field.source)
    if not file:
        return []
    if not digest:
        digest = current_source_hash(instance, field.source)
    content_type = ContentType.objects.get_for_model(instance)
    seen = ImageJob.objects.filter(
        source_content_type=content_type,
        source_object_id=str(instance.pk),
        target_field=field.name,
        source_hash=digest,
    ).exists()
    if seen:
        return []
    try:
        created = jobs.create_jobs(
            field.operation,
            objects=[instance],
            field=field.source,
            provider=field.provider,
            params=field.params,
            target_field=field.name,
            source_hashes=[digest],
        )
    except ValidationError as error:
        logger.warning(
            "Not queueing %s for %s.%s of %r: %s",
            field.operation,
            model._meta.label,
            field.name,
            instance,
            error,
        )
        return []
    return created
