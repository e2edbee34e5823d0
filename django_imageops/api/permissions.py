"""Who may use the REST API, and on what.

- Every endpoint needs an authenticated, active user.
- A user sees and acts on the jobs they created; staff (``is_staff``) see and act on all jobs.
  Jobs a user may not see are filtered out of the queryset, so they answer 404, not 403.
- A job on an existing object (a source reference) needs the *change* permission on that
  object: ``user.has_perm("<app_label>.change_<model>")`` (model level, Django's
  ``ModelBackend``) or ``user.has_perm("<app_label>.change_<model>", obj)`` (object level, e.g.
  django-guardian).
- ``credits/`` is for staff only (``IsAdminUser``).
"""

from __future__ import annotations

from django.contrib.auth import get_permission_codename
from django.db import models
from rest_framework.permissions import BasePermission

from ..models import ImageJob


def sees_all_jobs(user) -> bool:
    """True when ``user`` may see every job (active staff), not only their own."""
    return bool(user and user.is_authenticated and user.is_active and user.is_staff)


def visible_jobs(user) -> models.QuerySet[ImageJob]:
    """The ``ImageJob`` queryset ``user`` may see: all for staff, their own otherwise."""
    queryset = ImageJob.objects.all()
    if sees_all_jobs(user):
        return queryset
    if not (user and user.is_authenticated):
        return queryset.none()
    return queryset.filter(created_by=user)


def change_permission(model: type[models.Model]) -> str:
    """``"<app_label>.change_<model_name>"`` for ``model``."""
    opts = model._meta
    return f"{opts.app_label}.{get_permission_codename('change', opts)}"


def can_change(user, obj: models.Model) -> bool:
    """True when ``user`` may change ``obj``: model-level or object-level change permission."""
    if not (user and user.is_authenticated and user.is_active):
        return False
    perm = change_permission(type(obj))
    return user.has_perm(perm) or user.has_perm(perm, obj)


class IsActiveAuthenticated(BasePermission):
    """Authenticated and active users only (anonymous requests get 401/403)."""

    def has_permission(self, request, view) -> bool:
        user = request.user
        return bool(user and user.is_authenticated and user.is_active)


class IsJobOwnerOrStaff(IsActiveAuthenticated):
    """Object check: the job's creator, or staff.

    The queryset is already limited by ``visible_jobs``; this is the second lock on the door.
    """

    def has_object_permission(self, request, view, obj: ImageJob) -> bool:
        user = request.user
        return sees_all_jobs(user) or (
            obj.created_by_id is not None and obj.created_by_id == user.pk
        )
