"""The Wagtail test session (``--ds=tests.contrib.wagtail.settings``, see its settings module).

Without Wagtail installed the test modules skip (``pytest.importorskip``), unless
``IMAGEOPS_REQUIRE_WAGTAIL=1`` (set by ``.ci/run`` for both Django runs): then the session fails
at once.
"""

from __future__ import annotations

import os

import pytest
from django.conf import settings


def wagtail_required() -> bool:
    """True when ``IMAGEOPS_REQUIRE_WAGTAIL=1``: a missing Wagtail fails the session."""
    return os.environ.get("IMAGEOPS_REQUIRE_WAGTAIL") == "1"


def pytest_sessionstart(session):
    """Fail at once when Wagtail is required and missing."""
    if wagtail_required() and not getattr(settings, "WAGTAIL", False):
        raise pytest.UsageError(
            "IMAGEOPS_REQUIRE_WAGTAIL=1 but Wagtail is not installed "
            "(pip install 'django-imageops[wagtail]')"
        )
