"""Budgets: caps on the credits spent per vendor, per UTC day and month, optionally per user
and per batch, enforced atomically across threads, processes and machines.

Settings, per vendor (credits; ``None`` or absent: no cap)::

    IMAGEOPS = {"VENDORS": {"<vendor>": {
        "DAILY_BUDGET": 500,          # every job of the vendor, per UTC day
        "MONTHLY_BUDGET": 10_000,     # per UTC calendar month
        "USER_DAILY_BUDGET": 50,      # each user's jobs (ImageJob.created_by), per day
        "USER_MONTHLY_BUDGET": 500,
        "BATCH_BUDGET": 1_000,        # each batch's jobs (ImageJob.batch), for its whole life
    }}}

How it holds: each budget and period has one ``BudgetCounter`` row; before a job's first vendor
call the runner reserves the job's price (``Provider.price``) on every budget that applies with
one conditional ``UPDATE ... SET spent = spent + price WHERE spent <= cap - price`` per counter,
all in one transaction (rows in a fixed order): two workers can never both take the last
credits, on any database (PostgreSQL re-checks the condition on the locked row; SQLite
serialises writers). The reservation is settled with what the call really cost, or released
when no credit was spent. A job that does not fit waits (``pending``, ``error_code``
``budget_exhausted``, the reason in ``error_message``) until the period rolls over, or until
``resume_waiting`` (run by ``imageops_run --due``) finds room after the cap was raised. Spend
no reservation covered (a person's editor download, spend found by reconciling a balance) is
added to the counters as it is recorded.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from django.db import DatabaseError, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from ..amounts import format_credits, parse_credits
from ..models import BudgetCounter
from ..providers import all_providers, vendor_settings

logger = logging.getLogger(__name__)

#: Setting name -> (scope, period), in the order budgets are checked and shown.
BUDGET_SETTINGS: dict[str, tuple[str, str]] = {
    "DAILY_BUDGET": ("vendor", "day"),
    "MONTHLY_BUDGET": ("vendor", "month"),
    "USER_DAILY_BUDGET": ("user", "day"),
    "USER_MONTHLY_BUDGET": ("user", "month"),
    "BATCH_BUDGET": ("batch", "batch"),
}

#: ``ImageJob.error_code`` of a job waiting for a budget.
WAITING_CODE = "budget_exhausted"

#: ``BudgetCounter.start`` of a batch's budget (it has no period).
_BATCH_START = date(2000, 1, 1)


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


@dataclass(frozen=True)
class Budget:
    """A cap that applies to one job now: which counter row, and its limit."""

    vendor: str
    setting: str
    scope: str
    key: str
    period: str
    start: date
    limit: Decimal
    resets_at: datetime | None

    @property
    def lookup(self) -> dict[str, Any]:
        """The ``BudgetCounter`` row's identity."""
        return {
            "vendor": self.vendor,
            "scope": self.scope,
            "key": self.key,
            "period": self.period,
            "start": self.start,
        }

    def label(self) -> str:
        """Plain words naming the budget ("Clipdrop daily budget")."""
        vendor = vendor_label(self.vendor)
        names = {
            "DAILY_BUDGET": _("%(vendor)s daily budget"),
            "MONTHLY_BUDGET": _("%(vendor)s monthly budget"),
            "USER_DAILY_BUDGET": _("%(vendor)s daily budget per user"),
            "USER_MONTHLY_BUDGET": _("%(vendor)s monthly budget per user"),
            "BATCH_BUDGET": _("%(vendor)s budget per batch"),
        }
        return str(names[self.setting] % {"vendor": vendor})

    def waiting_message(self) -> str:
        """Why a job waits, and until when ("Clipdrop's daily budget of 500 credits is
        spent; resumes at 00:00 UTC")."""
        values = {
            "vendor": vendor_label(self.vendor),
            "limit": format_credits(self.limit),
            "date": self.resets_at.date().isoformat() if self.resets_at else "",
        }
        messages = {
            "DAILY_BUDGET": _(
                "%(vendor)s's daily budget of %(limit)s credits is spent; resumes at 00:00 UTC."
            ),
            "MONTHLY_BUDGET": _(
                "%(vendor)s's monthly budget of %(limit)s credits is spent; resumes on "
                "%(date)s at 00:00 UTC."
            ),
            "USER_DAILY_BUDGET": _(
                "This user's daily budget of %(limit)s %(vendor)s credits is spent; resumes at "
                "00:00 UTC."
            ),
            "USER_MONTHLY_BUDGET": _(
                "This user's monthly budget of %(limit)s %(vendor)s credits is spent; resumes "
                "on %(date)s at 00:00 UTC."
            ),
            "BATCH_BUDGET": _(
                "This batch's budget of %(limit)s %(vendor)s credits is spent; it resumes when "
                "the vendor's BATCH_BUDGET is raised."
            ),
        }
        return str(messages[self.setting] % values)

    def status(self, spent: Decimal) -> BudgetStatus:
        """This budget as it stands with ``spent`` credits."""
        return BudgetStatus(
            self.vendor,
            self.scope,
            self.period,
            self.limit,
            Decimal(spent),
            self.resets_at,
            self.label(),
        )


