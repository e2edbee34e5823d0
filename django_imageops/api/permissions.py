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

from django.db import models
from rest_framework.permissions import BasePermission

from ..models import ImageJob
from ..permissions import can_change, change_permission, is_job_creator

__all__ = [
    "IsActiveAuthenticated",
    "IsJobOwnerOrStaff",
    "can_change",
    "change_permission",
    "sees_all_jobs",
    "visible_jobs",
]


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


class IsActiveAuthenticated(BasePermission):
    """Authenticated and active users only (anonymous requests get 401/403)."""

    def has_permission(self, request, view) -> bool:
        """True for an authenticated, active ``request.user``."""
        user = request.user
        return bool(user and user.is_authenticated and user.is_active)


class IsJobOwnerOrStaff(IsActiveAuthenticated):
    """Object check: the job's creator, or staff.

    The queryset is already limited by ``visible_jobs``; this is the second lock on the door.
    """

    def has_object_permission(self, request, view, obj: ImageJob) -> bool:
        """True for staff and for the job's creator (``permissions.is_job_creator``)."""
        return sees_all_jobs(request.user) or is_job_creator(request.user, obj)
