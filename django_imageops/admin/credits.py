"""The vendor credits page of the job admin: ``CreditsViewMixin.credits_view``.

Per vendor: the latest remaining balance and the credits consumed today and this month; a
refresh of the balance from the vendor's account endpoint where its providers
``supports_balance`` (ClippingMagic's). ``ImageJobAdmin`` serves it at ``credits/`` (URL name
``django_imageops_imagejob_credits``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.contrib import messages
from django.core.exceptions import ImproperlyConfigured, PermissionDenied
from django.db.models import Count, Q, Sum
from django.db.models.functions import Coalesce
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.utils import timezone
from django.utils.translation import gettext

from .. import jobs
from ..models import ImageJob, VendorCredits
from ..providers import all_providers
from ..vendors.errors import VendorError
from .base import ModelAdminMixin


def refreshable_vendors() -> set[str]:
    """Vendors with an account endpoint (a provider that ``supports_balance``)."""
    return {p.vendor for p in all_providers() if p.supports_balance}


class CreditsViewMixin(ModelAdminMixin):
    """The credits page view, for ``ImageJobAdmin`` (a ``ModelAdmin`` of ``ImageJob``)."""

    def credits_view(self, request):
        """Per vendor: the latest remaining balance, credits consumed today and this month;
        POST ``refresh=<vendor>`` refreshes the balance of a vendor with an account endpoint
        (``jobs.refresh_credits``; e.g. ``refresh=clippingmagic``)."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        if request.method == "POST":
            if not self.has_change_permission(request):
                raise PermissionDenied
            vendor = request.POST.get("refresh")
            if vendor in refreshable_vendors():
                try:
                    jobs.refresh_credits(vendor)
                except (VendorError, ImproperlyConfigured) as error:  # shown, not a 500
                    self.message_user(
                        request,
                        gettext("Could not refresh the balance: %(error)s") % {"error": error},
                        messages.ERROR,
                    )
                else:
                    self.message_user(request, gettext("Balance refreshed."), messages.SUCCESS)
            return HttpResponseRedirect(request.path)

        now = timezone.localtime()
        today = now.replace(hour=0, minute=0, second=0, microsecond=0)
        month = today.replace(day=1)
        charged_at = Coalesce("finished_at", "started_at", "created_at")
        usage = {
            row["provider"]: row
            for row in ImageJob.objects.annotate(charged_at=charged_at)
            .filter(charged_at__gte=month)
            .values("provider")
            .annotate(
                month=Sum("credits_consumed"),
                today=Sum("credits_consumed", filter=Q(charged_at__gte=today)),
                jobs=Count("id"),
            )
        }
        refreshable = refreshable_vendors()
        vendors = []
        for balance in VendorCredits.balances():
            value = balance["provider"]
            row: Mapping[str, Any] = usage.get(value, {})
            vendors.append(
                {
                    "vendor": value,
                    "label": balance["name"],
                    "remaining": balance["remaining"],
                    "updated_at": balance["updated_at"],
                    "today": row.get("today") or 0,
                    "month": row.get("month") or 0,
                    "jobs": row.get("jobs") or 0,
                    "refreshable": value in refreshable,
                }
            )
        context = {
            **self.admin_site.each_context(request),
            "title": gettext("Vendor credits"),
            "opts": self.opts,
            "vendors": vendors,
            "month_start": month,
            "can_refresh": self.has_change_permission(request),
            "media": self.media,
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, "django_imageops/admin/credits.html", context)
