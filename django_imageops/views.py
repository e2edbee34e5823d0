"""The embedded ClippingMagic editor: a page, its callback and a small JSON status endpoint.

ClippingMagic's own split: uploads and downloads happen on our server (``jobs``), the
clipping happens in the person's browser in ClippingMagic.js, which only ever gets our API Id
and the image's id and secret. The API key never reaches the page.

- ``clippingmagic_editor`` (``GET clippingmagic/<uuid>/``): the page. It loads ClippingMagic.js
  (``IMAGEOPS["VENDORS"]["clippingmagic"]["JS_URL"]``), calls ``ClippingMagic.initialize`` and
  ``ClippingMagic.edit``; its data comes in a ``json_script`` block.
- ``clippingmagic_callback`` (``POST clippingmagic/<uuid>/callback/``, JSON, CSRF-protected):
  the page reports the editor's events. ``result-generated`` enqueues the download
  (``jobs.request_review_result``); ``error`` is recorded on the job
  (``jobs.record_editor_error``); ``editor-exit`` changes nothing (the job keeps waiting).
- ``clippingmagic_status`` (``GET clippingmagic/<uuid>/status/``): the job's status, result
  revision and result URL as JSON, polled by the page while the result downloads.

Who may use them: see ``django_imageops.permissions.can_act_on_job``. Anonymous users are
redirected to ``settings.LOGIN_URL``; others get 404 (or 403 for staff lacking the permission).
"""

from __future__ import annotations

import json
from typing import Any

from django.conf import settings as django_settings
from django.contrib import admin
from django.contrib.admin.utils import quote
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, render
from django.urls import NoReverseMatch, reverse
from django.utils.translation import get_language, to_locale
from django.utils.translation import gettext as _
from django.utils.translation.trans_real import parse_accept_lang_header
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import ensure_csrf_cookie
from django.views.decorators.http import require_GET, require_POST

from . import jobs
from .models import ImageJob
from .permissions import can_act_on_job
from .providers import all_providers, get_provider, vendor_settings

#: The URL name of the editor page (``Provider.editor_view`` of the providers it serves).
EDITOR_VIEW = "django_imageops:clippingmagic-editor"

#: Statuses in which the image is on ClippingMagic and may be (re-)edited.
EDITABLE_STATUSES = (ImageJob.Status.WAITING_FOR_EDITOR, ImageJob.Status.SUCCEEDED)

#: Largest callback body accepted, in bytes (the page sends a few hundred).
MAX_CALLBACK_BYTES = 16 * 1024


def editor_jobs():
    """The jobs this editor page opens: those of the providers whose ``editor_view`` it is."""
    wanted = Q(pk__in=[])
    for provider in all_providers():
        if provider.supports_review and provider.editor_view == EDITOR_VIEW:
            wanted |= Q(operation=provider.operation, provider=provider.name)
    return ImageJob.objects.filter(wanted)


def get_editable_job(request: HttpRequest, job_uuid, can_act=can_act_on_job) -> ImageJob:
    """The ClippingMagic job ``job_uuid`` if ``request.user`` may edit it (``can_act(user,
    job)``: ``permissions.can_act_on_job`` here; another admin may pass its own rule).

    Raises:
        Http404: no such ClippingMagic job, or the user is neither its creator nor staff.
        PermissionDenied: a staff user without the change permission on the job's source.
    """
    job = get_object_or_404(editor_jobs().select_related("source_content_type"), uuid=job_uuid)
    if not can_act(request.user, job):
        if request.user.is_staff:
            raise PermissionDenied
        raise Http404
    return job


def editor_ready(job: ImageJob) -> bool:
    """True when ``job``'s image is on ClippingMagic (id + secret known) and it may be edited."""
    return bool(job.vendor_image_id and job.vendor_secret and job.status in EDITABLE_STATUSES)


def clippingmagic_locale(request: HttpRequest) -> str:
    """The request's language as a ClippingMagic ``locale``, e.g. ``"en-US"``.

    The active language (``LocaleMiddleware``'s ``request.LANGUAGE_CODE``) gives the language;
    when it has no region (``"en"``), the region comes from the browser's ``Accept-Language``
    for that language, else from ``settings.LANGUAGE_CODE`` (``"en-us"``) when it is the same
    language. ``"pt-br"`` -> ``"pt-BR"``, ``"de"`` -> ``"de"``.
    """
    language = (getattr(request, "LANGUAGE_CODE", None) or get_language() or "en-us").lower()
    if "-" not in language:
        accepted = [
            code
            for code, _q in parse_accept_lang_header(request.META.get("HTTP_ACCEPT_LANGUAGE", ""))
        ]
        for code in [*accepted, django_settings.LANGUAGE_CODE]:
            code = code.lower()
            if code.startswith(language + "-"):
                language = code
                break
    return to_locale(language).replace("_", "-")


