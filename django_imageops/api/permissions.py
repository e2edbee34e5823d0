"""Who may use the REST API, and on what.

- Every endpoint needs an authenticated, active user. An anonymous request gets 401 with the
  ``WWW-Authenticate`` challenge of the first of the site's authentication classes that has one
  (DRF's default pair: Basic's), not DRF's 403 whenever the first class (Session) has none
  (``ChallengeMixin``); only a site whose classes have no challenge at all gets 403.
- A user sees the jobs they created; staff (``is_staff``) see all jobs. Jobs a user may not
  see are filtered out of the queryset, so they answer 404, not 403.
- Acting on a job (``cancel``, ``retry``) follows the rule of every interface,
  ``permissions.can_act_on_job``: its creator, or staff with the change permission on its
  source (model or object level; on ``ImageJob`` for an uploaded file). Staff who may see a job
  but not act on it get 403.
- A job on an existing object (a source reference) needs the *change* permission on that
  object: ``user.has_perm("<app_label>.change_<model>")`` (model level, Django's
  ``ModelBackend``) or ``user.has_perm("<app_label>.change_<model>", obj)`` (object level, e.g.
  django-guardian).
- ``credits/`` is for staff only (``IsAdminUser``).
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _
from rest_framework.permissions import SAFE_METHODS, BasePermission

from ..models import ImageJob
from ..permissions import can_act_on_job, can_change, change_permission, is_job_creator

__all__ = [
    "ChallengeMixin",
    "IsActiveAuthenticated",
    "IsJobOwnerOrStaff",
    "can_act_on_job",
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
    """Object check: reading a job needs its creator or staff; acting on it (an unsafe method:
    ``cancel``, ``retry``) needs ``permissions.can_act_on_job``.

    The queryset is already limited by ``visible_jobs``; this is the second lock on the door.
    """

    message = _(
        "You may not act on this job: only its creator, or staff with the change permission "
        "on its source, may."
    )

    def has_object_permission(self, request, view, obj: ImageJob) -> bool:
        """Reading: staff and the job's creator (``permissions.is_job_creator``). Acting:
        ``permissions.can_act_on_job``."""
        if request.method not in SAFE_METHODS:
            return can_act_on_job(request.user, obj)
        return sees_all_jobs(request.user) or is_job_creator(request.user, obj)


class ChallengeMixin:
    """For API views: a request that is not authenticated answers 401 with the challenge of
    the first authentication class that has one (e.g. ``Basic realm="api"`` after
    ``SessionAuthentication``, which has none); DRF looks at the first class only and answers
    403 when it has no challenge."""

    def get_authenticate_header(self, request):
        """The first non-empty ``authenticate_header`` of the request's authenticators, or
        None (then DRF answers 403: RFC 9110 wants a challenge with every 401)."""
        for authenticator in request.authenticators:
            header = authenticator.authenticate_header(request)
            if header:
                return header
        return None
