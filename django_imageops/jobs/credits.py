"""Credits: what each job spent, and each vendor's last known balance (``VendorCredits``)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.db.models import F
from django.utils import timezone

from ..models import ImageJob, VendorCredits
from .states import update


def format_credits(value: Decimal | int | None) -> str:
    """Credits in plain digits: ``Decimal("4.000")`` -> ``"4"``, ``Decimal("0.250")`` ->
    ``"0.25"``; ``None`` -> ``""``."""
    if value is None:
        return ""
    value = Decimal(value)
    if value == value.to_integral():
        return str(value.quantize(Decimal(1)))
    return f"{value.normalize():f}"


def record_credits(
    job: ImageJob | None,
    vendor: str,
    *,
    consumed: Decimal | int | None = None,
    remaining: Decimal | None = None,
) -> None:
    """Add ``consumed`` credits to ``job`` and keep ``vendor``'s balance.

    The balance is the vendor's own figure when it reported one (``remaining``: e.g. Clipdrop's
    ``x-remaining-credits``); otherwise the credits spent are taken off the last known balance,
    so no account call is needed per job. ``job`` None: a call made for no job.
    """
    consumed = Decimal(consumed or 0)
    fields: dict[str, Any] = {}
    if consumed and job is not None:
        fields["credits_consumed"] = Decimal(job.credits_consumed or 0) + consumed
    if remaining is not None:
        fields["credits_remaining"] = Decimal(remaining)
        VendorCredits.objects.update_or_create(
            vendor=vendor, defaults={"remaining": Decimal(remaining), "details": {}}
        )
    elif consumed:
        VendorCredits.objects.filter(vendor=vendor, remaining__isnull=False).update(
            remaining=F("remaining") - consumed, updated_at=timezone.now()
        )
    if fields and job is not None:
        update(job, **fields)


def record_balance(vendor: str, remaining: Decimal | None, details: dict) -> None:
    """Store the balance ``vendor``'s account endpoint reported (with its ``details``)."""
    VendorCredits.objects.update_or_create(
        vendor=vendor, defaults={"remaining": remaining, "details": dict(details)}
    )
