"""What a derived image is: the state of a ``DerivedImageField`` on an object, and whether the
image it holds is stale.

A derived image knows the source content it was made from, as Wagtail's renditions do (keyed
by the image's ``file_hash``): the job whose result the field holds recorded the SHA-256 of the
source bytes it sent (``ImageJob.source_hash``), and ``SourceImageHash`` keeps the SHA-256 of
the file each object's image field holds now, recorded when that file changes (from the bytes
in hand when they are: an upload, a replaced source). The image is **stale** when the two
differ; with no hash recorded for the current file, when the source's file name changed. No
file is read to tell.

``derived_states(instances, field)`` gives the ``DerivedImage`` of many objects at once, in two
queries; the admin's widget, the job page's status JSON and the REST API's
``ImageJobResultField`` all read it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.utils.translation import gettext_lazy as _

from .models import ImageJob, SourceImageHash


class DerivedImageState:
    """The states of a derived image (its badge in the admin, ``status`` in the API)."""

    EMPTY = "empty"
    QUEUED = "queued"
    RUNNING = "running"
    WAITING = "waiting"
    READY = "ready"
    STALE = "stale"
    FAILED = "failed"

    LABELS = {
        EMPTY: _("Empty"),
        QUEUED: _("Queued"),
        RUNNING: _("Running"),
        WAITING: _("Waiting for editor"),
        READY: _("Ready"),
        STALE: _("Stale"),
        FAILED: _("Failed"),
    }

    #: What each state means, for the widget's help text and the API's schema.
    HELP = {
        EMPTY: _("No image yet."),
        QUEUED: _("A job will make it."),
        RUNNING: _("A job is making it."),
        WAITING: _("A job waits for a person in the vendor's editor."),
        READY: _("Made from the current source image."),
        STALE: _("The source image changed since this image was made."),
        FAILED: _("The latest job making it failed."),
    }

    _UNFINISHED: dict[str, str] = {
        ImageJob.Status.PENDING.value: QUEUED,
        ImageJob.Status.RUNNING.value: RUNNING,
        ImageJob.Status.WAITING_FOR_EDITOR.value: WAITING,
    }

    @classmethod
    def of(cls, has_file: bool, job_status: str | None, stale: bool = False) -> str:
        """The state, from whether the field holds a file, the status of the newest job
        targeting it (``None`` when none did) and whether its file is stale: ``queued``,
        ``running`` or ``waiting`` while that job is unfinished; ``failed`` when it failed
        (even if an earlier image is still there); else ``stale`` or ``ready`` with a file,
        ``empty`` without."""
        if job_status in cls._UNFINISHED:
            return cls._UNFINISHED[job_status]
        if job_status == ImageJob.Status.FAILED:
            return cls.FAILED
        if has_file:
            return cls.STALE if stale else cls.READY
        return cls.EMPTY


@dataclass(frozen=True)
class DerivedImage:
    """One object's derived image.

    Attributes:
        state: a ``DerivedImageState`` value.
        latest: the newest job targeting the field (``ImageJob`` with the columns read here),
            or None.
        made_by: the job whose result the field holds (its source hash, thumbnail and sizes),
            or None when no job's result is there (an empty field, or a file set by hand).
        stale: whether the image was made from other source content than the current one.
    """

    state: str
    latest: ImageJob | None = None
    made_by: ImageJob | None = None
    stale: bool = False

    @property
    def label(self) -> str:
        """The state's label ("Ready", "Stale", ...)."""
        return str(DerivedImageState.LABELS[self.state])

    def thumbnail_url(self) -> str:
        """The stored thumbnail of the image (``made_by``'s), "" when it has none. No I/O."""
        job = self.made_by
        return job.result_thumbnail.url if job is not None and job.result_thumbnail else ""

    def as_json(self, field_file) -> dict[str, Any]:
        """``{"state", "label", "help", "url", "thumbnail_url", "width", "height", "job"}`` for
        ``field_file`` (the field's ``FieldFile``): what a page refreshes a widget with. URLs
        from ``storage.url()``; sizes as recorded by the job that made it."""
        made_by = self.made_by
        return {
            "state": self.state,
            "label": self.label,
            "help": str(DerivedImageState.HELP[self.state]),
            "url": field_file.url if field_file else None,
            "thumbnail_url": self.thumbnail_url() or None,
            "width": made_by.result_width if made_by is not None else None,
            "height": made_by.result_height if made_by is not None else None,
            "job": str(self.latest.uuid) if self.latest is not None else None,
        }


_JOB_COLUMNS = (
    "pk",
    "uuid",
    "source_object_id",
    "status",
    "result",
    "result_thumbnail",
    "result_width",
    "result_height",
    "source_name",
    "source_hash",
    "error_code",
    "error_message",
    "created_at",
)


def is_stale(made_by: ImageJob | None, current_name: str, current_hash: str | None) -> bool:
    """Whether an image made by job ``made_by`` is stale for a source whose file is now
    ``current_name``, of content hash ``current_hash`` (None: not recorded).

    With both hashes known they decide (the same bytes under another name are not stale);
    otherwise a source file name other than the one the job sent is. An image no job made is
    never called stale (nothing says what it was made from)."""
    if made_by is None:
        return False
    if current_hash and made_by.source_hash:
        return current_hash != made_by.source_hash
    return bool(current_name) and current_name != made_by.source_name


def derived_states(instances, field) -> dict[str, DerivedImage]:
    """``{str(pk): DerivedImage}`` of the derived ``field`` (a ``DerivedImageField``) of
    each of ``instances`` (saved objects of one model).

    Two queries whatever the number of objects: the jobs targeting the field (newest first),
    and the recorded hashes of the objects' current source files. Nothing is read from
    storage.
    """
    instances = [obj for obj in instances if obj.pk is not None]
    if not instances:
        return {}
    content_type = ContentType.objects.get_for_model(instances[0], for_concrete_model=False)
    ids = [str(obj.pk) for obj in instances]
    by_object: dict[str, list[ImageJob]] = {}
    rows = (
        ImageJob.objects.filter(
            source_content_type=content_type, source_object_id__in=ids, target_field=field.name
        )
        .order_by("-created_at", "-id")
        .only(*_JOB_COLUMNS)
    )
    for job in rows:
        by_object.setdefault(job.source_object_id, []).append(job)
    hashes = SourceImageHash.current(content_type, ids, field.source)
    states = {}
    for obj in instances:
        object_id = str(obj.pk)
        file = getattr(obj, field.attname)
        name = file.name if file else ""
        found = by_object.get(object_id, [])
        latest = found[0] if found else None
        made_by = next((job for job in found if name and job.result.name == name), None)
        source = getattr(obj, field.source)
        source_name = source.name if source else ""
        known = hashes.get(object_id)
        current_hash = known[1] if known and known[0] == source_name else None
        stale = bool(name) and is_stale(made_by, source_name, current_hash)
        state = DerivedImageState.of(bool(name), latest.status if latest else None, stale)
        states[object_id] = DerivedImage(state, latest, made_by, stale)
    return states


def derived_state(instance, field) -> DerivedImage:
    """The ``DerivedImage`` of one object (``derived_states`` for one: two queries)."""
    if instance.pk is None:
        return DerivedImage(DerivedImageState.EMPTY)
    return derived_states([instance], field)[str(instance.pk)]
