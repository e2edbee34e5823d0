"""The schema of the job creation's dry run (``POST jobs/`` with ``dry_run``): what the job
would cost, as ``jobs.Estimate.as_dict()`` gives it.

These serializers describe the answer for OpenAPI (drf-spectacular); the data itself is
``as_dict()``, the same figures as the admin's cost line. Credits are decimal strings in plain
digits (``"4"``, ``"0.25"``).
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers


def _credits(help_text, **kwargs) -> serializers.DecimalField:
    return serializers.DecimalField(max_digits=14, decimal_places=3, help_text=help_text, **kwargs)


class BudgetStatusSerializer(serializers.Serializer):
    """One budget that applies, as it stands (``jobs.BudgetStatus``)."""

    vendor = serializers.CharField(help_text=_("The vendor it caps."))
    scope = serializers.CharField(help_text=_("vendor, user or batch."))
    period = serializers.CharField(help_text=_("day, month (UTC) or batch."))
    limit = _credits(_("The cap, in credits."))
    spent = _credits(_("Credits spent in the period."))
    remaining = _credits(_("Credits left in the period."))
    resets_at = serializers.DateTimeField(
        allow_null=True, help_text=_("When the period rolls over (UTC).")
    )
    # (DRF's serializer metaclass takes declared fields off the class: no clash with the
    # ``Field.label`` attribute the stubs see; the same below.)
    label = serializers.CharField()  # type: ignore[assignment]


class VendorEstimateSerializer(serializers.Serializer):
    """What the job would spend on one vendor (``jobs.VendorEstimate``)."""

    vendor = serializers.CharField(help_text=_("The vendor's name."))
    label = serializers.CharField(help_text=_("Its display name."))  # type: ignore[assignment]
    jobs = serializers.IntegerField(help_text=_("Jobs expected to cost credits there."))
    credits = _credits(_("Credits they are expected to cost."))
    price = _credits(_("Credits per job."))
    balance = _credits(
        _("The vendor's last known balance (null: never reported)."), allow_null=True
    )
    balance_updated_at = serializers.DateTimeField(allow_null=True)
    budget_remaining = _credits(
        _("The smallest remaining credits of the budgets that apply (null: none)."),
        allow_null=True,
    )
    enough_balance = serializers.BooleanField()
    within_budget = serializers.BooleanField()
    budgets = BudgetStatusSerializer(many=True)


class EstimateSerializer(serializers.Serializer):
    """The dry run's answer (``jobs.Estimate``): nothing was created and no vendor called."""

    operation = serializers.CharField()
    provider = serializers.CharField()
    jobs = serializers.IntegerField(help_text=_("Jobs that would be created."))
    reused = serializers.IntegerField(
        help_text=_("Of which would reuse an identical earlier result (0 credits).")
    )
    free = serializers.IntegerField(help_text=_("Of which cost nothing (e.g. a test mode)."))
    paid = serializers.IntegerField(help_text=_("Jobs expected to cost credits."))
    credits = _credits(_("Credits expected in all."))
    fits = serializers.BooleanField(
        help_text=_("The credits fit every vendor's known balance and budgets.")
    )
    summary = serializers.CharField(
        help_text=_('In words, e.g. "1 job · 1 Clipdrop credit · known balance 92".')
    )
    vendors = VendorEstimateSerializer(many=True)
