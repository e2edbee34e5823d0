"""The admin: operation actions for any ModelAdmin, the job admin, the credits page.

- ``ImageOpsAdminMixin``: add it to a site's ``ModelAdmin`` to get one action per operation
  (Remove background, Uncrop, Reimagine, Crop) over the model's ImageFields, each with an
  intermediate page like ``delete_selected``. Submitting queues one job per object through
  ``jobs.create_jobs`` (one call, one batch) and links to the batch in the job admin.
- ``ImageJobAdmin``: the job list (status, thumbnails, credits, batch progress) and change page
  (before/after, params, vendor references, attempt history); registered on the default site.
- ``ImageJobInline``: a generic inline listing the jobs run on an object.

Rendering never asks storage whether a file exists: URLs come from ``storage.url()`` and sizes
from the stored width/height.

``jobs`` is imported inside the methods that use it, not at the top: it imports ``tasks``,
which fails on a misconfigured ``IMAGEOPS["TASK_BACKEND"]``, and this module is imported by the
admin's autodiscovery during ``django.setup()``, so a top-level import would crash start-up
before the ``django_imageops.E003`` check can say what is wrong.
"""

from __future__ import annotations

import json
import uuid
from datetime import timedelta

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.utils import model_ngettext
from django.contrib.contenttypes.admin import GenericTabularInline
from django.core.exceptions import (
    FieldDoesNotExist,
    ImproperlyConfigured,
    PermissionDenied,
    ValidationError,
)
from django.db import models
from django.db.models import Count, Q, Sum
from django.db.models.functions import Coalesce
from django.http import HttpResponseRedirect, JsonResponse
from django.template.response import TemplateResponse
from django.urls import NoReverseMatch, path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.text import Truncator
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from .fields import DerivedImageField, derived_fields
from .forms import form_for_operation
from .models import ImageJob, ImageJobEvent, VendorCredits
from .vendors.errors import VendorError

#: Operation name -> action label (the model's own operation labels).
OPERATION_ACTION_LABELS = dict(ImageJob.Operation.choices)

#: Statuses shown as "queued" / "running" in the batch progress.
PROGRESS_GROUPS = {
    "queued": (ImageJob.Status.PENDING,),
    "running": (ImageJob.Status.RUNNING,),
    "waiting": (ImageJob.Status.WAITING_FOR_EDITOR,),
    "succeeded": (ImageJob.Status.SUCCEEDED,),
    "failed": (ImageJob.Status.FAILED,),
    "canceled": (ImageJob.Status.CANCELED,),
}

THUMB_SIZE = 80  # pixels, the longer side of a list thumbnail

CSS = {"all": ("django_imageops/admin/imageops.css",)}


# --- small rendering helpers (no storage I/O) -------------------------------------------


def thumbnail(url: str, width=None, height=None, *, size: int = THUMB_SIZE, alt: str = ""):
    """An ``<img>`` fitting ``size`` pixels, scaled from the stored ``width``/``height`` when
    known (so the browser reserves the box), or "-" without a URL."""
    if not url:
        return "-"
    if width and height:
        scale = min(1.0, size / max(width, height))
        return format_html(
            '<a href="{}" target="_blank" rel="noopener"><img src="{}" class="imageops-thumb" '
            'width="{}" height="{}" alt="{}" loading="lazy"></a>',
            url,
            url,
            max(1, round(width * scale)),
            max(1, round(height * scale)),
            alt,
        )
    return format_html(
        '<a href="{}" target="_blank" rel="noopener"><img src="{}" class="imageops-thumb" '
        'style="max-width:{}px;max-height:{}px" alt="{}" loading="lazy"></a>',
        url,
        url,
        size,
        size,
        alt,
    )


def job_source_url(job: ImageJob) -> str:
    """URL of the job's source as it was when the job was created (``source_name`` on the
    source field's storage, or the uploaded ``source_file``); "" when unknown. No I/O."""
    if job.source_file:
        return job.source_file.url
    if not (job.source_name and job.source_content_type_id and job.source_field):
        return ""
    model = job.source_content_type.model_class()
    if model is None:
        return ""
    try:
        field = model._meta.get_field(job.source_field)
    except FieldDoesNotExist:  # the field was removed since the job ran
        return ""
    storage = getattr(field, "storage", None)
    return storage.url(job.source_name) if storage is not None else ""


def job_result_url(job: ImageJob) -> str:
    """URL of the job's result from ``storage.url()``, or "" without a result. No I/O."""
    return job.result.url if job.result else ""


SENSITIVE_WORDS = ("key", "secret", "token", "password", "authorization")