class BudgetExhausted(Exception):
    """A job's price does not fit under ``budget`` now (raised by ``reserve``)."""

    def __init__(self, budget: Budget):
        super().__init__(budget.waiting_message())
        self.budget = budget


class Reservation:
    """Credits taken from one or more budget counters for a job's paid call, until it is
    settled (``settle``: what the call really cost) or released (``release``: nothing was
    spent). Either happens once; later calls do nothing."""

    def __init__(self, budgets: list[Budget], credits: Decimal):
        self.budgets = budgets
        self.credits = credits
        self.open = True

    def settle(self, actual: Decimal | int) -> None:
        """Replace the reserved credits by ``actual`` on every counter (best effort once a
        vendor answered: a database error is logged, never raised)."""
        if self.open:
            self.open = False
            try:
                _add(self.budgets, Decimal(actual) - self.credits)
            except DatabaseError as exc:
                logger.warning("A %s budget was not settled (%s).", self.budgets[0].vendor, exc)

    def release(self) -> None:
        """Give the reserved credits back (the call failed, or was never made)."""
        self.settle(0)


def vendor_label(vendor: str) -> str:
    """The display name of ``vendor`` (its first provider's label), else the name itself."""
    for provider in all_providers():
        if provider.vendor == vendor:
            return str(provider.label)
    return vendor


def parse_budget(value: Any) -> Decimal | None:
    """A budget setting's cap in credits; None for no cap.

    Raises:
        ValueError: not a number, or a negative one (check E009 reports it).
    """
    if value is None:
        return None
    return parse_credits(value, "a budget")


def period_bounds(period: str, now: datetime) -> tuple[date, datetime | None]:
    """The UTC start day of the ``period`` (``"day"``, ``"month"``, ``"batch"``) holding
    ``now``, and when it rolls over (None for a batch)."""
    today = now.astimezone(UTC).date()
    if period == "day":
        start, end = today, today + timedelta(days=1)
    elif period == "month":
        start = today.replace(day=1)
        end = (start + timedelta(days=32)).replace(day=1)
    else:
        return _BATCH_START, None
    return start, datetime.combine(end, time.min, tzinfo=UTC)


def budgets_for(
    vendor: str, *, user_id: Any = None, batch: Any = None, now: datetime | None = None
) -> list[Budget]:
    """The budgets that apply to a job of ``vendor`` (created by ``user_id``, in ``batch``)
    now: the vendor's, then the user's and the batch's where those are set.

    Raises:
        ValueError: a budget setting that is not a number of credits.
    """
    settings = vendor_settings(vendor) if _known(vendor) else {}
    now = now or timezone.now()
    found = []
    for setting, (scope, period) in BUDGET_SETTINGS.items():
        limit = parse_budget(settings.get(setting))
        if limit is None:
            continue
        if scope == "user":
            if user_id is None:
                continue
            key = str(user_id)
        elif scope == "batch":
            if batch is None:
                continue
            key = str(batch)
        else:
            key = ""
        start, resets_at = period_bounds(period, now)
        found.append(Budget(vendor, setting, scope, key, period, start, limit, resets_at))
    return found


def _known(vendor: str) -> bool:
    try:
        vendor_settings(vendor)
    except KeyError:
        return False
    return True


def budget_statuses(vendor: str, *, user=None, batch=None) -> tuple[BudgetStatus, ...]:
    """The budgets that apply to ``vendor`` (and to ``user``'s and ``batch``'s jobs, when
    given), as they stand now; one query (none when no budget is set)."""
    user_id = getattr(user, "pk", user)
    budgets = budgets_for(vendor, user_id=user_id, batch=batch)
    if not budgets:
        return ()
    spent = _spent(budgets)
    return tuple(b.status(spent.get(_identity(b), Decimal(0))) for b in budgets)


def _identity(budget: Budget) -> tuple:
    return (budget.scope, budget.key, budget.period, budget.start)


