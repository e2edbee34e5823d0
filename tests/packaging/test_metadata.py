"""The package metadata says what is true: valid classifiers naming exactly the Python and Django
versions CI runs, a version the changelog describes, the licence it names."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from trove_classifiers import classifiers as KNOWN_CLASSIFIERS

ROOT = Path(__file__).resolve().parents[2]
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
CI = (ROOT / ".ci" / "run").read_text()


def _versions(prefix: str) -> set[str]:
    return {
        c.removeprefix(prefix)
        for c in PROJECT["classifiers"]
        if c.startswith(prefix) and re.fullmatch(r"\d+\.\d+", c.removeprefix(prefix))
    }


def test_classifiers_are_known_to_pypi():
    assert set(PROJECT["classifiers"]) - KNOWN_CLASSIFIERS == set()


def test_django_classifiers_are_the_versions_ci_runs():
    # .ci/run announces each suite run as "== make test (<python>, Django X.Y ...)".
    ran = set(re.findall(r"== make test \([^,]+, Django (\d+\.\d+)", CI))
    assert ran and _versions("Framework :: Django :: ") == ran


def test_python_classifiers_are_the_oldest_supported_and_the_one_ci_adds():
    oldest = PROJECT["requires-python"].removeprefix(">=")
    extra = set(re.findall(r"python(3\.\d+) --version", CI))
    assert _versions("Programming Language :: Python :: ") == {oldest} | extra


def test_version_is_the_changelogs_latest_section():
    changelog = (ROOT / "CHANGELOG.md").read_text()
    latest = re.search(r"^## \[(\d+\.\d+\.\d+)\]", changelog, re.M)
    assert latest and latest[1] == PROJECT["version"]


def test_licence_file_is_the_one_named():
    assert PROJECT["license"] == "MIT" and PROJECT["license-files"] == ["LICENSE"]
    assert (ROOT / "LICENSE").read_text().startswith("MIT License")
