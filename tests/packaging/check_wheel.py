"""Build the sdist and the wheel, install the wheel as the README says, and use it as a site would.

    .venv/bin/python tests/packaging/check_wheel.py [--python python3] [--keep]

1. ``python -m build`` makes the sdist and the wheel; their contents are checked (the licence,
   ``py.typed``, templates, static files and migrations in the wheel; nothing but the package
   and its metadata files in the sdist).
2. A fresh virtualenv (made with ``--python``, default ``python3``) gets the wheel through the
   README's own install line (``pip install "django-imageops[s3]"``, the name replaced by the
   wheel's path, its extras kept), from the package indexes pip is configured with.
3. ``django-admin startproject`` there, then the README's quickstart snippets pasted as a reader
   would (``tests/docs/snippets.py``), then ``check``, ``makemigrations shop``, ``migrate`` and
   ``makemigrations --check``.
4. ``runserver`` on a free loopback port; a superuser logs in to the admin, the admin index, the
   product list and the job list answer 200, the REST API's job list and credits answer 200 and
   an invalid job is refused with 400 (before any vendor call).

Exits non-zero with the failing command's output on the first failure. Runs with the project's
development virtualenv (it needs ``build``, ``sybil`` and ``requests``).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import socket
import subprocess
import sys
import tarfile
import tempfile
import time
import zipfile
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.docs.snippets import SnippetError, SnippetSite, quickstart_site  # noqa: E402

SDIST_TOP_LEVEL = {"django_imageops", "README.md", "CHANGELOG.md", "LICENSE", "pyproject.toml"}
WHEEL_MUST_HAVE = [
    "django_imageops/py.typed",
    "django_imageops/migrations/0001_initial.py",
    "django_imageops/templates/django_imageops/clippingmagic/editor.html",
    "django_imageops/static/django_imageops/clippingmagic/editor.js",
    *(f"django_imageops/locale/{lang}/LC_MESSAGES/django.mo" for lang in ("fr", "de", "es")),
]


def step(message: str) -> None:
    print(f"== {message}", flush=True)


def run(*args: str, cwd: Path | None = None) -> str:
    done = subprocess.run(args, cwd=cwd, capture_output=True, text=True)
    if done.returncode:
        sys.exit(f"`{' '.join(args)}` exited {done.returncode}:\n{done.stdout}{done.stderr}")
    return done.stdout


def build(dist: Path) -> tuple[Path, Path]:
    """Build the sdist and the wheel into ``dist``; returns their paths."""
    step("building the sdist and the wheel")
    run(sys.executable, "-m", "build", "--outdir", str(dist), str(ROOT))
    (sdist,) = dist.glob("*.tar.gz")
    (wheel,) = dist.glob("*.whl")
    print(
        f"{sdist.name} ({sdist.stat().st_size:,} bytes), {wheel.name} "
        f"({wheel.stat().st_size:,} bytes)"
    )
    return sdist, wheel


def check_contents(sdist: Path, wheel: Path) -> None:
    """The sdist holds only the package and its metadata; the wheel all the package needs."""
    step("checking what the sdist and the wheel contain")
    with tarfile.open(sdist) as archive:
        top = {Path(name).parts[1] for name in archive.getnames() if len(Path(name).parts) > 1}
    stray = top - SDIST_TOP_LEVEL - {"PKG-INFO", ".gitignore"}  # both added by hatchling
    if stray or not top >= SDIST_TOP_LEVEL:
        sys.exit(f"sdist top level is {sorted(top)}; expected {sorted(SDIST_TOP_LEVEL)}")
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        metadata = next(n for n in names if n.endswith(".dist-info/METADATA"))
        meta = archive.read(metadata).decode()
    missing = [name for name in WHEEL_MUST_HAVE if name not in names]
    if not any(n.endswith(".dist-info/licenses/LICENSE") for n in names):
        missing.append("*.dist-info/licenses/LICENSE")
    allowed = {"django_imageops", Path(metadata).parts[0]}
    outside = sorted({name.split("/")[0] for name in names} - allowed)
    if missing or outside:
        sys.exit(f"wheel lacks {missing} / has stray top-level entries {outside}")
    for field in ("License-Expression: MIT", "Project-URL: Documentation", "Requires-Python"):
        if field not in meta:
            sys.exit(f"wheel METADATA lacks {field!r}")
    print(f"sdist: {sorted(top)}; wheel: {len(names)} files, licence and py.typed included")


def readme_install_line() -> str:
    """The first ``pip install "django-imageops[...]"`` line of README.md's Install section."""
    text = (ROOT / "README.md").read_text()
    install = text[text.index("## Install") :]
    match = re.search(r'^pip install "django-imageops(\[[\w,]+\])?"', install, re.M)
    if match is None:
        sys.exit('README.md\'s Install section has no `pip install "django-imageops[...]"` line')
    return match[0]


