"""The vendor credits page of the job admin: ``CreditsViewMixin.credits_view``.

Per vendor: the latest balance, the credits spent today and this month (reported by the vendor,
estimated from its price, and found by reconciling its balance but recorded by no job), its
budgets with what is left, and a 30-day chart (server-rendered SVG, ``charts.spend_chart``); a
refresh of the balance from the vendor's account endpoint where its providers
``supports_balance`` (ClippingMagic's), and resuming the jobs waiting for a budget. Vendors
whose balance is below their ``LOW_BALANCE`` get a warning here and on the job list
(``warn_low_balances``). ``ImageJobAdmin`` serves it at ``credits/`` (URL name
``django_imageops_imagejob_credits``).
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ImproperlyConfigured, PermissionDenied
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.utils.translation import gettext, ngettext

from .. import jobs
from ..amounts import format_credits
from ..jobs.usage import vendor_usage
from ..models import VendorCredits
from ..providers import vendor_choices
from ..vendors.errors import VendorError
from .base import ModelAdminMixin
from .charts import spend_chart

#: Days in the credits page's chart.
CHART_DAYS = 30


def warn_low_balances(request, modeladmin) -> None:
    """A warning message per vendor whose balance is below its ``LOW_BALANCE`` (one query)."""
    labels = dict(vendor_choices())
    for vendor, remaining in VendorCredits.objects.filter(low=True).values_list(
        "vendor", "remaining"
    ):
        modeladmin.message_user(
            request,
            gettext("%(vendor)s credits are low: %(remaining)s left.")
            % {"vendor": labels.get(vendor, vendor), "remaining": format_credits(remaining)},
            messages.WARNING,
        )


class CreditsViewMixin(ModelAdminMixin):
    """The credits page view, for ``ImageJobAdmin`` (a ``ModelAdmin`` of ``ImageJob``)."""

    def credits_view(self, request):
        """Per vendor: balance, spend today and this month, budgets, a 30-day chart.

        POST ``refresh=<vendor>`` refreshes the balance of a vendor with an account endpoint
        (``jobs.refresh_credits``; e.g. ``refresh=clippingmagic``); POST ``resume=1`` makes the
        jobs waiting for a budget that now has room due (``jobs.resume_waiting``). Both need
        the change permission on jobs."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        if request.method == "POST":
            if not self.has_change_permission(request):
                raise PermissionDenied
            self._credits_post(request)
            return HttpResponseRedirect(request.path)

        vendors = []
        for usage in vendor_usage(CHART_DAYS):
            vendors.append({"usage": usage, "chart": spend_chart(usage.days)})
        warn_low_balances(request, self)
        context = {
            **self.admin_site.each_context(request),
            "title": gettext("Vendor credits"),
            "opts": self.opts,
            "vendors": vendors,
            "chart_days": CHART_DAYS,
            "waiting": jobs.waiting_for_budget().count(),
            "can_refresh": self.has_change_permission(request),
            "media": self.media,
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, "django_imageops/admin/credits.html", context)

    def _credits_post(self, request) -> None:
        vendor = request.POST.get("refresh")
        if vendor in {usage for usage, _ in vendor_choices()}:
            try:
                jobs.refresh_credits(vendor)
            except (VendorError, ImproperlyConfigured, ValueError) as error:  # shown, not a 500
                self.message_user(
                    request,
                    gettext("Could not refresh the balance: %(error)s") % {"error": error},
                    messages.ERROR,
                )
            else:
                self.message_user(request, gettext("Balance refreshed."), messages.SUCCESS)
        if request.POST.get("resume"):
            count = jobs.resume_waiting()
            self.message_user(
                request,
                ngettext(
                    "%(count)d job waiting for a budget resumed.",
                    "%(count)d jobs waiting for a budget resumed.",
                    count,
                )
                % {"count": count},
                messages.SUCCESS if count else messages.INFO,
            )
