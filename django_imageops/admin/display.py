"""Rendering helpers of the admin pages: thumbnails, status badges, URLs, durations, redaction.

None of them asks storage anything: URLs come from ``storage.url()`` and sizes from the stored
width/height, so a list of 100 jobs renders without an S3 request.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.text import get_text_list
from django.utils.translation import gettext, ngettext

from ..models import ImageJob
from ..providers import Provider, all_providers, find_provider
from ..redaction import SENSITIVE_WORDS, is_sensitive  # noqa: F401  (SENSITIVE_WORDS: re-exported)

THUMB_SIZE = 80  # pixels, the longer side of a list thumbnail

CSS = {"all": ("django_imageops/admin/imageops.css",)}


def thumbnail(
    url: str, width=None, height=None, *, size: int = THUMB_SIZE, alt: str = "", src: str = ""
):
    """An ``<img>`` of ``src`` (a stored thumbnail; default ``url`` itself) fitting ``size``
    pixels and linked to ``url`` (the full image), scaled from the stored ``width``/``height``
    when known (so the browser reserves the box), or "-" without a URL."""
    if not url:
        return "-"
    src = src or url
    if width and height:
        scale = min(1.0, size / max(width, height))
        return format_html(
            '<a href="{}" target="_blank" rel="noopener"><img src="{}" class="imageops-thumb" '
            'width="{}" height="{}" alt="{}" loading="lazy"></a>',
            url,
            src,
            max(1, round(width * scale)),
            max(1, round(height * scale)),
            alt,
        )
    return format_html(
        '<a href="{}" target="_blank" rel="noopener"><img src="{}" class="imageops-thumb" '
        'style="max-width:{}px;max-height:{}px" alt="{}" loading="lazy"></a>',
        url,
        src,
        size,
        size,
        alt,
    )


def result_thumbnail(job: ImageJob, *, size: int = THUMB_SIZE, alt: str = ""):
    """``thumbnail`` of the job's result: its stored thumbnail (the full result when it has
    none), linked to the result, sized from ``result_width``/``result_height``. No I/O."""
    if not job.result:
        return "-"
    return thumbnail(
        job.result.url,
        job.result_width,
        job.result_height,
        size=size,
        alt=alt,
        src=job.result_thumbnail.url if job.result_thumbnail else "",
    )


def job_source_url(job: ImageJob) -> str:
    """URL of the job's source as it was when the job was created (``ImageJob.source_url``);
    "" when unknown. No I/O."""
    return job.source_url()


def job_result_url(job: ImageJob) -> str:
    """URL of the job's result from ``storage.url()``, or "" without a result. No I/O."""
    return job.result.url if job.result else ""


def redact(data):
    """A copy of JSON-like ``data`` with the values of keys naming a key, secret, token or
    password (``redaction.is_sensitive``) replaced by ``"(hidden)"`` (translated; at any
    depth)."""
    if isinstance(data, dict):
        hidden = gettext("(hidden)")
        return {k: hidden if is_sensitive(k) else redact(v) for k, v in data.items()}
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


def progress_words(job: ImageJob, now: datetime | None = None) -> str:
    """Where an unfinished job stands, in plain words: its provider's while it runs
    (``Provider.describe_progress``, e.g. "waiting for PiktID: poll 5, 15 s"), "next attempt
    in 12 s" while it waits to be tried again; "" otherwise. No query."""
    now = now or timezone.now()
    if job.status == ImageJob.Status.PENDING and job.next_attempt_at:
        seconds = max(0, round((job.next_attempt_at - now).total_seconds()))
        return ngettext(
            "next attempt in %(seconds)d second", "next attempt in %(seconds)d seconds", seconds
        ) % {"seconds": seconds}
    if job.status == ImageJob.Status.RUNNING:
        provider = job_provider(job)
        if provider is not None:
            return provider.describe_progress(job.vendor_state or {}, now=now.timestamp())
    return ""


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


def job_provider(job: ImageJob) -> Provider | None:
    """The registered provider of ``job``, or None (no longer registered)."""
    return find_provider(job.operation, job.provider)


def labels_of(flag: str) -> str:
    """The labels of the providers whose capability ``flag`` is set, as text ("ClippingMagic",
    "A or B"); for messages and action names that say which vendors an action is for."""
    labels = dict.fromkeys(str(p.label) for p in all_providers() if getattr(p, flag, False))
    return get_text_list(list(labels), gettext("or"))


def editor_url(job: ImageJob) -> str:
    """The vendor's editor page of a job whose provider ``supports_review`` and that has an
    image on the vendor's side (``Provider.editor_view``), or "" (also when the editor URLs are
    not installed)."""
    provider = job_provider(job)
    if provider is None or not provider.supports_review or not job.vendor_image_id:
        return ""
    try:
        return reverse(provider.editor_view, args=[job.uuid])
    except NoReverseMatch:
        return ""


def batch_changelist_url(batch, site_name: str = "admin") -> str:
    """The job changelist filtered to one batch (``?batch=<uuid>``)."""
    return reverse(f"{site_name}:django_imageops_imagejob_changelist") + f"?batch={batch}"
