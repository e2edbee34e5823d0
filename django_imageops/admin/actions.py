"""Operation actions for a site's own ``ModelAdmin``: ``ImageOpsAdminMixin``.

One action per operation (Remove background, Uncrop, Reimagine, Crop) over the model's
ImageFields, each with an intermediate page like ``delete_selected``. Submitting queues one job
per object through ``jobs.create_jobs`` (one call, one batch) and links to the batch in the job
admin. The forms are generated from the operations' parameter declarations
(``django_imageops.forms``), so a site's own provider appears in them unchanged.
"""

from __future__ import annotations

import uuid

from django.contrib import messages
from django.contrib.admin import helpers
from django.contrib.admin.utils import model_ngettext
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models
from django.template.response import TemplateResponse
from django.utils.html import format_html
from django.utils.translation import gettext, ngettext

from .. import jobs
from ..cost_preview import estimate_response, initial_estimate
from ..fields import DerivedImageField, target_for
from ..forms import form_for_operation
from ..models import ImageJob
from ..sources import source_images
from .display import batch_changelist_url
from .inplace import ImageOpsInplaceMixin

#: Operation name -> action label (the model's own operation labels).
OPERATION_ACTION_LABELS = dict(ImageJob.Operation.choices)


class ImageOpsAdminMixin(ImageOpsInplaceMixin):
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

    The change page gets the same operations one object at a time (``ImageOpsInplaceMixin``):
    buttons next to each source image and *Regenerate* on each ``DerivedImageField``, the
    form, progress, before/after and apply in place.
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
            # Django >= 6.1 only (django-stubs gives Django 5's signature on Python 3.11).
            actions = super().get_actions(  # type: ignore[call-arg]
                request, action_location=action_location
            )
            if getattr(action_location, "value", action_location) != "CHANGE_LIST":
                return actions
        if not actions and (self.actions is None or "_popup" in request.GET):
            return actions
        if not self.get_imageops_fields() or not self.has_imageops_permission(request):
            return actions
        for operation in self.imageops_operations:
            name = f"imageops_{operation}"
            func = getattr(type(self), name)
            actions[name] = (func, name, str(OPERATION_ACTION_LABELS[operation]))
        return actions

    def imageops_remove_background(self, request, queryset):
        """Action: remove the background (e.g. ClippingMagic)."""
        return self.imageops_action_view(request, queryset, "remove_background")

    def imageops_uncrop(self, request, queryset):
        """Action: uncrop (e.g. Clipdrop or PiktID)."""
        return self.imageops_action_view(request, queryset, "uncrop")

    def imageops_reimagine(self, request, queryset):
        """Action: reimagine (e.g. Clipdrop)."""
        return self.imageops_action_view(request, queryset, "reimagine")

    def imageops_crop(self, request, queryset):
        """Action: crop (e.g. PixLab)."""
        return self.imageops_action_view(request, queryset, "crop")

    def imageops_target_field(
        self, operation: str, field: str, provider: str | None = None, params=None
    ) -> str:
        """The ``DerivedImageField`` a job on ``field`` fills on success: the model's only
        derived field declaring this source, operation, provider and parameters
        (``fields.target_for``), else "" (the result stays on the job; a person may apply it
        from the job's page)."""
        return target_for(self.model, operation, field, provider, params or {})

    def imageops_action_view(self, request, queryset, operation: str):
        """The intermediate page of an operation action (GET-like first display, then POST).

        Three requests reach it: the first display (the changelist's action POST), the cost
        line's refresh (``imageops_estimate``: JSON, see ``imageops_estimate_response``) and the
        submission (``imageops_post``). On submission the values are checked against each
        selected image whose size is known without downloading it (``width_field``/
        ``height_field``, or a header read for at most ``sources.HEADER_READ_LIMIT`` objects).

        Returns ``None`` after queueing (the admin redirects back to the changelist), the
        ``TemplateResponse`` of the page (re-shown with field errors for invalid input), or the
        estimate's ``JsonResponse``.
        """
        if not self.has_imageops_permission(request):
            raise PermissionDenied
        opts = self.model._meta
        form_class = form_for_operation(operation)
        selected = request.POST.getlist(helpers.ACTION_CHECKBOX_NAME)
        form_kwargs = {
            "image_fields": self.get_imageops_fields(),
            "selected": selected,
            "estimate_url": request.get_full_path(),
            "preview_limit": self.imageops_preview_limit,
        }
        if request.POST.get("imageops_estimate"):
            form = form_class(request.POST, **form_kwargs)
            return estimate_response(request, form, operation, queryset)
        if request.POST.get("imageops_post"):
            objects = list(queryset)
            form = form_class(request.POST, **form_kwargs)
            form.sources = source_images(objects, form.chosen_field())
            if form.is_valid():
                batch = uuid.uuid4()
                kwargs = form.job_kwargs()
                try:
                    created = jobs.create_jobs(
                        operation,
                        objects=objects,
                        created_by=request.user,
                        batch=batch,
                        target_field=self.imageops_target_field(operation, **kwargs),
                        **kwargs,
                    )
                except ValidationError as error:
                    form.add_validation_error(error)
                else:
                    self.imageops_queued_message(request, operation, len(created), batch)
                    return None
            total = len(objects)
        else:
            form = form_class(**form_kwargs)
            total = queryset.count()
            previews = queryset[: self.imageops_preview_limit]
            form.sources = source_images(previews, form.chosen_field(), read_headers=False)
            form.estimate = initial_estimate(form, operation, queryset, request.user)
        form.source_count = total
        context = {
            **self.admin_site.each_context(request),
            "title": OPERATION_ACTION_LABELS[operation],
            "operation": operation,
            "action_name": f"imageops_{operation}",
            "opts": opts,
            "app_label": opts.app_label,
            "form": form,
            "media": self.media + form.media,
            "total": total,
            "objects_name": model_ngettext(opts, total),
            "selected": selected,
            "select_across": request.POST.get("select_across", "0"),
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, self.imageops_action_template, context)

    def imageops_queued_message(self, request, operation: str, count: int, batch) -> None:
        """The success message: how many jobs were queued, and a link to their batch."""
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
                % {"count": count, "operation": OPERATION_ACTION_LABELS[operation]},
                url,
                gettext("Follow the batch"),
            ),
            messages.SUCCESS,
        )