def _js_number(value: str) -> int | str:
    """``"2345"`` -> ``2345`` (ClippingMagic.js takes numeric ids); other values unchanged."""
    return int(value) if value.isdigit() else value


def _admin_url(viewname: str, *args) -> str:
    try:
        return reverse(viewname, args=args)
    except NoReverseMatch:
        return ""


def admin_links(request: HttpRequest, job: ImageJob) -> dict[str, str]:
    """Admin change-page URLs of the job and its source object, for staff (else empty).

    Returns:
        ``{"job": url, "source": url}``; a URL is ``""`` when that admin page does not exist.
    """
    if not request.user.is_staff:
        return {"job": "", "source": ""}
    opts = ImageJob._meta
    links = {
        "job": _admin_url(f"admin:{opts.app_label}_{opts.model_name}_change", quote(job.pk)),
        "source": "",
    }
    if job.source_object_id and (ct := job.source_content_type) is not None:
        links["source"] = _admin_url(
            f"admin:{ct.app_label}_{ct.model}_change", quote(job.source_object_id)
        )
    return links


def job_status_payload(job: ImageJob) -> dict[str, Any]:
    """The JSON the page polls: never the secret, never a credential.

    Shape::

        {"status": "waiting_for_editor", "status_display": "Waiting for editor",
         "finished": false, "editor_ready": true, "result_revision": 0,
         "result": null | {"url", "width", "height", "bytes", "content_type"},
         "error": null | {"code", "message"}}

    ``width``/``height`` are pixels, ``bytes`` the stored size; ``url`` comes from the storage's
    ``url()`` (no ``exists()`` call).
    """
    return {
        **job.status_summary(),
        "editor_ready": editor_ready(job),
        "result_revision": job.vendor_result_revision,
    }


def _page_text() -> dict[str, str]:
    """Translated messages the page's script shows."""
    return {
        "opening": _("Opening the ClippingMagic editor…"),
        "unsupported": _("This browser cannot run the ClippingMagic editor:"),
        "jsMissing": _("ClippingMagic.js could not be loaded. Check your network and reload."),
        "exited": _("The editor was closed without a new result; the job keeps waiting."),
        "saving": _("Result saved in ClippingMagic. Downloading it…"),
        "downloaded": _("The result is stored."),
        "slow": _(
            "The download is taking longer than expected; the result will appear on the job's "
            "page when it is stored."
        ),
        "failed": _("The job failed:"),
        "editorError": _("The editor reported an error:"),
        "callbackFailed": _("Could not tell the server about the result:"),
        "preparing": _("The image is being uploaded to ClippingMagic…"),
        "notEditable": _("This job cannot be edited any more."),
        "stored": _("The result is stored. You can edit it again."),
        "editAgain": _("Edit again"),
        # The stored result's size: the script puts in %(width)s and %(height)s (pixels).
        "size": _("%(width)s × %(height)s px"),  # noqa: RUF001 (the sign is meant)
    }


@never_cache
@ensure_csrf_cookie
@login_required
@require_GET
def clippingmagic_editor(request: HttpRequest, job_uuid) -> HttpResponse:
    """The editor page of one ClippingMagic job (template
    ``django_imageops/clippingmagic/editor.html``).

    Context: ``job``, ``editor_ready``, ``clippingmagic_js_url``, ``editor_config`` (rendered with
    ``json_script``: ``apiId``, ``image`` ``{id, secret}`` or ``None``, ``locale``, URLs,
    ``resultRevision``, ``text``), ``admin_links``, ``status`` (``job_status_payload``) and the
    admin site's context.
    """
    job = get_editable_job(request, job_uuid)
    site_context = admin.site.each_context(request)
    if not site_context.get("has_permission"):
        # A creator who is not staff: no admin sidebar ("no permission to view anything").
        site_context["is_nav_sidebar_enabled"] = False
    context = {
        **site_context,
        **editor_context(
            request,
            job,
            callback_url=reverse("django_imageops:clippingmagic-callback", args=[job.uuid]),
            status_url=reverse("django_imageops:clippingmagic-status", args=[job.uuid]),
        ),
        "admin_links": admin_links(request, job),
    }
    return render(request, "django_imageops/clippingmagic/editor.html", context)


