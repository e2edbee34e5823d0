"""The generic inline listing the jobs run on an object: ``ImageJobInline``."""

from __future__ import annotations

from django.contrib import admin
from django.contrib.contenttypes.admin import GenericTabularInline
from django.urls import NoReverseMatch, reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from ..models import ImageJob
from .display import CSS, result_thumbnail, status_badge


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
        """The result's stored thumbnail (no storage request), or "-"."""
        return result_thumbnail(job, alt=str(job))
