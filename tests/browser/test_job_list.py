"""The job list and applying results in a real browser, at 1280 and 390 pixels wide (issue 14):
real thumbnails instead of full-size results, source cells naming the object, the 8-character
ids found by the search (bug 7), a result applied only where a person puts it (bugs 2 and 5),
and a job that failed on its unchanged image not retried (bug 6).

Everything is real: ``live_server``, the vendor sandbox, moto S3, Debian Chromium.
"""

from __future__ import annotations

import pytest
from django.conf import settings as django_settings
from django.core.files.base import ContentFile
from django.urls import reverse

from django_imageops import jobs
from django_imageops.models import ImageJob
from tests.browser.conftest import at_narrow_width
from tests.browser.support import tick_and_run
from tests.jobs.support import fresh_limits, noisy_image
from tests.testapp.models import Listing

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CHANGELIST = reverse("admin:django_imageops_imagejob_changelist")


def listing(name: str, width: int, height: int) -> Listing:
    obj = Listing(name=name)
    obj.photo.save(f"{name.lower()}.png", ContentFile(noisy_image(width, height)), save=True)
    return obj


def act(page, jobs_, action: str) -> str:
    """Tick ``jobs_`` on the job list, run ``action``; the messages' text."""
    tick_and_run(page, jobs_, action)
    page.wait_for_selector("ul.messagelist")
    return page.inner_text("ul.messagelist")


def test_job_list_thumbnails_names_search_and_applying(
    admin_browser, sandbox, s3, settings, screenshot, run
):
    fresh_limits(settings)
    coffee = listing("Coffee", 400, 300)

    def queue(operation, params, **kwargs) -> ImageJob:
        """A job on the listing's photo, run at once."""
        [job] = run(
            jobs.create_jobs, operation, objects=[coffee], field="photo", params=params, **kwargs
        )
        return ImageJob.objects.get(pk=job.pk)

    # The uncrop Listing.banner declares (Clipdrop, 32 on each side) fills it on its own;
    # another one (other offsets, no target, as the admin's action queues it) does not.
    uncrop = {"provider": "clipdrop"}
    declared = queue("uncrop", {"left": 32, "right": 32}, target_field="banner", **uncrop)
    other = queue("uncrop", {"left": 100, "right": 100}, **uncrop)
    # A crop the listing has no field for, and one whose box leaves the image (invalid_input).
    crop = queue("crop", {"x": 0, "y": 0, "width": 360, "height": 240})
    bad = queue("crop", {"x": 300, "y": 200, "width": 360, "height": 240})
    assert [j.status for j in (declared, other, crop)] == ["succeeded"] * 3
    assert (bad.status, bad.error_code) == ("failed", "invalid_input")
    coffee.refresh_from_db()
    assert coffee.banner.name == declared.result.name

    downloads = []
    page = admin_browser(CHANGELIST)
    page.on(
        "request",
        lambda r: (
            downloads.append(r.url) if r.url.startswith(django_settings.S3_ENDPOINT_URL) else None
        ),
    )
    page.reload()
    page.wait_for_function(
        "() => [...document.querySelectorAll('td.field-after_thumbnail img')]"
        ".every(i => i.complete && i.naturalWidth > 0)"
    )
    # The after column loads the thumbnails stored beside the results, never a full result.
    after = page.eval_on_selector_all(
        "td.field-after_thumbnail img", "imgs => imgs.map(i => i.src)"
    )
    assert len(after) == 3 and all(".thumb.webp?" in src for src in after)
    results = {j.result.name for j in (declared, other, crop)}
    assert not [url for url in downloads if any(name in url for name in results)]
    # The source cells name the object.
    assert page.locator("td.field-source_link a", has_text="Coffee").count() == 4
    screenshot(page, "1280-list")

    # Search by the 8-character id the list shows.
    short = str(other.uuid)[:8]
    page.fill("#searchbar", short)
    page.press("#searchbar", "Enter")
    page.wait_for_selector("#result_list")
    shown = page.eval_on_selector_all(
        "#result_list tbody tr",
        "rows => rows.map(r => r.querySelector('.field-short_id').textContent)",
    )
    assert shown == [short]

    # Apply: the job made for no field goes where a person puts it (the listing's banner,
    # whatever its offsets); the crop has nowhere to go, and says so.
    page.goto(f"{page.url.split('?')[0]}")
    text = act(page, [other, crop], "apply_results")
    assert "1 result applied." in text
    assert "1 job skipped. Its object has no image field made by this operation" in text
    coffee.refresh_from_db()
    assert coffee.banner.name == other.result.name

    # Retry: the crop that failed on its image would fail the same way, and is not queued.
    text = act(page, [bad], "retry_jobs")
    assert "1 job skipped. It failed on its image, which has not changed" in text
    bad.refresh_from_db()
    assert bad.status == "failed"
    screenshot(page, "1280-actions")

    at_narrow_width(page)
    page.wait_for_function(
        "() => [...document.querySelectorAll('td.field-after_thumbnail img')]"
        ".every(i => i.complete && i.naturalWidth > 0)"
    )
    screenshot(page, "390-list")
