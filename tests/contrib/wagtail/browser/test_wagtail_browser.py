"""Wagtail's admin in a real browser (Debian Chromium, live server, vendor sandbox, moto S3):
the edit page's operation buttons (the form in place, the job's progress and before/after, the
result saved as a new image or replacing the file) and a bulk action from the image listing. At
1280 and 390 pixels wide; screenshots in ``test-artifacts/``."""

from __future__ import annotations

import pytest

pytest.importorskip("wagtail")

from wagtail.images.models import Image

from django_imageops.models import ImageJob
from tests.browser.support import WIDTHS, close_page, open_page, wait_for_result
from tests.contrib.wagtail.support import editor, log_actions, make_image

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def edit_page(page, live_server, image) -> None:
    page.goto(f"{live_server.url}/admin/images/{image.pk}/")
    page.wait_for_selector(".imageops-op-button")


@pytest.mark.parametrize("width", WIDTHS)
def test_remove_background_from_the_edit_page_as_a_new_image(
    chromium_browser, live_server, fresh_servers, screenshot, width
):
    image = make_image(title="Coffee", width=160, height=120, tags=["menu"])
    user = editor()
    context, page = open_page(chromium_browser, live_server, width, user=user)
    try:
        edit_page(page, live_server, image)
        screenshot(page, "1-edit-page")
        page.click(".imageops-op-remove_background")
        page.wait_for_selector(".imageops-panel .imageops-form")
        assert page.is_checked(".imageops-panel input[name='destination'][value='new_image']")
        page.locator(".imageops-panel .imageops-cost:text('1 job')").wait_for()
        screenshot(page, "2-form")
        page.click(".imageops-panel .imageops-run")
        wait_for_result(page)
        screenshot(page, "3-result")
        assert page.inner_text(".imageops-apply") == "Save as a new image"
        page.click(".imageops-apply")
        page.wait_for_selector(".imageops-applied-link")
        assert "Saved as a new image: Coffee (background removed)." in page.inner_text(
            ".imageops-applied"
        )
        screenshot(page, "4-applied")
        new = Image.objects.get(title="Coffee (background removed)")
        assert list(new.tags.names()) == ["menu"] and new.uploaded_by_user == user
        page.click(".imageops-applied-link")
        page.wait_for_url(f"**/admin/images/{new.pk}/")
    finally:
        close_page(context, page)


def test_crop_from_the_edit_page_replacing_the_file(
    chromium_browser, live_server, fresh_servers, screenshot
):
    image = make_image(title="Lamp", width=200, height=100, focal=(100, 50, 20, 20))
    original = image.file.name
    context, page = open_page(chromium_browser, live_server, 1280, user=editor())
    try:
        edit_page(page, live_server, image)
        page.click(".imageops-op-crop")
        page.wait_for_selector(".imageops-panel .imageops-form[data-cropper-ready]")
        page.click(".imageops-panel .imageops-ratio:text('1:1')")
        page.wait_for_function(
            "() => { const f = document.querySelector('.imageops-panel .imageops-form');"
            " const w = f.querySelector('[name=width]').value,"
            " h = f.querySelector('[name=height]').value; return w && w === h; }"
        )
        page.check(".imageops-panel input[name='destination'][value='replace']")
        screenshot(page, "1-box")
        page.click(".imageops-panel .imageops-run")
        wait_for_result(page)
        assert page.inner_text(".imageops-apply") == "Replace the file"
        with page.expect_navigation():
            page.click(".imageops-apply")
        # The page shows the new file (it reloaded): its size in the file field.
        image.refresh_from_db()
        side = image.width
        assert image.width == image.height <= 100 and image.file.name != original
        page.wait_for_selector(f"text=({side}x{side})")
        screenshot(page, "2-replaced")
        assert log_actions(image)[-1] == "django_imageops.replace"
        assert image.get_focal_point() is not None
    finally:
        close_page(context, page)


@pytest.mark.parametrize("width", WIDTHS)
def test_a_bulk_action_from_the_image_listing(
    chromium_browser, live_server, fresh_servers, screenshot, width
):
    images = [
        make_image(title="Tea", width=120, height=90),
        make_image(title="Cake", width=90, height=120),
    ]
    context, page = open_page(chromium_browser, live_server, width, user=editor(can_view_jobs=True))
    try:
        page.goto(f"{live_server.url}/admin/images/")
        for image in images:
            page.check(f"input[data-bulk-action-checkbox][data-object-id='{image.pk}']")
        footer = page.locator("[data-bulk-action-footer]")
        footer.wait_for()
        # Wagtail shows four actions as buttons and the rest under "More".
        footer.locator("[title='More bulk actions']").click()
        reimagine = footer.locator("a:text('Reimagine')")
        reimagine.wait_for()
        # Wagtail binds the dropdown's links once it is shown (its transition ends).
        page.wait_for_timeout(600)
        reimagine.click()
        page.wait_for_selector(".imageops-form")
        page.locator(".imageops-cost:text('2 jobs')").wait_for()
        assert page.locator(".imageops-source").count() == 2
        screenshot(page, "1-form")
        page.click("button[type='submit']:text('Yes, Reimagine')")
        page.wait_for_selector(".messages .success")
        message = page.inner_text(".messages")
        assert "2 Reimagine jobs queued" in message
        screenshot(page, "2-queued")
        assert ImageJob.objects.filter(status="succeeded").count() == 2
        titles = set(Image.objects.values_list("title", flat=True))
        assert {"Tea (reimagined)", "Cake (reimagined)"} <= titles
        page.click(".messages a:text('Follow the jobs')")
        page.wait_for_selector("table.listing")
        assert page.locator("table.listing tbody tr").count() == 2
        screenshot(page, "3-jobs")
    finally:
        close_page(context, page)
