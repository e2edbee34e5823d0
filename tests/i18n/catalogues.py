"""The package's translation catalogues: extract the marked strings, list what is untranslated.

``django_imageops/locale/<language>/LC_MESSAGES/django.po`` holds one catalogue per shipped
language (``LANGUAGES``), compiled next to it into ``django.mo`` (committed, so that the wheel
ships them and nothing has to be compiled at install time). Strings are extracted with Django's
own ``makemessages`` (GNU gettext's ``xgettext`` and ``msgmerge`` underneath), always with the
same options (``MAKEMESSAGES_OPTIONS``); the ``.po`` files are read with polib.

The scripts' words are in the ``django`` domain too: each script reads the texts it shows from
its page (``data-text`` attributes and ``json_script`` blocks filled with ``gettext``), so there
is no ``djangojs`` catalogue and no JavaScript catalogue view to install.

Command line (``make messages`` runs it)::

    python -m tests.i18n.catalogues            # extract into the .po files, list what is left
    python -m tests.i18n.catalogues --check    # extract into a copy; exit 1 if anything is new,
                                               # untranslated, fuzzy or not compiled
    python -m tests.i18n.catalogues --compile  # compile the .po files (make compilemessages)

``docs/development.md`` ("Translations") says how to add a language or update one.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import polib

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "django_imageops"
#: The languages whose catalogues ship; each needs its Plural-Forms header (see the docs).
LANGUAGES = ("fr", "de", "es")
DOMAIN = "django"
#: File-only locations (no line numbers: fewer changed lines when code moves), no obsolete
#: entries (a removed string leaves the catalogue).
MAKEMESSAGES_OPTIONS = ["--add-location=file", "--no-obsolete"]
#: Python-format placeholders (``%(name)s``, ``%s``, ``%d``) and str.format ones (``{name}``).
PLACEHOLDER = re.compile(
    r"%\([A-Za-z_]\w*\)[-#0 +]*\d*(?:\.\d+)?[sdifr]"  # %(name)s, %(seconds).1f
    r"|%[sdifr]"  # %s
    r"|\{[A-Za-z_]\w*\}"  # {name}
)


def po_path(language: str, package: Path = PACKAGE) -> Path:
    """The ``django.po`` of ``language`` under ``package``'s ``locale/``."""
    return package / "locale" / language / "LC_MESSAGES" / f"{DOMAIN}.po"


def gettext_available() -> bool:
    """Whether GNU gettext's tools (``xgettext``, ``msgmerge``, ``msgfmt``) are on PATH."""
    return all(shutil.which(tool) for tool in ("xgettext", "msgmerge", "msgfmt"))


def makemessages(package: Path = PACKAGE, languages: tuple[str, ...] = LANGUAGES) -> None:
    """Run ``makemessages`` in ``package`` for ``languages``: new strings are added to each
    ``.po`` (empty, or fuzzy when msgmerge found a near match), removed ones leave it.

    Raises ``subprocess.CalledProcessError`` (with gettext's messages) when it fails, and
    ``FileNotFoundError`` when GNU gettext is not installed.
    """
    if not gettext_available():
        raise FileNotFoundError("GNU gettext is not installed (apt-get install gettext)")
    # makemessages needs no project: without settings it configures Django itself, and it
    # writes into the locale/ directory of its working directory.
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    args = [sys.executable, "-m", "django", "makemessages", *MAKEMESSAGES_OPTIONS]
    for language in languages:
        args += ["--locale", language]
    subprocess.run(args, cwd=package, env=env, check=True, capture_output=True, text=True)


def compilemessages(package: Path = PACKAGE) -> None:
    """Compile every ``.po`` under ``package/locale`` into its ``.mo`` (Django's
    ``compilemessages``: msgfmt with ``--check-format``, so a broken placeholder fails)."""
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    subprocess.run(
        [sys.executable, "-m", "django", "compilemessages"], cwd=package, env=env, check=True
    )


def key(entry: polib.POEntry) -> tuple[str, str, str]:
    """What identifies a message: its context, its text and its plural text."""
    return (entry.msgctxt or "", entry.msgid, entry.msgid_plural or "")


def messages(path: Path) -> set[tuple[str, str, str]]:
    """The keys of the live (not obsolete) messages of a ``.po``, the header left out."""
    return {key(e) for e in polib.pofile(str(path)) if e.msgid and not e.obsolete}


def translations(entry: polib.POEntry) -> list[str]:
    """An entry's translations: one for a message, one per plural form for a plural one."""
    if entry.msgid_plural:
        return [entry.msgstr_plural[i] for i in sorted(entry.msgstr_plural)]
    return [entry.msgstr]


