"""Credits: what each job spent (as the vendor reported it, or estimated from the vendor's
price), the credits spent per vendor and UTC day (``CreditUsage``), each vendor's balance
(``VendorCredits``), reconciling that balance, and the low-balance signal.

Reconciling (issue: a vendor that answers after our read timeout did the work and charged for
it, and nothing recorded it): where a vendor reports its balance (Clipdrop's
``x-remaining-credits`` on each call, ClippingMagic's account endpoint), a balance reported by a
call that ran while no other paid call of the vendor was under way is exact: every credit spent
before it is in it, and every credit recorded before it was spent before it. Between two exact
balances, the vendor's balance fell by what was spent; what the jobs recorded in between is
known; the difference is spend no job recorded. It is recorded as ``CreditUsage.unrecorded``
(and counts against the vendor's budgets). Balances reported while other paid calls were under
way are shown but not reconciled (their order at the vendor is unknown); a rise (credits bought)
is never counted. Calls under way are counted per vendor (``begin_call`` / ``record_call`` /
``end_call``); a count left by a crashed worker expires after ``stale_after`` seconds.

The rows every job shares (the vendor's balance, the day's usage, the budget counters) are
written best effort once a vendor has answered: a database error there is logged and never fails
a job or loses its result; the job's own credits go with its next write (``defer``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, date, timedelta
from decimal import Decimal
from typing import Any

from django.db import DatabaseError, connection, transaction
from django.db.models import Case, F, Value, When
from django.utils import timezone

from .. import signals
from ..amounts import parse_credits
from ..models import CreditUsage, ImageJob, VendorCredits
from ..providers import vendor_settings
from .budgets import charge as charge_budgets
from .states import set_later, update

logger = logging.getLogger(__name__)


def today() -> date:
    """Today's date in UTC (``CreditUsage.day``; budgets use UTC periods too)."""
    return timezone.now().astimezone(UTC).date()


def low_balance_threshold(vendor: str) -> Decimal | None:
    """The vendor's ``LOW_BALANCE`` setting (credits), or None when unset.

    Raises:
        ValueError: not a number of credits (check E009 reports it).
    """
    try:
        value = vendor_settings(vendor).get("LOW_BALANCE")
    except KeyError:
        return None
    return None if value is None else parse_credits(value, "LOW_BALANCE")


def begin_call(vendor: str, *, stale_after: float = 600.0) -> bool:
    """Count one paid call as under way on ``vendor`` (a vendor whose balance is reconciled).

    One ``UPDATE``: ``in_flight + 1``, and ``overlapped`` when another was under way already.
    A count older than ``stale_after`` seconds (a worker that died mid-call) restarts at 1, and
    the call is marked overlapped (its balance is not trusted).

    Returns:
        True when counted; False when the database refused (logged): the call then goes
        uncounted, and its end must not be counted either.
    """
    return _quietly(vendor, lambda: _begin(vendor, stale_after))


def _begin(vendor: str, stale_after: float) -> None:
    now = timezone.now()
    stale = now - timedelta(seconds=stale_after)
    rows = VendorCredits.objects.filter(vendor=vendor)
    # overlapped first: MySQL evaluates SET clauses left to right with the new values.
    changes = {
        "overlapped": Case(When(in_flight__gt=0, then=Value(True)), default=F("overlapped")),
        "in_flight": Case(When(in_flight_at__lt=stale, then=Value(1)), default=F("in_flight") + 1),
        "in_flight_at": now,
    }
    if not rows.update(**changes):
        _, created = VendorCredits.objects.get_or_create(
            vendor=vendor, defaults={"in_flight": 1, "in_flight_at": now}
        )
        if not created:
            rows.update(**changes)


def end_call(vendor: str) -> None:
    """A call counted by ``begin_call`` ended without telling a balance (it failed)."""

    def leave():
        """Take the call off the vendor's row, under a row lock."""
        with transaction.atomic():
            row = VendorCredits.objects.select_for_update().filter(vendor=vendor).first()
            if row is not None:
                _leave(row)
                row.save(update_fields=["in_flight", "overlapped", "updated_at"])

    _quietly(vendor, leave)


