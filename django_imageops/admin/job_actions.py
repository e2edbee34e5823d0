"""The actions of the job admin: retry, cancel, apply or put back results, the editor, the
vendor-side copy (``ImageJobActionsMixin``).

Each action calls ``django_imageops.jobs`` for the eligible selected jobs and reports how many
were done and skipped, with the reasons. ``jobs`` is imported inside the actions: see the
``django_imageops.admin`` docstring.
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.http import HttpResponseRedirect
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from ..models import ImageJob
from ..vendors.errors import VendorError
from .display import editor_url


class ImageJobActionsMixin:
    """The job actions of ``ImageJobAdmin`` (named in its ``actions``)."""

    def _run(self, request, queryset, func, eligible, done_message, skipped_message):
        """Call ``func(job)`` for the eligible jobs; report how many were done and skipped
        (``ValidationError``/``ValueError`` from ``jobs``, and a ``VendorError`` from an action
        that calls the vendor, e.g. ClippingMagic refusing to delete a test image or the rate
        limiter saying to wait, count as skipped, with the reason: a message, not a 500)."""
        done = skipped = 0
        reasons = set()
        for job in queryset:
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
            self.message_user(request, done_message % {"count": done}, messages.SUCCESS)
        if skipped:
            text = skipped_message % {"count": skipped}
            if reasons:
                text += " " + " ".join(sorted(reasons))
            self.message_user(request, text, messages.WARNING)

    @admin.action(description=_("Retry the selected jobs"), permissions=["change"])
    def retry_jobs(self, request, queryset):
        """Action: queue failed or canceled jobs again (``jobs.retry``); others are skipped."""
        from .. import jobs  # not at the top: see the package docstring

        self._run(
            request,
            queryset,
            jobs.retry,
            lambda job: job.status in (ImageJob.Status.FAILED, ImageJob.Status.CANCELED),
            gettext("%(count)d job(s) queued again."),
            gettext("%(count)d job(s) skipped: only failed or canceled jobs are retried."),
        )

    @admin.action(description=_("Cancel the selected jobs"), permissions=["change"])
    def cancel_jobs(self, request, queryset):
        """Action: cancel unfinished jobs (``jobs.cancel``); finished ones are skipped."""
        from .. import jobs  # not at the top: see the package docstring

        self._run(
            request,
            queryset,
            jobs.cancel,
            lambda job: not job.is_finished,
            gettext("%(count)d job(s) canceled."),
            gettext("%(count)d job(s) skipped: they had already finished."),
        )

    @admin.action(description=_("Apply the results to their objects"), permissions=["change"])
    def apply_results(self, request, queryset):
        """Action: put each succeeded job's result into its target field (``jobs.apply_result``)."""
        from .. import jobs  # not at the top: see the package docstring

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
        permissions=["change"],
    )
    def replace_sources(self, request, queryset):
        """Action: put each result into its source field
        (``jobs.apply_result(replace_source=True)``); the original file stays on storage."""
        from .. import jobs  # not at the top: see the package docstring

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

    @admin.action(description=_("Open in the ClippingMagic editor"), permissions=["change"])
    def open_in_editor(self, request, queryset):
        """Redirect to the editor page of the first selected job that has a ClippingMagic
        image (review jobs)."""
        for job in queryset:
            url = editor_url(job)
            if url:
                return HttpResponseRedirect(url)
        self.message_user(
            request,
            gettext("None of the selected jobs can be opened in the ClippingMagic editor."),
            messages.WARNING,
        )
        return None

    @admin.action(description=_("Fetch editor results"), permissions=["change"])
    def fetch_editor_results(self, request, queryset):
        """Action: download newer ClippingMagic editor results of review jobs
        (``jobs.fetch_review_result``: a free ``format=json`` check of ``resultRevision``, then
        a download only when it changed)."""
        from .. import jobs  # not at the top: see the package docstring

        self._run(
            request,
            queryset,
            jobs.fetch_review_result,
            lambda job: (
                job.provider == ImageJob.Provider.CLIPPINGMAGIC
                and bool(job.vendor_image_id)
                and job.params.get("mode") == "review"
            ),
            gettext("Fetched the editor results of %(count)d job(s)."),
            gettext("%(count)d job(s) skipped: not ClippingMagic review jobs."),
        )

    @admin.action(description=_("Delete the vendor-side copy"), permissions=["change"])
    def delete_vendor_copies(self, request, queryset):
        """Action: delete the ClippingMagic copy of each job's image (``jobs.delete_vendor_copy``);
        the stored result stays."""
        from .. import jobs  # not at the top: see the package docstring

        self._run(
            request,
            queryset,
            jobs.delete_vendor_copy,
            lambda job: (
                job.provider == ImageJob.Provider.CLIPPINGMAGIC and bool(job.vendor_image_id)
            ),
            gettext("Deleted %(count)d vendor-side copy(ies)."),
            gettext("%(count)d job(s) skipped: no ClippingMagic image to delete."),
        )
