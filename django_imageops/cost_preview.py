"""What a set of jobs will cost, before it is queued: the operation forms' cost line and the REST
API's dry run (``POST jobs/`` with ``dry_run``).

The price function itself belongs to ``jobs`` (issue 18: ``jobs.estimate``, the same keywords
as ``jobs.create_jobs``, returning a ``jobs.Estimate`` with ``summary()``, ``as_dict()`` and
``fits``). The interfaces call ``estimate`` below, which hands over to ``jobs.estimate``.

**STAND-IN (issue 14b), to be removed when ``jobs.estimate`` is on main**: until then,
``estimate`` validates like ``create_jobs`` and answers with ``StandInEstimate``, which knows the
number of jobs and the vendor's last known balance but no price (``credits`` is ``None``). The
agreed signature is documented in ``/work/notes/issue18.md``; once it has landed, the callers
may call ``jobs.estimate`` directly and this module goes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.http import JsonResponse
from django.utils.translation import gettext, ngettext

from . import jobs
from .models import VendorCredits
from .operations import get_operation
from .providers import get_provider


def estimate(operation: str, **kwargs: Any):
    """The cost of ``jobs.create_jobs(operation, **kwargs)`` without creating anything.

    Args:
        operation, kwargs: exactly ``jobs.create_jobs``'s arguments (``objects``/``field`` or
            ``uploads``, ``provider``, ``params``, ``created_by``, ``batch``,
            ``target_field``, ``source_hashes``).

    Returns:
        ``jobs.Estimate`` (issue 18), or a ``StandInEstimate`` while that is not on main: both
        have ``jobs``, ``credits``, ``fits``, ``summary()`` and ``as_dict()``.

    Raises:
        ValidationError: keyed by field, as ``create_jobs`` raises it (unknown operation or
            provider, invalid parameters).
    """
    real = getattr(jobs, "estimate", None)
    if real is not None:
        return real(operation, **kwargs)
    return _stand_in(operation, **kwargs)


@dataclass(frozen=True)
class StandInVendor:
    """One vendor's line of a ``StandInEstimate`` (no price known)."""

    vendor: str
    label: str
    jobs: int
    credits: Decimal | None = None
    balance: Decimal | None = None


@dataclass(frozen=True)
class StandInEstimate:
    """STAND-IN for ``jobs.Estimate`` (issue 18): the jobs and the vendor's known balance.

    Attributes:
        operation, provider: names.
        jobs: jobs ``create_jobs`` would create.
        reused, free, paid: not known here (0, 0, ``jobs``).
        credits: ``None`` (no price known).
        vendors: one ``StandInVendor``.
        fits: ``None`` (cannot tell without a price).
    """

    operation: str
    provider: str
    jobs: int
    vendors: tuple[StandInVendor, ...] = field(default_factory=tuple)
    reused: int = 0
    free: int = 0
    credits: Decimal | None = None
    fits: bool | None = None

    @property
    def paid(self) -> int:
        """Jobs that will call the vendor (all of them, as far as this stand-in knows)."""
        return self.jobs - self.reused - self.free

    def summary(self) -> str:
        """E.g. "4 jobs · Clipdrop · known balance 92 credits" (translated)."""
        parts = [ngettext("%(count)d job", "%(count)d jobs", self.jobs) % {"count": self.jobs}]
        for vendor in self.vendors:
            parts.append(vendor.label)
            if vendor.balance is not None:
                parts.append(
                    gettext("known balance %(balance)s") % {"balance": _number(vendor.balance)}
                )
        return " · ".join(parts)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready (Decimals as strings)."""
        return {
            "operation": self.operation,
            "provider": self.provider,
            "jobs": self.jobs,
            "reused": self.reused,
            "free": self.free,
            "paid": self.paid,
            "credits": None,
            "fits": self.fits,
            "vendors": [
                {
                    "vendor": v.vendor,
                    "label": v.label,
                    "jobs": v.jobs,
                    "credits": None,
                    "balance": None if v.balance is None else str(v.balance),
                }
                for v in self.vendors
            ],
            "summary": self.summary(),
        }


def _number(value: Decimal) -> str:
    return f"{value.normalize():f}" if value == value.to_integral() else str(value)


def _stand_in(operation: str, *, objects=None, uploads=None, provider=None, params=None, **_):
    get_operation(operation)
    runner = get_provider(operation, provider)
    runner.clean_params(params or {})
    count = len(list(objects if objects is not None else uploads or []))
    balance = (
        VendorCredits.objects.filter(vendor=runner.vendor)
        .values_list("remaining", flat=True)
        .first()
    )
    vendor = StandInVendor(runner.vendor, str(runner.label), count, balance=balance)
    return StandInEstimate(operation, runner.name, count, vendors=(vendor,))


def form_estimate(form, operation: str, objects, user):
    """The cost of what the (valid) operation ``form`` would queue for ``objects``."""
    return estimate(operation, objects=objects, created_by=user, **form.job_kwargs())


def initial_estimate(form, operation: str, objects, user):
    """The cost of the unbound ``form``'s initial values for ``objects``, or ``None`` when they
    are not complete yet (e.g. a crop box to draw first)."""
    provider, params = form.initial_values()
    try:
        return estimate(
            operation,
            objects=objects,
            field=form.chosen_field(),
            provider=provider,
            params=params,
            created_by=user,
        )
    except ValidationError:
        return None


def estimate_response(request, form, operation: str, objects) -> JsonResponse:
    """The cost line's refresh: ``form`` bound to the page's current values.

    Returns:
        ``200 {"summary", "fits", "estimate": as_dict()}``, or ``400 {"errors": {field:
        [messages]}}`` while the values are invalid.
    """
    if not form.is_valid():
        return JsonResponse({"errors": form.errors.get_json_data()}, status=400)
    try:
        result = form_estimate(form, operation, objects, request.user)
    except ValidationError as error:
        errors = error.message_dict if hasattr(error, "error_dict") else {"": error.messages}
        return JsonResponse({"errors": errors}, status=400)
    return JsonResponse(
        {"summary": str(result.summary()), "fits": result.fits, "estimate": result.as_dict()}
    )