def editor_context(request: HttpRequest, job: ImageJob, *, callback_url: str, status_url: str):
    """What an editor page of ``job`` shows (any admin's template): ``title``, ``job``,
    ``editor_ready``, ``clippingmagic_js_url``, ``status`` (``job_status_payload``) and
    ``editor_config`` (for ``json_script``: ``apiId``, ``image`` ``{id, secret}`` or ``None``,
    ``locale``, ``status``, ``resultRevision``, ``callbackUrl``, ``statusUrl``, poll timing,
    ``text``). Only the API Id and the image's id and secret are in it, never the API key."""
    settings = vendor_settings(get_provider(job.operation, job.provider).vendor)
    ready = editor_ready(job)
    config = {
        "apiId": _js_number(str(settings["API_ID"])),
        "image": (
            {"id": _js_number(job.vendor_image_id), "secret": job.vendor_secret} if ready else None
        ),
        "locale": clippingmagic_locale(request),
        "status": job.status,
        "resultRevision": job.vendor_result_revision,
        "callbackUrl": callback_url,
        "statusUrl": status_url,
        "pollInterval": 1.0,
        "pollTimeout": 120.0,
        "text": _page_text(),
    }
    return {
        "title": _("Edit the cut-out"),
        "job": job,
        "editor_ready": ready,
        "clippingmagic_js_url": settings["JS_URL"],
        "editor_config": config,
        "status": job_status_payload(job),
    }


def _bad_request(message: str, status: int = 400) -> JsonResponse:
    return JsonResponse({"error": message}, status=status)


@never_cache
@login_required
@require_POST
def clippingmagic_callback(request: HttpRequest, job_uuid) -> JsonResponse:
    """Receive one ClippingMagic.js event from the editor page (JSON body, CSRF-checked).

    Body: ``{"event": "result-generated", "image": {"id": 2345}}``,
    ``{"event": "error", "error": {"status": 400, "code": 1006, "message": "..."}}`` or
    ``{"event": "editor-exit"}``.

    Returns JSON: ``job_status_payload`` (202 after enqueueing a download, 200 otherwise), or
    ``{"error": message}`` with 400 (malformed body, an image id that is not the job's own) or
    409 (the job is not waiting for the editor).
    """
    return editor_callback(request, get_editable_job(request, job_uuid))


def editor_callback(request: HttpRequest, job: ImageJob) -> JsonResponse:
    """Handle one editor event posted for ``job`` (``clippingmagic_callback``'s body and
    answers), once the caller has checked that ``request.user`` may edit it."""
    if len(request.body) > MAX_CALLBACK_BYTES:
        return _bad_request(_("Request body too large."), status=413)
    try:
        payload = json.loads(request.body or b"{}")
    except ValueError:
        return _bad_request(_("The body must be JSON."))
    if not isinstance(payload, dict):
        return _bad_request(_("The body must be a JSON object."))
    event = payload.get("event")

    if event == "result-generated":
        image = payload.get("image")
        image_id = image.get("id") if isinstance(image, dict) else None
        if image_id is None or isinstance(image_id, (dict, list, bool)):
            return _bad_request(_("image.id is required."))
        if not job.vendor_image_id or str(image_id) != job.vendor_image_id:
            return _bad_request(_("This image is not the job's ClippingMagic image."))
        if job.status not in EDITABLE_STATUSES:
            return _bad_request(_("This job is not waiting for the editor."), status=409)
        jobs.request_review_result(job, str(image_id))
        job.refresh_from_db()
        return JsonResponse(job_status_payload(job), status=202)

    if event == "error":
        error = payload.get("error")
        if not isinstance(error, dict):
            return _bad_request(_("error must be an object."))
        status = error.get("status")
        code = error.get("code")
        message = str(error.get("message") or "")[:2000]
        jobs.record_editor_error(
            job,
            status=status if isinstance(status, int) and not isinstance(status, bool) else None,
            code="" if code is None else str(code)[:64],
            message=message,
        )
        job.refresh_from_db()
        return JsonResponse(job_status_payload(job))

    if event == "editor-exit":
        return JsonResponse(job_status_payload(job))

    return _bad_request(_("Unknown event."))


@never_cache
@login_required
@require_GET
def clippingmagic_status(request: HttpRequest, job_uuid) -> JsonResponse:
    """The job's ``job_status_payload`` as JSON (polled by the editor page)."""
    job = get_editable_job(request, job_uuid)
    return JsonResponse(job_status_payload(job))
