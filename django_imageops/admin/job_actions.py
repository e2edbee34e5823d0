"""What a person does to jobs in the admin: retry, cancel, apply or put back results, the
editor, the vendor-side copy. ``ImageJobActionsMixin`` holds the job list's actions; the job
page offers the same as buttons (``job_page``), with the same rules (``can_retry``,
``can_cancel``, ``apply_field``, ``editor_url``).

Each action calls ``django_imageops.jobs`` for the eligible selected jobs and reports how many
were done and skipped, with the reasons. Which jobs the editor and vendor-side actions apply to
follows their provider's capability flags. Who may act on which job is the rule of every
interface (``permissions.can_act_on_job``): the job's creator, or staff with the change
permission on its source; the actions are offered to whoever may see the job list, and each
job the user may not act on is skipped and counted.
"""

from __future__ import annotations

from collections.abc import Callable

from django.contrib import admin, messages
from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.http import HttpResponseRedirect
from django.utils.functional import lazy
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from .. import jobs
from ..fields import derived_fields
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


def can_retry(job: ImageJob) -> bool:
    """A failed or canceled job that would not fail the same way again
    (``jobs.retry_refusal``)."""
    return not jobs.retry_refusal(job)


def can_cancel(job: ImageJob) -> bool:
    """A job that has not finished."""
    return not job.is_finished


def apply_field(job: ImageJob) -> str:
    """The field of the source object a person may put the job's result in: its
    ``target_field``, else the source model's only ``DerivedImageField`` made from the job's
    source field by the job's operation (whatever its provider and parameters: a person
    chooses); "" when there is none, or the source is an upload. No query (the content type is
    select_related on the admin's pages)."""
    if job.target_field:
        return job.target_field
    model = source_model(job)
    if model is None or not job.source_field:
        return ""
    matches = [
        f.name
        for f in derived_fields(model)
        if f.source == job.source_field and f.operation == job.operation
    ]
    return matches[0] if len(matches) == 1 else ""


def source_model(job: ImageJob):
    """The model class of the job's source object, or None (an upload, a model gone)."""
    content_type = job.source_content_type if job.source_content_type_id else None
    return content_type.model_class() if content_type is not None else None


def apply_field_label(job: ImageJob, name: str) -> str:
    """The verbose name of field ``name`` of the job's source model ("cut-out"), or ``name``."""
    model = source_model(job)
    try:
        field = model._meta.get_field(name) if model else None
    except FieldDoesNotExist:
        return name
    return str(getattr(field, "verbose_name", name))


def apply_refusal(job: ImageJob) -> str:
    """Why the job's result cannot be applied, in plain words, or "" when it can: it needs a
    stored result and a field of its source object to put it in (``apply_field``)."""
    if job.status != ImageJob.Status.SUCCEEDED or not job.result:
        return gettext("It has no result.")
    if not apply_field(job):
        return gettext(
            "Its object has no image field made by this operation from this image: replace the "
            "source image instead."
        )
    return ""


def can_apply(job: ImageJob) -> bool:
    """A succeeded job with a result and a field of its source object to put it in."""
    return not apply_refusal(job)


def apply_to_field(job: ImageJob) -> None:
    """``jobs.apply_result`` into ``apply_field(job)`` (a person's explicit choice).

    Raises:
        ValueError: ``apply_refusal``'s reason.
    """
    reason = apply_refusal(job)
    if reason:
        raise ValueError(reason)
    jobs.apply_result(job, field=apply_field(job))


def retry_or_refuse(job: ImageJob) -> None:
    """``jobs.retry(job)``.

    Raises:
        ValueError: ``jobs.retry_refusal``'s reason.
    """
    reason = jobs.retry_refusal(job)
    if reason or not jobs.retry(job):
        raise ValueError(reason or gettext("It changed meanwhile."))