def _spent(budgets: list[Budget]) -> dict[tuple, Decimal]:
    query = Q()
    for budget in budgets:
        query |= Q(**budget.lookup)
    rows = BudgetCounter.objects.filter(query).values_list(
        "scope", "key", "period", "start", "spent"
    )
    return {(scope, key, period, start): spent for scope, key, period, start, spent in rows}


def reserve(
    vendor: str, credits: Decimal, *, user_id: Any = None, batch: Any = None
) -> Reservation | None:
    """Take ``credits`` from every budget that applies, all or none, atomically.

    Returns:
        A ``Reservation`` to settle or release, or None when no budget applies or
        ``credits`` is 0 (nothing to take).

    Raises:
        BudgetExhausted: a budget has less than ``credits`` left (nothing was taken).
    """
    credits = Decimal(credits)
    budgets = budgets_for(vendor, user_id=user_id, batch=batch) if credits > 0 else []
    if not budgets:
        return None
    ordered = sorted(budgets, key=_identity)  # one lock order for every worker
    with transaction.atomic():
        for budget in ordered:
            if not _take(budget, credits):
                transaction.set_rollback(True)
                raise BudgetExhausted(budget)
    return Reservation(budgets, credits)


def _take(budget: Budget, credits: Decimal) -> bool:
    """One conditional UPDATE (the row is created first when missing)."""
    if credits > budget.limit:
        return False
    rows = BudgetCounter.objects.filter(spent__lte=budget.limit - credits, **budget.lookup)
    if rows.update(spent=F("spent") + credits):
        return True
    BudgetCounter.objects.get_or_create(**budget.lookup)  # a new period: its row is missing
    return bool(rows.update(spent=F("spent") + credits))


def charge(vendor: str, credits: Decimal, *, user_id: Any = None, batch: Any = None) -> None:
    """Add ``credits`` spent without a reservation to every budget that applies (they may go
    over the cap: the credits are spent already)."""
    credits = Decimal(credits)
    if credits:
        _add(budgets_for(vendor, user_id=user_id, batch=batch), credits)


def _add(budgets: list[Budget], credits: Decimal) -> None:
    if not credits:
        return
    for budget in sorted(budgets, key=_identity):
        if not BudgetCounter.objects.filter(**budget.lookup).update(spent=F("spent") + credits):
            counter, _ = BudgetCounter.objects.get_or_create(**budget.lookup)
            BudgetCounter.objects.filter(pk=counter.pk).update(spent=F("spent") + credits)


def setting_errors(vendor: str, settings: dict, price: Decimal | None) -> list[str]:
    """What is wrong with ``vendor``'s budget settings, in plain words (check E009): not a
    number, a monthly cap below the daily one, a per-user cap above the vendor's own, a cap
    too small for one job (``price``: the cheapest job's price), an unknown ``*_BUDGET`` key."""
    problems = []
    limits: dict[str, Decimal] = {}
    for name, value in settings.items():
        if not name.endswith("_BUDGET"):
            continue
        if name not in BUDGET_SETTINGS:
            problems.append(
                gettext("%(name)s is not a budget setting (choose from %(choices)s).")
                % {"name": name, "choices": ", ".join(BUDGET_SETTINGS)}
            )
            continue
        try:
            limit = parse_budget(value)
        except ValueError as exc:
            problems.append(f"{name}: {exc}")
            continue
        if limit is not None:
            limits[name] = limit
    for small, large in (
        ("DAILY_BUDGET", "MONTHLY_BUDGET"),
        ("USER_DAILY_BUDGET", "USER_MONTHLY_BUDGET"),
        ("USER_DAILY_BUDGET", "DAILY_BUDGET"),
        ("USER_MONTHLY_BUDGET", "MONTHLY_BUDGET"),
        ("BATCH_BUDGET", "MONTHLY_BUDGET"),
    ):
        if small in limits and large in limits and limits[small] > limits[large]:
            problems.append(
                gettext(
                    "%(small)s (%(a)s) is more than %(large)s (%(b)s): it can never be reached."
                )
                % {
                    "small": small,
                    "large": large,
                    "a": format_credits(limits[small]),
                    "b": format_credits(limits[large]),
                }
            )
    if price:
        for name, limit in limits.items():
            if 0 < limit < price:
                problems.append(
                    gettext(
                        "%(name)s (%(limit)s) is less than one job's price (%(price)s): no job "
                        "could ever run."
                    )
                    % {
                        "name": name,
                        "limit": format_credits(limit),
                        "price": format_credits(price),
                    }
                )
    return problems