def redact(data):
    """A copy of JSON-like ``data`` with the values of keys naming a key, secret, token or
    password replaced by ``"(hidden)"`` (translated; at any depth)."""
    if isinstance(data, dict):
        hidden = gettext("(hidden)")
        return {
            k: hidden if any(word in str(k).lower() for word in SENSITIVE_WORDS) else redact(v)
            for k, v in data.items()
        }
    if isinstance(data, list):
        return [redact(v) for v in data]
    return data


def status_badge(job: ImageJob):
    """A coloured ``<span>`` with the job's status label (CSS class ``imageops-<status>``)."""
    return format_html(
        '<span class="imageops-badge imageops-{}" data-job="{}">{}</span>',
        job.status,
        job.pk,
        job.get_status_display(),
    )


def format_duration(delta: timedelta | None) -> str:
    """``"12.3 s"``, ``"4 min 5 s"`` or "-"."""
    if delta is None:
        return "-"
    seconds = delta.total_seconds()
    if seconds < 60:
        return gettext("%(seconds).1f s") % {"seconds": seconds}
    minutes, seconds = divmod(round(seconds), 60)
    return gettext("%(minutes)d min %(seconds)d s") % {"minutes": minutes, "seconds": seconds}


def source_admin_url(job: ImageJob, site_name: str = "admin") -> str:
    """The admin change URL of the job's source object, or "" (no query: the content type is
    select_related)."""
    content_type = job.source_content_type
    if content_type is None or not job.source_object_id:
        return ""
    try:
        return reverse(
            f"{site_name}:{content_type.app_label}_{content_type.model}_change",
            args=[job.source_object_id],
        )
    except NoReverseMatch:
        return ""


def editor_url(job: ImageJob) -> str:
    """The ClippingMagic editor page of a review job, or "" when the editor URLs are not
    installed or the job has no ClippingMagic image."""
    if job.provider != ImageJob.Provider.CLIPPINGMAGIC or not job.vendor_image_id:
        return ""
    try:
        return reverse("django_imageops:clippingmagic-editor", args=[job.uuid])
    except NoReverseMatch:
        return ""


def batch_changelist_url(batch, site_name: str = "admin") -> str:
    """The job changelist filtered to one batch (``?batch=<uuid>``)."""
    return reverse(f"{site_name}:django_imageops_imagejob_changelist") + f"?batch={batch}"


def batch_progress(batch) -> dict:
    """Counts of a batch's jobs per progress group (one query).

    Returns:
        ``{"total": n, "counts": {"queued", "running", "waiting", "succeeded", "failed",
        "canceled"}, "percent": {...same keys, 0..100}, "done": bool}``; ``done`` is true when no
        job is queued or running.
    """
    rows = ImageJob.objects.filter(batch=batch).values_list("status").annotate(n=Count("id"))
    by_status = dict(rows)
    counts = {
        group: sum(by_status.get(status, 0) for status in statuses)
        for group, statuses in PROGRESS_GROUPS.items()
    }
    total = sum(counts.values())
    percent = {group: round(100 * n / total, 2) if total else 0 for group, n in counts.items()}
    return {
        "total": total,
        "counts": counts,
        "percent": percent,
        "done": counts["queued"] + counts["running"] == 0,
    }


# --- admin actions on a site's own models ----------------------------------------------


