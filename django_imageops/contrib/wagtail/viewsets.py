"""The job list inside Wagtail's admin: ``ImageJobViewSet`` (``/admin/imageops/jobs/``, menu item
*Image jobs*).

A read-only ``ModelViewSet`` of ``ImageJob``: the list (status, source image, before/after
thumbnails, credits; filters by status, operation, provider and batch) and each job's page
(before/after, parameters, error, history, and its actions: retry, cancel, put the result in
the image library, open the vendor's editor). Jobs are never added, edited or deleted by hand:
``ImageJobPermissionPolicy`` grants *view* only, and the actions call ``django_imageops.jobs``.

Permissions, as in the Django admin: the list needs ``django_imageops.view_imagejob`` (or
``change_imagejob``); acting on a job needs ``permissions.can_act_on_job`` (its creator, or a user
who may change its source image). Rendering asks storage nothing (URLs from ``storage.url()``,
sizes from the job's columns).
"""

from __future__ import annotations

import json

import django_filters
from django.contrib.admin.utils import quote
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404, redirect
from django.urls import path, reverse
from django.utils.functional import cached_property
from django.utils.html import format_html
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views import View
from wagtail.admin import messages
from wagtail.admin.filters import WagtailFilterSet
from wagtail.admin.ui.tables import Column, DateColumn
from wagtail.admin.views import generic
from wagtail.admin.viewsets.model import ModelViewSet
from wagtail.permission_policies import ModelPermissionPolicy

from ... import jobs
from ...models import ImageJob
from ...redaction import job_redactor
from ...vendors.errors import VendorError
from . import destinations
from .models import ImageJobDestination
from .permissions import can_act_on_job, can_view_jobs, is_wagtail_image
from .views import apply_label, editor_url, image_edit_url

#: Longer side of a list thumbnail, in pixels.
THUMB_SIZE = 80


class ImageJobPermissionPolicy(ModelPermissionPolicy):
    """*View* for users with ``view_imagejob`` or ``change_imagejob``; no one adds, edits or
    deletes jobs here (they change only through ``django_imageops.jobs``)."""

    def user_has_permission(self, user, action):
        """Wagtail's policy API: true only for ``"view"``, to users who may view jobs."""
        return action == "view" and can_view_jobs(user)

    def user_has_any_permission(self, user, actions):
        """Wagtail's policy API: true when ``actions`` holds ``"view"`` and the user may view
        jobs."""
        return "view" in actions and can_view_jobs(user)


#: The policy the job list uses (registered with Wagtail 8's policy registry at start-up).
permission_policy = ImageJobPermissionPolicy(ImageJob)


def register_permission_policy() -> None:
    """Register ``permission_policy`` for ``ImageJob`` with Wagtail's policy registry (Wagtail
    8; Wagtail 7.4 reads it from the viewset)."""
    try:
        from wagtail.permissions import register_permission_policy as register
    except ImportError:  # Wagtail 7.4
        return
    register(ImageJob, permission_policy)


def thumbnail(url: str, width=None, height=None, alt: str = ""):
    """An ``<img>`` fitting ``THUMB_SIZE`` pixels (sized from the known width/height), or "-"."""
    if not url:
        return "-"
    if width and height:
        scale = min(1.0, THUMB_SIZE / max(width, height))
        width, height = max(1, round(width * scale)), max(1, round(height * scale))
        size = format_html('width="{}" height="{}"', width, height)
    else:
        size = format_html('style="max-width:{}px;max-height:{}px"', THUMB_SIZE, THUMB_SIZE)
    return format_html(
        '<img src="{}" {} alt="{}" class="imageops-thumb" loading="lazy">', url, size, alt
    )


def source_link(job: ImageJob):
    """The source image's title linked to its edit page, or the source's name."""
    source = job.source_object if job.source_content_type_id else None
    if source is not None and is_wagtail_image(source):
        return format_html('<a href="{}">{}</a>', image_edit_url(source), source)
    return str(source) if source is not None else (job.source_name.rsplit("/", 1)[-1] or "-")


def status_tag(job: ImageJob):
    """The status as a Wagtail status tag."""
    return format_html(
        '<span class="w-status imageops-status imageops-{}">{}</span>',
        job.status,
        job.get_status_display(),
    )


class ImageJobFilterSet(WagtailFilterSet):
    """Status, operation, provider and batch (``?batch=<uuid>``: the jobs of one action)."""

    batch = django_filters.UUIDFilter(label=_("Batch"))

    class Meta:
        model = ImageJob
        fields = ["status", "operation", "provider", "batch"]


class ImageJobIndexView(generic.IndexView):
    """The job list (no storage request per row; the source's content type is joined)."""

    default_ordering = "-created_at"

    def get_base_queryset(self):
        """Wagtail's index view API: the jobs, with their source's content type joined."""
        return super().get_base_queryset().select_related("source_content_type")


class ImageJobInspectView(generic.InspectView):
    """A job's page: its fields, before/after, parameters, history and actions."""

    template_name = "django_imageops/wagtail/jobs/inspect.html"

    def get_object(self, queryset=None):
        """The job with its source's content type and creator joined; ``Http404`` if none."""
        return get_object_or_404(
            ImageJob.objects.select_related("source_content_type", "created_by"), pk=self.pk
        )

    def get_status_display_value(self):
        """Wagtail's inspect view API: the status as a status tag (``status_tag``)."""
        return status_tag(self.object)

    def get_error_message_display_value(self):
        """Wagtail's inspect view API: the error message with secrets redacted, or "-"."""
        return job_redactor(self.object).text(self.object.error_message) or "-"

    def get_context_data(self, **kwargs):
        """Wagtail's context plus the before/after, source link, parameters (JSON), redacted
        history, the user's actions and the editor's URL."""
        context = super().get_context_data(**kwargs)
        job = self.object
        redactor = job_redactor(job)
        source = job.source_object if job.source_content_type_id else None
        # The before's width (one scale for both figures): the image's, while it holds the
        # file the job read.
        before_width = None
        if source is not None and is_wagtail_image(source) and source.file.name == job.source_name:
            before_width = source.width
        context.update(
            before=job.source_url(),
            before_width=before_width,
            after=job.result_summary(),
            source=source_link(job),
            params=json.dumps(job.params, indent=2, sort_keys=True),
            events=[
                {"event": event, "message": redactor.text(event.message)}
                for event in job.events.all()
            ],
            actions=job_actions(self.request.user, job),
            editor_url=editor_url(job) if can_act_on_job(self.request.user, job) else "",
        )
        return context


