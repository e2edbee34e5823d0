"""The job admin: ``ImageJobAdmin``, its filters, the attempt history inline, batch progress.

The job list (status, thumbnails, credits, batch progress) and a read-only change page
(before/after, params, vendor references, attempt history). Its actions are in ``job_actions``,
its credits page in ``credits``; ``django_imageops.admin`` registers it on the default site.
"""

from __future__ import annotations

import json
import re
import uuid

from django.contrib import admin
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.http import JsonResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.text import Truncator
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from ..amounts import format_credits
from ..jobs import budget_wait_reasons, status_counts
from ..models import ImageJob, ImageJobEvent
from ..redaction import job_redactor
from .credits import CreditsViewMixin, warn_low_balances
from .display import (
    CSS,
    batch_changelist_url,
    editor_url,
    format_duration,
    job_result_url,
    job_source_url,
    progress_words,
    redact,
    result_thumbnail,
    source_admin_url,
    status_badge,
    thumbnail,
)
from .job_actions import ImageJobActionsMixin
from .job_page import JOB_PAGE_TEMPLATE, JobPageMixin

#: A search term that may be the start of a job's or a batch's UUID (hyphens left out).
HEX_ID = re.compile(r"[0-9a-fA-F]{4,32}")

#: Statuses shown as "queued" / "running" ... in the batch progress; a pending job waiting for
#: a budget is counted apart, as "waiting_for_budget" (``jobs.states.budget_wait_q``).
PROGRESS_GROUPS = {
    "queued": (ImageJob.Status.PENDING,),
    "waiting_for_budget": (),
    "running": (ImageJob.Status.RUNNING,),
    "waiting": (ImageJob.Status.WAITING_FOR_EDITOR,),
    "succeeded": (ImageJob.Status.SUCCEEDED,),
    "failed": (ImageJob.Status.FAILED,),
    "canceled": (ImageJob.Status.CANCELED,),
}


def batch_progress(batch) -> dict:
    """Counts of a batch's jobs per progress group (one query; one more when some wait for a
    budget, for their reasons).

    Returns:
        ``{"total": n, "counts": {"queued", "waiting_for_budget", "running", "waiting",
        "succeeded", "failed", "canceled"}, "percent": {...same keys, 0..100}, "done": bool,
        "budget_reasons": [reason, ...]}``. ``waiting_for_budget`` counts pending jobs that wait
        for a budget (``queued`` does not count them); ``budget_reasons`` says why, in plain
        words ("Clipdrop's daily budget of 10 credits is spent; resumes at 00:00 UTC. (3 jobs)").
        ``done`` is true when no job is queued or running: what is left waits for a person (the
        editor) or for a budget, which no worker moves on by itself.
    """
    now = timezone.now()
    jobs_of_batch = ImageJob.objects.filter(batch=batch)
    by_status, waiting_for_budget = status_counts(jobs_of_batch, now=now)
    counts = {
        group: sum(by_status.get(status, 0) for status in statuses)
        for group, statuses in PROGRESS_GROUPS.items()
    }
    counts["waiting_for_budget"] = waiting_for_budget
    counts["queued"] -= counts["waiting_for_budget"]
    total = sum(counts.values())
    percent = {group: round(100 * n / total, 2) if total else 0 for group, n in counts.items()}
    reasons = (
        [
            ngettext("%(reason)s (%(count)d job)", "%(reason)s (%(count)d jobs)", n)
            % {"reason": reason, "count": n}
            for reason, n in budget_wait_reasons(jobs_of_batch, now=now)
        ]
        if counts["waiting_for_budget"]
        else []
    )
    return {
        "total": total,
        "counts": counts,
        "percent": percent,
        "done": counts["queued"] + counts["running"] == 0,
        "budget_reasons": reasons,
    }


class BatchFilter(admin.SimpleListFilter):
    """``?batch=<uuid>``: the jobs queued together by one action (shown only when set)."""

    title = _("batch")
    parameter_name = "batch"

    def lookups(self, request, model_admin):
        """The one choice shown: the batch in the URL (its UUID's first 8 characters), or none."""
        value = self.value()
        return [(value, value[:8])] if value else []

    def queryset(self, request, queryset):
        """Jobs of the ``?batch=`` UUID; no job for a value that is not a UUID."""
        value = self.value()
        if not value:
            return queryset
        try:
            return queryset.filter(batch=uuid.UUID(value))
        except ValueError:
            return queryset.none()