class ImageOpsAdminMixin:
    """Adds the image operation actions to a ``ModelAdmin``.

    ::

        @admin.register(Product)
        class ProductAdmin(ImageOpsAdminMixin, admin.ModelAdmin):
            imageops_fields = ["photo"]       # default: every ImageField of the model
            inlines = [ImageJobInline]

    The actions are shown to users with the change permission on the model and
    ``django_imageops.add_imagejob``. Each action shows the selected objects and the
    operation's form; submitting calls ``jobs.create_jobs`` once for all of them (a constant
    number of queries, no vendor call) and links to the batch in the job admin.
    """

    #: Operations offered as actions, in this order.
    imageops_operations: tuple[str, ...] = ("remove_background", "uncrop", "reimagine", "crop")
    #: Names of the ImageFields the operations may read (``None``: every ImageField that is
    #: not a ``DerivedImageField``).
    imageops_fields: list[str] | tuple[str, ...] | None = None
    #: Selected objects shown with a thumbnail on the intermediate page (the rest are counted).
    imageops_preview_limit = 24
    imageops_action_template = "django_imageops/admin/action_form.html"

    # Permissions ---------------------------------------------------------------------

    def has_imageops_permission(self, request) -> bool:
        """Change permission on the model plus ``django_imageops.add_imagejob``."""
        return self.has_change_permission(request) and request.user.has_perm(
            "django_imageops.add_imagejob"
        )

    # Actions --------------------------------------------------------------------------

    def get_imageops_fields(self) -> list[tuple[str, str]]:
        """``[(field_name, label), ...]`` of the ImageFields the operations may read."""
        opts = self.model._meta
        if self.imageops_fields is not None:
            fields = [opts.get_field(name) for name in self.imageops_fields]
        else:
            fields = [
                f
                for f in opts.concrete_fields
                if isinstance(f, models.ImageField) and not isinstance(f, DerivedImageField)
            ]
        return [(f.name, str(f.verbose_name).capitalize()) for f in fields]

    def get_actions(self, request, action_location=None):
        """Django's actions plus one per operation, for users with the imageops permission.

        ``action_location`` is Django 6.1's (change list or change form); the operations are
        change-list actions only. Django 5.2 calls this without it.
        """
        if action_location is None:
            actions = super().get_actions(request)
        else:
            actions = super().get_actions(request, action_location=action_location)
            if getattr(action_location, "value", action_location) != "CHANGE_LIST":
                return actions
        if not actions and (self.actions is None or "_popup" in request.GET):
            return actions
        if not self.get_imageops_fields() or not self.has_imageops_permission(request):
            return actions
        for operation in self.imageops_operations:
            name = f"imageops_{operation}"
            func = getattr(type(self), name)
            actions[name] = (func, name, OPERATION_ACTION_LABELS[operation])
        return actions

    def imageops_remove_background(self, request, queryset):
        """Action: remove the background (ClippingMagic)."""
        return self.imageops_action_view(request, queryset, "remove_background")

    def imageops_uncrop(self, request, queryset):
        """Action: uncrop (Clipdrop or PiktID)."""
        return self.imageops_action_view(request, queryset, "uncrop")

    def imageops_reimagine(self, request, queryset):
        """Action: reimagine (Clipdrop)."""
        return self.imageops_action_view(request, queryset, "reimagine")

    def imageops_crop(self, request, queryset):
        """Action: crop (PixLab)."""
        return self.imageops_action_view(request, queryset, "crop")

    def imageops_target_field(self, operation: str, field: str) -> str:
        """The ``DerivedImageField`` a job on ``field`` fills: the model's only derived field
        with this source and operation, else "" (the result stays on the job)."""
        matches = [
            f.name
            for f in derived_fields(self.model)
            if f.source == field and f.operation == operation
        ]
        return matches[0] if len(matches) == 1 else ""

    def imageops_action_view(self, request, queryset, operation: str):
        """The intermediate page of an operation action (GET-like first display, then POST).

        Returns ``None`` after queueing (the admin redirects back to the changelist) or the
        ``TemplateResponse`` of the page, re-shown with field errors for invalid input.
        """
        from . import jobs  # not at the top: see the module docstring

        if not self.has_imageops_permission(request):
            raise PermissionDenied
        opts = self.model._meta
        form_class = form_for_operation(operation)
        selected = request.POST.getlist(helpers.ACTION_CHECKBOX_NAME)
        form_kwargs = {"image_fields": self.get_imageops_fields(), "selected": selected}
        if request.POST.get("imageops_post"):
            form = form_class(request.POST, **form_kwargs)
            if form.is_valid():
                batch = uuid.uuid4()
                kwargs = form.job_kwargs()
                try:
                    created = jobs.create_jobs(
                        operation,
                        objects=queryset,
                        created_by=request.user,
                        batch=batch,
                        target_field=self.imageops_target_field(operation, kwargs["field"]),
                        **kwargs,
                    )
                except ValidationError as error:
                    form.add_validation_error(error)
                else:
                    count = len(created)
                    url = batch_changelist_url(batch, self.admin_site.name)
                    self.message_user(
                        request,
                        format_html(
                            '{} <a href="{}">{}</a>',
                            ngettext(
                                "%(count)d %(operation)s job queued.",
                                "%(count)d %(operation)s jobs queued.",
                                count,
                            )
                            % {
                                "count": count,
                                "operation": OPERATION_ACTION_LABELS[operation],
                            },
                            url,
                            gettext("Follow the batch"),
                        ),
                        messages.SUCCESS,
                    )
                    return None
        else:
            form = form_class(**form_kwargs)

        field_name = form["field"].value() or (form_kwargs["image_fields"] or [("", "")])[0][0]
        total = queryset.count()
        previews = []
        for obj in queryset[: self.imageops_preview_limit]:
            file = getattr(obj, field_name, None) if field_name else None
            previews.append({"object": obj, "url": file.url if file else ""})
        context = {
            **self.admin_site.each_context(request),
            "title": OPERATION_ACTION_LABELS[operation],
            "operation": operation,
            "action_name": f"imageops_{operation}",
            "opts": opts,
            "app_label": opts.app_label,
            "form": form,
            "media": self.media + form.media,
            "previews": previews,
            "total": total,
            "hidden_count": max(0, total - len(previews)),
            "objects_name": model_ngettext(opts, total),
            "selected": selected,
            "select_across": request.POST.get("select_across", "0"),
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            "crop_preview": operation == "crop",
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, self.imageops_action_template, context)


