"""The ClippingMagic editor page in a real browser (Playwright + Debian Chromium).

ClippingMagic.js is replaced (``page.route``) by a stub that records the ``initialize`` and
``edit`` arguments; its ``edit`` asks the test to play the person saving in the editor (the
sandbox's ``/_sandbox/clippingmagic/{id}/edit`` sets a new result) and then fires the event the
test chose. Everything else is real: ``live_server``, the vendor sandbox, moto S3.
"""

from __future__ import annotations

import copy

import pytest
from django.conf import settings as django_settings
from django.test import Client
from django.urls import reverse

from django_imageops.models import ImageJob
from tests.clippingmagic_support import create_review_job, has_alpha, make_photo, make_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

API_KEY = "cmKEY-browser-canary-90d4c2e7a1"

STUB_JS = """
window.__cm = {initialize: null, edit: null, events: []};
window.ClippingMagic = {
  initialize: function (opts) {
    window.__cm.initialize = opts;
    return window.__cmInitErrors || [];
  },
  edit: function (opts, callback) {
    window.__cm.edit = opts;
    var image = opts.image;
    // The test plays the person: it saves in the "editor" and says which event follows.
    window.cmPersonEdits(String(image.id)).then(function (event) {
      window.__cm.events.push(event);
      if (event === "result-generated") {
        callback({event: event, image: {id: image.id, secret: image.secret}});
      } else if (event === "error") {
        callback({event: "error", error: {status: 400, code: 1006, message: "Failed to read"}});
      } else {
        callback({event: event});
      }
    });
  }
};
"""


@pytest.fixture
def distinctive_key(settings, sandbox):
    imageops = copy.deepcopy(settings.IMAGEOPS)
    imageops["VENDORS"]["clippingmagic"]["API_KEY"] = API_KEY
    settings.IMAGEOPS = imageops
    sandbox.reset(api_key=API_KEY)
    return API_KEY


class EditorPage:
    """A browser page (``width`` pixels wide, asking for ``locale``) logged in as ``user`` with
    ClippingMagic.js stubbed; records every response's body and headers."""

    def __init__(
        self,
        browser,
        live_server,
        user,
        sandbox,
        next_event="result-generated",
        stub=True,
        locale="en-US",
        width=1100,
    ):
        client = Client()
        client.force_login(user)
        self.context = browser.new_context(locale=locale, viewport={"width": width, "height": 800})
        self.context.add_cookies(
            [
                {
                    "name": django_settings.SESSION_COOKIE_NAME,
                    "value": client.cookies[django_settings.SESSION_COOKIE_NAME].value,
                    "url": live_server.url,
                }
            ]
        )
        self.page = self.context.new_page()
        self.next_event = next_event
        self.sandbox = sandbox
        self.console: list[str] = []
        js_url = django_settings.IMAGEOPS["VENDORS"]["clippingmagic"]["JS_URL"]
        if stub:
            self.stub_clippingmagic_js(js_url)
        self.page.expose_function("cmPersonEdits", self.person_edits)
        self.responses = []
        self.page.on("response", lambda response: self.responses.append(response))
        self.page.on("console", lambda message: self.console.append(message.text))

    def stub_clippingmagic_js(self, js_url):
        self.page.route(
            js_url,
            lambda route: route.fulfill(
                status=200, content_type="application/javascript", body=STUB_JS
            ),
        )

    def person_edits(self, image_id: str) -> str:
        if self.next_event == "result-generated":
            self.sandbox.clippingmagic_edit(image_id)
        return self.next_event

    def captured(self) -> list[tuple[str, bytes]]:
        """``(url, body + headers)`` of every response the page received."""
        out = []
        for response in self.responses:
            try:
                body = response.body()
            except Exception:  # redirects and aborted requests have no body
                body = b""
            headers = "\n".join(f"{k}: {v}" for k, v in response.all_headers().items())
            out.append((response.url, body + b"\n" + headers.encode()))
        return out

    def open(self, url):
        self.page.goto(url)
        return self.page

    def recorded(self) -> dict:
        return self.page.evaluate("window.__cm")

    def close(self):
        self.context.close()


@pytest.fixture
def open_editor(live_server, sandbox, chromium_browser):
    """``open_editor(user, job, ...)`` opens the job's editor page in a new browser context
    (``chromium_browser`` and the skip rules come from tests/browser/conftest.py)."""
    pages = []

    def open_editor(user, job, next_event="result-generated", init_errors=None, stub=True):
        editor = EditorPage(chromium_browser, live_server, user, sandbox, next_event, stub=stub)
        if init_errors:
            editor.page.add_init_script(f"window.__cmInitErrors = {init_errors!r};")
        pages.append(editor)
        url = live_server.url + reverse("django_imageops:clippingmagic-editor", args=[job.uuid])
        editor.open(url)
        return editor

    yield open_editor
    for editor in pages:
        editor.close()