@dataclass
class Problem:
    """An entry of a catalogue that needs a translator: ``reason`` says why."""

    language: str
    entry: polib.POEntry
    reason: str

    def __str__(self) -> str:
        where = ", ".join(sorted({file for file, _line in self.entry.occurrences}))
        context = f" [{self.entry.msgctxt}]" if self.entry.msgctxt else ""
        return f"{self.language}: {self.reason}{context}: {self.entry.msgid!r} ({where})"


def problems(path: Path, language: str) -> list[Problem]:
    """What a translator still has to do in one ``.po``: entries that are fuzzy, untranslated
    (any plural form empty), or whose translation lacks or adds a placeholder."""
    catalogue = polib.pofile(str(path))
    found = []
    for entry in catalogue:
        if not entry.msgid or entry.obsolete:
            continue
        texts = translations(entry)
        if entry.fuzzy:
            found.append(Problem(language, entry, "fuzzy"))
        elif not all(texts) or len(texts) != catalogue_plurals(catalogue, entry):
            found.append(Problem(language, entry, "untranslated"))
        else:
            wanted = sorted(PLACEHOLDER.findall(entry.msgid_plural or entry.msgid))
            for text in texts:
                have = sorted(PLACEHOLDER.findall(text))
                # A singular form may leave out the count (French "une tâche" for n=1).
                if have != wanted and not (entry.msgid_plural and set(have) <= set(wanted)):
                    found.append(Problem(language, entry, f"placeholders {have} != {wanted}"))
                    break
    return found


def catalogue_plurals(catalogue: polib.POFile, entry: polib.POEntry) -> int:
    """How many translations ``entry`` needs: the header's ``nplurals`` for a plural message."""
    if not entry.msgid_plural:
        return 1
    match = re.search(r"nplurals\s*=\s*(\d+)", catalogue.metadata.get("Plural-Forms", ""))
    if not match:
        raise ValueError("the catalogue has no Plural-Forms header")
    return int(match.group(1))


def stale_compilation(path: Path) -> list[str]:
    """Messages whose compiled ``.mo`` (next to the ``.po``) differs from the ``.po``: missing,
    different, or left in the ``.mo`` after leaving the ``.po``. Fuzzy entries are not
    compiled (msgfmt leaves them out)."""
    mo_path = path.with_suffix(".mo")
    if not mo_path.exists():
        return [f"{mo_path.relative_to(ROOT)} does not exist"]
    compiled = {key(e): translations(e) for e in polib.mofile(str(mo_path)) if e.msgid}
    wanted = {
        key(e): translations(e)
        for e in polib.pofile(str(path))
        if e.msgid and not e.obsolete and not e.fuzzy and all(translations(e))
    }
    return sorted(
        repr(k[1]) for k in compiled.keys() | wanted.keys() if compiled.get(k) != wanted.get(k)
    )


def extracted_copy(into: Path) -> Path:
    """A copy of the package in ``into`` with ``makemessages`` run on it: the repository's
    catalogues as they would be after extraction. Returns the copy's package directory."""
    copy = into / PACKAGE.name
    shutil.copytree(
        PACKAGE,
        copy,
        ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "static", "*.mo"),
    )
    makemessages(copy)
    return copy


def report(package: Path) -> int:
    """Print, per language, what a translator has to do in ``package``'s catalogues; returns
    how many entries need one."""
    total = 0
    for language in LANGUAGES:
        found = problems(po_path(language, package), language)
        total += len(found)
        print(f"== {language}: {len(found)} to translate ({po_path(language).relative_to(ROOT)})")
        for problem in found:
            print(f"   {problem}")
    return total


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--check",
        action="store_true",
        help="extract into a copy of the package; exit 1 if a string is new, untranslated, "
        "fuzzy or not compiled",
    )
    parser.add_argument(
        "--compile", action="store_true", help="compile every .po into its .mo (msgfmt)"
    )
    options = parser.parse_args(argv)
    if options.compile:
        compilemessages()
        return 0
    if not options.check:
        makemessages()
        report(PACKAGE)
        print("Then: make compilemessages")
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        copy = extracted_copy(Path(tmp))
        failed = report(copy)
        for language in LANGUAGES:
            if messages(po_path(language, copy)) != messages(po_path(language)):
                print(f"== {language}: the catalogue is not up to date: run make messages")
                failed += 1
            for message in stale_compilation(po_path(language)):
                print(f"== {language}: not compiled: {message} (run make compilemessages)")
                failed += 1
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
