"""ClippingMagic's provider through jobs, against the sandbox: Auto-Clip, the review in the
editor and its credits (the first production download only), the account balance, the linear
429 back-off, calls a person waits for."""

from __future__ import annotations

import pytest
from django.core.cache import caches

from django_imageops import jobs, providers
from django_imageops.models import ImageJobEvent, VendorCredits
from tests.jobs.support import (
    DUMMY_BACKEND,
    calls,
    make_image,
    photo,
    run_due_job,
    s3_object,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_servers")]


def test_remove_background_auto_keeps_ids_and_test_mode(run, sandbox, settings):
    settings.IMAGEOPS = {**settings.IMAGEOPS, "TEST_MODE": True}
    [job] = run(
        jobs.create_jobs,
        "remove_background",
        objects=[photo(make_image(80, 60))],
        field="image",
        params={"mode": "auto"},
    )
    job.refresh_from_db()
    assert job.params == {"mode": "auto", "test": True}
    assert job.status == "succeeded", job.error_message
    assert job.vendor_image_id and job.vendor_secret
    assert job.vendor_result_revision >= 1
    assert job.credits_consumed == 0  # test mode is free


@pytest.mark.parametrize("size", [(1, 1), (10, 3000)])
def test_a_very_narrow_image_is_cut_out_in_one_call(run, sandbox, size):
    """The sandbox's cut-out used to answer 500 for these, so the job retried five times and
    ended vendor_unavailable."""
    [job] = run(
        jobs.create_jobs,
        "remove_background",
        objects=[photo(make_image(*size))],
        field="image",
        params={"mode": "auto", "test": True},
    )
    job.refresh_from_db()
    assert job.status == "succeeded", job.error_message
    assert (job.result_width, job.result_height) == size
    assert job.attempts == 1
    assert calls(sandbox, "clippingmagic") == 1


def test_review_waits_for_editor_then_fetches_each_new_revision(run, sandbox, s3):
    [job] = run(
        jobs.create_jobs,
        "remove_background",
        objects=[photo(make_image(80, 60))],
        field="image",
        params={"mode": "review", "test": True},
    )
    job.refresh_from_db()
    assert job.status == "waiting_for_editor"
    assert job.vendor_image_id and job.vendor_secret and not job.result
    # Nothing new yet: no download.
    assert jobs.fetch_review_result(job) is False
    sandbox.clippingmagic_edit(job.vendor_image_id)
    run(jobs.request_review_result, job, job.vendor_image_id)
    job.refresh_from_db()
    assert job.status == "succeeded", job.error_message
    first = job.result.name
    assert first == f"imageops/results/remove_background/{job.uuid}.png" or first.startswith(
        f"imageops/results/remove_background/{job.uuid}."
    )
    revision = job.vendor_result_revision
    assert revision >= 1
    sandbox.clippingmagic_edit(job.vendor_image_id)
    assert jobs.fetch_review_result(job, image_id=job.vendor_image_id) is True
    job.refresh_from_db()
    assert job.vendor_result_revision > revision
    assert job.result.name != first
    replaced = job.events.filter(kind=ImageJobEvent.Kind.RESULT_REPLACED).get()
    assert replaced.data["previous"] == first
    # The earlier result is kept on storage.
    assert s3_object(s3, first)["ContentLength"] > 0
    with pytest.raises(ValueError):
        jobs.fetch_review_result(job, image_id="999999")


def _review_job(run, *, test: bool, mode: str = "review"):
    [job] = run(
        jobs.create_jobs,
        "remove_background",
        objects=[photo(make_image(80, 60))],
        field="image",
        params={"mode": mode, "test": test},
    )
    job.refresh_from_db()
    return job


def test_review_records_the_credit_of_the_first_production_download_only(run, sandbox):
    jobs.refresh_credits("clippingmagic")  # a known balance, as the admin's refresh leaves it
    job = _review_job(run, test=False)
    assert job.status == "waiting_for_editor"
    assert job.credits_consumed == 0  # the upload (format=json) is free
    sandbox.clippingmagic_edit(job.vendor_image_id)
    assert jobs.fetch_review_result(job) is True
    job.refresh_from_db()
    counters = sandbox.counters()["clippingmagic"]
    assert counters["credits_consumed"] == 1
    assert job.credits_consumed == 1
    # The balance follows what was spent, with no account call per job.
    balance = VendorCredits.objects.get(vendor="clippingmagic").remaining
    assert balance == counters["credits_remaining"]
    assert calls(sandbox, "clippingmagic", "account") <= 1
    # A later revision of the same image is free to download, at the vendor and in our books.
    sandbox.clippingmagic_edit(job.vendor_image_id)
    assert jobs.fetch_review_result(job) is True
    job.refresh_from_db()
    assert sandbox.counters()["clippingmagic"]["credits_consumed"] == 1
    assert job.credits_consumed == 1
    assert job.vendor_result_revision == 2


def test_review_of_a_test_image_records_no_credit(run, sandbox):
    job = _review_job(run, test=True)
    sandbox.clippingmagic_edit(job.vendor_image_id)
    assert jobs.fetch_review_result(job) is True
    job.refresh_from_db()
    assert job.credits_consumed == 0
    assert sandbox.counters()["clippingmagic"]["credits_consumed"] == 0


def test_editing_an_auto_clip_result_costs_no_second_credit(run, sandbox):
    job = _review_job(run, test=False, mode="auto")
    assert job.status == "succeeded", job.error_message
    assert job.credits_consumed == 1
    sandbox.clippingmagic_edit(job.vendor_image_id)
    assert jobs.fetch_review_result(job) is True
    job.refresh_from_db()
    assert sandbox.counters()["clippingmagic"]["credits_consumed"] == 1
    assert job.credits_consumed == 1


def test_clippingmagic_429_backs_off_in_linear_5s_steps(run, sandbox):
    sandbox.fail_next("clippingmagic", count=2, status=429)
    [job] = run(
        jobs.create_jobs,
        "remove_background",
        objects=[photo()],
        field="image",
        params={"test": True},
    )
    # The limiter holds every worker back for those 5 s too (tested in the limiter's tests):
    # clear it to see the client's second step.
    caches["default"].clear()
    run(run_due_job, job)
    delays = [
        e.data["delay"] for e in ImageJobEvent.objects.filter(job=job, kind="retry_scheduled")
    ]
    assert delays == [5.0, 10.0]
    caches["default"].clear()
    job = run(run_due_job, job)
    assert job.status == "succeeded"


def test_refresh_credits_from_the_clippingmagic_account(sandbox):
    remaining = jobs.refresh_credits("clippingmagic")
    assert remaining == sandbox.counters()["clippingmagic"]["credits_remaining"]
    assert VendorCredits.objects.get(vendor="clippingmagic").remaining == remaining


def test_admin_calls_told_to_wait_raise_instead_of_calling(sandbox):
    # refresh_credits / fetch_review_result / delete_vendor_copy run while someone waits: a
    # wait from the limiter is an error, not a call that ignores the limit.
    from django_imageops import ratelimit
    from django_imageops.vendors import RateLimited

    ratelimit.backoff("clippingmagic", providers.credential("clippingmagic"), 20)
    before = calls(sandbox, "clippingmagic")
    with pytest.raises(RateLimited) as caught:
        jobs.refresh_credits("clippingmagic")
    assert 10 < caught.value.retry_after <= 20
    assert calls(sandbox, "clippingmagic") == before


def test_a_review_fetch_told_to_wait_is_enqueued_again_later(run, sandbox, settings):
    from django_imageops import ratelimit, tasks

    job = _review_job(run, test=True)
    settings.TASKS = {"default": {"BACKEND": DUMMY_BACKEND}}
    backend = tasks.get_backend()
    backend.clear()
    ratelimit.backoff("clippingmagic", providers.credential("clippingmagic"), 20)
    tasks.fetch_review_result_task.call(job.pk)
    [later] = backend.results
    assert later.task.func is tasks.fetch_review_result_task.func
    assert later.args == [job.pk]
    assert later.task.run_after is not None


def test_auto_clip_when_the_upload_answers_a_redirect(run, sandbox):
    sandbox.configure(clippingmagic_result_redirect=True)
    [job] = run(
        jobs.create_jobs,
        "remove_background",
        objects=[photo(make_image(80, 60))],
        field="image",
        params={"mode": "auto"},
    )
    job.refresh_from_db()
    assert job.status == "succeeded", job.error_message
    assert job.vendor_image_id and job.vendor_secret
    assert (job.result_width, job.result_height) == (80, 60)
    assert job.credits_consumed == 1
    assert calls(sandbox, "clippingmagic") == 1
