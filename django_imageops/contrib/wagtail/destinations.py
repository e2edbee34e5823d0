"""Results into Wagtail's image library: a new image, or the image's file replaced with history.

``queue_jobs`` queues jobs on Wagtail images (``jobs.create_jobs`` on their ``file``) and records
where each result goes (``models.ImageJobDestination``). ``apply`` puts a succeeded job's result
there, as ``job_succeeded`` does when the job succeeds (bulk actions), or a person's click on the
edit page:

- **a new image** (``save_as_new_image``): the same model, collection and description, the tags
  copied, a title saying what was done ("Coffee (background removed)"), ``uploaded_by_user``
  the person who queued the job, the focal point carried over (``focal_point``);
- **a replacement** (``replace_file``): the result becomes the image's file; ``width``,
  ``height``, ``file_size`` and ``file_hash`` follow it, the focal point moves with the
  crop/uncrop offsets (or is reset when it falls outside), the renditions are deleted (Wagtail
  removes their files and cache entries), the search index is updated and a log entry
  ``django_imageops.replace`` keeps the previous file's name, size, hash and focal point (the
  previous file is never deleted).

A later editor revision of the same job (a person saving again in the vendor's editor) goes to
the same image: the new image's file, or the replaced file, is replaced again.
"""

from __future__ import annotations

import hashlib
import logging
import os

from django.contrib.contenttypes.models import ContentType
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils.translation import gettext_lazy as _

from ... import jobs
from ...jobs.results import describe, read_file
from ...models import ImageJob
from .focal_point import FIELDS, FocalPoint, Region, covered_region, moved_focal_point
from .models import ImageJobDestination
from .permissions import is_wagtail_image

logger = logging.getLogger(__name__)

Destination = ImageJobDestination.Destination

#: The log action of a replaced file (registered with ``register_log_actions``).
REPLACE_ACTION = "django_imageops.replace"

#: What each operation did, for the title of a new image ("Coffee (background removed)").
TITLE_CHANGES = {
    "remove_background": _("background removed"),
    "uncrop": _("uncropped"),
    "reimagine": _("reimagined"),
    "crop": _("cropped"),
}

#: The longest title Wagtail's image model takes.
TITLE_MAX_LENGTH = 255


def result_title(title: str, operation: str) -> str:
    """The title of a new image made by ``operation`` from an image titled ``title``:
    "Coffee (background removed)", cut to fit ``TITLE_MAX_LENGTH``."""
    change = str(TITLE_CHANGES.get(operation, operation.replace("_", " ")))
    suffix = f" ({change})"
    return title[: TITLE_MAX_LENGTH - len(suffix)] + suffix


def queue_jobs(
    operation: str,
    images,
    *,
    destination: str,
    apply_on_success: bool,
    created_by=None,
    batch=None,
    provider: str | None = None,
    params: dict | None = None,
) -> list[ImageJob]:
    """Queue one ``operation`` job per Wagtail image (``jobs.create_jobs`` on its ``file``) and
    record where each result goes.

    Args:
        images: Wagtail image instances (one model).
        destination: ``"new_image"`` or ``"replace"`` (``ImageJobDestination.Destination``).
        apply_on_success: put each result there as soon as its job succeeds; otherwise
            ``apply`` is called later (the edit page's button).
        created_by, batch, provider, params: as ``jobs.create_jobs``.

    Returns:
        The jobs, in the images' order.

    Raises:
        ValidationError, ValueError: as ``jobs.create_jobs`` (nothing is created).
    """
    if destination not in Destination.values:
        raise ValueError(f"unknown destination {destination!r}")
    with transaction.atomic():
        created = jobs.create_jobs(
            operation,
            objects=images,
            field="file",
            provider=provider,
            params=params,
            created_by=created_by,
            batch=batch,
        )
        ImageJobDestination.objects.bulk_create(
            ImageJobDestination(job=job, destination=destination, apply_on_success=apply_on_success)
            for job in created
        )
    return created


def job_succeeded(sender, job: ImageJob, **kwargs) -> None:
    """``signals.job_succeeded`` receiver: apply the result of a job whose destination says
    ``apply_on_success`` (a failure is recorded in the job's history; the job stays
    succeeded and its result can be applied again from the job's page)."""
    destination = ImageJobDestination.objects.filter(job_id=job.pk).first()
    if destination is None or not destination.apply_on_success:
        return
    try:
        apply(job, destination=destination, user=job.created_by)
    except Exception as error:
        logger.exception("putting the result of job %s in the image library failed", job.pk)
        jobs.record_apply_error(job, error)


def apply(job: ImageJob, *, destination: ImageJobDestination | None = None, user=None):
    """Put ``job``'s result where its destination says (a new image by default). Applying the
    same result twice changes nothing.

    Args:
        user: who applies it (the log entries' user; a new image's ``uploaded_by_user``);
            default: the job's creator.

    Returns:
        The image holding the result.

    Raises:
        ValueError: the job has not succeeded, its source is not a Wagtail image or is gone,
            or (replacing) the image's file changed since the job was queued.
    """
    job.refresh_from_db()
    if job.status != ImageJob.Status.SUCCEEDED or not job.result:
        raise ValueError(str(_("Only a succeeded job with a result can be applied.")))
    if destination is None:
        destination, _created = ImageJobDestination.objects.get_or_create(job=job)
    user = user or job.created_by
    image = _held_image(job, destination)
    if destination.applied_result == job.result.name and image is not None:
        return image
    if image is not None:
        image = replace_file(job, image, user=user, revision=True)
    elif destination.destination == Destination.REPLACE:
        image = replace_file(job, _source_image(job), user=user)
    else:
        image = save_as_new_image(job, user=user)
    destination.image_id = str(image.pk)
    destination.applied_result = str(job.result.name)
    destination.applied_at = job.applied_at
    destination.save(update_fields=["image_id", "applied_result", "applied_at"])
    return image


