"""PiktID's one token pair, shared by worker threads: a run whose pair another worker renewed
meanwhile takes the stored pair instead of spending the old refresh token again.

PiktID keeps the old pair valid 5 s after a refresh; a refresh token used after that revokes
every token of the account (every worker then logs in again). A run loads the stored pair when
its client is built and may hold it for a whole vendor call or more, so with several threads a
run can meet its expired token seconds after another thread has refreshed it.
"""

from __future__ import annotations

import threading
import time

import pytest
from django.db import connection

from django_imageops import jobs
from django_imageops.models import ImageJob, VendorToken
from django_imageops.providers.piktid import PiktidUncrop
from tests.jobs.support import DUMMY_BACKEND, calls, make_image, photo, run_due_job

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("fresh_servers")]

TOKEN_TTL = 1.5  # seconds the first access token lives
GRACE = 0.3  # seconds the old pair stays valid after a refresh


def stored_pair() -> dict:
    token = VendorToken.objects.get(vendor="piktid", account="sandbox@example.com")
    return {"access_token": token.access_token, "refresh_token": token.refresh_token}


def test_a_run_whose_pair_another_worker_renewed_takes_the_stored_pair(
    sandbox, settings, monkeypatch
):
    settings.TASKS = {"default": {"BACKEND": DUMMY_BACKEND}}  # runs are started by hand here
    sandbox.configure(piktid_delay=0, piktid_token_ttl=TOKEN_TTL, piktid_refresh_grace=GRACE)
    [first], [second] = (
        jobs.create_jobs(
            "uncrop",
            provider="piktid",
            objects=[photo(make_image(100, 100))],
            field="image",
            params={"left": left},
        )
        for left in (8, 12)
    )

    # The second job's run logs in, uploads, then pauses before its generate, holding the pair.
    paused, go = threading.Event(), threading.Event()
    generate = PiktidUncrop.generate

    def generate_later(self, ctx):
        if ctx.params["left"] == second.params["left"]:
            paused.set()
            assert go.wait(timeout=30)
        return generate(self, ctx)

    monkeypatch.setattr(PiktidUncrop, "generate", generate_later)
    errors = []

    def run_second():
        try:
            jobs.run_job(second.pk)
        except Exception as exc:  # reported by the assertion below
            errors.append(exc)
        finally:
            connection.close()

    thread = threading.Thread(target=run_second)
    thread.start()
    try:
        assert paused.wait(timeout=30)
        logged_in = stored_pair()
        # Its access token expires; the first job's run (another worker) refreshes it.
        sandbox.configure(piktid_token_ttl=3600)
        time.sleep(TOKEN_TTL + 0.1)
        jobs.run_job(first.pk)
        refreshed = stored_pair()
        assert refreshed != logged_in
        # The old pair's grace is over when the paused run calls PiktID again with it.
        time.sleep(GRACE + 0.2)
    finally:
        go.set()
        thread.join(timeout=60)
    assert not errors, errors

    # It took the stored pair: one login, one refresh, nothing revoked, no second login.
    assert calls(sandbox, "piktid", "tokens") == 2
    assert stored_pair() == refreshed
    for job in (first, second):
        job = run_due_job(job)
        assert job.status == ImageJob.Status.SUCCEEDED, job.error_message
    # The refreshed pair was never revoked: the polls needed no renewal either.
    assert calls(sandbox, "piktid", "tokens") == 2
    assert stored_pair() == refreshed
