"""Credits spent, per vendor, as the credits page and the REST API's ``credits/`` show them: the
balance, today and this month (reported by the vendor, estimated from its price, and found by
reconciling its balance but recorded by no job), the budgets, the low-balance state and a
day-by-day series for the 30-day chart. Read from ``CreditUsage``, ``VendorCredits`` and the
budget counters; never asks a vendor.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from ..amounts import format_credits
from ..models import CreditUsage, VendorCredits
from ..providers import all_providers
from .budgets import BudgetStatus, budget_statuses
from .credits import low_balance_threshold, today

ZERO = Decimal(0)


@dataclass(frozen=True)
class Spend:
    """Credits spent in a period, by how we know.

    Attributes:
        reported: as the vendor reported them.
        estimated: from the vendor's ``PRICE`` (it reports no cost).
        unrecorded: found by reconciling the vendor's balance; recorded by no job.
    """

    reported: Decimal = ZERO
    estimated: Decimal = ZERO
    unrecorded: Decimal = ZERO

    @property
    def total(self) -> Decimal:
        """All three together."""
        return self.reported + self.estimated + self.unrecorded

    def __add__(self, other: Spend) -> Spend:
        return Spend(
            self.reported + other.reported,
            self.estimated + other.estimated,
            self.unrecorded + other.unrecorded,
        )

    def as_dict(self) -> dict[str, str]:
        """Credits as strings, with ``total``."""
        return {
            "reported": format_credits(self.reported),
            "estimated": format_credits(self.estimated),
            "unrecorded": format_credits(self.unrecorded),
            "total": format_credits(self.total),
        }


@dataclass(frozen=True)
class VendorUsage:
    """One vendor's credits as they stand.

    Attributes:
        vendor, label: the vendor's name and display name.
        remaining: its last known balance (credits), None until it reported one.
        updated_at: when that balance was recorded.
        low: the balance is below ``low_balance``.
        low_balance: its ``LOW_BALANCE`` setting, None when unset.
        refreshable: it has an account endpoint (``Provider.supports_balance``).
        today, month: credits spent today and this month (UTC).
        budgets: its budgets (vendor-wide) as they stand.
        days: ``(day, Spend)`` for each of the last N days, oldest first, today last.
    """

    vendor: str
    label: str
    remaining: Decimal | None
    updated_at: datetime | None
    low: bool
    low_balance: Decimal | None
    refreshable: bool
    today: Spend
    month: Spend
    budgets: tuple[BudgetStatus, ...]
    days: tuple[tuple[date, Spend], ...]

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready (credits as strings), without ``days``."""
        return {
            "provider": self.vendor,
            "name": self.label,
            "remaining": self.remaining,
            "updated_at": self.updated_at,
            "low": self.low,
            "low_balance": self.low_balance,
            "today": self.today.as_dict(),
            "month": self.month.as_dict(),
            "budgets": [budget.as_dict() for budget in self.budgets],
        }


def vendor_usage(days: int = 30) -> list[VendorUsage]:
    """Every registered vendor's credits, in registry order (``VendorCredits.balances``).

    Queries: the balances, the usage rows since the earlier of this month's first day and
    ``days`` days ago, and one per vendor that has budgets.
    """
    end = today()
    first_day = end - timedelta(days=days - 1)
    month_start = end.replace(day=1)
    rows = CreditUsage.objects.filter(day__gte=min(first_day, month_start), day__lte=end)
    spent: dict[str, dict[date, Spend]] = {}
    for row in rows:
        spent.setdefault(row.vendor, {})[row.day] = Spend(
            row.reported, row.estimated, row.unrecorded
        )
    series = [first_day + timedelta(days=n) for n in range(days)]
    refreshable = {p.vendor for p in all_providers() if p.supports_balance}
    found = []
    for balance in VendorCredits.balances():
        vendor = balance["provider"]
        by_day = spent.get(vendor, {})
        month = Spend()
        for day, spend in by_day.items():
            if day >= month_start:
                month = month + spend
        try:
            threshold = low_balance_threshold(vendor)
        except ValueError:
            threshold = None
        found.append(
            VendorUsage(
                vendor=vendor,
                label=str(balance["name"]),
                remaining=balance["remaining"],
                updated_at=balance["updated_at"],
                low=bool(balance["low"]),
                low_balance=threshold,
                refreshable=vendor in refreshable,
                today=by_day.get(end, Spend()),
                month=month,
                budgets=_budgets(vendor),
                days=tuple((day, by_day.get(day, Spend())) for day in series),
            )
        )
    return found


def _budgets(vendor: str) -> tuple[BudgetStatus, ...]:
    try:
        return budget_statuses(vendor)
    except ValueError:  # a bad setting: check E009 says so
        return ()
