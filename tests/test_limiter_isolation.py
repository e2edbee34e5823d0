"""The client-side rate limiter keeps its state in Django's cache, which lives as long as the
test process: tests/conftest.py clears it before each test so that one test's vendor calls (or
a 429's back-off) cannot defer the next test's jobs. The two tests run in this order."""

from __future__ import annotations

import pytest

from django_imageops import jobs, providers, ratelimit
from tests.jobs.support import make_image, photo

pytestmark = pytest.mark.django_db


def test_a_test_leaves_limiter_state_behind():
    credential = providers.credential("clipdrop")
    # Clipdrop's default 60/minute: one request per ~1 s slot, taken here...
    assert ratelimit.reserve("clipdrop", credential) == 0.0
    # ...and a 429's Retry-After that every worker must wait out.
    ratelimit.backoff("clipdrop", credential, 120)
    assert ratelimit.reserve("clipdrop", credential) > 60
    # A ClippingMagic concurrency slot never released (a worker killed mid-call).
    assert ratelimit.reserve("clippingmagic", providers.credential("clippingmagic")) == 0.0


def test_the_next_test_starts_with_a_fresh_limiter(sandbox, s3, django_capture_on_commit_callbacks):
    """With the default limits (60/minute), a Clipdrop reimagine job runs at once."""
    with django_capture_on_commit_callbacks(execute=True):
        [job] = jobs.create_jobs("reimagine", objects=[photo(make_image(64, 48))], field="image")
    job.refresh_from_db()
    assert job.status == "succeeded", (job.status, job.error_message)