def _source_image(job: ImageJob):
    source = job.source_object if job.source_content_type_id else None
    if source is None or not is_wagtail_image(source):
        raise ValueError(str(_("The job's source is not a Wagtail image, or it was deleted.")))
    return source


def _held_image(job: ImageJob, destination: ImageJobDestination):
    """The image an earlier revision of this job's result went into, if any (still there)."""
    if not destination.image_id or job.source_content_type_id is None:
        return None
    model = ContentType.objects.get_for_id(job.source_content_type_id).model_class()
    return model._default_manager.filter(pk=destination.image_id).first() if model else None


def _file_name(image, operation: str, ext: str) -> str:
    """``<source file stem>-<operation>.<ext>``: Wagtail's ``upload_to`` puts it in
    ``original_images/`` (the storage makes it unique)."""
    stem = os.path.splitext(os.path.basename(image.file.name or "image"))[0][:60]
    return f"{stem}-{operation.replace('_', '-')}.{ext}"


def _set_file(image, job: ImageJob, content: bytes, name_from) -> None:
    """Store ``content`` as ``image``'s file (not saved) with its size, bytes and SHA-1
    (Wagtail's ``file_hash``)."""
    info = describe(content, job.result_content_type)
    ext = os.path.splitext(str(job.result.name))[1].lstrip(".") or info["ext"]
    image.file.save(_file_name(name_from, job.operation, ext), ContentFile(content), save=False)
    # Django reads the size from the content after the storage has it; some storages close it.
    image.width = job.result_width or info["result_width"]
    image.height = job.result_height or info["result_height"]
    image.file_size = len(content)
    image.file_hash = hashlib.sha1(content).hexdigest()  # noqa: S324 (Wagtail's own hash)


def _move_focal_point(image, source_focal, covered: Region) -> None:
    moved = moved_focal_point(source_focal, covered, image.width, image.height)
    values = moved.as_dict() if moved else dict.fromkeys(FIELDS)
    for name, value in values.items():
        setattr(image, name, value)


def _log_data(job: ImageJob) -> dict:
    return {
        "job": str(job.uuid),
        "operation": job.operation,
        "provider": job.provider,
    }


def save_as_new_image(job: ImageJob, *, user=None):
    """A new image holding ``job``'s result, beside its source (see the module docstring).

    Returns:
        The new image (saved, indexed, logged as ``wagtail.create``).
    """
    from wagtail.log_actions import log
    from wagtail.search import index

    source = _source_image(job)
    content = read_file(job.result)
    image = type(source)(
        title=result_title(source.title, job.operation),
        collection_id=source.collection_id,
        uploaded_by_user=user,
    )
    if hasattr(source, "description"):
        image.description = source.description
    _set_file(image, job, content, name_from=source)
    covered = covered_region(job.operation, job.params, source.width, source.height)
    _move_focal_point(image, FocalPoint.of(source), covered)
    with transaction.atomic():
        image.save()
        tags = list(source.tags.all())
        if tags:
            image.tags.add(*tags)
        index.insert_or_update_object(image)
        log(image, "wagtail.create", user=user, data={"source": source.pk, **_log_data(job)})
        jobs.record_applied(job, image, ["file"], new_image=image.pk, source_image=source.pk)
    return image


def replace_file(job: ImageJob, image, *, user=None, revision: bool = False):
    """Make ``job``'s result the file of ``image`` (see the module docstring); the previous
    file stays on storage, named in the log entry.

    Args:
        image: the job's source image, or (``revision=True``) the image an earlier revision of
            this job's result went into.
        revision: ``image`` already holds an earlier result of this job: its focal point is
            only rescaled.

    Returns:
        ``image``, saved.

    Raises:
        ValueError: (``revision=False``) the image's file is no longer the one the job read.
    """
    from wagtail.log_actions import log
    from wagtail.search import index

    content = read_file(job.result)
    with transaction.atomic():
        image = type(image).objects.select_for_update().get(pk=image.pk)
        if not revision and job.source_name and image.file.name != job.source_name:
            raise ValueError(
                str(
                    _(
                        "The image's file changed since the job was queued: its result was not "
                        "put in its place."
                    )
                )
            )
        focal = FocalPoint.of(image)
        previous = {
            "file": image.file.name,
            "width": image.width,
            "height": image.height,
            "file_size": image.file_size,
            "file_hash": image.file_hash,
            "focal_point": focal.as_dict() if focal else None,
        }
        if revision:
            covered = Region(0, 0, image.width, image.height)
        else:
            covered = covered_region(job.operation, job.params, image.width, image.height)
        _set_file(image, job, content, name_from=image)
        _move_focal_point(image, focal, covered)
        fields = ["file", "width", "height", "file_size", "file_hash", *FIELDS]
        image.save(update_fields=fields)
        # Wagtail deletes the renditions' files and cache entries on its own signals.
        image.renditions.all().delete()
        index.insert_or_update_object(image)
        log(
            image,
            REPLACE_ACTION,
            user=user,
            data={
                **_log_data(job),
                "previous": previous,
                "file": image.file.name,
                "width": image.width,
                "height": image.height,
            },
        )
        jobs.record_applied(job, image, fields, replaced_source=True, previous=previous["file"])
    return image
