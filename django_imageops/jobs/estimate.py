"""The price of jobs before they run: ``estimate`` (the admin's cost preview and the REST API's
dry run call it).

``estimate`` takes ``create_jobs``' own arguments and answers what creating those jobs would
cost: how many jobs, how many of them reuse an identical result (free), how many cost nothing
for another reason (e.g. a free test mode), the credits the rest are expected to cost per vendor
(``Provider.price``: the vendor's ``PRICE`` setting, else the provider's default), against the
vendor's last known balance and the budgets that apply (``jobs.budgets``). It validates like
``create_jobs`` and never writes, never calls a vendor and never reads an object's image.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.db.models import Q
from django.utils.translation import gettext, ngettext

from ..amounts import format_credits
from ..models import ImageJob, VendorCredits
from ..providers import vendor_settings
from .budgets import BudgetStatus, budget_statuses
from .create import Plan, plan_jobs

#: Source names or hashes looked up per query when predicting reuse (keeps every database
#: under its bound-parameter limit).
_CHUNK = 500


@dataclass(frozen=True)
class VendorEstimate:
    """What the estimated jobs would spend on one vendor.

    Attributes:
        vendor: the vendor's name (``Provider.vendor``, the key of ``IMAGEOPS["VENDORS"]``).
        label: its display name.
        jobs: the jobs expected to cost credits on this vendor (reused and free ones left out).
        credits: the credits they are expected to cost (``jobs`` x ``price``).
        price: credits per job (``Provider.price``).
        balance: the vendor's last known balance (credits), or None when never reported.
        balance_updated_at: when that balance was recorded (None: never).
        budgets: the budgets that apply (``jobs.budgets.BudgetStatus``), vendor-wide first.
    """

    vendor: str
    label: str
    jobs: int
    credits: Decimal
    price: Decimal
    balance: Decimal | None
    balance_updated_at: datetime | None
    budgets: tuple[BudgetStatus, ...] = ()

    @property
    def budget_remaining(self) -> Decimal | None:
        """The smallest ``remaining`` among ``budgets`` (credits); None when none applies."""
        return min((b.remaining for b in self.budgets), default=None)

    @property
    def enough_balance(self) -> bool:
        """False when the known balance is below ``credits`` (True when no balance is known)."""
        return self.balance is None or self.credits <= self.balance

    @property
    def within_budget(self) -> bool:
        """False when ``credits`` exceed a budget's remaining credits."""
        remaining = self.budget_remaining
        return remaining is None or self.credits <= remaining

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready: credits as strings (like DRF's ``DecimalField``), datetimes ISO 8601."""
        return {
            "vendor": self.vendor,
            "label": str(self.label),
            "jobs": self.jobs,
            "credits": format_credits(self.credits),
            "price": format_credits(self.price),
            "balance": format_credits(self.balance) if self.balance is not None else None,
            "balance_updated_at": _iso(self.balance_updated_at),
            "budget_remaining": (format_credits(self.budget_remaining) if self.budgets else None),
            "enough_balance": self.enough_balance,
            "within_budget": self.within_budget,
            "budgets": [budget.as_dict() for budget in self.budgets],
        }


@dataclass(frozen=True)
class Estimate:
    """What creating some jobs would cost, before anything runs (``estimate``).

    Attributes:
        operation: the operation's name.
        provider: the provider's name.
        jobs: the jobs ``create_jobs`` would create.
        reused: of which would reuse an identical succeeded job's result (0 credits).
        free: of which cost nothing for another reason (the price is 0, e.g. ClippingMagic's
            test mode).
        credits: the credits all of them are expected to cost, every vendor together.
        vendors: per vendor (``VendorEstimate``); one entry for one provider.
    """

    operation: str
    provider: str
    jobs: int
    reused: int
    free: int
    credits: Decimal
    vendors: tuple[VendorEstimate, ...]

    @property
    def paid(self) -> int:
        """Jobs expected to cost credits."""
        return self.jobs - self.reused - self.free

    @property
    def credits_by_vendor(self) -> dict[str, Decimal]:
        """``{vendor: credits}``."""
        return {v.vendor: v.credits for v in self.vendors}

    @property
    def fits(self) -> bool:
        """True when every vendor's credits fit its known balance and its budgets."""
        return all(v.enough_balance and v.within_budget for v in self.vendors)

    def summary(self) -> str:
        """Plain words, translated: "4 jobs · 4 Clipdrop credits · known balance 92", with the
        reused and free jobs, each budget's remaining credits, and what does not fit."""
        parts = [ngettext("%(count)d job", "%(count)d jobs", self.jobs) % {"count": self.jobs}]
        if self.reused:
            parts.append(
                ngettext(
                    "%(count)d reuses an earlier result",
                    "%(count)d reuse earlier results",
                    self.reused,
                )
                % {"count": self.reused}
            )
        if self.free:
            parts.append(
                ngettext("%(count)d free", "%(count)d free", self.free) % {"count": self.free}
            )
        for vendor in self.vendors:
            parts.append(
                ngettext(
                    "%(credits)s %(vendor)s credit",
                    "%(credits)s %(vendor)s credits",
                    _plural_count(vendor.credits),
                )
                % {"credits": format_credits(vendor.credits), "vendor": vendor.label}
            )
            if vendor.balance is not None:
                parts.append(
                    gettext("known balance %(balance)s")
                    % {"balance": format_credits(vendor.balance)}
                )
            for budget in vendor.budgets:
                parts.append(
                    gettext("%(budget)s: %(remaining)s left")
                    % {"budget": budget.label, "remaining": format_credits(budget.remaining)}
                )
            if not vendor.enough_balance:
                parts.append(gettext("more than the known balance"))
            if not vendor.within_budget:
                parts.append(gettext("more than the budget allows: some jobs will wait"))
        return " · ".join(str(part) for part in parts)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready (the API's dry run): the attributes, ``paid``, ``fits`` and ``summary``;
        credits as strings, datetimes ISO 8601."""
        return {
            "operation": self.operation,
            "provider": self.provider,
            "jobs": self.jobs,
            "reused": self.reused,
            "free": self.free,
            "paid": self.paid,
            "credits": format_credits(self.credits),
            "fits": self.fits,
            "summary": self.summary(),
            "vendors": [vendor.as_dict() for vendor in self.vendors],
        }


def estimate(
    operation: str,
    *,
    objects=None,
    field: str | None = None,
    uploads=None,
    provider: str | None = None,
    params: dict | None = None,
    created_by=None,
    batch=None,
    source_hashes=None,
    target_field: str = "",
) -> Estimate:
    """The price of the jobs ``create_jobs`` would create with the same arguments.

    The arguments are ``create_jobs``' own: ``target_field`` does not change the price; it is
    accepted so that one set of arguments serves both calls.

    Reuse is predicted for providers whose results are deterministic for ``params``
    (``Provider.is_deterministic``): a job is counted as reused when a succeeded job of the
    same operation, provider and params had the same source bytes (uploads are hashed here;
    objects by their ``source_hashes`` when given, else by their file's name on the same model:
    a file overwritten in place under the same name would be counted as reused although it
    costs). Jobs whose price is 0 (``Provider.price``, e.g. ClippingMagic's test mode) are
    ``free``. Budgets: the vendor's, and ``created_by``'s and ``batch``'s where those budgets
    are set (``jobs.budgets``).

    Queries: one for reuse per 500 sources (none when the results are not deterministic), one
    for the balance, and the budgets' counters. No vendor call, no write, no storage read.

    Returns:
        An ``Estimate``.

    Raises:
        ValidationError: as ``create_jobs`` (keyed by field), before anything is computed.
        ValueError: as ``create_jobs`` (both or neither of ``objects``/``uploads``...).
    """
    plan = plan_jobs(
        operation,
        objects=objects,
        field=field,
        uploads=uploads,
        provider=provider,
        params=params,
        created_by=created_by,
        batch=batch,
        target_field=target_field,
        source_hashes=source_hashes,
    )
    runner = plan.provider
    total = len(plan.jobs)
    reused = _reused(plan)
    price = runner.price(plan.params, vendor_settings(runner.vendor))
    free = total - reused if price == 0 else 0
    paid = total - reused - free
    credits = price * paid
    known = VendorCredits.objects.filter(vendor=runner.vendor).first()
    vendor = VendorEstimate(
        vendor=runner.vendor,
        label=str(runner.label),
        jobs=paid,
        credits=credits,
        price=price,
        balance=known.remaining if known is not None else None,
        balance_updated_at=known.updated_at if known is not None else None,
        budgets=budget_statuses(runner.vendor, user=created_by, batch=batch),
    )
    return Estimate(
        operation=operation,
        provider=runner.name,
        jobs=total,
        reused=reused,
        free=free,
        credits=credits,
        vendors=(vendor,),
    )


def _reused(plan: Plan) -> int:
    """How many of ``plan``'s jobs an identical succeeded job's result would serve."""
    runner = plan.provider
    if not plan.jobs or not runner.is_deterministic(plan.params):
        return 0
    hashes = {job.source_hash for job in plan.jobs if job.source_hash}
    by_name = [job for job in plan.jobs if not job.source_hash and job.source_name]
    content_type = (
        ContentType.objects.get_for_model(by_name[0].source_object, for_concrete_model=False)
        if by_name and by_name[0].source_object is not None
        else None
    )
    names = {job.source_name for job in by_name}
    done = ImageJob.objects.filter(
        operation=runner.operation,
        provider=runner.name,
        status=ImageJob.Status.SUCCEEDED,
    ).exclude(result="")
    known_hashes: set[str] = set()
    known_names: set[str] = set()
    for chunk in _chunks(hashes):
        for digest, job_params in done.filter(source_hash__in=chunk).values_list(
            "source_hash", "params"
        ):
            if job_params == plan.params:
                known_hashes.add(digest)
    if content_type is not None:
        for chunk in _chunks(names):
            rows = done.filter(
                Q(source_name__in=chunk), source_content_type=content_type
            ).values_list("source_name", "params")
            known_names.update(name for name, job_params in rows if job_params == plan.params)
    return sum(
        1
        for job in plan.jobs
        if (job.source_hash and job.source_hash in known_hashes)
        or (not job.source_hash and job.source_name in known_names)
    )


def _chunks(values: Iterable[str]) -> Iterable[list[str]]:
    values = sorted(values)
    for start in range(0, len(values), _CHUNK):
        yield values[start : start + _CHUNK]


def _plural_count(credits: Decimal) -> int:
    """The number ``ngettext`` chooses a plural form by (fractions take the plural)."""
    return int(credits) if credits == credits.to_integral() else 2


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None
