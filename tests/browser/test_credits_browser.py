"""The vendor credits page in a real browser (issue 14 bug 4, second half; issue 18): at 1280 px
and at 390 px wide it shows every vendor's balance, spend, budgets and its 30-day chart without
overflowing the viewport sideways."""

from __future__ import annotations

import copy
from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.auth.models import User

from django_imageops.jobs.credits import record_call, today
from django_imageops.models import CreditUsage

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "credits-pw"


@pytest.fixture
def spend(settings):
    conf = copy.deepcopy(settings.IMAGEOPS)
    conf["VENDORS"]["clipdrop"].update(DAILY_BUDGET=500, MONTHLY_BUDGET=10_000, LOW_BALANCE=100)
    settings.IMAGEOPS = conf
    record_call(None, "clipdrop", remaining=Decimal("92.5"))
    for days_ago in range(30):
        CreditUsage.objects.update_or_create(
            vendor="clipdrop",
            day=today() - timedelta(days=days_ago),
            defaults={"reported": days_ago % 7 + 1, "unrecorded": 1 if days_ago == 3 else 0},
        )
        CreditUsage.objects.update_or_create(
            vendor="pixlab", day=today() - timedelta(days=days_ago), defaults={"estimated": 2}
        )


@pytest.mark.parametrize("width", [1280, 390])
def test_the_credits_page_fits_the_screen(chromium_browser, live_server, spend, screenshot, width):
    context = chromium_browser.new_context(viewport={"width": width, "height": 900})
    page = context.new_page()
    page.set_default_timeout(20_000)
    try:
        User.objects.create_superuser("admin", "admin@example.com", PASSWORD)
        path = "/admin/django_imageops/imagejob/credits/"
        page.goto(f"{live_server.url}/admin/login/?next={path}")
        page.fill("#id_username", "admin")
        page.fill("#id_password", PASSWORD)
        page.click("input[type=submit]")
        page.wait_for_url(f"**{path}")
        page.wait_for_load_state("networkidle")
        assert page.locator(".imageops-spend-chart").count() == 4
        assert page.get_by_text("Clipdrop credits are low: 92.5 left.").is_visible()
        assert (
            page.locator("tr.vendor-clipdrop .budgets")
            .inner_text()
            .startswith("Clipdrop daily budget")
        )
        chart = page.locator(".vendor-clipdrop .imageops-spend-chart svg").bounding_box()
        assert chart["width"] > 200 and chart["x"] + chart["width"] <= width
        # Nothing wider than the viewport: no sideways scrolling.
        overflow = page.evaluate(
            "() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]"
        )
        assert overflow[0] <= overflow[1], overflow
        screenshot(page, f"{width}px")
    finally:
        context.close()
