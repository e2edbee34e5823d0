"""Budgets: caps on the credits spent per vendor (daily, monthly; optionally per user and per
batch), and what is left of them.

``BudgetStatus`` describes one budget as it stands; ``budget_statuses`` lists those that apply
to a vendor (and a user, a batch). Enforcement lands with the budget counters.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from .credits import format_credits


@dataclass(frozen=True)
class BudgetStatus:
    """One budget as it stands.

    Attributes:
        vendor: the vendor it caps (``Provider.vendor``).
        scope: ``"vendor"`` (every job of the vendor), ``"user"`` (one user's jobs) or
            ``"batch"`` (one batch's jobs).
        period: ``"day"`` or ``"month"`` (UTC calendar periods), or ``"batch"`` (the batch's
            whole life).
        limit: the cap, in credits.
        spent: credits spent (or being spent) in the period.
        resets_at: when the period rolls over (UTC), None for a batch budget.
        label: plain words ("Clipdrop daily budget").
    """

    vendor: str
    scope: str
    period: str
    limit: Decimal
    spent: Decimal
    resets_at: datetime | None
    label: str

    @property
    def remaining(self) -> Decimal:
        """Credits left in the period (never below 0)."""
        return max(Decimal(0), self.limit - self.spent)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready: credits as strings, ``resets_at`` ISO 8601."""
        return {
            "vendor": self.vendor,
            "scope": self.scope,
            "period": self.period,
            "limit": format_credits(self.limit),
            "spent": format_credits(self.spent),
            "remaining": format_credits(self.remaining),
            "resets_at": self.resets_at.isoformat() if self.resets_at else None,
            "label": str(self.label),
        }


def budget_statuses(vendor: str, *, user=None, batch=None) -> tuple[BudgetStatus, ...]:
    """The budgets that apply to ``vendor`` (and ``user``'s, ``batch``'s), as they stand."""
    return ()
