"""Helpers of the operation-form browser tests: a logged-in page at a given width, photos."""

from __future__ import annotations

import contextlib
import time

import pytest
from django.conf import settings as django_settings
from django.contrib.auth.models import User
from django.core.files.base import ContentFile
from django.test import Client

from tests.conftest import make_image
from tests.testapp.models import Photo

#: The two widths every operation-form test runs at: a laptop and a phone.
WIDTHS = [pytest.param(1280, id="1280px"), pytest.param(390, id="390px")]


def open_page(browser, live_server, width: int, user=None, locale: str = "en-US"):
    """A new context ``width`` pixels wide, logged in as ``user`` (a new superuser by default)
    through a session cookie, its browser asking for ``locale`` (``Accept-Language``); returns
    ``(context, page)``."""
    if user is None:
        user = User.objects.create_superuser("admin", "admin@example.com", "pw")
    client = Client()
    client.force_login(user)
    context = browser.new_context(
        locale=locale, viewport={"width": width, "height": 900}, device_scale_factor=1
    )
    context.add_cookies(
        [
            {
                "name": django_settings.SESSION_COOKIE_NAME,
                "value": client.cookies[django_settings.SESSION_COOKIE_NAME].value,
                "url": live_server.url,
            }
        ]
    )
    page = context.new_page()
    page.set_default_timeout(20_000)
    return context, page


def close_page(context, page) -> None:
    """Leave the page and let the live server finish its last requests, then close."""
    with contextlib.suppress(Exception):
        page.goto("about:blank")
        page.wait_for_load_state("networkidle")
    context.close()
    time.sleep(0.3)


def make_photos(*specs) -> list[Photo]:
    """Photos from ``(title, width, height, colour)`` specs, stored on the default storage."""
    photos = []
    for title, width, height, color in specs:
        photo = Photo(title=title)
        photo.image.save(
            f"{title.lower()}.png", ContentFile(make_image(width, height, color=color))
        )
        photos.append(photo)
    return photos


def tick_and_run(page, objects, action: str) -> None:
    """On the changelist shown, tick ``objects`` and run ``action``."""
    for obj in objects:
        page.check(f'input[name="_selected_action"][value="{obj.pk}"]')
    page.select_option('select[name="action"]', action)
    page.click('button[name="index"]')


def start_action(page, live_server, changelist: str, objects, action: str) -> None:
    """Tick ``objects`` on the changelist and run ``action`` (lands on its intermediate page)."""
    page.goto(f"{live_server.url}{changelist}")
    tick_and_run(page, objects, action)
    page.wait_for_selector(".imageops-form")


def values(page, *names) -> list[int]:
    """The integer values of the named inputs."""
    return [int(page.input_value(f'input[name="{name}"]') or 0) for name in names]


def wait_for_result(page) -> None:
    """Until the in-place panel shows the finished job with its after image loaded."""
    page.wait_for_selector(".imageops-job[data-status='succeeded']")
    page.wait_for_function(
        "() => { const i = document.querySelector('.imageops-compare-after img');"
        " return i && i.complete && i.naturalWidth > 0; }"
    )
