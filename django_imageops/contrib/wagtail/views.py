"""Views of the image operations in Wagtail's admin (under ``/admin/imageops/``, names in the
``imageops_wagtail`` namespace; Wagtail requires admin access for all of them).

The edit page's panel (``static/django_imageops/inplace/inplace.js``, the same script as the
Django admin's change page, over the JSON contract of ``django_imageops.inplace``):

- ``images/<image_id>/<operation>/`` (``image_operation``): GET the panel (the operation's form
  with *where the result goes*); POST queues the job (``202`` JSON: ``job_payload``), answers the
  panel with its errors (``400`` HTML) or the cost line (``imageops_estimate``: JSON);
- ``images/<image_id>/jobs/<uuid>/`` (``image_job``): GET the job's ``job_payload``, polled;
- ``images/<image_id>/jobs/<uuid>/apply/`` (``image_job_apply``): POST puts the result where
  the form said (``destinations.apply``).

Who may: ``permissions.can_run_operations`` on the image.

The editor page in Wagtail's skin (for the providers whose ``editor_view`` is the app's
ClippingMagic editor): ``editor/<uuid>/`` (``editor``), with its ``callback/`` and ``status/``
(the app's own handlers, ``django_imageops.views``). Who may: ``permissions.can_act_on_job``.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404
from django.template.loader import render_to_string
from django.template.response import TemplateResponse
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import ensure_csrf_cookie
from django.views.decorators.http import require_GET, require_POST

from ... import inplace
from ... import views as core_views
from ...cost_preview import estimate_response, initial_estimate
from ...models import ImageJob
from ...providers import find_provider
from ...sources import source_images
from . import destinations
from .forms import OPERATIONS, form_for_operation
from .models import ImageJobDestination
from .permissions import can_act_on_job, can_run_operations, can_view_jobs, image_model

#: Seconds between two polls of a running job by the panel.
POLL_INTERVAL = 1.0

#: The app's editor views (``Provider.editor_view``) -> their page in Wagtail's admin.
EDITOR_VIEWS = {core_views.EDITOR_VIEW: "imageops_wagtail:editor"}


def editor_url(job: ImageJob) -> str:
    """The Wagtail page of the vendor's editor for ``job`` (a review job with an image on the
    vendor's side), or ""."""
    provider = find_provider(job.operation, job.provider)
    if provider is None or not provider.supports_review or not job.vendor_image_id:
        return ""
    name = EDITOR_VIEWS.get(provider.editor_view)
    return reverse(name, args=[job.uuid]) if name else ""


def job_url(user, job: ImageJob) -> str:
    """The job's page in the job list (``viewsets.ImageJobViewSet``) for users who may see it,
    else ""."""
    if not can_view_jobs(user):
        return ""
    try:
        return reverse("imageops_wagtail_jobs:inspect", args=[job.pk])
    except NoReverseMatch:
        return ""


def job_list_url(user, batch=None) -> str:
    """The job list (filtered to ``batch`` when given) for users who may see it, else ""."""
    if not can_view_jobs(user):
        return ""
    try:
        url = reverse("imageops_wagtail_jobs:index")
    except NoReverseMatch:
        return ""
    return f"{url}?batch={batch}" if batch else url


def image_edit_url(image) -> str:
    """The image's edit page in Wagtail's admin."""
    return reverse("wagtailimages:edit", args=[image.pk])


def apply_label(destination: ImageJobDestination | None) -> str:
    """The apply button's words for ``destination``."""
    if destination is not None and destination.destination == destination.Destination.REPLACE:
        return gettext("Replace the file")
    return gettext("Save as a new image")


def _image(request, image_id):
    """The image ``image_id`` if the user may run operations on it (else 404/403)."""
    image = get_object_or_404(image_model(), pk=image_id)
    if not can_run_operations(request.user, image):
        raise PermissionDenied
    return image


def job_payload(request, image, job: ImageJob) -> dict:
    """``inplace.panel_payload`` of ``job`` for the edit page of ``image``: the apply button says
    where the result goes; once applied, ``applied_url`` opens the new image, and a replaced file
    reloads the page (``reload_after_apply``: its preview, size and focal point changed)."""
    destination = ImageJobDestination.objects.filter(job_id=job.pk).first()
    waiting = job.status == ImageJob.Status.WAITING_FOR_EDITOR
    payload = inplace.panel_payload(
        job,
        apply_url=reverse("imageops_wagtail:image_job_apply", args=[image.pk, job.uuid]),
        job_url=job_url(request.user, job),
        editor_url=editor_url(job) if waiting else "",
        model=type(image),
    )
    if payload["apply"]:
        payload["apply"]["label"] = apply_label(destination)
    if job.applied_at and destination is not None and destination.image_id:
        if destination.destination == destination.Destination.REPLACE:
            payload["applied_text"] = gettext(
                "The file was replaced; the previous file is kept and named in the image's history."
            )
            payload["reload_after_apply"] = True
        else:
            new = type(image).objects.filter(pk=destination.image_id).first()
            if new is not None:
                payload["applied_text"] = gettext("Saved as a new image: %(title)s.") % {
                    "title": new.title
                }
                payload["applied_url"] = image_edit_url(new)
    payload["status_url"] = reverse("imageops_wagtail:image_job", args=[image.pk, job.uuid])
    payload["poll_interval"] = POLL_INTERVAL
    return payload


