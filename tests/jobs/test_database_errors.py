"""The database fails after a vendor answered (or while a job logs in): the result is neither
lost nor paid for twice, and a transient database error is retried like any transient error.

The errors are raised at the database driver's boundary by Django's own query hook
(``connection.execute_wrapper``): the statement named is refused with the ``OperationalError``
SQLite gives a busy file ("database is locked"), as many times as asked; everything else runs
against the real test database, the sandbox over HTTP and moto's S3.
"""

from __future__ import annotations

import re
from contextlib import contextmanager
from decimal import Decimal

import pytest
from django.db import OperationalError, connection

from django_imageops import jobs
from django_imageops.models import ImageJob, VendorCredits
from tests.jobs.support import CROP, calls, kinds, make_image, photo, run_due_job, s3_object

# Workers run jobs in autocommit mode (a failed statement inside an atomic block would roll
# the whole block back): so do these tests.
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("fresh_servers")]

SEEDED = {"left": 16, "seed": 7}


class Locked:
    """A query hook refusing the statements matching ``pattern`` ``times`` times."""

    def __init__(self, pattern: str, times: int = 1):
        self.pattern = re.compile(pattern, re.IGNORECASE | re.DOTALL)
        self.left = times
        self.refused: list[str] = []

    def __call__(self, execute, sql, params, many, context):
        if self.left and self.pattern.search(sql):
            self.left -= 1
            self.refused.append(sql)
            raise OperationalError("database is locked")
        return execute(sql, params, many, context)


@contextmanager
def locked(pattern: str, times: int = 1):
    hook = Locked(pattern, times)
    with connection.execute_wrapper(hook):
        yield hook


#: The job's UPDATE that marks it succeeded (the status is a bound parameter: match the SET list
#: that only ``mark_stored`` writes).
SUCCEED = r'UPDATE "django_imageops_imagejob" SET .*"result" = '
#: Any write of the job row after its claim: the result's, the spool's, a retry's.
AFTER_CLAIM = r'UPDATE "django_imageops_imagejob" SET .*("result"|"spool_path"|"error_code") = '
BALANCE = r'"django_imageops_vendorcredits"'


def spooled_files(job) -> list:
    """The spool files of ``job`` left on disk."""
    from django_imageops.jobs.spool import spool_dir

    return list(spool_dir().glob(f"{job.uuid}*"))


def test_the_balance_write_failing_never_fails_the_job(run, sandbox, s3):
    """The issue's case: Clipdrop answered, then recording its balance met "database is
    locked"; the job ended failed (internal_error), its result thrown away, 0 credits."""
    with locked(BALANCE + r".*(UPDATE|INSERT)|(UPDATE|INSERT).*" + BALANCE, times=5) as hook:
        [job] = run(jobs.create_jobs, "uncrop", objects=[photo()], field="image", params=SEEDED)
    assert hook.refused
    job.refresh_from_db()
    assert job.status == "succeeded", job.error_message
    assert calls(sandbox, "clipdrop") == 1
    counted = Decimal(sandbox.counters()["clipdrop"]["credits_consumed"])
    assert job.credits_consumed == counted > 0
    assert job.credits_remaining is not None
    assert s3_object(s3, job.result.name)["ContentLength"] == job.result_bytes
    # The next call records the balance again.
    run(jobs.create_jobs, "uncrop", objects=[photo()], field="image", params={"top": 8})
    assert VendorCredits.objects.get(vendor="clipdrop").remaining == Decimal(
        sandbox.counters()["clipdrop"]["credits_remaining"]
    )


