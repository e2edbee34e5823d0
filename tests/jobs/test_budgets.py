"""Budgets: a job that would exceed one is not sent; it waits with a clear reason and resumes
when the period rolls over or the cap is raised; reservations are given back when nothing was
spent; the estimate shows what is left; check E009 refuses nonsense."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.core.management import call_command

from django_imageops import jobs
from django_imageops.checks import check_costs
from django_imageops.jobs.budgets import budgets_for, period_bounds
from django_imageops.models import BudgetCounter, ImageJob
from tests.jobs.support import CROP, calls, make_due, make_image, photo, vendor_setting

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_servers")]


_colors = iter(range(1, 250))


def crops(run, count, **kwargs):
    # Different images: no job reuses another's result.
    objects = [photo(make_image(color=(next(_colors), 0, 0))) for _ in range(count)]
    created = []
    for index, obj in enumerate(objects):
        created += run(
            jobs.create_jobs,
            "crop",
            objects=[obj],
            field="image",
            params={**CROP, "x": index},
            **kwargs,
        )
    return [ImageJob.objects.get(pk=job.pk) for job in created]


def test_a_spent_daily_budget_makes_jobs_wait_until_it_is_raised(run, sandbox, settings):
    vendor_setting(settings, "pixlab", DAILY_BUDGET=2)
    created = crops(run, 4)
    statuses = [job.status for job in created]
    assert statuses.count("succeeded") == 2, statuses
    assert calls(sandbox, "pixlab") == 2  # the waiting jobs called nothing
    waiting = [job for job in created if job.status == "pending"]
    assert len(waiting) == 2
    tomorrow = datetime.combine(
        datetime.now(UTC).date() + timedelta(days=1), datetime.min.time(), tzinfo=UTC
    )
    for job in waiting:
        assert job.error_code == "budget_exhausted"
        assert job.error_message == (
            "PixLab's daily budget of 2 credits is spent; resumes at 00:00 UTC."
        )
        assert job.next_attempt_at == tomorrow
        assert job.attempts == 0
    assert jobs.run_due() == 0  # not due, and the budget has no room
    [counter] = BudgetCounter.objects.all()
    assert (counter.vendor, counter.period, counter.spent) == ("pixlab", "day", 2)

    vendor_setting(settings, "pixlab", DAILY_BUDGET=10)
    assert jobs.run_due() == 2
    assert set(ImageJob.objects.values_list("status", flat=True)) == {"succeeded"}
    assert calls(sandbox, "pixlab") == 4
    assert BudgetCounter.objects.get().spent == 4


def test_a_waiting_job_runs_when_its_period_rolls_over(run, sandbox, settings):
    vendor_setting(settings, "pixlab", DAILY_BUDGET=1)
    first, second = crops(run, 2)
    assert (first.status, second.status) == ("succeeded", "pending")
    # Yesterday's counter was full; today's is new.
    BudgetCounter.objects.update(start=datetime.now(UTC).date() - timedelta(days=1))
    make_due(second)
    assert jobs.run_due() == 1
    second.refresh_from_db()
    assert second.status == "succeeded" and second.error_code == ""


def test_user_and_batch_budgets(run, sandbox, settings, django_user_model):
    alice = django_user_model.objects.create_user("alice")
    bob = django_user_model.objects.create_user("bob")
    vendor_setting(settings, "pixlab", USER_DAILY_BUDGET=1, BATCH_BUDGET=2)
    [a1, a2] = crops(run, 2, created_by=alice)
    [b1] = crops(run, 1, created_by=bob)
    assert (a1.status, a2.status, b1.status) == ("succeeded", "pending", "succeeded")
    assert a2.error_message.startswith("This user's daily budget of 1 PixLab credits is spent")
    batch = uuid.uuid4()
    in_batch = crops(run, 3, batch=batch)
    assert [job.status for job in in_batch].count("succeeded") == 2
    [late] = [job for job in in_batch if job.status == "pending"]
    assert "This batch's budget of 2 PixLab credits is spent" in late.error_message
    # Each budget's counter, and what the estimate says is left.
    estimate = jobs.estimate(
        "crop", objects=[photo()], field="image", params=CROP, created_by=alice, batch=batch
    )
    [pixlab] = estimate.vendors
    left = {(b.scope, b.period): b.remaining for b in pixlab.budgets}
    assert left == {("user", "day"): 0, ("batch", "batch"): 0}
    assert pixlab.budget_remaining == 0 and not estimate.fits
    assert "some jobs will wait" in estimate.summary()


def test_the_reservation_is_given_back_when_the_vendor_refuses(run, sandbox, settings):
    vendor_setting(settings, "pixlab", DAILY_BUDGET=1)
    sandbox.fail_next("pixlab", kind="status", status=400)
    [refused] = crops(run, 1)
    assert refused.status == "failed"
    assert BudgetCounter.objects.get().spent == 0
    [ok] = crops(run, 1)
    assert ok.status == "succeeded"
    assert BudgetCounter.objects.get().spent == 1


def test_reused_results_and_free_jobs_take_nothing_from_the_budget(run, sandbox, settings):
    vendor_setting(settings, "pixlab", DAILY_BUDGET=1)
    obj = photo()
    first = run(jobs.create_jobs, "crop", objects=[obj], field="image", params=CROP)
    again = run(jobs.create_jobs, "crop", objects=[obj], field="image", params=CROP)
    assert ImageJob.objects.get(pk=first[0].pk).status == "succeeded"
    assert ImageJob.objects.get(pk=again[0].pk).reused_from_id == first[0].pk
    assert BudgetCounter.objects.get().spent == 1
    vendor_setting(settings, "clippingmagic", DAILY_BUDGET=0)
    [test_mode] = run(
        jobs.create_jobs, "remove_background", objects=[obj], field="image", params={"test": True}
    )
    assert ImageJob.objects.get(pk=test_mode.pk).status == "succeeded"


def test_a_monthly_budget_waits_for_the_next_month():
    start, resets_at = period_bounds("month", datetime(2026, 12, 31, 23, 0, tzinfo=UTC))
    assert (start.isoformat(), resets_at.isoformat()) == ("2026-12-01", "2027-01-01T00:00:00+00:00")


def test_budget_statuses_in_the_estimate_without_a_user(settings):
    vendor_setting(settings, "clipdrop", DAILY_BUDGET=500, MONTHLY_BUDGET="9000.5")
    [clipdrop] = jobs.estimate(
        "uncrop", objects=[photo()], field="image", params={"left": 8}
    ).vendors
    data = clipdrop.as_dict()["budgets"]
    assert [(b["label"], b["limit"], b["remaining"]) for b in data] == [
        ("Clipdrop daily budget", "500", "500"),
        ("Clipdrop monthly budget", "9000.5", "9000.5"),
    ]
    assert data[0]["resets_at"].endswith("T00:00:00+00:00")
    assert [b.scope for b in budgets_for("clipdrop", user_id=None, batch=None)] == [
        "vendor",
        "vendor",
    ]


@pytest.mark.parametrize(
    "values, expected",
    [
        ({"DAILY_BUDGET": "lots"}, "DAILY_BUDGET"),
        ({"DAILY_BUDGET": -1}, ">= 0"),
        ({"DAILY_BUDGET": 100, "MONTHLY_BUDGET": 50}, "can never be reached"),
        ({"USER_DAILY_BUDGET": 600, "DAILY_BUDGET": 500}, "can never be reached"),
        ({"DAILY_BUDGET": "0.5"}, "less than one job's price"),
        ({"DAYLY_BUDGET": 5}, "is not a budget setting"),
        ({"PRICE": "free"}, "PRICE"),
        ({"LOW_BALANCE": "some"}, "LOW_BALANCE"),
        ({"READ_TIMEOUT": 0}, "READ_TIMEOUT"),
    ],
)
def test_check_refuses_nonsense_budgets_and_prices(settings, values, expected):
    vendor_setting(settings, "clipdrop", **values)
    errors = check_costs()
    assert errors, values
    assert any(expected in error.msg for error in errors), [e.msg for e in errors]
    assert {e.id for e in errors} <= {
        "django_imageops.E008",
        "django_imageops.E009",
        "django_imageops.E010",
    }


def test_sensible_budgets_pass_the_check(settings):
    vendor_setting(
        settings,
        "clipdrop",
        DAILY_BUDGET=500,
        MONTHLY_BUDGET=10_000,
        USER_DAILY_BUDGET=50,
        BATCH_BUDGET=1000,
        LOW_BALANCE=20,
        PRICE={"uncrop": 1},
    )
    assert check_costs() == []
    call_command("check")  # raises on errors


def test_budget_counters_hold_under_concurrent_threads(settings, transactional_db):
    """Eight threads reserving 1 credit each against a cap of 5: exactly 5 succeed."""
    import threading

    from django.db import connection

    from django_imageops.jobs.budgets import BudgetExhausted, reserve

    if connection.vendor == "sqlite":
        pytest.skip("threads share one SQLite file writer; the worker test covers SQLite")
    vendor_setting(settings, "pixlab", DAILY_BUDGET=5)
    won, lost = [], []
    barrier = threading.Barrier(8)

    def take():
        from django.db import connection as thread_connection

        try:
            barrier.wait()
            try:
                reserve("pixlab", Decimal(1))
                won.append(1)
            except BudgetExhausted:
                lost.append(1)
        finally:
            thread_connection.close()

    threads = [threading.Thread(target=take) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert (len(won), len(lost)) == (5, 3)
    assert BudgetCounter.objects.get().spent == 5
