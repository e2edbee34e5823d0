"""A job's page in a real browser, at 1280 and 390 pixels wide: the actions as buttons at the
top, the status and the provider's progress in words refreshing while an asynchronous job
(PiktID, through the sandbox) runs, then the before and after images entirely visible.

Everything is real: ``live_server``, the vendor sandbox, moto S3, Debian Chromium; the test
plays the worker (``jobs.run_job``), so it decides when each poll happens.
"""

from __future__ import annotations

import time

import pytest
from django.urls import reverse

from django_imageops import jobs
from django_imageops.models import ImageJob
from tests.browser.conftest import at_narrow_width, fully_visible
from tests.jobs.support import DUMMY_BACKEND, fresh_limits, make_image, photo, run_due_job

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_job_page_refreshes_until_the_job_ends_then_shows_before_and_after(
    admin_browser, sandbox, s3, settings, screenshot
):
    fresh_limits(settings)
    settings.TASKS = {"default": {"BACKEND": DUMMY_BACKEND}}  # the test is the worker
    sandbox.configure(piktid_delay=5)
    source = photo(make_image(512, 384, color=(40, 120, 200)), name="sky.png")
    [job] = jobs.create_jobs(
        "uncrop", objects=[source], field="image", provider="piktid", params={"left": 192}
    )
    page = admin_browser(reverse("admin:django_imageops_imagejob_change", args=[job.pk]))
    badge = page.locator(f'.field-status_badge .imageops-badge[data-job="{job.pk}"]')
    assert badge.inner_text() == "Pending"
    # The actions a pending job offers are buttons at the top, before the form.
    cancel = page.locator(".object-tools button.imageops-tool-cancel")
    assert cancel.is_visible() and cancel.inner_text().lower() == "cancel the job"

    jobs.run_job(job.pk)  # upload and generate; the first poll is scheduled
    run_due_job(job)  # poll 1: PiktID has nothing yet
    words = page.locator(f'[data-progress-job="{job.pk}"]')
    page.wait_for_function(
        "el => /^waiting for PiktID: poll 1, \\d+ s$/.test(el.textContent.trim())",
        arg=words.element_handle(),
    )
    assert badge.inner_text() == "Running"
    screenshot(page, "1280-running")

    time.sleep(
        max(0.0, 5.2 - (time.time() - ImageJob.objects.get(pk=job.pk).vendor_state["generated_at"]))
    )
    assert run_due_job(job).status == ImageJob.Status.SUCCEEDED
    # The page notices the end and reloads: the result, no more Cancel button.
    page.wait_for_selector(".field-status_badge .imageops-succeeded")
    page.wait_for_selector(".imageops-same-scale[data-scale]")
    assert page.locator(".object-tools button.imageops-tool-cancel").count() == 0
    assert fully_visible(page, ".imageops-same-scale img") == [True, True]
    screenshot(page, "1280-succeeded")

    at_narrow_width(page)
    page.wait_for_selector(".imageops-same-scale[data-scale]")
    assert fully_visible(page, ".imageops-same-scale img") == [True, True]
    screenshot(page, "390-succeeded")
