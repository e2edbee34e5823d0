"""Every paid call records its cost: the vendor's figure where it reports one (Clipdrop's
headers, ClippingMagic's first download), else the vendor's ``PRICE`` (default 1 credit per
job), marked as estimated; per vendor and UTC day in ``CreditUsage``; each vendor's read
timeout; and the low-balance signal."""

from __future__ import annotations

from decimal import Decimal

import pytest

from django_imageops import jobs, signals
from django_imageops.jobs.credits import today
from django_imageops.models import CreditUsage, ImageJob, VendorCredits
from django_imageops.providers import get_provider
from tests.jobs.support import CROP, make_image, photo, run_due_job, vendor_setting

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_servers")]


def usage(vendor):
    row = CreditUsage.objects.filter(vendor=vendor, day=today()).first()
    return (row.reported, row.estimated, row.unrecorded) if row else (0, 0, 0)


def one_job(run, operation, **params):
    [job] = run(jobs.create_jobs, operation, objects=[photo()], field="image", params=params)
    job.refresh_from_db()
    assert job.status == "succeeded", job.error_message
    return job


def test_vendors_that_report_no_cost_record_their_price_as_estimated(run, sandbox):
    crop = one_job(run, "crop", **CROP)
    assert (crop.credits_consumed, crop.credits_estimated) == (1, True)
    assert sandbox.counters()["pixlab"]["credits_consumed"] == 1
    call = crop.events.get(kind="vendor_call")
    assert call.data["credits_estimated"] is True and call.data["credits_consumed"] == "1"
    assert usage("pixlab") == (0, 1, 0)


def test_piktid_records_its_price_once_for_its_one_paid_call(run, sandbox, settings):
    sandbox.configure(piktid_delay=0)
    [job] = run(
        jobs.create_jobs,
        "uncrop",
        provider="piktid",
        objects=[photo(make_image(100, 100))],
        field="image",
        params={"left": 8},
    )
    job = run(run_due_job, job)  # the scheduled poll
    assert job.status == "succeeded", job.error_message
    # Upload, generate, polls and download: one charged call, one credit recorded.
    assert (job.credits_consumed, job.credits_estimated) == (1, True)
    assert sandbox.counters()["piktid"]["credits_consumed"] == 1
    assert usage("piktid") == (0, 1, 0)


def test_the_price_setting_is_what_an_unreported_call_records(run, settings):
    vendor_setting(settings, "pixlab", PRICE={"crop": "0.5"})
    assert one_job(run, "crop", **CROP).credits_consumed == Decimal("0.5")
    assert usage("pixlab") == (0, Decimal("0.5"), 0)


def test_reported_costs_are_not_estimated(run, sandbox):
    job = one_job(run, "uncrop", left=8)
    assert (job.credits_consumed, job.credits_estimated) == (1, False)
    assert job.credits_remaining == VendorCredits.objects.get(vendor="clipdrop").remaining
    cutout = one_job(run, "remove_background", test=False)
    assert (cutout.credits_consumed, cutout.credits_estimated) == (1, False)
    free = one_job(run, "remove_background", test=True)
    assert (free.credits_consumed, free.credits_estimated) == (0, False)
    assert usage("clipdrop") == (1, 0, 0)
    assert usage("clippingmagic") == (1, 0, 0)


def test_a_known_balance_follows_estimated_costs(run):
    VendorCredits.objects.create(vendor="pixlab", remaining=Decimal(50))
    one_job(run, "crop", **CROP)
    assert VendorCredits.objects.get(vendor="pixlab").remaining == 49


def test_each_vendor_has_its_own_read_timeout(settings):
    from django_imageops.jobs.context import NowContext

    timeouts = {}
    for operation, name in (("uncrop", "clipdrop"), ("crop", "pixlab"), ("uncrop", "piktid")):
        provider = get_provider(operation, name)
        timeouts[name] = provider.client_options(NowContext(provider))["timeout"]
    assert timeouts == {"clipdrop": (5.0, 180.0), "pixlab": (5.0, 60.0), "piktid": (5.0, 60.0)}
    vendor_setting(settings, "pixlab", READ_TIMEOUT=7)
    settings.IMAGEOPS = {**settings.IMAGEOPS, "TIMEOUT": (2, 30)}
    provider = get_provider("crop", "pixlab")
    assert provider.client_options(NowContext(provider))["timeout"] == (2.0, 7.0)


def test_credits_low_is_sent_once_when_the_balance_falls_below_the_threshold(run, settings):
    received = []

    def handler(sender, vendor, remaining, threshold, **kwargs):
        received.append((vendor, remaining, threshold))

    signals.credits_low.connect(handler)
    try:
        vendor_setting(settings, "pixlab", LOW_BALANCE=49)
        VendorCredits.objects.create(vendor="pixlab", remaining=Decimal(50))
        one_job(run, "crop", **CROP)  # 49: not below
        assert received == []
        one_job(run, "crop", **{**CROP, "x": 5})  # 48: below
        assert received == [("pixlab", Decimal(48), Decimal(49))]
        one_job(run, "crop", **{**CROP, "x": 6})  # still below: not sent again
        assert len(received) == 1
        assert VendorCredits.objects.get(vendor="pixlab").low
    finally:
        signals.credits_low.disconnect(handler)


def test_the_job_admin_and_api_say_the_credits_are_estimated(run, admin_client):
    job = one_job(run, "crop", **CROP)
    assert ImageJob.objects.get(pk=job.pk).credits_estimated
    response = admin_client.get(f"/api/imageops/jobs/{job.uuid}/")
    assert response.status_code == 200, response.content[:300]
    data = response.json()
    assert data["credits_consumed"] == "1.000" and data["credits_estimated"] is True
    page = admin_client.get("/admin/django_imageops/imagejob/").content.decode()
    assert ">~1<" in page
