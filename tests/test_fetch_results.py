"""``manage.py imageops_fetch_results``: a missed editor callback loses nothing."""

from __future__ import annotations

import io

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command

from django_imageops.models import ImageJob
from tests.clippingmagic_support import create_review_job, has_alpha, make_user
from tests.conftest import make_image

pytestmark = pytest.mark.django_db


def fetch_results(*args) -> str:
    out = io.StringIO()
    call_command("imageops_fetch_results", *args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def stored_bytes(job: ImageJob) -> bytes:
    with job.result.open("rb") as f:
        return f.read()


@pytest.fixture
def user():
    return make_user("creator")


def test_clippingmagic_review_fetch_results_downloads_a_missed_result(sandbox, s3, user):
    job = create_review_job(user=user)
    untouched = create_review_job(user=user)
    sandbox.clippingmagic_edit(job.vendor_image_id)

    out = fetch_results()

    assert "Checked 2 jobs: 1 new result, 0 errors." in out
    job.refresh_from_db()
    assert job.status == ImageJob.Status.SUCCEEDED
    assert job.vendor_result_revision == 1
    assert has_alpha(stored_bytes(job))
    untouched.refresh_from_db()
    assert untouched.status == ImageJob.Status.WAITING_FOR_EDITOR
    assert not untouched.result


def test_clippingmagic_review_fetch_results_without_new_revision_downloads_nothing(
    sandbox, s3, user
):
    job = create_review_job(user=user)
    before = sandbox.counters()["clippingmagic"]
    out = fetch_results()
    assert "1 new result," not in out
    assert "0 new results," in out
    job.refresh_from_db()
    assert job.status == ImageJob.Status.WAITING_FOR_EDITOR
    after = sandbox.counters()["clippingmagic"]
    # One free resultRevision check (format=json), no download, no credit.
    assert after["calls"] - before["calls"] == 1
    assert after.get("credits_consumed", 0) == before.get("credits_consumed", 0)


def test_clippingmagic_review_second_edit_is_a_new_result_and_keeps_the_first(sandbox, s3, user):
    job = create_review_job(user=user)
    sandbox.clippingmagic_edit(job.vendor_image_id)
    fetch_results()
    job.refresh_from_db()
    first_name = job.result.name
    assert job.vendor_result_revision == 1

    sandbox.clippingmagic_edit(job.vendor_image_id)
    out = fetch_results()

    assert "1 new result," in out
    job.refresh_from_db()
    assert job.status == ImageJob.Status.SUCCEEDED
    assert job.vendor_result_revision == 2
    assert job.result.name != first_name
    # The earlier result stays on storage and the job's history links it.
    s3.head_object(Bucket=settings.S3_BUCKET, Key=first_name)
    s3.head_object(Bucket=settings.S3_BUCKET, Key=job.result.name)
    history = " ".join(
        f"{event.message} {event.data}" for event in job.events.order_by("created_at", "id")
    )
    assert first_name in history


def test_clippingmagic_review_fetch_results_skips_other_jobs(sandbox, s3, user):
    auto_job = ImageJob.objects.create(
        operation=ImageJob.Operation.REMOVE_BACKGROUND,
        provider="clippingmagic",
        params={"mode": "auto", "test": True},
        status=ImageJob.Status.SUCCEEDED,
        vendor_image_id="424242",
    )
    no_image_yet = create_review_job(user=user, run=False)
    out = fetch_results()
    assert "Checked 0 jobs:" in out
    assert sandbox.counters()["clippingmagic"]["calls"] == 0
    assert auto_job.pk and no_image_yet.status == ImageJob.Status.PENDING


def test_clippingmagic_review_fetch_results_succeeded_days_zero_checks_waiting_only(
    sandbox, s3, user
):
    job = create_review_job(user=user)
    sandbox.clippingmagic_edit(job.vendor_image_id)
    fetch_results()
    sandbox.clippingmagic_edit(job.vendor_image_id)

    assert "Checked 0 jobs:" in fetch_results("--succeeded-days", "0")
    assert "Checked 1 job: 1 new result," in fetch_results("--job", str(job.uuid))


def test_clippingmagic_review_fetch_results_reports_vendor_errors_and_goes_on(sandbox, s3, user):
    failing = create_review_job(user=user)
    fine = create_review_job(user=user)
    sandbox.clippingmagic_edit(failing.vendor_image_id)
    sandbox.clippingmagic_edit(fine.vendor_image_id)
    sandbox.fail_next("clippingmagic", count=1, kind="status", status=503)
    err = io.StringIO()
    with pytest.raises(CommandError, match="1 job"):
        call_command("imageops_fetch_results", stdout=io.StringIO(), stderr=err)
    assert str(failing.uuid) in err.getvalue()
    fine.refresh_from_db()
    assert fine.status == ImageJob.Status.SUCCEEDED
    # Nothing lost: the next run picks the missed one up.
    assert "1 new result," in fetch_results()
    failing.refresh_from_db()
    assert failing.status == ImageJob.Status.SUCCEEDED


@pytest.mark.django_db(transaction=True)
def test_clippingmagic_review_two_fetches_at_once_pay_the_first_download_once(sandbox, s3, user):
    """The editor's callback and ``imageops_fetch_results`` (or two workers) fetching the same
    new result together: ClippingMagic charges its first download once, and so does the job."""
    import threading

    from django.db import connection

    from django_imageops import jobs

    upload = SimpleUploadedFile("square.png", make_image(), content_type="image/png")
    [job] = jobs.create_jobs(
        "remove_background", uploads=[upload], params={"mode": "review", "test": False}
    )
    jobs.run_job(job.pk)
    job.refresh_from_db()
    assert job.status == ImageJob.Status.WAITING_FOR_EDITOR
    sandbox.clippingmagic_edit(job.vendor_image_id)
    # Both fetchers check the revision before either has recorded its download.
    sandbox.configure(latency_ms=400)
    start = threading.Barrier(2)
    outcomes = []

    def fetch():
        try:
            start.wait()
            outcomes.append(jobs.fetch_review_result(ImageJob.objects.get(pk=job.pk)))
        except Exception as exc:  # reported by the assertion below
            outcomes.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=fetch) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    sandbox.configure(latency_ms=0)

    assert len(outcomes) == 2 and not [o for o in outcomes if isinstance(o, Exception)], outcomes
    job.refresh_from_db()
    assert job.status == ImageJob.Status.SUCCEEDED and job.vendor_result_revision == 1
    assert sandbox.counters()["clippingmagic"]["credits_consumed"] == 1
    assert job.credits_consumed == 1
    downloads = job.events.filter(message__startswith="downloaded ClippingMagic result")
    assert sorted(event.data["credits_consumed"] for event in downloads) == ["0", "1"]