def test_clippingmagic_editor_review_in_browser_stores_result(
    open_editor, screenshot, distinctive_key, sandbox, s3
):
    photo = make_photo(96, 64)
    job = create_review_job(user=make_user("creator"), photo=photo)
    assert job.status == ImageJob.Status.WAITING_FOR_EDITOR
    root = make_user("root", superuser=True)

    editor = open_editor(root, job)
    page = editor.page
    page.wait_for_selector('#imageops-editor[data-state="result-stored"]', timeout=20_000)
    page.wait_for_function(
        "document.getElementById('imageops-editor-result-image').naturalWidth > 0"
    )
    shot = screenshot(editor.page, "result")
    assert shot.stat().st_size > 0

    recorded = editor.recorded()
    assert recorded["initialize"] == {"apiId": 1}
    assert recorded["edit"]["image"] == {
        "id": int(job.vendor_image_id),
        "secret": job.vendor_secret,
    }
    assert recorded["edit"]["locale"] == "en-US"
    assert recorded["events"] == ["result-generated"]

    job.refresh_from_db()
    assert job.status == ImageJob.Status.SUCCEEDED
    assert job.vendor_result_revision == 1
    with job.result.open("rb") as f:
        assert has_alpha(f.read())
    assert page.locator("#imageops-editor-job-status").inner_text() == "Succeeded"
    assert page.locator("#imageops-editor-result-image").is_visible()
    assert not page.locator("#imageops-editor-errors").is_visible()
    assert not page.locator("#imageops-editor-progress").is_visible()
    assert page.locator("#imageops-editor-source-link").get_attribute("href") == reverse(
        "admin:testapp_photo_change", args=[photo.pk]
    )

    # No API key anywhere: page, every response body and header, the browser's storage.
    everything = [page.content().encode(), *(blob for _, blob in editor.captured())]
    everything.append(str(editor.context.cookies()).encode())
    assert any(job.vendor_secret.encode() in blob for blob in everything)
    for blob in everything:
        assert distinctive_key.encode() not in blob
    assert not [m for m in editor.console if "error" in m.lower()], editor.console


def test_clippingmagic_editor_review_shows_browser_feature_errors(
    open_editor, screenshot, sandbox, s3
):
    user = make_user("creator")
    job = create_review_job(user=user)
    editor = open_editor(user, job, init_errors=["No WebGL", "No canvas"])
    page = editor.page
    page.wait_for_selector('#imageops-editor[data-state="unsupported"]')
    errors = page.locator("#imageops-editor-errors")
    assert errors.is_visible()
    assert "No WebGL" in errors.inner_text()
    assert "No canvas" in errors.inner_text()
    assert editor.recorded()["edit"] is None
    screenshot(editor.page, "unsupported")


def test_clippingmagic_editor_review_exit_leaves_job_waiting(open_editor, sandbox, s3):
    user = make_user("creator")
    job = create_review_job(user=user)
    editor = open_editor(user, job, next_event="editor-exit")
    page = editor.page
    page.wait_for_selector('#imageops-editor[data-state="exited"]')
    assert page.locator("#imageops-editor-open").is_visible()
    job.refresh_from_db()
    assert job.status == ImageJob.Status.WAITING_FOR_EDITOR
    assert not job.result

    # Opening it again and saving this time stores the result.
    editor.next_event = "result-generated"
    page.click("#imageops-editor-open")
    page.wait_for_selector('#imageops-editor[data-state="result-stored"]', timeout=20_000)
    job.refresh_from_db()
    assert job.status == ImageJob.Status.SUCCEEDED


def test_clippingmagic_editor_review_error_is_shown_and_recorded(open_editor, sandbox, s3):
    user = make_user("creator")
    job = create_review_job(user=user)
    editor = open_editor(user, job, next_event="error")
    page = editor.page
    page.wait_for_selector('#imageops-editor[data-state="editor-error"]')
    assert "Failed to read" in page.locator("#imageops-editor-errors").inner_text()
    # The POST is best effort and asynchronous: wait for it to be recorded.
    for _ in range(100):
        job.refresh_from_db()
        if job.error_code:
            break
        page.wait_for_timeout(100)
    assert job.error_code == "editor_1006"
    assert job.status == ImageJob.Status.WAITING_FOR_EDITOR


