"""One object at a time, on its change page, in a real browser: the operation buttons next to
the photo and on the derived image, the form in place, the job's progress and before/after, apply
or discard; from "I want this background removed" to seeing the result in two clicks (a third
applies it). At 1280 and 390 pixels wide.

Everything is real: ``live_server``, Debian Chromium, the vendor sandbox, moto S3; the jobs run
inline (the Immediate task backend), so the panel's first answer is often already finished.
"""

from __future__ import annotations

import pytest
from django.core.files.storage import default_storage

from django_imageops.models import ImageJob
from tests.browser.support import (
    WIDTHS,
    close_page,
    make_photos,
    open_page,
    values,
    wait_for_result,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def change_page(page, live_server, photo) -> None:
    page.goto(f"{live_server.url}/admin/testapp/photo/{photo.pk}/change/")
    page.wait_for_selector(".field-image .imageops-op-button")


class Clicks:
    """Counts the clicks a person makes (``click(page, selector)``)."""

    def __init__(self):
        self.count = 0

    def __call__(self, page, selector: str) -> None:
        page.click(selector)
        self.count += 1


@pytest.mark.parametrize("width", WIDTHS)
def test_remove_background_from_the_change_page_in_two_clicks_then_apply(
    chromium_browser, live_server, fresh_servers, screenshot, width
):
    [photo] = make_photos(("Coffee", 160, 120, (150, 90, 40)))
    context, page = open_page(chromium_browser, live_server, width)
    click = Clicks()
    try:
        change_page(page, live_server, photo)
        click(page, ".field-image .imageops-op-remove_background")
        page.wait_for_selector(".imageops-panel .imageops-form")
        # The form holds the defaults and says what it costs.
        assert page.is_checked(".imageops-panel input[name='mode'][value='auto']")
        assert page.inner_text(".imageops-panel .imageops-cost").startswith("1 job")
        screenshot(page, "1-form")
        click(page, ".imageops-panel .imageops-run")
        wait_for_result(page)
        assert click.count == 2  # the result is on screen
        # Before and after side by side, at one scale (same size here: same width on screen).
        before = page.locator(".imageops-compare-before img").bounding_box()
        after = page.locator(".imageops-compare-after img").bounding_box()
        assert abs(before["width"] - after["width"]) < 2
        screenshot(page, "2-result")

        job = ImageJob.objects.get()
        assert (job.operation, job.target_field, job.created_by.username) == (
            "remove_background",
            "cutout",
            "admin",
        )
        # Apply, unless the job already filled the cut-out (its parameters are the field's).
        if page.locator(".imageops-apply").count():
            assert page.inner_text(".imageops-apply") == "Use as Cutout"
            click(page, ".imageops-apply")
        page.wait_for_selector(".imageops-applied")
        assert click.count <= 3
        assert "Cutout now shows this result" in page.inner_text(".imageops-applied")
        photo.refresh_from_db()
        assert photo.cutout.name == ImageJob.objects.get().result.name
        # The cut-out field shows it without a reload (the panel stays open).
        page.wait_for_selector(".field-image .imageops-ops[data-state='applied']")
        thumb = page.locator(".field-cutout .imageops-widget img")
        assert photo.cutout.name in thumb.get_attribute("src")
        assert page.locator(".imageops-panel .imageops-job").is_visible()
        screenshot(page, "3-applied")
    finally:
        close_page(context, page)


@pytest.mark.parametrize("width", WIDTHS)
def test_crop_in_place_with_the_box_then_replace_the_photo_keeping_the_original(
    chromium_browser, live_server, fresh_servers, screenshot, width
):
    [photo] = make_photos(("Lamp", 200, 100, (40, 120, 160)))
    original = photo.image.name
    context, page = open_page(chromium_browser, live_server, width)
    try:
        change_page(page, live_server, photo)
        page.click(".field-image .imageops-op-crop")
        page.wait_for_selector(".imageops-panel .imageops-form[data-cropper-ready]")
        page.click(".imageops-panel .imageops-ratio:text('1:1')")
        page.wait_for_function(
            "() => { const f = document.querySelector('.imageops-panel .imageops-form');"
            " const w = f.querySelector('[name=width]').value,"
            " h = f.querySelector('[name=height]').value; return w && w === h; }"
        )
        x, y, side, _ = values(page, "x", "y", "width", "height")
        assert 0 < side <= 100 and x + side <= 200 and y + side <= 100
        # Resizing the window (a phone turned, a full-page screenshot) keeps the numbers.
        page.set_viewport_size({"width": 120, "height": 300})
        page.wait_for_timeout(100)
        page.set_viewport_size({"width": width, "height": 900})
        page.wait_for_timeout(600)
        assert values(page, "x", "y", "width", "height") == [x, y, side, side]
        page.locator(".imageops-panel .imageops-cost:text('1 job')").wait_for()
        screenshot(page, "1-box")
        # Enter in a number runs the operation (the panel's own form), not the page's Save.
        page.focus(".imageops-panel input[name='x']")
        page.keyboard.press("Enter")
        wait_for_result(page)
        assert page.url.endswith(f"/admin/testapp/photo/{photo.pk}/change/")
        job = ImageJob.objects.get()
        assert (job.params, job.target_field) == (
            {"x": x, "y": y, "width": side, "height": side},
            "",
        )
        caption = page.inner_text(".imageops-compare-after figcaption")
        assert f"{side} × {side} px" in caption  # noqa: RUF001
        page.click(".imageops-apply:text('Replace Image')")
        page.wait_for_selector(".imageops-applied")
        screenshot(page, "2-replaced")

        photo.refresh_from_db()
        assert photo.image.name != original and job.source_name == original
        assert default_storage.exists(original)  # the original is kept
        # The photo's field shows the new file without a reload.
        page.wait_for_selector(f".field-image .imageops-widget a[href$='{photo.image.name}']")
    finally:
        close_page(context, page)


@pytest.mark.parametrize("width", WIDTHS)
def test_uncrop_in_place_then_discard_leaves_the_object_unchanged(
    chromium_browser, live_server, fresh_servers, screenshot, width
):
    [photo] = make_photos(("Chair", 120, 90, (90, 160, 90)))
    context, page = open_page(chromium_browser, live_server, width)
    try:
        change_page(page, live_server, photo)
        page.click(".field-image .imageops-op-uncrop")
        page.wait_for_selector(".imageops-panel canvas.imageops-uncrop-canvas")
        page.click(".imageops-panel .imageops-extend:text('16:9')")
        page.locator(".imageops-panel .imageops-source-size:text('160 × 90 px')").wait_for()  # noqa: RUF001
        # An invalid value comes back from the server under its field, in the panel.
        page.fill(".imageops-panel input[name='top']", "-5000")
        page.click(".imageops-panel .imageops-run")
        page.wait_for_selector(".imageops-panel .field-top ul.errorlist")
        assert ImageJob.objects.count() == 0
        screenshot(page, "1-error")
        page.fill(".imageops-panel input[name='top']", "0")
        page.click(".imageops-panel .imageops-run")
        wait_for_result(page)
        assert page.inner_text(".imageops-apply") == "Replace Image"
        screenshot(page, "2-result")
        page.click(".imageops-discard")
        page.wait_for_selector(".imageops-panel", state="hidden")
        # Nothing changed on the photo; the job and its result are kept.
        image = photo.image.name
        photo.refresh_from_db()
        assert photo.image.name == image and not photo.cutout
        job = ImageJob.objects.get()
        assert job.status == "succeeded" and job.result and job.applied_at is None
        assert job.params["left"] == 20 and job.params["right"] == 20
    finally:
        close_page(context, page)


@pytest.mark.parametrize("width", WIDTHS)
def test_regenerate_a_derived_image_with_its_declared_parameters(
    chromium_browser, live_server, fresh_servers, screenshot, width
):
    [photo] = make_photos(("Teapot", 140, 100, (200, 200, 60)))
    context, page = open_page(chromium_browser, live_server, width)
    try:
        change_page(page, live_server, photo)
        page.click(".field-cutout .imageops-op-regenerate")
        page.wait_for_selector(".imageops-panel .imageops-form")
        # The field's declaration: Auto-Clip in test mode.
        assert page.is_checked(".imageops-panel input[name='mode'][value='auto']")
        assert page.is_checked(".imageops-panel input[name='test']")
        assert "0 ClippingMagic credits" in page.inner_text(".imageops-panel .imageops-cost")
        page.click(".imageops-panel .imageops-run")
        wait_for_result(page)
        page.wait_for_selector(".imageops-applied")  # the declaration's job fills the field
        screenshot(page, "1-regenerated")
        photo.refresh_from_db()
        job = ImageJob.objects.get()
        assert job.params == {"mode": "auto", "test": True} and job.target_field == "cutout"
        assert photo.cutout.name == job.result.name
    finally:
        close_page(context, page)
