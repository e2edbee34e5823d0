"""Vendor calls a person asks for outside a job's run (the admin's buttons): the account's
balance (providers that ``supports_balance``) and deleting the vendor-side copy of a job's
image (``supports_vendor_copy_delete``). Made while someone waits: a rate-limiter wait raises
``RateLimited`` instead of calling."""

from __future__ import annotations

from decimal import Decimal

from ..models import ImageJob
from ..providers import all_providers, find_provider
from .context import NowContext
from .history import Kind, record_event
from .states import update

Kind = Kind


def refresh_credits(provider: str | None = None) -> Decimal | None:
    """Ask a vendor for the account's remaining credits and store them in ``VendorCredits``.

    Only vendors with an account endpoint (``Provider.supports_balance``: ClippingMagic's
    ``GET /api/v1/account``) can be asked; the others report credits with each call, which
    ``run_job`` records.

    Args:
        provider: a provider or vendor name; None: the first registered provider that
            supports it (ClippingMagic with the built-ins).

    Returns:
        The remaining credits, or None when the vendor did not say.

    Raises:
        VendorError: when the account call fails (``RateLimited`` when the limiter says to
            wait); ValueError for a provider without an account endpoint.
    """
    candidates = [
        p
        for p in all_providers()
        if p.supports_balance and (provider is None or provider in (p.name, p.vendor))
    ]
    if not candidates:
        raise ValueError(f"{provider} has no account endpoint; credits come with each call")
    chosen = candidates[0]
    ctx = NowContext(chosen)
    try:
        remaining, details = chosen.balance(ctx)
    except BaseException:
        ctx.close()
        raise
    # Stored, and reconciled with the credits the jobs recorded (when no paid call ran
    # meanwhile): spend no job recorded shows as unrecorded on the credits page.
    ctx.close(remaining=remaining, details=ctx.redact_data(details))
    return remaining


def delete_vendor_copy(job: ImageJob) -> bool:
    """Delete the job's image on the vendor's side (e.g. ClippingMagic
    ``POST /api/v1/images/{id}/delete``).

    The job's ``vendor_image_id`` and ``vendor_secret`` are cleared (the editor can no longer
    open it) and the deleted id is kept in a job event; the stored result is untouched. An image
    the vendor no longer has counts as deleted.

    Returns:
        True when the vendor deleted it, False when it was already gone.

    Raises:
        ValueError: the job has no image on a vendor that can delete it.
        VendorError: when the vendor fails otherwise (e.g. ClippingMagic test images cannot be
            deleted).
    """
    provider = find_provider(job.operation, job.provider)
    if provider is None or not provider.supports_vendor_copy_delete or not job.vendor_image_id:
        label = provider.label if provider is not None else job.provider
        raise ValueError(f"the job has no {label} image")
    image_id = job.vendor_image_id
    ctx = NowContext(provider, job)
    try:
        deleted = provider.delete_vendor_copy(ctx)
    finally:
        ctx.close()
    update(job, vendor_image_id="", vendor_secret="")
    record_event(
        job,
        Kind.EDITOR,
        f"{provider.label} image {image_id} {'deleted' if deleted else 'was already gone'}",
        image_id=image_id,
        deleted=deleted,
    )
    return deleted