def image_operation(request, image_id, operation: str):
    """The panel's form of ``operation`` for one image (see the module docstring)."""
    image = _image(request, image_id)
    if operation not in OPERATIONS:
        raise Http404
    form_class = form_for_operation(operation)
    url = reverse("imageops_wagtail:image_operation", args=[image.pk, operation])
    form_kwargs: dict[str, Any] = {
        "image_fields": [("file", inplace.field_label(type(image), "file"))],
        "estimate_url": url,
        "auto_id": "id_imageops-%s",
    }
    if request.method == "POST":
        form = form_class(request.POST, **form_kwargs)
        if request.POST.get("imageops_estimate"):
            return estimate_response(request, form, operation, [image])
        form.sources = source_images([image], "file")
        if form.is_valid():
            kwargs = form.job_kwargs()
            try:
                [job] = destinations.queue_jobs(
                    operation,
                    [image],
                    destination=form.cleaned_data["destination"],
                    apply_on_success=False,
                    created_by=request.user,
                    provider=kwargs["provider"],
                    params=kwargs["params"],
                )
            except ValidationError as error:
                form.add_validation_error(error)
            else:
                job = ImageJob.objects.select_related("source_content_type").get(pk=job.pk)
                return JsonResponse(job_payload(request, image, job), status=202)
        return _panel(request, image, form, operation, status=400)
    if request.method != "GET":
        return HttpResponse(status=405)
    form = form_class(**form_kwargs)
    form.sources = source_images([image], "file")
    form.estimate = initial_estimate(form, operation, [image], request.user)
    return _panel(request, image, form, operation)


def _panel(request, image, form, operation: str, status: int = 200) -> HttpResponse:
    html = render_to_string(
        "django_imageops/wagtail/inplace_form.html",
        {
            "form": form,
            "title": dict(ImageJob.Operation.choices).get(operation, operation),
            "object": image,
            "field_label": inplace.field_label(type(image), "file"),
            "action_url": form.estimate_url,
        },
        request=request,
    )
    return HttpResponse(html, status=status)


@require_GET
def image_job(request, image_id, job_uuid):
    """The job's ``job_payload`` (polled by the panel)."""
    image = _image(request, image_id)
    return JsonResponse(job_payload(request, image, inplace.job_on(image, job_uuid)))


@require_POST
def image_job_apply(request, image_id, job_uuid):
    """Put the job's result where its form said (``destinations.apply``); answers the new
    payload, or ``409 {"error"}`` when it cannot be applied."""
    image = _image(request, image_id)
    job = inplace.job_on(image, job_uuid)
    try:
        destinations.apply(job, user=request.user)
    except ValueError as error:
        return JsonResponse({"error": str(error)}, status=409)
    job.refresh_from_db()
    return JsonResponse(job_payload(request, image, job))


# -- the vendor's editor, in Wagtail's skin --------------------------------------------------


def _editable_job(request, job_uuid) -> ImageJob:
    return core_views.get_editable_job(request, job_uuid, can_act=can_act_on_job)


@never_cache
@ensure_csrf_cookie
@require_GET
def editor(request, job_uuid):
    """The editor page of one job (template ``django_imageops/wagtail/clippingmagic_editor.html``,
    the app's editor script), with links to the job and to its image."""
    job = _editable_job(request, job_uuid)
    context = core_views.editor_context(
        request,
        job,
        callback_url=reverse("imageops_wagtail:editor_callback", args=[job.uuid]),
        status_url=reverse("imageops_wagtail:editor_status", args=[job.uuid]),
    )
    source = job.source_object if job.source_content_type_id else None
    context["links"] = {
        "job": job_url(request.user, job),
        "source": image_edit_url(source) if source is not None and hasattr(source, "file") else "",
    }
    return TemplateResponse(request, "django_imageops/wagtail/clippingmagic_editor.html", context)


@never_cache
@require_POST
def editor_callback(request, job_uuid):
    """The editor page's events (``django_imageops.views.editor_callback``)."""
    return core_views.editor_callback(request, _editable_job(request, job_uuid))


@never_cache
@require_GET
def editor_status(request, job_uuid):
    """The job's status, polled by the editor page (``views.job_status_payload``)."""
    return JsonResponse(core_views.job_status_payload(_editable_job(request, job_uuid)))
