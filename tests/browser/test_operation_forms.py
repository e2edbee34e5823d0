"""The operation forms in a real browser, on the changelist action's page: see what you will
get (the crop box drawn and resized with Cropper.js, numbers in sync, aspect-ratio presets; the
uncrop canvas, sizes and "extend to aspect ratio"), a box leaving an image shown as invalid and
refused naming the object (bug 3), and the cost line. At 1280 and 390 pixels wide.

Everything is real: ``live_server``, Debian Chromium, the vendor sandbox, moto S3.
"""

from __future__ import annotations

import pytest

from django_imageops.models import ImageJob, VendorCredits
from tests.browser.support import (
    WIDTHS,
    close_page,
    make_photos,
    open_page,
    start_action,
    values,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CHANGELIST = "/admin/testapp/photo/"
X = "\N{MULTIPLICATION SIGN}"


@pytest.mark.parametrize("width", WIDTHS)
def test_crop_box_is_drawn_resized_and_typed_with_presets_and_invalid_boxes_refused(
    chromium_browser, live_server, sandbox, screenshot, width
):
    wide, square = make_photos(
        ("Wide", 240, 160, (200, 60, 60)), ("Small", 100, 100, (60, 60, 200))
    )
    context, page = open_page(chromium_browser, live_server, width)
    try:
        start_action(page, live_server, CHANGELIST, [wide, square], "imageops_crop")
        # Cropper.js opens on the first image with a box, and the numbers follow it.
        page.wait_for_selector(".imageops-form[data-cropper-ready] .cropper-crop-box")
        x, y, w, h = values(page, "x", "y", "width", "height")
        first = page.locator(".imageops-source").first
        label = first.get_attribute("data-label")
        size = (240, 160) if label == "Wide" else (100, 100)
        assert w > 0 and h > 0 and x + w <= size[0] and y + h <= size[1]

        # Drag the box's south-east handle: width and height grow or shrink with it.
        handle = page.locator(".cropper-point.point-se").bounding_box()
        page.mouse.move(handle["x"] + 2, handle["y"] + 2)
        page.mouse.down()
        page.mouse.move(handle["x"] - 25, handle["y"] - 20, steps=4)
        page.mouse.up()
        page.wait_for_function(f"() => document.querySelector('input[name=width]').value !== '{w}'")
        assert values(page, "width")[0] < w

        # A preset: 16:9.
        page.click(".imageops-ratio:text('16:9')")
        page.wait_for_function(
            "() => { const w = +document.querySelector('input[name=width]').value,"
            " h = +document.querySelector('input[name=height]').value;"
            " return Math.abs(w / h - 16 / 9) < 0.1; }"
        )
        screenshot(page, "1-preset-16-9")

        # Typed numbers move the box; a box leaving the other image is drawn whole, invalid.
        page.click(".imageops-ratio:text('Free')")
        for name, value in (("x", "10"), ("y", "10"), ("width", "120"), ("height", "60")):
            page.fill(f'input[name="{name}"]', value)
        other = page.locator(".imageops-source").nth(1)
        big_one_first = label == "Wide"
        invalid = other if big_one_first else first
        invalid.locator(".imageops-crop-box-invalid").wait_for()
        note = invalid.locator(".imageops-source-note")
        assert f"leaves this 100 {X} 100 px image" in note.inner_text()
        screenshot(page, "2-invalid-box")

        # The server refuses it too, naming the object under the field; nothing is queued.
        page.click('input[name="imageops_submit"]')
        error = page.locator(".field-width ul.errorlist")
        error.wait_for()
        assert "Small: x + width (130) is beyond the image's width of 100 pixels." in (
            error.inner_text()
        )
        # The page comes back with the values as typed and the box still shown as invalid.
        page.wait_for_selector(".imageops-form[data-cropper-ready]")
        assert values(page, "x", "y", "width", "height") == [10, 10, 120, 60]
        page.locator(".imageops-crop-box-invalid >> visible=true").first.wait_for()
        screenshot(page, "3-refused")
        assert ImageJob.objects.count() == 0
    finally:
        close_page(context, page)


@pytest.mark.parametrize("width", WIDTHS)
def test_uncrop_preview_sizes_presets_and_cost_line(
    chromium_browser, live_server, sandbox, screenshot, width
):
    photos = make_photos(("Chair", 120, 90, (90, 160, 90)), ("Lamp", 80, 120, (160, 90, 90)))
    context, page = open_page(chromium_browser, live_server, width)
    try:
        start_action(page, live_server, CHANGELIST, photos, "imageops_uncrop")
        page.wait_for_selector("canvas.imageops-uncrop-canvas >> nth=1")
        chair = page.locator(".imageops-source[data-label='Chair']")
        lamp = page.locator(".imageops-source[data-label='Lamp']")
        first_label = page.locator(".imageops-source").first.get_attribute("data-label")

        # No cost line while the offsets are all 0 (not a valid uncrop yet).
        cost = page.locator(".imageops-cost")
        assert not cost.is_visible()

        # "Extend to 16:9" computes centred offsets from the first image's size.
        page.click(".imageops-extend:text('16:9')")
        if first_label == "Chair":  # 120x90 -> 160x90
            assert values(page, "left", "right", "top", "bottom") == [20, 20, 0, 0]
            chair.locator(f".imageops-source-size:text('120 {X} 90 px → 160 {X} 90 px')").wait_for()
        else:  # 80x120 -> 213x120
            assert values(page, "left", "right", "top", "bottom") == [66, 67, 0, 0]
            lamp.locator(f".imageops-source-size:text('80 {X} 120 px → 213 {X} 120 px')").wait_for()
        # The canvas is as wide as the result relative to its height.
        ratio = page.evaluate(
            "() => { const c = document.querySelector('.imageops-source canvas');"
            " return c.width / c.height; }"
        )
        assert abs(ratio - 16 / 9) < 0.05
        # The cost line appears with valid values, and follows the provider.
        VendorCredits.objects.create(vendor="clipdrop", remaining=92)
        page.check('input[name="provider"][value="clipdrop"]')
        page.fill('input[name="bottom"]', "1")
        cost.filter(has_text="2 jobs · 2 Clipdrop credits · known balance 92").wait_for()
        screenshot(page, "1-extend-16-9")
        page.check('input[name="provider"][value="piktid"]')
        cost.filter(has_text="2 jobs · 2 PiktID credits").wait_for()
        page.check('input[name="provider"][value="clipdrop"]')
        page.fill('input[name="bottom"]', "0")

        # Offsets cropping an image away: that image is marked and the server names it.
        for name, value in (("left", "-60"), ("right", "-60"), ("top", "0"), ("bottom", "0")):
            page.fill(f'input[name="{name}"]', value)
        chair.locator(".imageops-source-note:text('crop the whole image away')").wait_for()
        assert lamp.locator(".imageops-source-note").is_visible()  # 80 px wide: gone too
        page.check('input[name="provider"][value="clipdrop"]')
        page.fill('input[name="left"]', "-100")
        page.fill('input[name="right"]', "0")
        assert not chair.locator(".imageops-source-note").is_visible()  # 120 - 100 = 20 px
        assert lamp.locator(".imageops-source-note").is_visible()  # 80 - 100 < 0
        page.click('input[name="imageops_submit"]')
        error = page.locator(".field-left ul.errorlist")
        error.wait_for()
        assert "Lamp: left + right crop away the whole 80-pixel width." in error.inner_text()
        assert "Chair" not in error.inner_text()
        screenshot(page, "2-refused")
        assert ImageJob.objects.count() == 0
    finally:
        close_page(context, page)


def test_the_crop_box_comes_back_after_a_resize_while_the_preview_had_no_width(
    chromium_browser, live_server, sandbox
):
    # Cropper.js measured the layout a resize passed through: a window resized while the preview
    # was hidden (a collapsed panel, a tab) left the image 1 px wide for good.
    photo, other = make_photos(
        ("Small", 100, 100, (60, 60, 200)), ("Wide", 240, 160, (200, 60, 60))
    )
    context, page = open_page(chromium_browser, live_server, 390)
    try:
        start_action(page, live_server, CHANGELIST, [photo, other], "imageops_crop")
        page.wait_for_selector(".imageops-form[data-cropper-ready] .cropper-crop-box")
        page.click(".imageops-ratio:text('Free')")
        for name, value in (("x", "10"), ("y", "20"), ("width", "50"), ("height", "40")):
            page.fill(f'input[name="{name}"]', value)
        size = page.evaluate(
            "() => [document.querySelector('.cropper-container').offsetWidth,"
            " document.querySelector('.cropper-crop-box').offsetWidth]"
        )
        page.evaluate(
            """() => {
              const preview = document.querySelector('.imageops-source .imageops-preview');
              preview.style.display = 'none';
              window.dispatchEvent(new Event('resize'));
              setTimeout(() => {
                preview.style.display = '';
                window.dispatchEvent(new Event('resize'));
              }, 50);
            }"""
        )
        # The image at its size again, and the box where the numbers say.
        page.wait_for_function(
            "([width, box]) => document.querySelector('.cropper-container').offsetWidth === width"
            " && document.querySelector('.cropper-crop-box').offsetWidth === box"
            " && document.querySelector('.imageops-preview').style.display === ''",
            arg=size,
        )
        assert size[0] > 1
        assert values(page, "x", "y", "width", "height") == [10, 20, 50, 40]
    finally:
        close_page(context, page)