def job_actions(user, job: ImageJob) -> list[dict]:
    """The actions ``user`` may take on ``job`` now: ``[{"name", "label", "url"}]`` (POST)."""
    if not can_act_on_job(user, job):
        return []
    names = []
    if job.status in (ImageJob.Status.FAILED, ImageJob.Status.CANCELED):
        names.append(("retry", gettext("Retry")))
    if not job.is_finished:
        names.append(("cancel", gettext("Cancel the job")))
    source = job.source_object if job.source_content_type_id else None
    if job.status == ImageJob.Status.SUCCEEDED and job.result and is_wagtail_image(source):
        destination = ImageJobDestination.objects.filter(job_id=job.pk).first()
        if destination is None or destination.applied_result != job.result.name:
            names.append(("apply", apply_label(destination)))
    return [
        {
            "name": name,
            "label": label,
            "url": reverse("imageops_wagtail_jobs:action", args=[quote(job.pk), name]),
        }
        for name, label in names
    ]


class ImageJobActionView(View):
    """POST ``action/<pk>/<name>/``: retry, cancel or apply one job, then back to its page."""

    http_method_names = ["post"]

    def post(self, request, pk, name):
        """Runs the action if it applies to the job now (else a warning; a ``ValidationError``,
        ``ValueError`` or ``VendorError`` becomes an error message), then redirects to the job's
        page. ``PermissionDenied`` (403) for users who may not act on the job, ``Http404`` for
        an unknown job."""
        job = get_object_or_404(ImageJob, pk=pk)
        if not can_act_on_job(request.user, job):
            raise PermissionDenied
        available = {action["name"] for action in job_actions(request.user, job)}
        if name not in available:
            messages.warning(request, gettext("This action does not apply to the job now."))
        else:
            try:
                self.run(request, job, name)
            except (ValidationError, ValueError, VendorError) as error:
                messages.error(request, "; ".join(getattr(error, "messages", [str(error)])))
        return redirect("imageops_wagtail_jobs:inspect", quote(job.pk))

    def run(self, request, job: ImageJob, name: str) -> None:
        """``jobs.retry``, ``jobs.cancel`` or ``destinations.apply`` on ``job``, with a success
        message; their errors propagate."""
        if name == "retry":
            jobs.retry(job)
            messages.success(request, gettext("The job was queued again."))
        elif name == "cancel":
            jobs.cancel(job)
            messages.success(request, gettext("The job was canceled."))
        elif name == "apply":
            image = destinations.apply(job, user=request.user)
            messages.success(
                request,
                gettext("The result is in the image library: %(title)s.") % {"title": image},
                buttons=[messages.button(image_edit_url(image), gettext("Edit"))],
            )


class ImageJobViewSet(ModelViewSet):
    """The job list and job pages (see the module docstring)."""

    model = ImageJob
    icon = "image"
    menu_label = _("Image jobs")
    menu_order = 310
    add_to_admin_menu = True
    url_prefix = "imageops/jobs"
    name = "imageops_wagtail_jobs"
    index_view_class = ImageJobIndexView
    inspect_view_class = ImageJobInspectView
    inspect_view_enabled = True
    copy_view_enabled = False
    add_to_reference_index = False
    list_per_page = 50
    filterset_class = ImageJobFilterSet
    inspect_view_fields = [
        "status",
        "operation",
        "provider",
        "created_by",
        "created_at",
        "started_at",
        "finished_at",
        "attempts",
        "credits_consumed",
        "error_code",
        "error_message",
        "uuid",
        "batch",
    ]

    @cached_property
    def permission_policy(self):
        """Wagtail's viewset API: the module's ``permission_policy`` (view only)."""
        return permission_policy

    @cached_property
    def list_display(self):
        """Wagtail's viewset API: the list's columns (status, source, before/after thumbnails,
        credits, created)."""
        return [
            "__str__",
            Column("status", label=_("Status"), accessor=status_tag, sort_key="status"),
            Column("source", label=_("Source"), accessor=source_link),
            Column(
                "before",
                label=_("Before"),
                accessor=lambda job: thumbnail(job.source_url(), alt=gettext("Before")),
            ),
            Column(
                "after",
                label=_("After"),
                accessor=lambda job: thumbnail(
                    job.result.url if job.result else "",
                    job.result_width,
                    job.result_height,
                    alt=gettext("After"),
                ),
            ),
            Column("credits_consumed", label=_("Credits"), sort_key="credits_consumed"),
            DateColumn("created_at", label=_("Created"), sort_key="created_at"),
        ]

    def get_urlpatterns(self):
        """The list, its results, each job's page and its actions (nothing that edits)."""
        return [
            path("", self.index_view, name="index"),
            path("results/", self.index_results_view, name="index_results"),
            path("inspect/<int:pk>/", self.inspect_view, name="inspect"),
            path(
                "action/<int:pk>/<str:name>/",
                ImageJobActionView.as_view(),
                name="action",
            ),
        ]
