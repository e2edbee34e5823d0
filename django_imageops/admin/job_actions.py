"""The actions of the job admin: retry, cancel, apply or put back results, the editor, the
vendor-side copy (``ImageJobActionsMixin``).

Each action calls ``django_imageops.jobs`` for the eligible selected jobs and reports how many
were done and skipped, with the reasons. Which jobs the editor and vendor-side actions apply to
follows their provider's capability flags. Who may act on which job is the rule of every
interface (``permissions.can_act_on_job``): the job's creator, or staff with the change
permission on its source; the actions are offered to whoever may see the job list, and each
job the user may not act on is skipped and counted.
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.http import HttpResponseRedirect
from django.utils.functional import lazy
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from .. import jobs
from ..models import ImageJob
from ..permissions import can_act_on_job
from ..vendors.errors import VendorError
from .base import ModelAdminMixin
from .display import editor_url, job_provider, labels_of


def _open_in_editor_label() -> str:
    return gettext("Open in the %(vendors)s editor") % {"vendors": labels_of("supports_review")}


def is_review_job(job: ImageJob) -> bool:
    """A job a person finishes in the vendor's editor, with an image there."""
    provider = job_provider(job)
    return bool(provider and provider.is_review(job.params) and job.vendor_image_id)


def has_vendor_copy(job: ImageJob) -> bool:
    """A job with an image on the side of a vendor that can delete it."""
    provider = job_provider(job)
    return bool(provider and provider.supports_vendor_copy_delete and job.vendor_image_id)


def _denied_message(count: int) -> str:
    return ngettext(
        "%(count)d job skipped: only its creator, or staff with the change permission on its "
        "source, may act on it.",
        "%(count)d jobs skipped: only their creators, or staff with the change permission on "
        "their sources, may act on them.",
        count,
    ) % {"count": count}


class ImageJobActionsMixin(ModelAdminMixin):
    """The job actions of ``ImageJobAdmin`` (named in its ``actions``)."""

    def has_act_permission(self, request) -> bool:
        """The actions' permission (``permissions=["act"]``): whoever may see the job list;
        each job is then checked with ``permissions.can_act_on_job``."""
        return self.has_view_or_change_permission(request)

    def _run(self, request, queryset, func, eligible, done_message, skipped_message, **names):
        """Call ``func(job)`` for the eligible jobs the user may act on
        (``permissions.can_act_on_job``); report how many were done and skipped (the messages
        are formatted with ``count`` and ``names``) (``ValidationError``/``ValueError`` from
        ``jobs``, and a ``VendorError`` from an action that calls the vendor, e.g. a vendor
        refusing to delete a test image or the rate limiter saying to wait, count as skipped,
        with the reason: a message, not a 500)."""
        done = skipped = denied = 0
        reasons = set()
        for job in queryset:
            if not can_act_on_job(request.user, job):
                denied += 1
                continue
            if not eligible(job):
                skipped += 1
                continue
            try:
                func(job)
            except (ValidationError, ValueError, VendorError) as error:
                skipped += 1
                reasons.add("; ".join(getattr(error, "messages", [str(error)])))
            else:
                done += 1
        if done:
            self.message_user(request, done_message % {"count": done, **names}, messages.SUCCESS)
        if skipped:
            text = skipped_message % {"count": skipped, **names}
            if reasons:
                text += " " + " ".join(sorted(reasons))
            self.message_user(request, text, messages.WARNING)
        if denied:
            self.message_user(request, _denied_message(denied), messages.WARNING)

    @admin.action(description=_("Retry the selected jobs"), permissions=["act"])
    def retry_jobs(self, request, queryset):
        """Action: queue failed or canceled jobs again (``jobs.retry``); others are skipped."""
        self._run(
            request,
            queryset,
            jobs.retry,
            lambda job: job.status in (ImageJob.Status.FAILED, ImageJob.Status.CANCELED),
            gettext("%(count)d job(s) queued again."),
            gettext("%(count)d job(s) skipped: only failed or canceled jobs are retried."),
        )

    @admin.action(description=_("Cancel the selected jobs"), permissions=["act"])
    def cancel_jobs(self, request, queryset):
        """Action: cancel unfinished jobs (``jobs.cancel``); finished ones are skipped."""
        self._run(
            request,
            queryset,
            jobs.cancel,
            lambda job: not job.is_finished,
            gettext("%(count)d job(s) canceled."),
            gettext("%(count)d job(s) skipped: they had already finished."),
        )

    @admin.action(description=_("Apply the results to their objects"), permissions=["act"])
    def apply_results(self, request, queryset):
        """Action: put each succeeded job's result into its target field (``jobs.apply_result``)."""
        self._run(
            request,
            queryset,
            jobs.apply_result,
            lambda job: job.status == ImageJob.Status.SUCCEEDED and bool(job.result),
            gettext("%(count)d result(s) applied."),
            gettext("%(count)d job(s) skipped: no result to apply."),
        )

    @admin.action(
        description=_("Replace the source images with the results (originals are kept)"),
        permissions=["act"],
    )
    def replace_sources(self, request, queryset):
        """Action: put each result into its source field
        (``jobs.apply_result(replace_source=True)``); the original file stays on storage."""
        self._run(
            request,
            queryset,
            lambda job: jobs.apply_result(job, replace_source=True),
            lambda job: (
                job.status == ImageJob.Status.SUCCEEDED
                and bool(job.result)
                and bool(job.source_object_id)
            ),
            gettext("%(count)d source image(s) replaced."),
            gettext("%(count)d job(s) skipped: no result or no source object."),
        )

    @admin.action(description=lazy(_open_in_editor_label, str)(), permissions=["act"])
    def open_in_editor(self, request, queryset):
        """Redirect to the editor page of the first selected job that has an image in a
        vendor's editor (``display.editor_url``) and that the user may act on."""
        for job in queryset:
            url = editor_url(job) if can_act_on_job(request.user, job) else ""
            if url:
                return HttpResponseRedirect(url)
        self.message_user(
            request,
            gettext("None of the selected jobs can be opened in the %(vendors)s editor.")
            % {"vendors": labels_of("supports_review")},
            messages.WARNING,
        )
        return None

    @admin.action(description=_("Fetch editor results"), permissions=["act"])
    def fetch_editor_results(self, request, queryset):
        """Action: download newer editor results of review jobs (``jobs.fetch_review_result``:
        e.g. ClippingMagic's free ``format=json`` check of ``resultRevision``, then a download
        only when it changed)."""
        self._run(
            request,
            queryset,
            jobs.fetch_review_result,
            is_review_job,
            gettext("Fetched the editor results of %(count)d job(s)."),
            gettext("%(count)d job(s) skipped: not %(vendors)s review jobs."),
            vendors=labels_of("supports_review"),
        )

    @admin.action(description=_("Delete the vendor-side copy"), permissions=["act"])
    def delete_vendor_copies(self, request, queryset):
        """Action: delete the vendor's copy of each job's image (``jobs.delete_vendor_copy``,
        for providers that ``supports_vendor_copy_delete``); the stored result stays."""
        self._run(
            request,
            queryset,
            jobs.delete_vendor_copy,
            has_vendor_copy,
            gettext("Deleted %(count)d vendor-side copy(ies)."),
            gettext("%(count)d job(s) skipped: no %(vendors)s image to delete."),
            vendors=labels_of("supports_vendor_copy_delete"),
        )