def test_clippingmagic_editor_review_waits_for_the_upload_then_opens(
    open_editor, sandbox, s3, settings
):
    from django_imageops import jobs

    # A backend that only records tasks: the job stays pending until this test runs it.
    dummy = "django.tasks" if settings.DJANGO6 else "django_tasks"
    settings.TASKS = {"default": {"BACKEND": f"{dummy}.backends.dummy.DummyBackend"}}
    user = make_user("creator")
    job = create_review_job(user=user, run=False)
    assert job.status == ImageJob.Status.PENDING
    editor = open_editor(user, job, next_event="editor-exit")
    page = editor.page
    page.wait_for_selector('#imageops-editor[data-state="preparing"]')
    assert page.evaluate("window.__cm === undefined")  # no ClippingMagic.js without an image

    jobs.run_job(job.pk)  # the worker uploads the image to ClippingMagic
    job.refresh_from_db()
    assert job.status == ImageJob.Status.WAITING_FOR_EDITOR

    page.wait_for_selector('#imageops-editor[data-state="exited"]', timeout=20_000)
    assert editor.recorded()["edit"]["image"]["secret"] == job.vendor_secret


def test_clippingmagic_editor_review_with_the_sandbox_clippingmagic_js(
    open_editor, screenshot, sandbox, s3
):
    """The same page with the sandbox's ClippingMagic.js stand-in (what ``make serve`` uses):
    a person clicks Save in its overlay, which closes (issue 14 bug 9), then "Edit again" and
    Save once more; each save becomes a new stored result."""
    user = make_user("creator")
    job = create_review_job(user=user)
    editor = open_editor(user, job, stub=False)
    page = editor.page
    page.click("[data-clippingmagic=save]")
    page.wait_for_selector('#imageops-editor[data-state="result-stored"]', timeout=20_000)
    job.refresh_from_db()
    first = job.result.name
    assert job.vendor_result_revision == 1

    # Saving closed the editor: the stored result is not covered, and "Edit again" reopens it.
    assert page.locator("#clippingmagic-editor").count() == 0
    assert page.locator("#imageops-editor-result-image").is_visible()
    assert page.locator("#imageops-editor-open").inner_text() == "Edit again"
    first_src = page.get_attribute("#imageops-editor-result-image", "src")
    page.click("#imageops-editor-open")
    page.click("[data-clippingmagic=save]")
    page.wait_for_function(
        "src => document.getElementById('imageops-editor-result-image').src !== src",
        arg=first_src,
        timeout=20_000,
    )
    job.refresh_from_db()
    assert job.vendor_result_revision == 2
    assert job.result.name != first
    assert page.locator("#imageops-editor-open").is_visible()
    screenshot(editor.page, "saved-twice")


def test_a_creator_who_is_not_staff_logs_in_through_login_url_and_edits(
    chromium_browser, live_server, sandbox, s3, screenshot
):
    """Issue 14, bugs 8 and 9, at 1280 and 390 pixels wide: the creator of a review job, not
    staff, follows the job's editor URL, logs in through the site's ``LOGIN_URL`` (the admin's
    login would refuse them) and clips the image with the sandbox's ClippingMagic.js; the
    editor closes on Save and the stored result shows; back on the page later, the editor does
    not pop up again."""
    from tests.browser.conftest import at_narrow_width, fully_visible

    creator = make_user("creator")  # password "pw", not staff
    job = create_review_job(user=creator)
    context = chromium_browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        page = context.new_page()
        page.set_default_timeout(20_000)
        editor = reverse("django_imageops:clippingmagic-editor", args=[job.uuid])
        page.goto(live_server.url + editor)
        assert page.url.startswith(f"{live_server.url}{django_settings.LOGIN_URL}?next=")
        page.fill("#id_username", "creator")
        page.fill("#id_password", "pw")
        page.click("input[type=submit]")
        page.wait_for_url(f"**{editor}")
        page.click("[data-clippingmagic=save]")
        page.wait_for_selector('#imageops-editor[data-state="result-stored"]')
        page.wait_for_function(
            "document.getElementById('imageops-editor-result-image').naturalWidth > 0"
        )
        assert page.locator("#clippingmagic-editor").count() == 0  # the overlay closed
        assert fully_visible(page, "#imageops-editor-result-image") == [True]
        screenshot(page, "1280-saved")
        job.refresh_from_db()
        assert job.status == ImageJob.Status.SUCCEEDED and job.vendor_result_revision == 1

        at_narrow_width(page)  # the page of a job with a result, opened again
        page.wait_for_selector('#imageops-editor[data-state="result-stored"]')
        page.wait_for_function(
            "document.getElementById('imageops-editor-result-image').naturalWidth > 0"
        )
        assert page.locator("#clippingmagic-editor").count() == 0  # no editor popping up
        assert page.locator("#imageops-editor-open").inner_text() == "Edit again"
        assert fully_visible(page, "#imageops-editor-result-image") == [True]
        screenshot(page, "390-reopened")
    finally:
        context.close()
