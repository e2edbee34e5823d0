"""Credits: what each job spent, and each vendor's last known balance (``VendorCredits``)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from django.db import DatabaseError, IntegrityError, connection, transaction
from django.db.models import F
from django.utils import timezone

from ..models import ImageJob, VendorCredits
from .states import set_later, update

logger = logging.getLogger(__name__)


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
    defer: bool = False,
) -> None:
    """Add ``consumed`` credits to ``job`` and keep ``vendor``'s balance.

    The balance is the vendor's own figure when it reported one (``remaining``: e.g. Clipdrop's
    ``x-remaining-credits``); otherwise the credits spent are taken off the last known balance,
    so no account call is needed per job. ``job`` None: a call made for no job.

    ``defer=True`` (a run's vendor call): the job's columns are written with its next write
    (``states.set_later``: the result's, a retry's, the spool's), so recording a call already
    paid for adds no write that a busy database could fail. The balance row is shared by every
    job: writing it is best effort (a database error is logged, never raised), it never fails
    a job.
    """
    consumed = Decimal(consumed or 0)
    fields: dict[str, Any] = {}
    if consumed and job is not None:
        fields["credits_consumed"] = Decimal(job.credits_consumed or 0) + consumed
    if remaining is not None:
        fields["credits_remaining"] = Decimal(remaining)
    if fields and job is not None:
        (set_later if defer else update)(job, **fields)
    if remaining is not None:
        _quietly(vendor, lambda: save_balance(vendor, Decimal(remaining), {}))
    elif consumed:
        _quietly(
            vendor,
            lambda: VendorCredits.objects.filter(vendor=vendor, remaining__isnull=False).update(
                remaining=F("remaining") - consumed, updated_at=timezone.now()
            ),
        )


def save_balance(vendor: str, remaining: Decimal | None, details: dict) -> None:
    """Write ``vendor``'s ``VendorCredits`` row: one UPDATE, an INSERT the first time (a
    read-then-write such as ``update_or_create`` would take SQLite's write lock late, where a
    busy database answers "database is locked" at once instead of waiting its timeout).

    Raises:
        DatabaseError: the write failed.
    """
    values = {"remaining": remaining, "details": dict(details), "updated_at": timezone.now()}
    if VendorCredits.objects.filter(vendor=vendor).update(**values):
        return
    try:
        with transaction.atomic():
            VendorCredits.objects.create(vendor=vendor, **values)
    except IntegrityError:  # another worker inserted it meanwhile
        VendorCredits.objects.filter(vendor=vendor).update(**values)


def _quietly(vendor: str, write: Callable[[], Any]) -> bool:
    """Run ``write`` (a balance write); a database error is logged and False returned."""
    try:
        if connection.in_atomic_block:  # a savepoint keeps the caller's transaction usable
            with transaction.atomic():
                write()
        else:
            write()
    except DatabaseError as exc:
        logger.warning("The %s balance was not recorded (%s); the job goes on.", vendor, exc)
        return False
    return True


def record_balance(vendor: str, remaining: Decimal | None, details: dict) -> None:
    """Store the balance ``vendor``'s account endpoint reported (with its ``details``).

    Raises:
        DatabaseError: the write failed (a person asked for it and is told).
    """
    save_balance(vendor, remaining, details)
