"""The sandbox's ClippingMagic.js stand-in on its own, in a real browser (Playwright + Debian
Chromium): the documented multi-image form ``edit({images: [...]}, callback)``."""

from __future__ import annotations

import json

import pytest
import requests
from django.conf import settings

from tests.conftest import make_image

pytestmark = [pytest.mark.browser]

CM = f"{settings.SANDBOX_URL}/clippingmagic"
AUTH = ("1", "sandbox")


def upload() -> dict:
    """A test image uploaded for review: its Image JSON object."""
    response = requests.post(
        f"{CM}/api/v1/images",
        files={"image": ("photo.png", make_image(80, 60))},
        data={"test": "true"},
        auth=AUTH,
        timeout=30,
    )
    response.raise_for_status()
    return response.json()["image"]


def revision(image_id) -> int:
    response = requests.get(
        f"{CM}/api/v1/images/{image_id}", params={"format": "json"}, auth=AUTH, timeout=30
    )
    return response.json()["image"]["resultRevision"]


def open_editor(page, edit_options: dict) -> None:
    """A blank page with the stand-in that calls ``initialize`` then ``edit(edit_options)``,
    recording every callback in ``window.cmEvents``."""
    page.set_content(
        f'<!doctype html><html><body><script src="{CM}/api/v1/ClippingMagic.js"></script>'
        "</body></html>"
    )
    page.wait_for_function("() => window.ClippingMagic !== undefined")
    errors = page.evaluate(
        """options => {
            window.cmEvents = [];
            const errors = ClippingMagic.initialize({apiId: 1});
            ClippingMagic.edit(options, event => window.cmEvents.push(event));
            return errors;
        }""",
        edit_options,
    )
    assert errors == []


def wait_for_events(page, count: int) -> list[dict]:
    page.wait_for_function("n => window.cmEvents.length >= n", arg=count)
    return page.evaluate("() => window.cmEvents")


def test_edit_with_several_images_saves_each_one(browser_page, sandbox):
    first, second = upload(), upload()
    images = [{"id": i["id"], "secret": i["secret"]} for i in (first, second)]
    page = browser_page
    open_editor(page, {"images": images, "locale": "en-US"})
    editor = page.locator("#clippingmagic-editor")
    assert "1 of 2" in editor.inner_text()
    assert page.is_disabled("[data-clippingmagic=previous]")

    page.click("[data-clippingmagic=save]")
    [saved] = wait_for_events(page, 1)
    assert saved == {"event": "result-generated", "image": images[0]}
    page.click("[data-clippingmagic=next]")
    assert "2 of 2" in editor.inner_text()
    assert page.is_disabled("[data-clippingmagic=next]")
    page.click("[data-clippingmagic=save]")
    events = wait_for_events(page, 2)
    assert events[1] == {"event": "result-generated", "image": images[1]}
    page.click("[data-clippingmagic=close]")
    events = wait_for_events(page, 3)
    assert events[2] == {"event": "editor-exit"}
    assert (revision(first["id"]), revision(second["id"])) == (1, 1)


def test_edit_with_one_image_still_works_and_bad_options_are_an_error(browser_page, sandbox):
    image = upload()
    page = browser_page
    open_editor(page, {"image": {"id": image["id"], "secret": image["secret"]}})
    assert page.locator("[data-clippingmagic=next]").count() == 0
    page.click("[data-clippingmagic=save]")
    [saved] = wait_for_events(page, 1)
    assert saved["event"] == "result-generated"
    assert revision(image["id"]) == 1
    open_editor(page, {"images": []})
    [refused] = wait_for_events(page, 1)
    assert refused["event"] == "error", json.dumps(refused)
