"""Issue 17 item 8: a vendor that answers after our read timeout has done and charged the
work; the retry is charged again. Where the vendor tells its balance (Clipdrop's
``x-remaining-credits``, ClippingMagic's account), the spend no job recorded is found and
recorded (``CreditUsage.unrecorded``), so that no charge goes unrecorded; balances reported
while other paid calls were under way are never taken for missing spend."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from django_imageops import jobs
from django_imageops.jobs.credits import begin_call, record_call, today
from django_imageops.models import CreditUsage, ImageJob, VendorCredits
from tests.jobs.support import make_image, photo, run_due_job, vendor_setting

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_servers")]


def unrecorded(vendor):
    row = CreditUsage.objects.filter(vendor=vendor, day=today()).first()
    return row.unrecorded if row else 0


def recorded_by_jobs(vendor_providers):
    return sum(
        job.credits_consumed for job in ImageJob.objects.filter(provider__in=vendor_providers)
    )


def test_a_clipdrop_answer_after_the_read_timeout_is_found_in_the_balance(run, sandbox, settings):
    vendor_setting(settings, "clipdrop", READ_TIMEOUT=1)
    [first] = run(jobs.create_jobs, "uncrop", objects=[photo()], field="image", params={"left": 8})
    assert ImageJob.objects.get(pk=first.pk).status == "succeeded"
    sandbox.fail_next("clipdrop", kind="late", seconds=4)
    [job] = run(
        jobs.create_jobs,
        "uncrop",
        objects=[photo(make_image(color=(1, 2, 3)))],
        field="image",
        params={"left": 8},
    )
    job.refresh_from_db()
    assert (job.status, job.error_code) == ("pending", "vendor_unavailable"), job.error_message
    job = run(run_due_job, job)  # the retry: charged again
    assert job.status == "succeeded", job.error_message
    counted = sandbox.counters()["clipdrop"]["credits_consumed"]
    assert counted == 3
    assert recorded_by_jobs(["clipdrop"]) == 2  # the jobs know of two charges...
    assert unrecorded("clipdrop") == 1  # ... the balance showed the third
    assert VendorCredits.objects.get(vendor="clipdrop").recorded == counted


def test_clippingmagic_spend_found_when_the_account_is_refreshed(run, sandbox, settings):
    vendor_setting(settings, "clippingmagic", READ_TIMEOUT=1)
    assert jobs.refresh_credits("clippingmagic") == 100
    sandbox.fail_next("clippingmagic", kind="late", seconds=4)
    [job] = run(
        jobs.create_jobs,
        "remove_background",
        objects=[photo()],
        field="image",
        params={"test": False},
    )
    job.refresh_from_db()
    assert job.status == "pending", job.error_message
    job = run(run_due_job, job)
    assert job.status == "succeeded", job.error_message
    assert job.credits_consumed == 1
    assert unrecorded("clippingmagic") == 0  # not known yet: this vendor tells on request
    assert jobs.refresh_credits("clippingmagic") == 98
    assert sandbox.counters()["clippingmagic"]["credits_consumed"] == 2
    assert unrecorded("clippingmagic") == 1
    # Refreshing again finds nothing new.
    jobs.refresh_credits("clippingmagic")
    assert unrecorded("clippingmagic") == 1


def checkpoint(vendor, remaining, recorded=0):
    VendorCredits.objects.update_or_create(
        vendor=vendor,
        defaults={
            "remaining": remaining,
            "checkpoint_remaining": remaining,
            "checkpoint_recorded": recorded,
            "recorded": recorded,
        },
    )


def test_balances_of_overlapping_calls_are_not_taken_for_missing_spend():
    checkpoint("clipdrop", Decimal(100))
    begin_call("clipdrop")
    begin_call("clipdrop")
    # The vendor did A, then B; B's answer is recorded first.
    assert record_call(None, "clipdrop", consumed=1, remaining=Decimal(98), tracked=True) == 0
    assert record_call(None, "clipdrop", consumed=1, remaining=Decimal(99), tracked=True) == 0
    row = VendorCredits.objects.get(vendor="clipdrop")
    assert (row.in_flight, row.overlapped, row.checkpoint_remaining) == (0, False, 100)
    # The next call runs alone: its balance is exact, and everything was recorded.
    begin_call("clipdrop")
    assert record_call(None, "clipdrop", consumed=1, remaining=Decimal(97), tracked=True) == 0
    begin_call("clipdrop")
    assert record_call(None, "clipdrop", consumed=1, remaining=Decimal(95), tracked=True) == 1
    assert unrecorded("clipdrop") == 1


def test_credits_bought_are_not_counted_and_become_the_checkpoint():
    checkpoint("clipdrop", Decimal(10))
    begin_call("clipdrop")
    assert record_call(None, "clipdrop", consumed=1, remaining=Decimal(509), tracked=True) == 0
    row = VendorCredits.objects.get(vendor="clipdrop")
    assert (row.remaining, row.checkpoint_remaining) == (509, 509)


def test_a_call_count_left_by_a_dead_worker_expires():
    checkpoint("clipdrop", Decimal(100))
    begin_call("clipdrop")  # never ends: its worker died
    VendorCredits.objects.update(in_flight_at=timezone.now() - timedelta(hours=1))
    begin_call("clipdrop", stale_after=600)
    row = VendorCredits.objects.get(vendor="clipdrop")
    assert (row.in_flight, row.overlapped) == (1, True)  # this call's balance is not trusted
    # The dead worker's call was charged (100 -> 99), then this one (-> 98).
    assert record_call(None, "clipdrop", consumed=1, remaining=Decimal(98), tracked=True) == 0
    begin_call("clipdrop")
    # Alone again: exact, and the dead worker's charge is found.
    assert record_call(None, "clipdrop", consumed=1, remaining=Decimal(97), tracked=True) == 1
