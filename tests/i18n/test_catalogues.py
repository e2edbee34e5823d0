"""The shipped catalogues (French, German, Spanish) are complete, compiled and in use.

A string marked for translation and left out of a catalogue fails
``test_makemessages_finds_nothing_new``; one added but left untranslated or fuzzy fails
``test_every_message_is_translated``; one translated but not compiled fails
``test_compiled_catalogue_matches``. ``make messages`` lists what to do; docs/development.md
("Translations") says how.

The extraction needs GNU gettext: without it that test skips, unless
``IMAGEOPS_REQUIRE_GETTEXT=1`` (set by ``.ci/run``), which makes a missing gettext a failure.
"""

from __future__ import annotations

import os

import pytest
from django.utils import translation

from django_imageops.models import ImageJob
from tests.i18n.catalogues import (
    LANGUAGES,
    extracted_copy,
    gettext_available,
    messages,
    po_path,
    problems,
    stale_compilation,
)


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_message_is_translated(language):
    found = problems(po_path(language), language)
    assert not found, "make messages lists them:\n" + "\n".join(map(str, found))


@pytest.mark.parametrize("language", LANGUAGES)
def test_compiled_catalogue_matches(language):
    stale = stale_compilation(po_path(language))
    assert not stale, f"run make compilemessages; {len(stale)} differ: {stale[:10]}"


def test_makemessages_finds_nothing_new(tmp_path):
    if not gettext_available():
        if os.environ.get("IMAGEOPS_REQUIRE_GETTEXT") == "1":
            pytest.fail("IMAGEOPS_REQUIRE_GETTEXT=1 but GNU gettext is not installed")
        pytest.skip("GNU gettext is not installed (apt-get install gettext)")
    copy = extracted_copy(tmp_path)
    for language in LANGUAGES:
        extracted, shipped = messages(po_path(language, copy)), messages(po_path(language))
        new = sorted(m[1] for m in extracted - shipped)
        gone = sorted(m[1] for m in shipped - extracted)
        assert not new and not gone, (
            f"{language}: the catalogue is not up to date (run make messages, translate, "
            f"make compilemessages): new {new}, no longer used {gone}"
        )


@pytest.mark.parametrize(
    ("language", "action", "status"),
    [
        ("fr", "Relancer les tâches sélectionnées", "Échoué"),
        ("de", "Ausgewählte Aufträge wiederholen", "Fehlgeschlagen"),
        ("es", "Reintentar las tareas seleccionadas", "Fallido"),
    ],
)
def test_catalogue_is_used(language, action, status):
    """Django finds the compiled catalogue through the app (no LOCALE_PATHS needed)."""
    job = ImageJob(status=ImageJob.Status.FAILED)
    with translation.override(language):
        assert translation.gettext("Retry the selected jobs") == action
        assert job.get_status_display() == status
