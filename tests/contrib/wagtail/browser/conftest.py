"""Real-browser tests of the Wagtail admin: the fixtures and hooks of ``tests/browser/`` (Debian
Chromium through Playwright, the serial live server, screenshots in ``test-artifacts/``), for
this directory; ``IMAGEOPS_REQUIRE_BROWSER=1`` makes a skip a failure here too."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.browser.conftest import (  # noqa: F401  (fixtures, used by name)
    browser_required,
    chromium_browser,
    live_server,
    screenshot,
)

HERE = Path(__file__).resolve().parent


def pytest_collection_modifyitems(items):
    """Every test here carries the ``browser`` marker."""
    for item in items:
        if HERE in Path(str(item.fspath)).resolve().parents:
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
