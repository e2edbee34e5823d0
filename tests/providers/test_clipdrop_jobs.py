"""Clipdrop's providers through jobs, against the sandbox: credits from the headers, images
fitted before paying."""

from __future__ import annotations

import pytest

from django_imageops import jobs
from django_imageops.models import VendorCredits
from tests.jobs.support import (
    make_image,
    photo,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_servers")]


def test_uncrop_clipdrop_records_credits(run, sandbox):
    [job] = run(
        jobs.create_jobs,
        "uncrop",
        objects=[photo(make_image(100, 80))],
        field="image",
        params={"left": 10, "right": 20, "top": 0, "bottom": -5},
    )
    job.refresh_from_db()
    assert job.status == "succeeded", job.error_message
    assert (job.result_width, job.result_height) == (130, 75)
    assert job.result.name.endswith(".jpg")
    assert job.credits_consumed == 1
    remaining = sandbox.counters()["clipdrop"]["credits_remaining"]
    assert job.credits_remaining == remaining
    assert VendorCredits.objects.get(vendor="clipdrop").remaining == remaining


def test_reimagine_downscales_to_1024_before_paying(run, sandbox):
    [job] = run(
        jobs.create_jobs, "reimagine", objects=[photo(make_image(2048, 1024))], field="image"
    )
    job.refresh_from_db()
    assert job.status == "succeeded", job.error_message
    assert max(job.result_width, job.result_height) <= 1024
    assert any("resized from 2048x1024" in e.message for e in job.events.all())
    assert sandbox.counters()["clipdrop"]["errors"] == 0


def test_an_uncrop_refused_with_406_fails_as_an_invalid_image(run, sandbox):
    # Public client code for Clipdrop handles an undocumented 406: a refused image, not a
    # generic vendor error and not something to retry.
    sandbox.fail_next("clipdrop", status=406, message="Image not acceptable")
    [job] = run(
        jobs.create_jobs,
        "uncrop",
        objects=[photo(make_image(100, 80))],
        field="image",
        params={"left": 10},
    )
    job.refresh_from_db()
    assert (job.status, job.error_code, job.attempts) == ("failed", "invalid_image", 1)
    assert job.error_message == (
        "Clipdrop could not process this image (HTTP 406): Image not acceptable."
    )