def _leave(row: VendorCredits) -> bool:
    """Take one call off ``row``'s count; True when it ran alone (its balance is exact)."""
    alone = row.in_flight == 1 and not row.overlapped
    row.in_flight = max(0, row.in_flight - 1)
    if row.in_flight == 0:
        row.overlapped = False
    return alone


def record_call(
    job: ImageJob | None,
    vendor: str,
    *,
    consumed: Decimal | int | None = None,
    remaining: Decimal | None = None,
    estimated: bool = False,
    tracked: bool = False,
    details: dict | None = None,
    budgeted: bool = False,
    defer: bool = False,
) -> Decimal:
    """Record what one vendor call cost and what it said about the balance.

    Args:
        job: the job that paid (None: a call made for no job, e.g. an account call).
        consumed: credits the call cost (the vendor's figure, or the price when
            ``estimated``).
        remaining: the balance the vendor reported with it, if any.
        estimated: ``consumed`` comes from the vendor's price setting, not from the vendor.
        tracked: the call was counted by ``begin_call`` (it ends here).
        details: the account endpoint's details, stored with the balance.
        budgeted: a budget reservation covers ``consumed`` (the caller settles it); otherwise
            it is added to the budgets that apply.
        defer: write the job's credits with its next write (``states.set_later``: a run's
            vendor call, so that no extra write can fail between the answer and the result).

    Writes: the job's credits (one ``UPDATE``, or none with ``defer``); best effort (a
    database error is logged): the vendor's row (locked: one ``SELECT ... FOR UPDATE`` and one
    ``UPDATE``; one ``UPDATE`` when nothing is reconciled), the day's ``CreditUsage`` (one
    ``UPDATE``) and the budgets. Sends ``credits_low`` after commit when the balance falls below
    the vendor's ``LOW_BALANCE``.

    Returns:
        Credits found by reconciling (spent per the balance, recorded by no job); usually 0.
    """
    consumed = Decimal(consumed or 0)
    remaining = None if remaining is None else Decimal(remaining)
    if job is not None:
        fields: dict[str, Any] = {}
        if consumed:
            fields["credits_consumed"] = Decimal(job.credits_consumed or 0) + consumed
            if estimated:
                fields["credits_estimated"] = True
        if remaining is not None:
            fields["credits_remaining"] = remaining
        if fields:
            (set_later if defer else update)(job, **fields)
    outcome: dict[str, Any] = {"found": Decimal(0), "low": None}

    def shared():
        """The writes every job shares (``_shared_writes``), for ``_quietly``."""
        _shared_writes(vendor, consumed, remaining, estimated, tracked, details, outcome)

    _quietly(vendor, shared)
    if consumed and not budgeted:
        _quietly(
            vendor,
            lambda: charge_budgets(
                vendor,
                consumed,
                user_id=job.created_by_id if job is not None else None,
                batch=job.batch if job is not None else None,
            ),
        )
    found = outcome["found"]
    if found:
        _quietly(vendor, lambda: charge_budgets(vendor, found))
    if outcome["low"] is not None:
        row_vendor, balance, threshold = outcome["low"]
        transaction.on_commit(
            lambda: signals.credits_low.send(
                sender=VendorCredits, vendor=row_vendor, remaining=balance, threshold=threshold
            )
        )
    return found


def _shared_writes(vendor, consumed, remaining, estimated, tracked, details, outcome) -> None:
    """The vendor's row (reconciled when the call ran alone) and the day's usage; what was
    found and whether the balance just fell low go into ``outcome`` once written."""
    found, low = Decimal(0), None
    if not (tracked or remaining is not None or details is not None):
        # Nothing to reconcile: the known balance (if any) follows in one UPDATE.
        if consumed:
            low = _spend(vendor, consumed)
    else:
        with transaction.atomic():
            row = _locked_row(vendor)
            alone = _leave(row) if tracked else False
            row.recorded += consumed
            if remaining is not None:
                if alone:
                    found = _reconcile(row, remaining)
                row.remaining = remaining
            elif consumed and row.remaining is not None:
                row.remaining -= consumed
            if details is not None:
                row.details = dict(details)
            low = _check_low(row)
            row.save()
    if consumed or found:
        _add_usage(
            vendor,
            reported=Decimal(0) if estimated else consumed,
            estimated=consumed if estimated else Decimal(0),
            unrecorded=found,
        )
    outcome.update(found=found, low=low)


