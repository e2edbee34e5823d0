"""Real-browser tests: Playwright's sync API driving Debian's Chromium (``/usr/bin/chromium``)
against pytest-django's ``live_server``, with the vendor sandbox and moto S3.

Without Chromium (or Playwright) the tests skip with a reason; with ``IMAGEOPS_REQUIRE_BROWSER=1``
(set by ``.ci/run``) a skipped browser test fails instead. Screenshots go to ``test-artifacts/``
(gitignored) at the repository root, or ``IMAGEOPS_ARTIFACTS_DIR``.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import time
from pathlib import Path

import pytest

# Playwright's sync API runs an asyncio loop in the test thread; the test's ORM calls are still
# plain synchronous code.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = os.environ.get("IMAGEOPS_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    "--disable-dev-shm-usage",
]
ARTIFACTS = Path(
    os.environ.get("IMAGEOPS_ARTIFACTS_DIR", Path(__file__).resolve().parents[2] / "test-artifacts")
)


def browser_required() -> bool:
    """True when ``IMAGEOPS_REQUIRE_BROWSER=1``: missing Chromium is a failure, not a skip."""
    return os.environ.get("IMAGEOPS_REQUIRE_BROWSER") == "1"


def pytest_collection_modifyitems(items):
    """Every test in tests/browser/ carries the ``browser`` marker."""
    here = Path(__file__).resolve().parent
    for item in items:
        if here in Path(str(item.fspath)).resolve().parents:
            item.add_marker(pytest.mark.browser)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """With ``IMAGEOPS_REQUIRE_BROWSER=1`` a skipped browser test is reported as failed."""
    outcome = yield
    report = outcome.get_result()
    if report.skipped and browser_required() and item.get_closest_marker("browser"):
        report.outcome = "failed"
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else report.longrepr
        report.longrepr = f"IMAGEOPS_REQUIRE_BROWSER=1 but the browser test skipped: {reason}"


@pytest.fixture(scope="session")
def chromium_browser():
    """A headless Debian Chromium launched through Playwright (never a downloaded browser)."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:  # pragma: no cover - playwright is a dev dependency
        pytest.skip("playwright is not installed (pip install playwright)")
    executable = CHROMIUM if os.path.exists(CHROMIUM) else shutil.which("chromium")
    if not executable:
        pytest.skip(f"no Chromium at {CHROMIUM}: apt-get install -y chromium")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def browser_page(chromium_browser):
    """A fresh browser context and page (1280x900); closed after the test."""
    context = chromium_browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(20_000)
    yield page
    # Let the live server finish the page's last requests before the database is flushed (its
    # writes would only make the flush wait on SQLite's lock): leave the page, wait, then close.
    with contextlib.suppress(Exception):
        page.goto("about:blank")
        page.wait_for_load_state("networkidle")
    context.close()
    time.sleep(0.5)


@pytest.fixture
def screenshot(request):
    """``screenshot(page, "name")`` saves ``test-artifacts/<test>-<name>.png``; returns the path."""

    def take(page, name: str) -> Path:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS / f"{request.node.name}-{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take


@pytest.fixture(scope="session")
def live_server(request, django_db_setup):
    """pytest-django's ``live_server``, started after the test database exists, serving one
    request at a time; the server thread has its own database connections.

    ``django_db_setup`` first, on purpose: pytest-django's ``LiveServer`` hands the test thread's
    own connection object to the server thread when the database looks in-memory at that moment.
    Created before the test database, it saw ``NAME=":memory:"`` and shared the one
    ``DatabaseWrapper``; the test database then became a file, and the server thread's
    ``close_old_connections`` at every request end closed that sqlite3 connection under the test
    thread's queries (a segfault in SQLite, typically while the test database was flushed).
    Created after, nothing is shared, and a shared connection is refused outright.

    Serial (Django sends ``Connection: close`` on a non-threaded server, so keep-alive cannot
    starve anyone): the browser's parallel requests (a page, its ``jsi18n``, a poll) are answered
    in turn, so the server side writes the SQLite file from one thread only.
    """
    from django.core.servers.basehttp import WSGIServer
    from django.test.testcases import LiveServerThread
    from pytest_django.live_server_helper import LiveServer

    class SerialWSGIServer(WSGIServer):
        def __init__(self, *args, connections_override=None, **kwargs):
            super().__init__(*args, **kwargs)

    class SerialLiveServerThread(LiveServerThread):
        server_class = SerialWSGIServer

    addr = (
        request.config.getvalue("liveserver")
        or os.getenv("DJANGO_LIVE_TEST_SERVER_ADDRESS")
        or "localhost"
    )
    server = LiveServer(addr, start=False)
    if server.thread.connections_override:
        raise RuntimeError(
            "the live server would share the test thread's database connection "
            f"({sorted(server.thread.connections_override)}): an in-memory SQLite test database "
            "cannot be served to a browser safely; use a file (tests/settings.py does)"
        )
    server.thread.__class__ = SerialLiveServerThread
    server.start()
    yield server
    server.stop()


@pytest.fixture
def admin_browser(chromium_browser, live_server):
    """``open(path, user=None, width=1280)``: a page logged in (``support.open_page``: its
    session cookie, no login form) as ``user`` (default: a superuser ``admin``), at ``path`` of
    the live server. Each call is a new browser context, closed after the test."""
    from django.contrib.auth import get_user_model

    from tests.browser.support import close_page, open_page

    opened = []

    def open_at(path: str, user=None, width: int = 1280):
        if user is None:
            model = get_user_model()
            user = model.objects.filter(username="admin").first() or model.objects.create_superuser(
                "admin", "admin@example.com", "pw"
            )
        context, page = open_page(chromium_browser, live_server, width, user)
        opened.append((context, page))
        page.goto(live_server.url + path)
        return page

    yield open_at
    for context, page in opened:
        close_page(context, page)


#: JavaScript: whether every element matching a selector is entirely visible: inside the
#: viewport's width and not cut off by an ancestor that hides its overflow.
FULLY_VISIBLE_JS = """
selector => [...document.querySelectorAll(selector)].map(el => {
  const r = el.getBoundingClientRect();
  if (r.width === 0 || r.left < -0.5 || r.right > document.documentElement.clientWidth + 0.5) {
    return false;
  }
  for (let a = el.parentElement; a; a = a.parentElement) {
    const style = getComputedStyle(a);
    if (style.overflowX !== "visible" || style.overflowY !== "visible") {
      const b = a.getBoundingClientRect();
      if (a !== document.body && a !== document.documentElement &&
          (r.left < b.left - 0.5 || r.right > b.right + 0.5)) { return false; }
    }
  }
  return true;
})
"""


def fully_visible(page, selector: str) -> list[bool]:
    """For each element matching ``selector``: entirely visible (``FULLY_VISIBLE_JS``)."""
    return page.evaluate(FULLY_VISIBLE_JS, selector)


def at_narrow_width(page, width: int = 390) -> None:
    """Resize ``page`` to a phone's width (height 844) and reload it."""
    page.set_viewport_size({"width": width, "height": 844})
    page.reload()