# --- the job admin ------------------------------------------------------------------------


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
    fields = ("created_at", "kind", "message", "data_display")
    readonly_fields = fields
    verbose_name = _("attempt history entry")
    verbose_name_plural = _("attempt history")

    def has_add_permission(self, request, obj=None):
        """Never: history entries are written by ``jobs`` only."""
        return False

    def has_change_permission(self, request, obj=None):
        """Never: the history is read-only."""
        return False

    @admin.display(description=_("data"))
    def data_display(self, event):
        """The entry's data as indented JSON, with keys, secrets, tokens and passwords hidden
        (``redact``)."""
        if not event.data:
            return "-"
        return format_html(
            "<pre class='imageops-json'>{}</pre>", json.dumps(redact(event.data), indent=1)
        )


@admin.register(ImageJob)
class ImageJobAdmin(admin.ModelAdmin):
    """Job list with status, thumbnails, credits and batch progress; read-only change page."""

    list_display = (
        "status_badge",
        "operation",
        "provider",
        "source_link",
        "before_thumbnail",
        "after_thumbnail",
        "credits_consumed",
        "duration_display",
        "error_display",
        "created_at",
    )
    list_display_links = ("status_badge",)
    list_filter = (BatchFilter, "status", "operation", "provider", "created_at")
    list_select_related = ("source_content_type",)
    search_fields = ("=uuid", "=batch", "source_name", "error_message", "vendor_image_id")
    date_hierarchy = "created_at"
    list_per_page = 100
    inlines = (ImageJobEventInline,)
    change_list_template = "django_imageops/admin/imagejob/change_list.html"
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
        (_("Before and after"), {"fields": ("before_after",)}),
        (_("Parameters"), {"fields": ("params_display",)}),
        (_("Errors"), {"fields": ("error_code", "error_message")}),
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
        (_("Credits"), {"fields": ("credits_consumed", "credits_remaining")}),
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
        """Django's change page without the save buttons (every field is read-only)."""
        extra_context = {
            **(extra_context or {}),
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

    @admin.display(description=_("source"))
    def source_link(self, job):
        """``<model> #<pk> (<field>)`` linked to the source object's admin page, or the
        uploaded file's name."""
        url = source_admin_url(job, self.admin_site.name)
        if job.source_content_type_id and job.source_object_id:
            label = f"{job.source_content_type.name} #{job.source_object_id}"
            if job.source_field:
                label += f" ({job.source_field})"
        else:
            label = job.source_name.rsplit("/", 1)[-1] or gettext("upload")
        return format_html('<a href="{}">{}</a>', url, label) if url else label

    @admin.display(description=_("before"))
    def before_thumbnail(self, job):
        """Thumbnail of the source as it was when the job was created (``job_source_url``; no
        storage request)."""
        return thumbnail(job_source_url(job), alt=gettext("before"))

    @admin.display(description=_("after"))
    def after_thumbnail(self, job):
        """Thumbnail of the result, sized from ``result_width``/``result_height`` (pixels)."""
        return thumbnail(
            job_result_url(job), job.result_width, job.result_height, alt=gettext("after")
        )

    @admin.display(description=_("duration"))
    def duration_display(self, job):
        """``finished_at - started_at`` as "12.3 s" or "4 min 5 s"; "-" while unfinished."""
        return format_duration(job.duration)

    @admin.display(description=_("error"))
    def error_display(self, job):
        """The error message (else its code) cut to 80 characters; all of it in the tooltip."""
        if not job.error_message and not job.error_code:
            return ""
        text = job.error_message or job.error_code
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
        return format_html(
            "<pre class='imageops-json'>{}</pre>", json.dumps(redact(job.vendor_state), indent=2)
        )

    @admin.display(description=_("ClippingMagic editor"))
    def editor_link(self, job):
        """Link to the ClippingMagic editor page of a job with a ClippingMagic image, or "-"."""
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
        """Django's URLs plus ``batch/<uuid>/progress/`` (JSON, ``batch_progress_view``) and
        ``credits/`` (``credits_view``)."""
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
        return super().changelist_view(request, extra_context)

    def credits_view(self, request):
        """Per vendor: the latest remaining balance, credits consumed today and this month;
        POST ``refresh=clippingmagic`` refreshes ClippingMagic's balance from its account
        endpoint (``jobs.refresh_credits``)."""
        from . import jobs  # not at the top: see the module docstring

        if not self.has_view_permission(request):
            raise PermissionDenied
        if request.method == "POST":
            if not self.has_change_permission(request):
                raise PermissionDenied
            vendor = request.POST.get("refresh")
            if vendor == ImageJob.Provider.CLIPPINGMAGIC:
                try:
                    jobs.refresh_credits(vendor)
                except (VendorError, ImproperlyConfigured) as error:  # shown, not a 500
                    self.message_user(
                        request,
                        gettext("Could not refresh the balance: %(error)s") % {"error": error},
                        messages.ERROR,
                    )
                else:
                    self.message_user(request, gettext("Balance refreshed."), messages.SUCCESS)
            return HttpResponseRedirect(request.path)

        now = timezone.localtime()
        today = now.replace(hour=0, minute=0, second=0, microsecond=0)
        month = today.replace(day=1)
        charged_at = Coalesce("finished_at", "started_at", "created_at")
        usage = {
            row["provider"]: row
            for row in ImageJob.objects.annotate(charged_at=charged_at)
            .filter(charged_at__gte=month)
            .values("provider")
            .annotate(
                month=Sum("credits_consumed"),
                today=Sum("credits_consumed", filter=Q(charged_at__gte=today)),
                jobs=Count("id"),
            )
        }
        vendors = []
        for balance in VendorCredits.balances():
            value = balance["provider"]
            row = usage.get(value, {})
            vendors.append(
                {
                    "vendor": value,
                    "label": balance["name"],
                    "remaining": balance["remaining"],
                    "updated_at": balance["updated_at"],
                    "today": row.get("today") or 0,
                    "month": row.get("month") or 0,
                    "jobs": row.get("jobs") or 0,
                    "refreshable": value == ImageJob.Provider.CLIPPINGMAGIC,
                }
            )
        context = {
            **self.admin_site.each_context(request),
            "title": gettext("Vendor credits"),
            "opts": self.opts,
            "vendors": vendors,
            "month_start": month,
            "can_refresh": self.has_change_permission(request),
            "media": self.media,
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, "django_imageops/admin/credits.html", context)

    # Actions -------------------------------------------------------------------------

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
        from . import jobs  # not at the top: see the module docstring

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
        from . import jobs  # not at the top: see the module docstring

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
        from . import jobs  # not at the top: see the module docstring

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
        from . import jobs  # not at the top: see the module docstring

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
        from . import jobs  # not at the top: see the module docstring

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
        from . import jobs  # not at the top: see the module docstring

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


# --- the generic inline for source models ----------------------------------------------------


class ImageJobInline(GenericTabularInline):
    """The jobs run on an object, for its change page (read-only, newest first)::

    class ProductAdmin(ImageOpsAdminMixin, admin.ModelAdmin):
        inlines = [ImageJobInline]
    """

    model = ImageJob
    ct_field = "source_content_type"
    ct_fk_field = "source_object_id"
    extra = 0
    can_delete = False
    fields = (
        "job_link",
        "status_badge",
        "operation",
        "provider",
        "source_field",
        "after",
        "created_at",
    )
    readonly_fields = fields
    ordering = ("-created_at",)
    verbose_name = _("image job")
    verbose_name_plural = _("image jobs")

    class Media:
        css = CSS

    def has_add_permission(self, request, obj=None):
        """Never: jobs are created by the actions, the API and the fields."""
        return False

    def has_change_permission(self, request, obj=None):
        """Never: jobs change only through ``django_imageops.jobs``."""
        return False

    @admin.display(description=_("job"))
    def job_link(self, job):
        """The first 8 characters of the job's UUID, linked to its admin page when registered."""
        try:
            url = reverse("admin:django_imageops_imagejob_change", args=[job.pk])
        except NoReverseMatch:
            return str(job.uuid)[:8]
        return format_html('<a href="{}">{}</a>', url, str(job.uuid)[:8])

    @admin.display(description=_("status"))
    def status_badge(self, job):
        """The status as a coloured badge (``status_badge``)."""
        return status_badge(job)

    @admin.display(description=_("result"))
    def after(self, job):
        """Thumbnail of the result (no storage request), or "-"."""
        return thumbnail(job_result_url(job), job.result_width, job.result_height)


__all__ = [
    "ImageJobAdmin",
    "ImageJobInline",
    "ImageOpsAdminMixin",
    "batch_progress",
]
