"""The hand-written reference pages name everything the code has, and nothing it lacks.

The settings, system checks and signals pages are written by hand (their meanings need words),
so these tests hold them to the code: every ``IMAGEOPS`` key (the app's defaults and the options
the registered providers read, ``Provider.option_defaults``), every vendor's settings key (each
vendor's settings as merged over its providers' ``default_settings``), every
``django_imageops.E/W/I...`` check id in the package's source, every signal of
``django_imageops.signals`` and every public name of ``django_imageops.jobs`` (on the Python
API page). The management commands' options are generated from their parsers;
here every command must have its section. Relative links in README.md and docs/ must point at
files that exist (Sphinx checks links between pages; the README is not a page), and the Python
modules they name must exist.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.core.management import get_commands
from django.dispatch import Signal

import django_imageops
from django_imageops import jobs, providers, signals
from django_imageops.conf import get_settings

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
PACKAGE = Path(django_imageops.__file__).parent


def _rows(page: str) -> list[list[str]]:
    """Cells of the Markdown table rows of a docs page (header and rule rows included)."""
    text = (DOCS / page).read_text()
    return [
        [cell.strip() for cell in line.strip().strip("|").split("|")]
        for line in text.splitlines()
        if line.startswith("|")
    ]


def _names(cell: str) -> set[str]:
    """The backticked names in a table cell (``"`RETRY_BACKOFF`"`` -> ``{"RETRY_BACKOFF"}``)."""
    return set(re.findall(r"`([^`]+)`", cell))


def _imageops_keys() -> set[str]:
    """The top-level ``IMAGEOPS`` keys the app reads: its own and its providers' options."""
    options = (provider.option_defaults for provider in providers.all_providers())
    return set(get_settings()).union(*options)


def _vendor_settings() -> dict[str, dict]:
    """Each registered vendor's settings, as merged (its providers' defaults included)."""
    vendors = {provider.vendor for provider in providers.all_providers()}
    return {vendor: providers.vendor_settings(vendor) for vendor in vendors}


def test_settings_page_lists_every_imageops_key_and_no_other():
    documented = set().union(*(_names(row[0]) for row in _rows("reference/settings.md")))
    known = _imageops_keys()
    assert known - documented == set(), "IMAGEOPS keys missing from docs/reference/settings.md"
    vendor_keys = {row[1].strip("`") for row in _rows("reference/settings.md") if len(row) == 4}
    unknown = {name for name in documented - known if name.isupper()} - vendor_keys
    assert unknown == set(), "keys on docs/reference/settings.md that IMAGEOPS does not have"


def test_settings_page_lists_every_vendor_key():
    rows = {
        (row[0].strip("`"), row[1].strip("`"))
        for row in _rows("reference/settings.md")
        if len(row) == 4
    }
    vendors = _vendor_settings()
    assert vendors, "no registered vendor: has the registry changed?"
    missing = {
        (vendor, key)
        for vendor, values in vendors.items()
        for key in values
        if (vendor, key) not in rows and ("any", key) not in rows
    }
    assert missing == set(), "VENDORS keys missing from docs/reference/settings.md"


def test_checks_page_lists_every_check_id_in_the_code():
    in_code = {
        match
        for path in PACKAGE.rglob("*.py")
        for match in re.findall(r"django_imageops\.[EWIC]\d{3}", path.read_text())
    }
    documented = {
        name
        for row in _rows("reference/checks.md")
        for name in _names(row[0])
        if name.startswith("django_imageops.")
    }
    assert in_code, "no check ids found in the package: has the pattern changed?"
    assert documented == in_code


def test_signals_page_lists_every_signal():
    in_code = {name for name, value in vars(signals).items() if isinstance(value, Signal)}
    documented = set().union(*(_names(row[0]) for row in _rows("reference/signals.md")))
    assert documented == in_code


def test_python_api_page_documents_every_public_name_of_jobs():
    """``jobs.__all__`` is the Python API: each name is rendered on the page by autodoc (which
    also fails the docs build when a docstring is not valid reStructuredText)."""
    text = (DOCS / "reference" / "python-api.md").read_text()
    documented = set(
        re.findall(r"\.\. auto(?:function|class):: django_imageops\.jobs\.(\w+)", text)
    )
    assert set(jobs.__all__) - documented == set()


def test_commands_page_has_a_section_per_management_command():
    commands = {name for name, app in get_commands().items() if app == "django_imageops"}
    page = (DOCS / "reference/commands.md").read_text()
    documented = set(re.findall(r":func: (\w+)", page))
    assert commands and documented == commands


def _markdown_files() -> list[Path]:
    return [ROOT / "README.md", *sorted(DOCS.rglob("*.md"))]


@pytest.mark.parametrize("path", _markdown_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_relative_links_point_at_files(path):
    text = re.sub(r"```.*?```", "", path.read_text(), flags=re.S)
    targets = re.findall(r"\]\(([^)\s]+)\)", text)
    broken = [
        target
        for target in targets
        if not re.match(r"[a-z]+:", target)
        and not target.startswith("#")
        and not (path.parent / target.split("#", 1)[0]).exists()
    ]
    assert broken == []


@pytest.mark.parametrize("path", _markdown_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_repository_paths_named_exist(path):
    """A Python module of the repository a page names (``tests/jobs/test_worker.py``) exists:
    modules move (issue 12 moved the job tests), pages must follow."""
    root_dirs = "tests|django_imageops|benchmarks|example_project|docs"
    named = re.findall(rf"`((?:{root_dirs})/[\w/]+\.py)`", path.read_text())
    missing = [name for name in named if not (ROOT / name).exists()]
    assert missing == []
