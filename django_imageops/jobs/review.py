"""A person finishing a job in the vendor's editor (providers that ``supports_review``):
the editor's save arrives (``request_review_result``), newer results are fetched
(``fetch_review_result``), and editor errors are recorded (``record_editor_error``)."""

from __future__ import annotations

from django.db import transaction

from ..models import ImageJob
from ..providers import Provider, find_provider
from ..redaction import job_redactor
from .context import NowContext
from .history import Kind, flush_events, record_event
from .queue import enqueue
from .results import mark_stored, store
from .states import RUNNING, SUCCEEDED, WAITING, update

Kind = Kind


def review_provider(job: ImageJob) -> Provider:
    """The job's provider when it supports review and the job has an image on its side.

    Raises:
        ValueError: otherwise ("the job has no ClippingMagic image").
    """
    provider = find_provider(job.operation, job.provider)
    if provider is None or not provider.supports_review or not job.vendor_image_id:
        label = provider.label if provider is not None else job.provider
        raise ValueError(f"the job has no {label} image")
    return provider


def fetch_review_result(job: ImageJob, *, image_id: str | None = None) -> bool:
    """Download a newer editor result of ``job`` (the editor's callback and
    ``imageops_fetch_results`` both land here) and store it as the job's result; earlier
    result files stay on storage, named in the job's events.

    The provider checks the vendor's revision first (``Provider.fetch_review_result``; e.g.
    ClippingMagic ``GET /api/v1/images/{id}?format=json``, free) and downloads only a newer one.

    Returns:
        True when a new result was stored.

    Raises:
        ValueError: ``image_id`` is not the job's vendor image, or the job has none.
        VendorError: when the vendor fails (the job's status does not change); ``RateLimited``
            when the rate limiter says to wait.
    """
    provider = review_provider(job)
    if image_id is not None and str(image_id) != job.vendor_image_id:
        raise ValueError(f"image_id is not this job's {provider.label} image")
    if job.status not in (WAITING, SUCCEEDED, RUNNING):
        return False
    ctx = NowContext(provider, job)
    try:
        result = provider.fetch_review_result(ctx)
    finally:
        ctx.close()
    flush_events(job)
    if result is None:
        return False
    info = store(job, result.content, result.content_type, result.revision)
    if info is None:
        return False
    return mark_stored(job, info, result.revision)


def request_review_result(job: ImageJob, image_id: str) -> None:
    """Enqueue the ``fetch_review_result`` task for ``job`` when the transaction commits.

    Raises:
        ValueError: ``image_id`` is not the job's vendor image.
    """
    if not job.vendor_image_id or str(image_id) != job.vendor_image_id:
        provider = find_provider(job.operation, job.provider)
        label = provider.label if provider is not None else job.provider
        raise ValueError(f"image_id is not this job's {label} image")
    record_event(job, Kind.EDITOR, "the editor saved a result; fetching it", image_id=str(image_id))
    job_id = job.pk
    transaction.on_commit(lambda: enqueue("fetch_review_result", job_id))


def record_editor_error(job: ImageJob, *, status=None, code: str = "", message: str = "") -> None:
    """Record an error the vendor's editor reported in the browser (the job's status is kept,
    so the person can open the editor again), without the vendor's secrets."""
    redactor = job_redactor(job)
    message, code = redactor.text(message), redactor.text(code)
    record_event(job, Kind.EDITOR, f"editor error: {message}", status=status, code=code)
    update(
        job, error_code=("editor_" + code)[:64] if code else "editor_error", error_message=message
    )
