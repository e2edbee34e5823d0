"""Signal receivers: ``DerivedImageField(auto=True)`` queueing derived images.

``connect_derived_fields`` (called by ``AppConfig.ready``, and on ``class_prepared`` for models
made later) connects ``remember_source_names`` (``post_init``) and ``queue_derived_images``
(``post_save``) for each concrete model with an ``auto`` field: when a saved object's source
file name changed, a callback runs after the transaction commits, hashes the source bytes
(SHA-256) and queues a job through ``jobs.create_jobs`` unless a job for the same field and
content hash already exists.

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
from django.db.models.signals import class_prepared, post_init, post_save

from . import jobs
from .fields import DerivedImageField
from .models import ImageJob

logger = logging.getLogger(__name__)

_NAMES_ATTR = "_imageops_source_names"
_UNKNOWN = object()


def _auto_fields(model):
    """The ``auto`` ``DerivedImageField``s declared on ``model`` itself (not inherited)."""
    return [f for f in model._meta.local_fields if isinstance(f, DerivedImageField) and f.auto]


def connect(model) -> bool:
    """Connect the receivers for ``model`` when it is concrete and has an ``auto`` field.
    Returns whether it did (idempotent: one ``dispatch_uid`` per model)."""
    opts = model._meta
    if opts.abstract or opts.proxy or not _auto_fields(model):
        return False
    uid = f"imageops-derived-{opts.label_lower}"
    post_init.connect(remember_source_names, sender=model, weak=False, dispatch_uid=uid)
    post_save.connect(queue_derived_images, sender=model, weak=False, dispatch_uid=uid)
    return True


def connect_derived_fields() -> None:
    """Connect the receivers for every installed model with an ``auto`` field, and for models
    created later (``class_prepared``)."""
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
    for field in _auto_fields(sender):
        source = sender._meta.get_field(field.source)
        if source.attname in instance.__dict__:
            names[field.source] = _raw_name(instance.__dict__[source.attname])
        else:  # deferred: unknown, so the next save hashes the file to find out
            names[field.source] = _UNKNOWN
    instance.__dict__[_NAMES_ATTR] = names


def queue_derived_images(sender, instance, created, raw=False, update_fields=None, **kwargs):
    """``post_save``: for each ``auto`` field whose source file name changed, schedule
    ``queue_if_new_content`` after commit (fixture loading, ``raw=True``, queues nothing)."""
    if raw:
        return
    names = instance.__dict__.setdefault(_NAMES_ATTR, {})
    using = kwargs.get("using") or router.db_for_write(sender)
    for field in _auto_fields(sender):
        if update_fields is not None and field.source not in update_fields:
            continue
        file = getattr(instance, field.source)
        name = file.name if file else ""
        previous = names.get(field.source, _UNKNOWN)
        names[field.source] = name
        if not name or (name == previous and not created):
            continue
        transaction.on_commit(
            partial(queue_if_new_content, sender, instance.pk, field.name), using=using
        )


def source_hash(file) -> str:
    """SHA-256 hex digest of a ``FieldFile``'s bytes (read in chunks from its storage)."""
    digest = hashlib.sha256()
    with file.storage.open(file.name, "rb") as handle:
        for chunk in iter(partial(handle.read, 1024 * 1024), b""):
            digest.update(chunk)
    return digest.hexdigest()


def queue_if_new_content(model, pk, field_name: str):
    """Queue the derived field's job for object ``pk`` unless a job for this field was already
    created for the same source bytes (``ImageJob.source_hash``, passed to ``jobs.create_jobs``).

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
    digest = source_hash(file)
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
