"""Who may work on an ``ImageJob``: open its ClippingMagic editor, post the editor's callback.

One rule for the editor views:

- the job's creator (``job.created_by``), or
- an active staff user with the *change* permission on the job's source object's model
  (e.g. ``shop.change_product``), or on the object itself with an object-level permission
  backend; for a job on an uploaded file, which has no source object, the change permission on
  ``ImageJob`` itself (``django_imageops.change_imagejob``).

Superusers have every permission, so they pass the second rule.

``change_permission``/``can_change`` (may this user change this object?) are shared with the
REST API (``api.permissions``), which has its own, wider rule for *seeing* jobs: staff see all.
"""

from __future__ import annotations

from django.contrib.auth import get_permission_codename
from django.db import models

from .models import ImageJob


def change_permission(model: type[models.Model]) -> str:
    """``"<app_label>.change_<model_name>"`` for ``model`` (a model class)."""
    opts = model._meta
    return f"{opts.app_label}.{get_permission_codename('change', opts)}"


def can_change(user, obj: models.Model) -> bool:
    """True when ``user`` is active and authenticated and may change ``obj``: the model-level
    change permission, or the object-level one (e.g. django-guardian)."""
    if not (user and user.is_authenticated and user.is_active):
        return False
    perm = change_permission(type(obj))
    return user.has_perm(perm) or user.has_perm(perm, obj)


def source_change_permission(job: ImageJob) -> str:
    """The ``"app_label.change_model"`` permission that lets staff edit ``job``.

    It is the change permission on the model of the job's source object, or on ``ImageJob``
    for a job whose source is an uploaded file.
    """
    if job.source_content_type_id:
        model = job.source_content_type.model_class()
        if model is not None:
            return change_permission(model)
    return change_permission(ImageJob)


def is_job_creator(user, job: ImageJob) -> bool:
    """True when ``user`` is authenticated and created ``job``."""
    return bool(
        user is not None
        and user.is_authenticated
        and job.created_by_id is not None
        and job.created_by_id == user.pk
    )


def can_edit_job(user, job: ImageJob) -> bool:
    """True when ``user`` may open ``job`` in the editor and post its results.

    Args:
        user: a ``User`` or ``AnonymousUser`` (anonymous users never may).
        job: the ``ImageJob``.
    """
    if user is None or not user.is_authenticated or not user.is_active:
        return False
    if is_job_creator(user, job):
        return True
    if not user.is_staff:
        return False
    perm = source_change_permission(job)
    if user.has_perm(perm):
        return True
    # Object-level permission backends (e.g. django-guardian) answer for the object itself.
    source = job.source_object if job.source_content_type_id else None
    return bool(source is not None and user.has_perm(perm, source))
