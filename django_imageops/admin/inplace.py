"""The operations on an object's change page: buttons next to each source image and on each
``DerivedImageField``, the operation's form opened in place, the job's progress and its
before/after, apply or discard (``ImageOpsInplaceMixin``, part of ``ImageOpsAdminMixin``).

From "I want this background removed" to seeing the result takes two clicks (the button, then
*Run* on a form holding the defaults); a third applies it. The forms are the operation forms of
the action pages (``django_imageops.forms``), with their previews and cost line; the views share
``django_imageops.inplace`` with any other admin.

URLs (under the model admin, names prefixed ``<app_label>_<model_name>_``):

- ``<object_id>/imageops/<operation>/`` (``imageops_form``): GET the panel (HTML, ``?field=`` the
  source field, ``&target=`` a derived field); POST queues the job (``202`` JSON, the job as
  ``inplace.panel_payload`` plus its ``status_url``), or answers the panel with its errors
  (``400`` HTML), or the cost line's figures (``imageops_estimate``: JSON).
- ``<object_id>/imageops/jobs/<uuid>/`` (``imageops_job``): GET the job's ``panel_payload``.
- ``<object_id>/imageops/jobs/<uuid>/apply/`` (``imageops_apply``): POST applies the result.

Who may: the model admin's ``has_imageops_permission`` and the change permission on the object.
"""

from __future__ import annotations

import copy
import json
from typing import TYPE_CHECKING, Any

from django import forms
from django.contrib.admin.utils import quote, unquote
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.template.loader import render_to_string
from django.urls import NoReverseMatch, path, reverse
from django.utils.translation import gettext

from .. import inplace, jobs
from ..cost_preview import estimate_response, initial_estimate
from ..fields import DerivedImageField
from ..forms import OperationForm, form_for_operation
from ..models import ImageJob
from ..sources import source_images
from .base import ModelAdminMixin
from .display import editor_url

#: The static files of the in-place panel (besides each operation form's own media).
INPLACE_MEDIA = forms.Media(
    css={"all": ["django_imageops/inplace/inplace.css"]},
    js=["django_imageops/inplace/inplace.js"],
)


def _panel_media() -> forms.Media:
    """Every operation form's media (the panel's forms arrive after the page) and the panel's."""
    media = forms.Media()
    for form_class in {form_for_operation(op) for op in ("crop", "uncrop")}:
        media += form_class(image_fields=()).media
    return media + INPLACE_MEDIA


class OperationsWidget(forms.Widget):
    """An image field's own widget, followed by its operation buttons and the in-place panel.

    Args:
        widget: the field's widget (``AdminFileWidget``, ``DerivedImageWidget``...), rendered
            as it is.
        buttons: ``buttons(value) -> [{"label", "url", "kind"}]`` for the field's value (its
            ``FieldFile``, which knows its instance); empty: no buttons.
    """

    template_name = "django_imageops/admin/widgets/operations.html"

    def __init__(self, widget, buttons):
        self.widget = widget
        self.buttons = buttons
        super().__init__(widget.attrs)
        self.is_required = widget.is_required
        self.needs_multipart_form = widget.needs_multipart_form

    def __deepcopy__(self, memo):
        obj = copy.copy(self)
        obj.widget = copy.deepcopy(self.widget, memo)
        obj.attrs = self.widget.attrs
        memo[id(self)] = obj
        return obj

    @property
    def is_hidden(self):
        """Django's widget API: hidden when the inner widget is."""
        return self.widget.is_hidden

    @property
    def media(self):
        """Django's widget API: the inner widget's media, the operation forms' and the panel's."""
        return self.widget.media + _panel_media()

    def get_context(self, name, value, attrs):
        """The inner widget's HTML (``inner``) and the ``buttons``."""
        context = super().get_context(name, value, attrs)
        context["inner"] = self.widget.render(name, value, attrs)
        context["buttons"] = self.buttons(value) if value is not None else []
        context["text"] = json.dumps(panel_text())
        return context

    def value_from_datadict(self, data, files, name):
        """Django's widget API: the inner widget's value."""
        return self.widget.value_from_datadict(data, files, name)

    def value_omitted_from_data(self, data, files, name):
        """Django's widget API: as the inner widget."""
        return self.widget.value_omitted_from_data(data, files, name)

    def id_for_label(self, id_):
        """Django's widget API: the inner widget's ``id`` for the label."""
        return self.widget.id_for_label(id_)

    def use_required_attribute(self, initial):
        """Django's widget API: as the inner widget."""
        return self.widget.use_required_attribute(initial)