class ImageJobEventInline(admin.TabularInline):
    """The job's history (attempts, vendor calls, errors), read-only."""

    model = ImageJobEvent
    extra = 0
    can_delete = False
    fields = ("created_at", "kind", "message_display", "data_display")
    readonly_fields = fields
    verbose_name = _("attempt history entry")
    verbose_name_plural = _("attempt history")

    def has_add_permission(self, request, obj=None):
        """Never: history entries are written by ``jobs`` only."""
        return False

    def has_change_permission(self, request, obj=None):
        """Never: the history is read-only."""
        return False

    def get_queryset(self, request):
        """The entries with their job (``job_redactor`` reads it): no query per entry."""
        return super().get_queryset(request).select_related("job")

    @admin.display(description=_("message"))
    def message_display(self, event):
        """The entry's message without any secret a vendor echoed (``job_redactor``)."""
        return job_redactor(event.job).text(event.message)

    @admin.display(description=_("data"))
    def data_display(self, event):
        """The entry's data as indented JSON, with keys, secrets, tokens and passwords hidden
        (``redact``), and any secret a vendor echoed replaced (``job_redactor``)."""
        if not event.data:
            return "-"
        data = redact(job_redactor(event.job).data(event.data, hide_keys=False))
        return format_html("<pre class='imageops-json'>{}</pre>", json.dumps(data, indent=1))


