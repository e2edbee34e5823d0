"""Who may act on an ``ImageJob``: one rule, ``can_act_on_job``, for every interface.

Acting on a job (retry, cancel, apply or put back its result, open it in the vendor's editor
and post the editor's callback, fetch its editor results, delete its vendor-side copy) spends
credits or changes the source object, so it needs:

- the job's creator (``job.created_by``), or
- an active staff user with the *change* permission on the job's source object's model
  (e.g. ``shop.change_product``), or on the object itself with an object-level permission
  backend (e.g. django-guardian); for a job on an uploaded file, which has no source object,
  the change permission on ``ImageJob`` itself (``django_imageops.change_imagejob``).

Superusers have every permission, so they pass the second rule. The REST API (``api.
permissions``), the job admin's actions (``admin.job_actions``) and the editor views
(``views``) all ask ``can_act_on_job``; *reading* jobs is wider: staff see every job.

``change_permission``/``can_change`` (may this user change this object?) also decide who may
create a job on an object.
"""

from __future__ import annotations

from django.contrib.auth import get_permission_codename
from django.contrib.contenttypes.models import ContentType
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
        # get_for_id is cached: no query per job when many are checked.
        model = ContentType.objects.get_for_id(job.source_content_type_id).model_class()
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


def can_act_on_job(user, job: ImageJob) -> bool:
    """True when ``user`` may act on ``job`` (retry, cancel, apply, edit, delete the vendor
    copy): its creator, or active staff with the change permission on its source (model or
    object level; on ``ImageJob`` for an uploaded file).

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


#: The editor views' name for ``can_act_on_job`` (opening the editor is acting on the job).
can_edit_job = can_act_on_job
