"""Run the Python snippets of README.md and docs/ the way a reader pastes them.

Each document gets its own Django project, made by ``django-admin startproject mysite`` with the
interpreter under test (so on Django 5.2 and 6.1 alike). Its Python code blocks are taken in
order and, following their first line:

- ``# settings.py`` / ``# urls.py``: appended to the project's ``mysite/settings.py`` /
  ``mysite/urls.py``, as a reader adds them at the end of the files ``startproject`` made;
- ``# shop/models.py`` (any ``<app>/<module>.py``): appended to that module of an app made by
  ``manage.py startapp <app>`` and added to ``INSTALLED_APPS`` (what the reader does first);
- anything else: run as a script with ``manage.py shell -c`` in the project as it stands.

After each file snippet, ``manage.py check`` must pass and every module written so far must
import. ``os.environ["NAME"]`` read by a snippet is given a placeholder value.

Blocks that cannot run as they stand (fragments, calls to a real vendor) carry Sybil's skip
marker, an HTML comment that GitHub and the docs site do not show, on the line before the block:
``<!-- skip: next "why" -->``. See docs/development.md, "Documentation".
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import subprocess
import sys
import textwrap
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from unittest import SkipTest

from sybil import Example, Sybil
from sybil.example import NotEvaluated
from sybil.parsers.markdown import CodeBlockParser, SkipParser

REPO_ROOT = Path(__file__).resolve().parents[2]
PROJECT = "mysite"
_TARGET = re.compile(r"\A#\s*(?P<path>[\w/]+\.py)\b")
_CHECKED_BY_CHECK = {"settings", "urls", "models", "admin", "apps"}
_ENVIRON = re.compile(r"""os\.environ\[["'](\w+)["']\]""")


class SnippetError(AssertionError):
    """A snippet did not work where it says it goes; the message has the commands' output."""


@dataclass
class SnippetSite:
    """A Django project that snippets are pasted into.

    ``root`` is an empty directory; ``python`` the interpreter (with Django and django-imageops
    installed) that creates and runs the project. ``timeout`` is per command, in seconds.
    """

    root: Path
    python: str = sys.executable
    timeout: float = 180.0
    apps: set[str] = field(default_factory=set)
    modules: list[str] = field(default_factory=list)
    environ: dict[str, str] = field(default_factory=dict)
    created: bool = False

    def run(self, *args: str) -> str:
        """Run ``python <args>`` in the project; returns stdout. Raises ``SnippetError``."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
        env.update(self.environ, DJANGO_SETTINGS_MODULE=f"{PROJECT}.settings", PYTHONPATH="")
        done = subprocess.run(
            [self.python, *args],
            cwd=self.root,
            env=env,
            capture_output=True,
            text=True,
            timeout=self.timeout,
        )
        if done.returncode:
            raise SnippetError(
                f"`python {' '.join(args)}` exited {done.returncode}:\n{done.stdout}{done.stderr}"
            )
        return done.stdout

    def manage(self, *args: str) -> str:
        """Run ``manage.py <args>``; returns stdout. Raises ``SnippetError``."""
        return self.run("manage.py", *args)

    def create(self) -> None:
        """``django-admin startproject mysite <root>`` (once)."""
        if not self.created:
            self.root.mkdir(parents=True, exist_ok=True)
            self.run("-m", "django", "startproject", PROJECT, str(self.root))
            self.modules += [f"{PROJECT}.settings", f"{PROJECT}.urls"]
            self.created = True

    def path_of(self, target: str) -> Path:
        """The file a ``# <target>`` snippet goes to (making its app first when needed)."""
        self.create()
        if "/" not in target:
            return self.root / PROJECT / target
        app = target.split("/", 1)[0]
        if app not in self.apps:
            self.manage("startapp", app)
            with open(self.root / PROJECT / "settings.py", "a") as settings:
                settings.write(f"\nINSTALLED_APPS += [{app!r}]  # manage.py startapp {app}\n")
            self.apps.add(app)
        return self.root / target

    def paste(self, source: str, where: str = "", check: bool = True) -> None:
        """Append a ``# <file>.py`` snippet to its file, then (``check``) check the project.

        ``where`` (e.g. ``"README.md, line 40"``) goes into the file as a comment.
        """
        target = _TARGET.match(source)
        if target is None:
            raise ValueError("a file snippet starts with a comment naming its file")
        self.environ.update(dict.fromkeys(_ENVIRON.findall(source), "snippet-test"))
        path = self.path_of(target["path"])
        module = target["path"].removesuffix(".py").replace("/", ".")
        if "/" not in target["path"]:
            module = f"{PROJECT}.{module}"
        if module not in self.modules:
            self.modules.append(module)
        with open(path, "a") as file:
            file.write(f"\n\n# --- pasted from {where or 'a snippet'} ---\n{source}")
        if check:
            self.check()

    def check(self) -> None:
        """``manage.py check`` passes and every module pasted into imports.

        ``check`` itself imports the settings, URLconf, models and admin modules; any other
        (``shop/serializers.py``) is imported with ``manage.py shell -c``.
        """
        self.manage("check", "--fail-level", "ERROR")
        others = [m for m in self.modules if m.rsplit(".", 1)[-1] not in _CHECKED_BY_CHECK]
        if others:
            self.manage("shell", "-c", "; ".join(f"import {module}" for module in others))

    def copy(self, root: Path) -> SnippetSite:
        """A copy of this project in the empty directory ``root``."""
        shutil.copytree(self.root, root, dirs_exist_ok=True)
        return SnippetSite(
            root,
            python=self.python,
            timeout=self.timeout,
            apps=set(self.apps),
            modules=list(self.modules),
            environ=dict(self.environ),
            created=self.created,
        )

    def execute(self, source: str) -> str:
        """Run a script snippet with ``manage.py shell -c``; returns what it printed."""
        self.create()
        self.environ.update(dict.fromkeys(_ENVIRON.findall(source), "snippet-test"))
        return self.manage("shell", "-c", textwrap.dedent(source))


def evaluate(example: Example, site: SnippetSite) -> None:
    """Paste or run one Python block of a document in that document's ``site``."""
    where = f"{Path(example.path).relative_to(REPO_ROOT)}, line {example.line}"
    source = example.parsed
    try:
        if _TARGET.match(source):
            site.paste(source, where)
        else:
            site.execute(source)
    except SnippetError as exc:
        raise SnippetError(f"the snippet at {where} does not work as pasted:\n{exc}") from None


def _parse(path: Path, evaluator: Callable[[Example], None]):
    return Sybil(parsers=[CodeBlockParser("python", evaluator), SkipParser()]).parse(path)


def document_site(document: Path, root: Path, python: str = sys.executable) -> SnippetSite:
    """The project a reader has after pasting every file snippet of ``document`` (a path under
    the repository), checked once at the end; skipped blocks are left out."""
    site = SnippetSite(root, python=python)
    where = document.relative_to(REPO_ROOT)

    def paste(example: Example) -> None:
        if _TARGET.match(example.parsed):
            site.paste(example.parsed, f"{where}, line {example.line}", check=False)

    for example in _parse(document, paste):
        with contextlib.suppress(SkipTest, NotEvaluated):  # a skipped block is not pasted
            example.evaluate()
    site.check()
    return site


def quickstart_site(root: Path, python: str = sys.executable) -> SnippetSite:
    """The project a reader has after README's quickstart (``document_site`` of README.md)."""
    return document_site(REPO_ROOT / "README.md", root, python)


#: Documents whose snippets start from a bare ``startproject``; the others start from the
#: project README's quickstart made (what their reader has done first).
FROM_SCRATCH = {"README.md", "docs/tutorial.md"}


def snippet_sybil(python: str = sys.executable) -> Sybil:
    """A ``Sybil`` (pytest integration) that runs the Python blocks of README.md and docs/.

    Each document gets its own project under pytest's ``tmp_path_factory``: a bare
    ``startproject`` for ``FROM_SCRATCH`` documents, else a copy of ``quickstart_site`` (made
    once per session). ``python`` is the interpreter the projects run with.
    """
    bases: dict[str, SnippetSite] = {}

    def site_for(example: Example) -> SnippetSite:
        factory = example.namespace["tmp_path_factory"]
        document = Path(example.path).relative_to(REPO_ROOT).as_posix()
        root = factory.mktemp("snippet-site")
        if document in FROM_SCRATCH:
            return SnippetSite(root, python=python)
        if "quickstart" not in bases:
            bases["quickstart"] = quickstart_site(factory.mktemp("quickstart-site"), python)
        return bases["quickstart"].copy(root)

    def evaluator(example: Example) -> None:
        if "site" not in example.namespace:
            example.namespace["site"] = site_for(example)
        evaluate(example, example.namespace["site"])

    return Sybil(
        parsers=[CodeBlockParser("python", evaluator), SkipParser()],
        path=str(REPO_ROOT),
        patterns=["README.md", "docs/*.md", "docs/*/*.md"],
        fixtures=["tmp_path_factory"],
    )