class ImageJobAdmin(JobPageMixin, ImageJobActionsMixin, CreditsViewMixin, admin.ModelAdmin):
    """Job list with status, thumbnails, credits and batch progress; a read-only change page
    with the job's actions as buttons and a status that refreshes until the job ends."""

    list_display = (
        "short_id",
        "status_badge",
        "operation",
        "provider",
        "source_link",
        "before_thumbnail",
        "after_thumbnail",
        "credits_display",
        "duration_display",
        "error_display",
        "created_at",
    )
    list_display_links = ("short_id", "status_badge")
    list_filter = (BatchFilter, "status", "operation", "provider", "created_at")
    list_select_related = ("source_content_type",)
    search_fields = ("=uuid", "=batch", "source_name", "error_message", "vendor_image_id")
    date_hierarchy = "created_at"
    list_per_page = 100
    inlines = (ImageJobEventInline,)
    change_list_template = "django_imageops/admin/imagejob/change_list.html"
    change_form_template = JOB_PAGE_TEMPLATE
    actions = (
        "retry_jobs",
        "cancel_jobs",
        "apply_results",
        "replace_sources",
        "open_in_editor",
        "fetch_editor_results",
        "delete_vendor_copies",
    )
    fieldsets = (
        (
            None,
            {
                "fields": (
                    "status_badge",
                    "progress_display",
                    "operation",
                    "provider",
                    "source_link",
                    "batch_link",
                    "created_by",
                    "target_field",
                    "applied_at",
                )
            },
        ),
        (_("Before and after"), {"classes": ("imageops-wide",), "fields": ("before_after",)}),
        (_("Parameters"), {"fields": ("params_display",)}),
        (_("Errors"), {"fields": ("error_code", "error_message_display")}),
        (
            _("Timing"),
            {
                "fields": (
                    "attempts",
                    "next_attempt_at",
                    "created_at",
                    "started_at",
                    "finished_at",
                    "duration_display",
                )
            },
        ),
        (
            _("Credits"),
            {"fields": ("credits_display", "credits_estimated", "credits_remaining")},
        ),
        (
            _("Vendor references"),
            {
                "fields": (
                    "uuid",
                    "vendor_image_id",
                    "vendor_result_revision",
                    "vendor_state_display",
                    "editor_link",
                    "reused_from",
                )
            },
        ),
        (
            _("Files"),
            {
                "classes": ("collapse",),
                "fields": (
                    "source_name",
                    "source_hash",
                    "result_file_link",
                    "result_width",
                    "result_height",
                    "result_bytes",
                    "result_content_type",
                    "spool_path",
                ),
            },
        ),
    )

    class Media:
        css = CSS
        js = ("django_imageops/admin/imageops.js",)

    # Read-only -----------------------------------------------------------------------

    def get_readonly_fields(self, request, obj=None):
        """Everything: jobs change only through ``django_imageops.jobs`` (the actions)."""
        return [name for _, options in self.fieldsets for name in options["fields"]]

    def has_add_permission(self, request):
        """Jobs are created by the actions, the API and the fields, not by hand."""
        return False

    def change_view(self, request, object_id, form_url="", extra_context=None):
        """Django's change page without the save buttons (every field is read-only), with the
        job's buttons at the top and its status refreshed until it ends
        (``job_page.JobPageMixin``)."""
        job = self.get_object(request, unquote(object_id)) if object_id else None
        extra_context = {
            **(extra_context or {}),
            **self.job_page_context(request, job),
            "show_save": False,
            "show_save_and_continue": False,
            "show_save_and_add_another": False,
        }
        return super().change_view(request, object_id, form_url, extra_context)

    # Columns -------------------------------------------------------------------------

    @admin.display(description=_("status"), ordering="status")
    def status_badge(self, job):
        """The status as a coloured badge (``status_badge``); ``imageops.js`` updates it on a batch
        page."""
        return status_badge(job)

    def get_search_results(self, request, queryset, search_term):
        """Django's search (``search_fields``), plus jobs whose UUID or batch starts with a term
        of 4 to 32 hexadecimal digits (hyphens ignored): the 8-character ids the lists show
        find their jobs. The prefix lookup casts the UUID to text on PostgreSQL (no index)."""
        found, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        prefixes = [
            term.replace("-", "").lower()
            for term in search_term.split()
            if HEX_ID.fullmatch(term.replace("-", ""))
        ]
        if not prefixes:
            return found, may_have_duplicates
        by_id = Q()
        for prefix in prefixes:
            by_id |= Q(uuid__istartswith=prefix) | Q(batch__istartswith=prefix)
        return found | queryset.filter(by_id), may_have_duplicates

    @admin.display(description=_("job"), ordering="uuid")
    def short_id(self, job):
        """The first 8 characters of the job's UUID (the search finds a job by them)."""
        return str(job.uuid)[:8]

    @admin.display(description=_("progress"))
    def progress_display(self, job):
        """Where an unfinished job stands in words (``display.progress_words``: the provider's,
        e.g. "waiting for PiktID: poll 5, 15 s"), updated while the page polls; "-" once there
        is nothing to say."""
        return format_html(
            '<span class="imageops-progress-words" data-progress-job="{}">{}</span>',
            job.pk,
            progress_words(job) or "-",
        )

    def get_queryset(self, request):
        """The jobs with their source objects (``prefetch_related``: one query per source
        model, whatever the number of jobs), which the source cells name."""
        return super().get_queryset(request).prefetch_related("source_object")

    @admin.display(description=_("source"))
    def source_link(self, job):
        """The source object as it names itself ("Coffee"), linked to its admin page, with
        its model, id and image field in the tooltip; "product #3 (deleted)" for an object
        that is gone; the uploaded file's name for an upload."""
        url = source_admin_url(job, self.admin_site.name)
        if job.source_content_type_id and job.source_object_id:
            where = f"{job.source_content_type.name} #{job.source_object_id}"
            detail = f"{where}, {job.source_field}" if job.source_field else where
            obj = job.source_object
            if obj is None:
                return gettext("%(source)s (deleted)") % {"source": where}
            label = str(obj)
        else:
            label = job.source_name.rsplit("/", 1)[-1] or gettext("upload")
            detail = job.source_name
        if not url:
            return format_html('<span title="{}">{}</span>', detail, label)
        return format_html('<a href="{}" title="{}">{}</a>', url, detail, label)

    @admin.display(description=_("before"))
    def before_thumbnail(self, job):
        """Thumbnail of the source as it was when the job was created (``job_source_url``; no
        storage request)."""
        return thumbnail(job_source_url(job), alt=gettext("before"))

    @admin.display(description=_("after"))
    def after_thumbnail(self, job):
        """The result's stored thumbnail (``display.result_thumbnail``), sized from
        ``result_width``/``result_height`` (pixels), linked to the result."""
        return result_thumbnail(job, alt=gettext("after"))

    @admin.display(description=_("credits"), ordering="credits_consumed")
    def credits_display(self, job):
        """The credits the job consumed; "~" before an estimate (the vendor did not say: its
        ``PRICE`` setting was recorded), explained in the tooltip."""
        value = format_credits(job.credits_consumed)
        if not job.credits_estimated:
            return value
        return format_html(
            '<span title="{}">~{}</span>',
            gettext("Estimated: the vendor does not report costs; its price setting was used."),
            value,
        )

    @admin.display(description=_("duration"))
    def duration_display(self, job):
        """``finished_at - started_at`` as "12.3 s" or "4 min 5 s"; "-" while unfinished."""
        return format_duration(job.duration)

    @admin.display(description=_("error"))
    def error_message_display(self, job):
        """The error message without any secret a vendor echoed (``job_redactor``)."""
        return job_redactor(job).text(job.error_message)

    @admin.display(description=_("error"))
    def error_display(self, job):
        """The error message (else its code) cut to 80 characters; all of it in the tooltip.
        Secrets a vendor echoed are replaced (``job_redactor``)."""
        if not job.error_message and not job.error_code:
            return ""
        text = job_redactor(job).text(job.error_message) or job.error_code
        return format_html(
            '<span class="imageops-error" title="{}">{}</span>',
            text,
            Truncator(text).chars(80),
        )

    @admin.display(description=_("batch"))
    def batch_link(self, job):
        """The batch UUID linked to the job list filtered to that batch, or "-"."""
        if not job.batch:
            return "-"
        return format_html(
            '<a href="{}">{}</a>', batch_changelist_url(job.batch, self.admin_site.name), job.batch
        )

    @admin.display(description=_("before / after"))
    def before_after(self, job):
        """Both images side by side; ``imageops.js`` scales them by one common factor so they
        compare at the same scale."""
        before, after = job_source_url(job), job_result_url(job)

        def cell(url, label):
            """One captioned figure: the image linked to itself, or "-" without a URL."""
            if not url:
                return format_html(
                    '<figure class="imageops-figure"><div class="imageops-missing">-</div>'
                    "<figcaption>{}</figcaption></figure>",
                    label,
                )
            return format_html(
                '<figure class="imageops-figure"><a href="{}" target="_blank" rel="noopener">'
                '<img src="{}" alt="{}"></a><figcaption>{}</figcaption></figure>',
                url,
                url,
                label,
                label,
            )

        return format_html(
            '<div class="imageops-same-scale">{}{}</div>',
            cell(before, gettext("Before")),
            cell(after, gettext("After")),
        )

    @admin.display(description=_("parameters"))
    def params_display(self, job):
        """The operation's parameters as indented JSON."""
        return format_html(
            "<pre class='imageops-json'>{}</pre>", json.dumps(job.params, indent=2, sort_keys=True)
        )

    @admin.display(description=_("vendor state"))
    def vendor_state_display(self, job):
        """The vendor references kept between attempts as indented JSON, secrets hidden
        (``redact``)."""
        if not job.vendor_state:
            return "-"
        state = redact(job_redactor(job).data(job.vendor_state, hide_keys=False))
        return format_html("<pre class='imageops-json'>{}</pre>", json.dumps(state, indent=2))

    @admin.display(description=_("editor"))
    def editor_link(self, job):
        """Link to the vendor's editor page of a job whose provider supports review and that
        has an image there (``display.editor_url``), or "-"."""
        url = editor_url(job)
        if not url:
            return "-"
        return format_html('<a href="{}">{}</a>', url, gettext("Open in the editor"))

    @admin.display(description=_("result file"))
    def result_file_link(self, job):
        """The result's storage name linked to its ``storage.url()``, or "-"."""
        url = job_result_url(job)
        if not url:
            return "-"
        return format_html('<a href="{}">{}</a>', url, job.result.name)

    # Batch progress and credits ------------------------------------------------------

    def get_urls(self):
        """Django's URLs plus ``batch/<uuid>/progress/`` (JSON, ``batch_progress_view``),
        ``credits/`` (``credits_view``), and the job page's ``<id>/status/`` and
        ``<id>/do/<button>/`` (``job_page``)."""
        info = self.opts.app_label, self.opts.model_name
        return [
            path(
                "batch/<uuid:batch>/progress/",
                self.admin_site.admin_view(self.batch_progress_view),
                name="{}_{}_batch_progress".format(*info),
            ),
            path(
                "credits/",
                self.admin_site.admin_view(self.credits_view),
                name="{}_{}_credits".format(*info),
            ),
            *self.job_page_urls(),
            *super().get_urls(),
        ]

    def batch_progress_view(self, request, batch):
        """JSON progress of a batch: ``batch_progress()`` plus ``jobs`` (job id -> status and
        label, for the badges of the rows on the page). Two queries."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        data = batch_progress(batch)
        labels = dict(ImageJob.Status.choices)
        data["jobs"] = {
            str(pk): {"status": status, "label": str(labels.get(status, status))}
            for pk, status in ImageJob.objects.filter(batch=batch).values_list("pk", "status")[
                :1000
            ]
        }
        return JsonResponse(data)

    def changelist_view(self, request, extra_context=None):
        """The job list; with ``?batch=<uuid>`` a progress panel that polls the JSON view."""
        extra_context = dict(extra_context or {})
        batch = request.GET.get("batch")
        if batch:
            try:
                batch = uuid.UUID(batch)
            except ValueError:
                batch = None
        if batch:
            info = self.opts.app_label, self.opts.model_name
            extra_context["imageops_batch"] = batch
            extra_context["imageops_progress"] = batch_progress(batch)
            extra_context["imageops_progress_url"] = reverse(
                "{}:{}_{}_batch_progress".format(self.admin_site.name, *info), args=[batch]
            )
        extra_context["imageops_credits_url"] = reverse(
            f"{self.admin_site.name}:django_imageops_imagejob_credits"
        )
        if request.method == "GET":
            warn_low_balances(request, self)
        return super().changelist_view(request, extra_context)