Message = Callable[[int], str]


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

    def _run(self, request, queryset, func, eligible, done: Message, skipped: Message):
        """Call ``func(job)`` for the eligible jobs the user may act on
        (``permissions.can_act_on_job``); report how many were done and skipped
        (``done(n)``/``skipped(n)`` give the messages, with real plurals). A
        ``ValidationError``/``ValueError`` from ``jobs``, and a ``VendorError`` from an action
        that calls the vendor (e.g. a vendor refusing to delete a test image, or the rate
        limiter saying to wait), count as skipped, with the reason: a message, not a 500."""
        done_count = skipped_count = denied = 0
        reasons = set()
        for job in queryset:
            if not can_act_on_job(request.user, job):
                denied += 1
                continue
            if not eligible(job):
                skipped_count += 1
                continue
            try:
                func(job)
            except (ValidationError, ValueError, VendorError) as error:
                skipped_count += 1
                reasons.add("; ".join(getattr(error, "messages", [str(error)])))
            else:
                done_count += 1
        if done_count:
            self.message_user(request, done(done_count), messages.SUCCESS)
        if skipped_count:
            text = skipped(skipped_count)
            if reasons:
                text += " " + " ".join(sorted(reasons))
            self.message_user(request, text, messages.WARNING)
        if denied:
            self.message_user(request, _denied_message(denied), messages.WARNING)

    @admin.action(description=_("Retry the selected jobs"), permissions=["act"])
    def retry_jobs(self, request, queryset):
        """Action: queue failed or canceled jobs again (``jobs.retry``); others, and jobs that
        failed on an image that has not changed, are skipped with the reason
        (``jobs.retry_refusal``)."""
        self._run(
            request,
            queryset,
            retry_or_refuse,
            lambda job: True,
            lambda n: (
                ngettext("%(count)d job queued again.", "%(count)d jobs queued again.", n)
                % {"count": n}
            ),
            lambda n: (
                ngettext("%(count)d job skipped.", "%(count)d jobs skipped.", n) % {"count": n}
            ),
        )

    @admin.action(description=_("Cancel the selected jobs"), permissions=["act"])
    def cancel_jobs(self, request, queryset):
        """Action: cancel unfinished jobs (``jobs.cancel``); finished ones are skipped."""
        self._run(
            request,
            queryset,
            jobs.cancel,
            can_cancel,
            lambda n: (
                ngettext("%(count)d job canceled.", "%(count)d jobs canceled.", n) % {"count": n}
            ),
            lambda n: (
                ngettext(
                    "%(count)d job skipped: it had already finished.",
                    "%(count)d jobs skipped: they had already finished.",
                    n,
                )
                % {"count": n}
            ),
        )

    @admin.action(description=_("Apply the results to their objects"), permissions=["act"])
    def apply_results(self, request, queryset):
        """Action: put each succeeded job's result into its field (``apply_field``:
        ``jobs.apply_result``); jobs with no result or no field to fill are skipped with the
        reason (``apply_refusal``)."""
        self._run(
            request,
            queryset.select_related("source_content_type"),
            apply_to_field,
            lambda job: True,
            lambda n: (
                ngettext("%(count)d result applied.", "%(count)d results applied.", n)
                % {"count": n}
            ),
            lambda n: (
                ngettext("%(count)d job skipped.", "%(count)d jobs skipped.", n) % {"count": n}
            ),
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
            lambda n: (
                ngettext("%(count)d source image replaced.", "%(count)d source images replaced.", n)
                % {"count": n}
            ),
            lambda n: (
                ngettext(
                    "%(count)d job skipped: no result or no source object.",
                    "%(count)d jobs skipped: no result or no source object.",
                    n,
                )
                % {"count": n}
            ),
        )

    @admin.action(description=lazy(_open_in_editor_label, str)(), permissions=["act"])
    def open_in_editor(self, request, queryset):
        """Redirect to the editor page of the first selected job that has an image in a
        vendor's editor (``display.editor_url``)."""
        for job in queryset:
            url = editor_url(job)
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
        vendors = labels_of("supports_review")
        self._run(
            request,
            queryset,
            jobs.fetch_review_result,
            is_review_job,
            lambda n: (
                ngettext(
                    "Fetched the editor results of %(count)d job.",
                    "Fetched the editor results of %(count)d jobs.",
                    n,
                )
                % {"count": n}
            ),
            lambda n: (
                ngettext(
                    "%(count)d job skipped: not a %(vendors)s review job.",
                    "%(count)d jobs skipped: not %(vendors)s review jobs.",
                    n,
                )
                % {"count": n, "vendors": vendors}
            ),
        )

    @admin.action(description=_("Delete the vendor-side copy"), permissions=["act"])
    def delete_vendor_copies(self, request, queryset):
        """Action: delete the vendor's copy of each job's image (``jobs.delete_vendor_copy``,
        for providers that ``supports_vendor_copy_delete``); the stored result stays."""
        vendors = labels_of("supports_vendor_copy_delete")
        self._run(
            request,
            queryset,
            jobs.delete_vendor_copy,
            has_vendor_copy,
            lambda n: (
                ngettext(
                    "Deleted %(count)d vendor-side copy.",
                    "Deleted %(count)d vendor-side copies.",
                    n,
                )
                % {"count": n}
            ),
            lambda n: (
                ngettext(
                    "%(count)d job skipped: no %(vendors)s image to delete.",
                    "%(count)d jobs skipped: no %(vendors)s image to delete.",
                    n,
                )
                % {"count": n, "vendors": vendors}
            ),
        )
