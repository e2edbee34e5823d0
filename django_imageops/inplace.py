"""One object at a time: an operation's form for one object, its job's progress, the result
before/after and apply or discard, all in the object's own page (``static/django_imageops/
inplace/inplace.js`` drives it).

Any admin mounts it with three views of its own (the Django admin's ``ImageOpsAdminMixin`` does;
a Wagtail view can): the form view (GET: the panel's HTML; POST: queue the job, JSON), the job
view (GET: ``panel_payload`` JSON, polled until the job ends) and the apply view (POST:
``apply``). What is shared lives here: which field a result fills, the JSON the page polls, and
applying. No vendor is named; what a job offers follows its provider's capabilities.

The JSON contract of the page (``panel_payload``)::

    {"uuid", "status", "status_display", "finished": bool, "waiting": bool,
     "before": {"url", "width", "height"} | null, "after": result_summary() | null,
     "error": {"code", "message"} | null, "applied": bool, "applied_text": str,
     "applied_field": the field the result went into ("" until applied),
     "apply": {"url", "label"} | null, "editor_url": str, "job_url": str}

An admin may add ``"applied_url"`` (where the applied result can be seen: a link after
``applied_text``) and ``"reload_after_apply"`` (true: the page reloads after the person applied
the result, its own display of the object being out of date), as the Wagtail views do.
"""

from __future__ import annotations

from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import FieldDoesNotExist
from django.db import models
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext

from . import jobs
from .fields import DerivedImageField, derived_fields
from .models import ImageJob


def field_label(model, name: str) -> str:
    """The capitalised verbose name of ``model``'s field ``name`` ("Cut-out"), or ``name``."""
    try:
        return str(model._meta.get_field(name).verbose_name).capitalize()
    except FieldDoesNotExist:
        return name


def default_target(model, operation: str, field: str) -> str:
    """The ``DerivedImageField`` a job of ``operation`` on ``field`` is meant for: the model's
    only derived field with that source and operation, else "" (the result may replace the
    source instead)."""
    matches = [
        f.name for f in derived_fields(model) if f.source == field and f.operation == operation
    ]
    return matches[0] if len(matches) == 1 else ""


def derived_initial(field: DerivedImageField) -> dict[str, Any]:
    """A ``DerivedImageField``'s declaration as a form's ``initial`` (its provider, when named,
    and its params): "Regenerate" opens the form with them."""
    initial = dict(field.params)
    if field.provider:
        initial["provider"] = field.provider
    return initial


def apply_label(job: ImageJob, model) -> str:
    """What "apply" does for ``job``, in words: "Use as Banner" (its target field) or "Replace
    Photo" (its source field; the original file is kept)."""
    if job.target_field:
        return gettext("Use as %(field)s") % {"field": field_label(model, job.target_field)}
    return gettext("Replace %(field)s") % {"field": field_label(model, job.source_field)}


def apply(job: ImageJob) -> None:
    """Apply ``job``'s result as ``apply_label`` says: into its target field, else in place of
    its source file (``jobs.apply_result``; the original stays on storage, named in the job).

    Raises:
        ValueError: the job has not succeeded or its source object is gone.
    """
    jobs.apply_result(job, replace_source=not job.target_field)


def panel_payload(
    job: ImageJob, *, apply_url: str, job_url: str = "", editor_url: str = "", model=None
) -> dict[str, Any]:
    """The JSON the page polls for ``job`` (shape in the module docstring). No storage request:
    URLs come from ``storage.url()``, sizes from the job's columns.

    Args:
        apply_url: the view applying the result (POST).
        job_url: the job's own page (e.g. its admin change page), or "".
        editor_url: the vendor's editor page for a review job, or "".
        model: the source object's model (for the field labels; default: the job's).
    """
    if model is None and (content_type := job.source_content_type) is not None:
        model = content_type.model_class()
    succeeded = job.status == ImageJob.Status.SUCCEEDED and bool(job.result)
    applied = job.applied_at is not None
    applied_text = ""
    if applied and model is not None:
        if job.target_field:
            applied_text = gettext("Applied: %(field)s now shows this result.") % {
                "field": field_label(model, job.target_field)
            }
        else:
            applied_text = gettext(
                "Applied: %(field)s was replaced (the original file is kept on storage)."
            ) % {"field": field_label(model, job.source_field)}
    before = job.source_url()
    return {
        "uuid": str(job.uuid),
        "status": job.status,
        "status_display": str(job.get_status_display()),
        "finished": job.is_finished,
        "waiting": job.status == ImageJob.Status.WAITING_FOR_EDITOR,
        "before": {"url": before} if before else None,
        "after": job.result_summary(),
        "error": job.error_summary(),
        "applied": applied,
        "applied_text": applied_text,
        "applied_field": (job.target_field or job.source_field) if applied else "",
        "apply": (
            {"url": apply_url, "label": apply_label(job, model)}
            if succeeded and not applied and model is not None
            else None
        ),
        "editor_url": editor_url,
        "job_url": job_url,
    }


def job_on(obj, job_uuid) -> ImageJob:
    """The job ``job_uuid`` run on ``obj`` (its source's content type joined).

    Raises:
        Http404: no such job, or a job run on another object.
    """
    return get_object_or_404(
        ImageJob.objects.select_related("source_content_type"),
        uuid=job_uuid,
        source_content_type=ContentType.objects.get_for_model(obj),
        source_object_id=str(obj.pk),
    )


def is_source_field(model, name: str) -> bool:
    """True for an ImageField of ``model`` that is not a ``DerivedImageField``."""
    try:
        field = model._meta.get_field(name)
    except FieldDoesNotExist:
        return False
    return isinstance(field, models.ImageField) and not isinstance(field, DerivedImageField)