def _quietly(vendor: str, write: Callable[[], Any]) -> bool:
    """Run ``write`` (a write of rows every job shares); a database error is logged and False
    returned: it never fails a job."""
    try:
        if connection.in_atomic_block:  # a savepoint keeps the caller's transaction usable
            with transaction.atomic():
                write()
        else:
            write()
    except DatabaseError as exc:
        logger.warning("The %s credits were not all recorded (%s); the job goes on.", vendor, exc)
        return False
    return True


def _locked_row(vendor: str) -> VendorCredits:
    row = VendorCredits.objects.select_for_update().filter(vendor=vendor).first()
    if row is None:
        VendorCredits.objects.get_or_create(vendor=vendor)
        row = VendorCredits.objects.select_for_update().get(vendor=vendor)
    return row


def _reconcile(row: VendorCredits, remaining: Decimal) -> Decimal:
    """With an exact ``remaining``: the spend since the last exact balance that no job
    recorded (0 when none, or when credits were bought); then ``remaining`` becomes the
    checkpoint."""
    found = Decimal(0)
    if row.checkpoint_remaining is not None:
        fell_by = row.checkpoint_remaining - remaining
        recorded = row.recorded - row.checkpoint_recorded
        if fell_by > recorded:
            found = fell_by - recorded
            row.recorded += found
    row.checkpoint_remaining = remaining
    row.checkpoint_recorded = row.recorded
    return found


def _spend(vendor: str, consumed: Decimal) -> tuple[str, Decimal, Decimal] | None:
    """Take ``consumed`` off the known balance (none known: nothing to do); like
    ``_check_low`` when the balance just fell below ``LOW_BALANCE``."""
    rows = VendorCredits.objects.filter(vendor=vendor, remaining__isnull=False)
    if not rows.update(
        remaining=F("remaining") - consumed,
        recorded=F("recorded") + consumed,
        updated_at=timezone.now(),
    ):
        return None
    try:
        threshold = low_balance_threshold(vendor)
    except ValueError:
        return None
    if threshold is None or not rows.filter(low=False, remaining__lt=threshold).update(low=True):
        return None
    balance = rows.values_list("remaining", flat=True).first()
    return None if balance is None else (vendor, balance, threshold)


def _check_low(row: VendorCredits) -> tuple[str, Decimal, Decimal] | None:
    """Update ``row.low``; ``(vendor, balance, threshold)`` when the balance just fell below
    ``LOW_BALANCE`` (``credits_low`` is sent once per fall; a balance back above re-arms it)."""
    try:
        threshold = low_balance_threshold(row.vendor)
    except ValueError:
        threshold = None
    if threshold is None or row.remaining is None:
        row.low = False
        return None
    crossed = row.remaining < threshold and not row.low
    row.low = row.remaining < threshold
    return (row.vendor, row.remaining, threshold) if crossed else None


def _add_usage(vendor: str, *, reported: Decimal, estimated: Decimal, unrecorded: Decimal) -> None:
    """Add to the day's ``CreditUsage`` row (one ``UPDATE``; the first of the day creates it)."""
    day = today()
    changes = {
        "reported": F("reported") + reported,
        "estimated": F("estimated") + estimated,
        "unrecorded": F("unrecorded") + unrecorded,
    }
    rows = CreditUsage.objects.filter(vendor=vendor, day=day)
    if not rows.update(**changes):
        # The day's first: insert its row (unless another worker just did), then add.
        CreditUsage.objects.bulk_create(
            [CreditUsage(vendor=vendor, day=day)], ignore_conflicts=True
        )
        rows.update(**changes)
