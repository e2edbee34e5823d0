"""The job's own page in the admin: its actions as buttons at the top, and its status as JSON,
which the page (and a derived image's widget on its object's page) polls until the job ends.

- ``job_status(job)``: the JSON a page polls (status, the provider's progress in words,
  attempts, duration, result, error).
- ``JobPageMixin`` (for ``ImageJobAdmin``): the URLs ``<id>/status/`` (``job_status_view``) and
  ``<id>/do/<button>/`` (POST, ``job_button_view``), and the change page's buttons
  (``job_buttons``): Retry, Cancel, Apply and Open in the editor, each offered by the job's
  state and its provider's capabilities, with the rules of the job list's actions
  (``job_actions``), to a user who may act on the job (``permissions.can_act_on_job``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.contrib.admin.utils import quote, unquote
from django.core.exceptions import FieldDoesNotExist, PermissionDenied, ValidationError
from django.http import Http404, HttpResponseRedirect, JsonResponse
from django.urls import path, reverse
from django.utils.translation import gettext
from django.views.decorators.http import require_POST

from .. import jobs
from ..derived import derived_state
from ..fields import DerivedImageField
from ..models import ImageJob
from ..permissions import can_act_on_job
from ..vendors.errors import VendorError
from .base import ModelAdminMixin
from .display import editor_url, format_duration, progress_words
from .job_actions import (
    apply_field,
    apply_field_label,
    apply_refusal,
    apply_to_field,
    can_cancel,
    can_retry,
    retry_or_refuse,
)

#: The job page's template (Django's change form, with the buttons and the status polling).
JOB_PAGE_TEMPLATE = "django_imageops/admin/imagejob/change_form.html"


def job_status(job: ImageJob) -> dict[str, Any]:
    """The JSON a page polls while ``job`` runs: ``ImageJob.status_summary()`` plus
    ``progress`` (plain words: ``display.progress_words``), ``attempts``, ``duration``
    ("12.3 s" or "-"), ``next_attempt_at`` (ISO 8601 or null) and ``field``: the state of the
    derived image the job fills (``derived.DerivedImage.as_json``), or null. No storage
    request."""
    return {
        **job.status_summary(),
        "progress": progress_words(job),
        "attempts": job.attempts,
        "duration": format_duration(job.duration),
        "next_attempt_at": job.next_attempt_at.isoformat() if job.next_attempt_at else None,
        "field": target_state(job),
    }


def target_state(job: ImageJob) -> dict[str, Any] | None:
    """``DerivedImage.as_json`` of the ``DerivedImageField`` the job fills (its
    ``target_field``), or None (no such field, or its object is gone). Three queries."""
    if not job.target_field or not job.source_object_id:
        return None
    obj = job.source_object
    if obj is None:
        return None
    try:
        field = obj._meta.get_field(job.target_field)
    except FieldDoesNotExist:
        return None
    if not isinstance(field, DerivedImageField):
        return None
    return derived_state(obj, field).as_json(getattr(obj, field.attname))


@dataclass(frozen=True)
class JobButton:
    """A button at the top of a job's page.

    Attributes:
        name: ``retry``, ``cancel``, ``apply`` (posted) or ``editor`` (a link).
        label: what the button says.
        url: where the button goes: a link, or the ``<id>/do/<name>/`` URL a posted button's
            form posts to.
        posted: whether the button is a form (POST) rather than a link.
    """

    name: str
    label: str
    url: str
    posted: bool = True


@dataclass(frozen=True)
class _Posted:
    label: Callable[[ImageJob], str]
    shown: Callable[[ImageJob], bool]
    run: Callable[[ImageJob], Any]
    done: Callable[[ImageJob], str]


def _apply_label(job: ImageJob) -> str:
    return gettext("Apply to %(field)s") % {"field": apply_field_label(job, apply_field(job))}


#: The posted buttons, in the order shown: label, when shown, what it runs, what it then says.
POSTED_BUTTONS: dict[str, _Posted] = {
    "retry": _Posted(
        lambda job: gettext("Retry"),
        can_retry,
        retry_or_refuse,
        lambda job: gettext("The job was queued again."),
    ),
    "cancel": _Posted(
        lambda job: gettext("Cancel the job"),
        can_cancel,
        lambda job: jobs.cancel(job) or _refuse(gettext("It had already finished.")),
        lambda job: gettext("The job was canceled."),
    ),
    "apply": _Posted(
        _apply_label,
        lambda job: not apply_refusal(job),
        apply_to_field,
        lambda job: (
            gettext("The result is now the object's %(field)s.")
            % {"field": apply_field_label(job, job.target_field)}
        ),
    ),
}


def _refuse(reason: str):
    raise ValueError(reason)


class JobPageMixin(ModelAdminMixin):
    """The change page of ``ImageJobAdmin``: buttons at the top and a status that refreshes
    (``ImageJobAdmin`` sets ``change_form_template = JOB_PAGE_TEMPLATE``)."""

    def job_page_urls(self) -> list:
        """``<id>/status/`` (JSON) and ``<id>/do/<button>/`` (POST); before Django's
        ``<id>/`` catch-all."""
        info = self.opts.app_label, self.opts.model_name
        return [
            path(
                "<path:object_id>/status/",
                self.admin_site.admin_view(self.job_status_view),
                name="{}_{}_status".format(*info),
            ),
            path(
                "<path:object_id>/do/<slug:button>/",
                self.admin_site.admin_view(require_POST(self.job_button_view)),
                name="{}_{}_button".format(*info),
            ),
        ]

    def _job_or_404(self, request, object_id) -> ImageJob:
        job = self.get_object(request, unquote(object_id))
        if job is None:
            raise Http404(gettext("No such job."))
        return job

    def job_status_view(self, request, object_id):
        """``job_status`` of one job as JSON (view permission); two queries."""
        job = self._job_or_404(request, object_id)
        if not self.has_view_permission(request, job):
            raise PermissionDenied
        return JsonResponse(job_status(job))

    def job_buttons(self, request, job: ImageJob) -> list[JobButton]:
        """The buttons ``job`` offers to this user: none unless the user may act on it
        (``permissions.can_act_on_job``: its creator, or staff with the change permission on
        its source); else each posted button whose rule allows it, and "Open in the editor"
        when the job's provider ``supports_review`` and its image is there
        (``display.editor_url``)."""
        if not can_act_on_job(request.user, job):
            return []
        info = self.opts.app_label, self.opts.model_name
        name = "{}:{}_{}_button".format(self.admin_site.name, *info)
        buttons = [
            JobButton(key, button.label(job), reverse(name, args=[quote(job.pk), key]))
            for key, button in POSTED_BUTTONS.items()
            if button.shown(job)
        ]
        url = editor_url(job)
        if url:
            buttons.append(JobButton("editor", gettext("Open in the editor"), url, posted=False))
        return buttons

    def job_button_view(self, request, object_id, button):
        """POST: run one of ``POSTED_BUTTONS`` on the job (for a user who may act on it:
        ``permissions.can_act_on_job``), say what happened (or why not), and go back to the
        job's page."""
        job = self._job_or_404(request, object_id)
        if button not in POSTED_BUTTONS:
            raise Http404(gettext("No such button."))
        if not can_act_on_job(request.user, job):
            raise PermissionDenied
        posted = POSTED_BUTTONS[button]
        try:
            posted.run(job)
        except (ValidationError, ValueError, VendorError) as error:
            reason = "; ".join(getattr(error, "messages", [str(error)]))
            self.message_user(request, reason, messages.WARNING)
        else:
            job.refresh_from_db()
            self.message_user(request, posted.done(job), messages.SUCCESS)
        info = self.opts.app_label, self.opts.model_name
        return HttpResponseRedirect(
            reverse(
                "{}:{}_{}_change".format(self.admin_site.name, *info),
                args=[quote(job.pk)],
            )
        )

    def job_page_context(self, request, job: ImageJob | None) -> dict[str, Any]:
        """The change page's extra context: ``imageops_buttons``, ``imageops_status_url`` and
        ``imageops_finished`` (the page polls the status until the job has finished)."""
        if job is None:
            return {}
        info = self.opts.app_label, self.opts.model_name
        return {
            "imageops_buttons": self.job_buttons(request, job),
            "imageops_status_url": reverse(
                "{}:{}_{}_status".format(self.admin_site.name, *info), args=[quote(job.pk)]
            ),
            "imageops_finished": job.is_finished,
            "imageops_job": job,
        }