@pytest.mark.parametrize(
    ("operation", "params", "vendor"),
    [("uncrop", SEEDED, "clipdrop"), ("crop", CROP, "pixlab"), ("reimagine", {}, "clipdrop")],
)
def test_recording_the_result_failing_spools_it_and_the_retry_stores_it_without_a_call(
    run, sandbox, s3, operation, params, vendor
):
    with locked(SUCCEED) as hook:
        [job] = run(jobs.create_jobs, operation, objects=[photo()], field="image", params=params)
    assert hook.refused
    job.refresh_from_db()
    assert (job.status, job.error_code) == ("pending", "result_not_recorded"), job.error_message
    assert job.spool_path
    assert "store_failed" in kinds(job)
    credits = job.credits_consumed  # recorded with the retry, in the same UPDATE

    job = run(run_due_job, job)
    assert job.status == "succeeded", job.error_message
    assert calls(sandbox, vendor) == 1
    assert job.credits_consumed == credits
    if vendor == "clipdrop":  # the vendor that reports what a call cost
        assert job.credits_consumed == Decimal(sandbox.counters()[vendor]["credits_consumed"])
    assert s3_object(s3, job.result.name)["ContentLength"] == job.result_bytes
    assert job.spool_path == ""
    assert not spooled_files(job)


def test_a_spool_the_database_never_recorded_is_found_by_the_jobs_uuid(run, sandbox, s3):
    """The database stays locked for every write of the job after the vendor answered: not
    even the retry is recorded (the job row still says running, no credits). The result waits
    in the spool, and the run that picks the job up again (here ``requeue_stale``, as
    ``imageops_run --due`` does for a job left running) stores it without a second call, with
    the credits the call cost."""
    with locked(AFTER_CLAIM, times=1000):
        [job] = run(jobs.create_jobs, "uncrop", objects=[photo()], field="image", params=SEEDED)
    row = ImageJob.objects.get(pk=job.pk)
    assert row.status == "running" and not row.spool_path and row.credits_consumed == 0
    assert calls(sandbox, "clipdrop") == 1

    assert jobs.requeue_stale(older_than=0) == 1
    job = run(run_due_job, row)
    assert job.status == "succeeded", job.error_message
    assert calls(sandbox, "clipdrop") == 1
    assert job.credits_consumed == Decimal(sandbox.counters()["clipdrop"]["credits_consumed"])
    assert not spooled_files(job)


def test_a_locked_database_before_any_vendor_call_is_retried(run, sandbox):
    """Reading the reuse candidates fails: nothing was paid, the job is tried again later."""
    with locked(r'SELECT .* FROM "django_imageops_imagejob" WHERE .*"source_hash" ='):
        [job] = run(jobs.create_jobs, "crop", objects=[photo()], field="image", params=CROP)
    job.refresh_from_db()
    assert (job.status, job.error_code) == ("pending", "database_unavailable"), job.error_message
    assert calls(sandbox, "pixlab") == 0
    job = run(run_due_job, job)
    assert job.status == "succeeded", job.error_message
    assert calls(sandbox, "pixlab") == 1


def test_database_is_locked_during_a_piktid_login_is_retried(run, sandbox):
    """Issue 14, bug 12: storing PiktID's new token pair met "database is locked" and the job
    failed for good (internal_error). It is retried like any transient error."""
    sandbox.configure(piktid_delay=0)
    with locked(r'(INSERT INTO|UPDATE) "django_imageops_vendortoken"') as hook:
        [job] = run(
            jobs.create_jobs,
            "uncrop",
            provider="piktid",
            objects=[photo(make_image(100, 100))],
            field="image",
            params={"left": 20},
        )
    assert hook.refused
    job.refresh_from_db()
    assert (job.status, job.error_code) == ("pending", "database_unavailable"), job.error_message
    job = run(run_due_job, job)  # upload and generate
    assert job.status == "running", job.error_message
    job = run(run_due_job, job)  # the poll
    assert job.status == "succeeded", job.error_message
    assert calls(sandbox, "piktid", "generate") == 1


def test_a_database_error_that_does_not_pass_gives_up_after_max_attempts(run, sandbox, settings):
    settings.IMAGEOPS = {**settings.IMAGEOPS, "MAX_ATTEMPTS": 2}
    with locked(r'SELECT .* FROM "django_imageops_imagejob" WHERE .*"source_hash" =', 100):
        [job] = run(jobs.create_jobs, "crop", objects=[photo()], field="image", params=CROP)
        job = run(run_due_job, job)
    assert (job.status, job.error_code) == ("failed", "database_unavailable")
    assert "Gave up after 2 attempts" in job.error_message
    assert calls(sandbox, "pixlab") == 0
