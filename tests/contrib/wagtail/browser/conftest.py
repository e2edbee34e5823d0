"""Real-browser tests of the Wagtail admin: the fixtures and hooks of ``tests/browser/`` (Debian
Chromium through Playwright, the serial live server, screenshots in ``test-artifacts/``), for
this directory; ``IMAGEOPS_REQUIRE_BROWSER=1`` makes a skip a failure here too."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.browser.conftest import (  # noqa: F401  (fixtures and a hook, used by name)
    chromium_browser,
    live_server,
    pytest_runtest_makereport,
    screenshot,
)

HERE = Path(__file__).resolve().parent


def pytest_collection_modifyitems(items):
    """Every test here carries the ``browser`` marker."""
    for item in items:
        if HERE in Path(str(item.fspath)).resolve().parents:
            item.add_marker(pytest.mark.browser)
