"""A derived image on its object's change page, in a real browser at 1280 and 390 pixels wide:
replacing the photo through the admin's own form makes the cut-out *Stale* (issue 14, bug 1);
while a new job runs the widget says so and refreshes in place, without a reload, to *Ready*
with the new thumbnail (bug 11: never "Queued" while it runs, never "Ready" when it failed).

Everything is real: ``live_server``, the vendor sandbox, moto S3, Debian Chromium; the test
plays the worker for the second job (``jobs.run_job``).
"""

from __future__ import annotations

import pytest
from django.urls import reverse

from django_imageops import jobs
from tests.browser.conftest import at_narrow_width, fully_visible
from tests.conftest import make_image
from tests.jobs.support import DUMMY_BACKEND, fresh_limits, noisy_image, photo

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

AUTO_CLIP = {"mode": "auto", "test": True}


def test_cutout_turns_stale_then_refreshes_in_place_while_its_job_runs(
    admin_browser, sandbox, s3, settings, screenshot, tmp_path, run
):
    fresh_limits(settings)
    cat = photo(noisy_image(400, 300), name="chelsea.png", title="Chelsea")
    run(
        jobs.create_jobs,
        "remove_background",
        objects=[cat],
        field="image",
        params=AUTO_CLIP,
        target_field="cutout",
    )
    page = admin_browser(reverse("admin:testapp_photo_change", args=[cat.pk]))
    widget = page.locator(".field-cutout .imageops-derived")
    badge = widget.locator(".imageops-derived-badge")
    assert badge.inner_text() == "Ready"
    thumb = widget.locator("img.imageops-derived-thumb")
    assert ".thumb.webp" in thumb.get_attribute("src")  # the stored thumbnail, not the result

    # Replace the photo through the admin's form: the cut-out still shows the cat, and says so.
    rocket = tmp_path / "rocket.png"
    rocket.write_bytes(make_image(400, 300, color=(20, 20, 160)))
    page.set_input_files("#id_image", str(rocket))
    page.click('input[name="_continue"]')
    page.wait_for_selector("ul.messagelist li.success")
    assert badge.inner_text() == "Stale"
    assert "source image changed" in widget.inner_text()
    screenshot(page, "1280-stale")

    # A new cut-out job, run by the test: the widget follows it without a reload.
    settings.TASKS = {"default": {"BACKEND": DUMMY_BACKEND}}
    cat.refresh_from_db()
    [job] = jobs.create_jobs(
        "remove_background", objects=[cat], field="image", params=AUTO_CLIP, target_field="cutout"
    )
    page.reload()
    assert badge.inner_text() == "Queued"
    old_src = thumb.get_attribute("src")
    page.evaluate("window.__notReloaded = true")
    jobs.run_job(job.pk)
    page.wait_for_function(
        "el => el.textContent.trim() === 'Ready'", arg=badge.element_handle(), timeout=20_000
    )
    page.wait_for_function(
        "([img, old]) => img.src.split('?')[0] !== old.split('?')[0] && img.naturalWidth > 0",
        arg=[thumb.element_handle(), old_src],
    )
    assert page.evaluate("window.__notReloaded") is True
    assert str(job.uuid) in thumb.get_attribute("src")
    screenshot(page, "1280-ready")

    at_narrow_width(page)
    assert badge.inner_text() == "Ready"
    assert fully_visible(page, ".field-cutout .imageops-derived-thumb") == [True]
    screenshot(page, "390-ready")