def install(wheel: Path, python: str, venv: Path) -> str:
    """A fresh virtualenv with the wheel installed by the README's line; returns its python."""
    line = readme_install_line()
    extras = re.search(r"\[[\w,]+\]", line)
    requirement = f"{wheel}{extras[0] if extras else ''}"
    step(f"installing into a fresh virtualenv ({python}): {line} -> pip install {requirement!r}")
    run(python, "-m", "venv", str(venv))
    venv_python = str(venv / "bin" / "python")
    run(venv_python, "-m", "pip", "install", "--quiet", requirement)
    print(run(venv_python, "-m", "pip", "list", "--format=freeze").replace("\n", " "))
    spectacular = not subprocess.run(
        [venv_python, "-c", "import drf_spectacular"], cwd=venv, stderr=subprocess.DEVNULL
    ).returncode
    print(f"drf-spectacular installed: {spectacular} (the API must work either way)")
    return venv_python


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve_and_request(site: SnippetSite) -> None:
    """Run the site's ``runserver``, log in to the admin, request the admin and the API."""
    site.manage("createsuperuser", "--noinput", "--username", "admin", "--email", "a@example.com")
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
    env.update(site.environ, DJANGO_SETTINGS_MODULE="mysite.settings", PYTHONPATH="")
    step(f"runserver 127.0.0.1:{port}")
    server = subprocess.Popen(
        [site.python, "manage.py", "runserver", "--noreload", f"127.0.0.1:{port}"],
        cwd=site.root,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        http = requests.Session()
        deadline = time.monotonic() + 60
        while True:
            try:
                login = http.get(f"{base}/admin/login/", timeout=10)
                break
            except requests.ConnectionError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        answers = {"GET /admin/login/": login.status_code}
        done = http.post(
            f"{base}/admin/login/?next=/admin/",
            data={
                "username": "admin",
                "password": site.environ["DJANGO_SUPERUSER_PASSWORD"],
                "csrfmiddlewaretoken": http.cookies["csrftoken"],
            },
            headers={"Referer": f"{base}/admin/login/"},
            timeout=30,
        )
        if not done.url.endswith("/admin/"):
            raise AssertionError(f"admin login did not succeed: ended at {done.url}")
        for path in (
            "/admin/",
            "/admin/shop/product/",
            "/admin/django_imageops/imagejob/",
            "/api/imageops/jobs/",
            "/api/imageops/credits/",
        ):
            answers[f"GET {path}"] = http.get(base + path, timeout=30).status_code
        refused = http.post(
            f"{base}/api/imageops/jobs/",
            json={"operation": "crop", "x": -1},
            headers={"X-CSRFToken": http.cookies["csrftoken"], "Referer": base},
            timeout=30,
        )
        answers["POST /api/imageops/jobs/ (invalid)"] = refused.status_code
        for request, status in answers.items():
            print(f"{status} {request}")
        expected = {request: 200 for request in answers} | {
            "POST /api/imageops/jobs/ (invalid)": 400
        }
        if answers != expected:
            raise AssertionError(f"unexpected answers: {answers}")
    except Exception:
        server.terminate()
        print(server.communicate(timeout=30)[0])
        raise
    server.terminate()
    server.wait(timeout=30)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--python", default="python3", help="interpreter of the fresh venv")
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    args = parser.parse_args(argv)
    started = time.monotonic()
    work = Path(tempfile.mkdtemp(prefix="imageops-wheel-check-"))
    try:
        sdist, wheel = build(work / "dist")
        check_contents(sdist, wheel)
        venv_python = install(wheel, args.python, work / "venv")
        where = run(
            venv_python, "-c", "import django_imageops; print(django_imageops.__file__)", cwd=work
        )
        if str(ROOT) in where:
            sys.exit(f"the fresh venv imports the package from the repository: {where}")
        step("a new project with the README's quickstart pasted in; manage.py check")
        site = quickstart_site(work / "site", python=venv_python)
        site.environ["DJANGO_SUPERUSER_PASSWORD"] = "wheel-check-pw"
        step("makemigrations shop, migrate, makemigrations --check")
        site.manage("makemigrations", "shop")
        site.manage("migrate", "--noinput")
        site.manage("makemigrations", "--check", "--dry-run")
        serve_and_request(site)
    except SnippetError as exc:
        sys.exit(str(exc))
    finally:
        if args.keep:
            print(f"work directory kept: {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    step(f"wheel check passed in {time.monotonic() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