def panel_text() -> dict[str, str]:
    """The translated words of the panel's script (``inplace.js``)."""
    return {
        "loading": gettext("Loading…"),
        "queued": gettext("Queued: the job will start in a moment."),
        "running": gettext("Working on it…"),
        "waiting": gettext("Waiting for a person in the editor."),
        "openEditor": gettext("Open the editor"),
        "failed": gettext("The job failed:"),
        "canceled": gettext("The job was canceled."),
        "before": gettext("Before"),
        "after": gettext("After"),
        "discard": gettext("Discard"),
        "close": gettext("Close"),
        "jobPage": gettext("Job page"),
        "openApplied": gettext("Open it"),
        "error": gettext("Something went wrong:"),
        "size": gettext("%(width)s × %(height)s px"),  # noqa: RUF001 (the sign is meant)
    }


class ImageOpsInplaceMixin(ModelAdminMixin):
    """The in-place operations of ``ImageOpsAdminMixin`` (see the module docstring)."""

    if TYPE_CHECKING:  # ImageOpsAdminMixin's
        imageops_operations: tuple[str, ...]

        def get_imageops_fields(self) -> list[tuple[str, str]]:
            """``ImageOpsAdminMixin``'s: the ImageFields the operations may read,
            ``[(field_name, label), ...]``."""

        def has_imageops_permission(self, request: HttpRequest) -> bool:
            """``ImageOpsAdminMixin``'s: change permission on the model plus
            ``django_imageops.add_imagejob``."""

    #: Seconds between two polls of a running job's status by the panel.
    imageops_poll_interval = 1.0
    imageops_inplace_template = "django_imageops/admin/inplace_form.html"

    # -- URLs and buttons ----------------------------------------------------------------------

    def get_urls(self):
        """The in-place views before the model admin's own (they are under ``<object_id>/``)."""
        opts = self.model._meta
        prefix = f"{opts.app_label}_{opts.model_name}"
        wrap = self.admin_site.admin_view
        return [
            path(
                "<path:object_id>/imageops/jobs/<uuid:job_uuid>/apply/",
                wrap(self.imageops_apply_view),
                name=f"{prefix}_imageops_apply",
            ),
            path(
                "<path:object_id>/imageops/jobs/<uuid:job_uuid>/",
                wrap(self.imageops_job_view),
                name=f"{prefix}_imageops_job",
            ),
            path(
                "<path:object_id>/imageops/<str:operation>/",
                wrap(self.imageops_form_view),
                name=f"{prefix}_imageops_form",
            ),
            *super().get_urls(),
        ]

    def _imageops_url(self, name: str, *args) -> str:
        opts = self.model._meta
        return reverse(
            f"{self.admin_site.name}:{opts.app_label}_{opts.model_name}_{name}", args=args
        )

    def imageops_buttons(self, db_field, value) -> list[dict]:
        """The buttons of ``db_field`` for its ``value`` (a ``FieldFile``): one per operation on
        a source image with a file, *Regenerate* on a ``DerivedImageField`` whose source has a
        file. None on the add page."""
        instance = getattr(value, "instance", None)
        if instance is None or instance.pk is None:
            return []
        pk = quote(instance.pk)
        if isinstance(db_field, DerivedImageField):
            if not getattr(instance, db_field.source, None):
                return []
            url = self._imageops_url("imageops_form", pk, db_field.operation)
            query = f"?field={db_field.source}&target={db_field.name}"
            return [{"label": gettext("Regenerate"), "url": url + query, "kind": "regenerate"}]
        if not value:
            return []
        labels = dict(ImageJob.Operation.choices)
        return [
            {
                "label": labels[operation],
                "url": self._imageops_url("imageops_form", pk, operation)
                + f"?field={db_field.name}",
                "kind": operation,
            }
            for operation in self.imageops_operations
        ]

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        """The model admin's form field; source images and derived images get their operation
        buttons (``OperationsWidget``) for users with the imageops permission."""
        formfield = super().formfield_for_dbfield(db_field, request, **kwargs)
        if formfield is None or not isinstance(db_field, models.ImageField):
            return formfield
        source_names = {name for name, _label in self.get_imageops_fields()}
        wanted = isinstance(db_field, DerivedImageField) or db_field.name in source_names
        if wanted and self.has_imageops_permission(request):
            formfield.widget = OperationsWidget(
                formfield.widget, lambda value: self.imageops_buttons(db_field, value)
            )
        return formfield

    # -- views ---------------------------------------------------------------------------------

    def _imageops_object(self, request, object_id):
        """The object, if the user may run operations on it (else 403/404)."""
        if not self.has_imageops_permission(request):
            raise PermissionDenied
        obj = self.get_object(request, unquote(object_id))
        if obj is None:
            raise Http404
        if not self.has_change_permission(request, obj):
            raise PermissionDenied
        return obj

    def _imageops_job(self, obj, job_uuid) -> ImageJob:
        """The job ``job_uuid`` run on ``obj`` (404 for any other job)."""
        return inplace.job_on(obj, job_uuid)

    def _imageops_payload(self, obj, job: ImageJob) -> dict:
        pk = quote(obj.pk)
        try:
            job_url = reverse(
                f"{self.admin_site.name}:django_imageops_imagejob_change", args=[job.pk]
            )
        except NoReverseMatch:
            job_url = ""
        payload = inplace.panel_payload(
            job,
            apply_url=self._imageops_url("imageops_apply", pk, job.uuid),
            job_url=job_url,
            editor_url=editor_url(job) if job.status == ImageJob.Status.WAITING_FOR_EDITOR else "",
            model=self.model,
        )
        payload["status_url"] = self._imageops_url("imageops_job", pk, job.uuid)
        payload["poll_interval"] = self.imageops_poll_interval
        return payload

    def imageops_form_view(self, request, object_id, operation: str):
        """The panel's form for one object (see the module docstring)."""
        obj = self._imageops_object(request, object_id)
        if operation not in self.imageops_operations and not any(
            isinstance(f, DerivedImageField) and f.operation == operation
            for f in self.model._meta.get_fields()
        ):
            raise Http404
        params = request.POST if request.method == "POST" else request.GET
        field = params.get("field", "")
        target = params.get("target", "")
        if not inplace.is_source_field(self.model, field):
            raise Http404
        derived = None
        if target:
            derived = next(
                (
                    f
                    for f in self.model._meta.get_fields()
                    if isinstance(f, DerivedImageField) and f.name == target and f.source == field
                ),
                None,
            )
            if derived is None or derived.operation != operation:
                raise Http404
        else:
            target = inplace.default_target(self.model, operation, field)
        form_class = form_for_operation(operation)
        url = self._imageops_url("imageops_form", quote(obj.pk), operation)
        form_kwargs: dict[str, Any] = {
            "image_fields": [(field, inplace.field_label(self.model, field))],
            "estimate_url": url,
            "auto_id": "id_imageops-%s",
        }
        if request.method == "POST":
            form = form_class(request.POST, **form_kwargs)
            if request.POST.get("imageops_estimate"):
                return estimate_response(request, form, operation, [obj])
            form.sources = source_images([obj], field)
            if form.is_valid():
                try:
                    [job] = jobs.create_jobs(
                        operation,
                        objects=[obj],
                        created_by=request.user,
                        target_field=target,
                        **form.job_kwargs(),
                    )
                except ValidationError as error:
                    form.add_validation_error(error)
                else:
                    job = ImageJob.objects.select_related("source_content_type").get(pk=job.pk)
                    return JsonResponse(self._imageops_payload(obj, job), status=202)
            return self._imageops_panel(request, obj, form, operation, field, target, status=400)
        if request.method != "GET":
            return HttpResponse(status=405)
        initial = inplace.derived_initial(derived) if derived is not None else {}
        form = form_class(initial=initial, **form_kwargs)
        form.sources = source_images([obj], field)
        form.estimate = initial_estimate(form, operation, [obj], request.user)
        return self._imageops_panel(request, obj, form, operation, field, target)

    def _imageops_panel(
        self, request, obj, form: OperationForm, operation, field, target, status=200
    ) -> HttpResponse:
        title = dict(ImageJob.Operation.choices).get(operation, operation)
        if target:
            title = gettext("%(operation)s → %(field)s") % {
                "operation": title,
                "field": inplace.field_label(self.model, target),
            }
        html = render_to_string(
            self.imageops_inplace_template,
            {
                "form": form,
                "title": title,
                "object": obj,
                "field_label": inplace.field_label(self.model, field),
                "field": field,
                "target": target,
                "action_url": form.estimate_url,
            },
            request=request,
        )
        return HttpResponse(html, status=status)

    def imageops_job_view(self, request, object_id, job_uuid):
        """The job's ``panel_payload`` (GET, polled by the panel)."""
        if request.method != "GET":
            return HttpResponse(status=405)
        obj = self._imageops_object(request, object_id)
        job = self._imageops_job(obj, job_uuid)
        return JsonResponse(self._imageops_payload(obj, job))

    def imageops_apply_view(self, request, object_id, job_uuid):
        """Apply the job's result (POST): ``inplace.apply``; answers the new payload, or ``409
        {"error"}`` when the job cannot be applied."""
        if request.method != "POST":
            return HttpResponse(status=405)
        obj = self._imageops_object(request, object_id)
        job = self._imageops_job(obj, job_uuid)
        try:
            inplace.apply(job)
        except ValueError as error:
            return JsonResponse({"error": str(error)}, status=409)
        job.refresh_from_db()
        return JsonResponse(self._imageops_payload(obj, job))
