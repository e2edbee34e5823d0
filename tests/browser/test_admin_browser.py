"""The site admin's workflow in a real browser: log in, select two photos, run Remove
background, follow the batch to the job list, see both jobs succeed and their results load from
S3 (moto); then run Uncrop with an invalid offset and see the field error.

Everything is real: ``live_server``, the vendor sandbox, moto S3, Debian Chromium.
"""

from __future__ import annotations

import pytest
from django.conf import settings
from django.contrib.auth.models import User
from django.core.files.base import ContentFile

from django_imageops.models import ImageJob
from tests.browser.support import tick_and_run
from tests.conftest import make_image
from tests.testapp.models import Photo

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "browser-pw"


@pytest.fixture
def photos(db):
    """Two photos with different pixels (so neither result is a reuse of the other)."""
    created = []
    for i, color in enumerate([(220, 30, 30), (30, 90, 220)]):
        photo = Photo(title=f"Browser photo {i + 1}")
        photo.image.save(f"browser-{i}.png", ContentFile(make_image(120, 90, color=color)))
        created.append(photo)
    return created


def settle(page) -> None:
    """Wait until the browser has no request in flight: the live server's request threads
    share the test's in-memory SQLite connection, so the test queries the ORM only then."""
    page.wait_for_load_state("networkidle")


def log_in(page, live_server, next_path: str) -> None:
    User.objects.create_superuser("admin", "admin@example.com", PASSWORD)
    page.goto(f"{live_server.url}/admin/login/?next={next_path}")
    page.fill("#id_username", "admin")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url(f"**{next_path}")


def run_action(page, photos, action: str) -> None:
    """Tick ``photos`` on the changelist and run ``action`` (lands on its intermediate page)."""
    tick_and_run(page, photos, action)
    page.wait_for_selector("#imageops-action-form")


def test_remove_background_on_two_photos_then_uncrop_field_error(
    browser_page, live_server, sandbox, s3, photos, screenshot
):
    page = browser_page
    s3_responses = []
    page.on(
        "response",
        lambda r: s3_responses.append(r) if r.url.startswith(settings.S3_ENDPOINT_URL) else None,
    )
    changelist = "/admin/testapp/photo/"
    log_in(page, live_server, changelist)

    # Select both photos, run Remove background: the intermediate page shows both thumbnails.
    run_action(page, photos, "imageops_remove_background")
    previews = page.locator("img.imageops-preview-image")
    assert previews.count() == 2
    page.wait_for_function(
        "() => [...document.querySelectorAll('img.imageops-preview-image')]"
        ".every(i => i.complete && i.naturalWidth > 0)"
    )
    page.check('input[name="mode"][value="auto"]')
    page.check('input[name="test"]')
    screenshot(page, "1-remove-background-form")
    page.click('input[name="imageops_submit"]')

    # Back on the changelist: the message counts the jobs and links to the batch.
    message = page.locator("ul.messagelist li.success")
    message.wait_for()
    assert "2 Remove background jobs queued." in message.inner_text()
    page.click("ul.messagelist li.success a")
    page.wait_for_selector("#imageops-progress")

    # Both jobs succeeded (the progress panel and the rows say so) ...
    page.wait_for_function(
        "() => document.querySelector('[data-count=\"succeeded\"]').textContent.trim() === '2'"
    )
    assert page.locator(".field-status_badge .imageops-succeeded").count() == 2
    # ... and the after images load from S3 with HTTP 200.
    page.wait_for_function(
        "() => { const imgs = [...document.querySelectorAll('td.field-after_thumbnail img')];"
        " return imgs.length === 2 && imgs.every(i => i.complete && i.naturalWidth > 0); }"
    )
    after_urls = page.eval_on_selector_all(
        "td.field-after_thumbnail img", "imgs => imgs.map(i => i.src)"
    )
    assert all(url.startswith(settings.S3_ENDPOINT_URL) for url in after_urls)
    loaded = {r.url: r.status for r in s3_responses}
    assert [loaded.get(url) for url in after_urls] == [200, 200]
    screenshot(page, "2-batch-succeeded")

    settle(page)
    jobs = ImageJob.objects.order_by("pk")
    assert [j.status for j in jobs] == [ImageJob.Status.SUCCEEDED] * 2
    assert {j.source_object_id for j in jobs} == {str(p.pk) for p in photos}

    # The job's change page shows before and after side by side at one scale.
    page.click(".field-status_badge a >> nth=0")
    page.wait_for_selector(".imageops-same-scale[data-scale]")
    screenshot(page, "3-job-before-after")

    # Uncrop with an offset Clipdrop would refuse: the form comes back with the field error.
    page.goto(f"{live_server.url}{changelist}")
    run_action(page, photos[:1], "imageops_uncrop")
    page.check('input[name="provider"][value="clipdrop"]')
    page.fill('input[name="left"]', "5000")
    page.click('input[name="imageops_submit"]')
    error = page.locator(".field-left ul.errorlist")
    error.wait_for()
    assert error.inner_text().strip()
    assert page.input_value('input[name="left"]') == "5000"
    screenshot(page, "4-uncrop-field-error")
    settle(page)
    assert ImageJob.objects.filter(operation="uncrop").count() == 0
    assert sandbox.counters()["clipdrop"]["calls"] == 0
