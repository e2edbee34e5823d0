"""The example project's Wagtail variant (``make serve-wagtail``) run as a subprocess, as a
person starts it: its own database, the embedded sandbox and S3, the sample photos in Wagtail's
image library, the admin user's printed password opening Wagtail's admin, an image's edit page
with the operation buttons, and a job from it run by the site's workers into a new image."""

from __future__ import annotations

import re
import subprocess
import sys
import time

import pytest
import requests

pytest.importorskip("wagtail")

from tests.services import ROOT, example_env, free_port

MANAGE = ROOT / "example_project" / "manage.py"


def test_serve_wagtail_puts_the_samples_in_the_image_library(tmp_path):
    port = free_port()
    log_path = tmp_path / "serve.log"
    with log_path.open("w+") as log:
        process = subprocess.Popen(
            [
                sys.executable,
                str(MANAGE),
                "imageops_serve",
                "--settings=example_project.settings_wagtail",
                f"127.0.0.1:{port}",
            ],
            env=example_env(tmp_path, IMAGEOPS_ADMIN_PASSWORD="pw-for-tests"),
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=ROOT,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            session = requests.Session()
            deadline = time.monotonic() + 180
            while True:
                assert process.poll() is None, log_path.read_text()
                try:
                    login = session.get(f"{base}/cms/login/", timeout=5)
                    if login.status_code == 200:
                        break
                except requests.ConnectionError:
                    pass
                assert time.monotonic() < deadline, log_path.read_text()
                time.sleep(0.5)
            output = log_path.read_text()
            assert "Loaded 4 sample photos into Wagtail's images." in output
            assert f"Wagtail: {base}/cms/" in output
            assert (tmp_path / "db-wagtail.sqlite3").exists()

            session.post(
                f"{base}/cms/login/",
                data={
                    "username": "admin",
                    "password": "pw-for-tests",
                    "csrfmiddlewaretoken": session.cookies["csrftoken"],
                },
                headers={"Referer": f"{base}/cms/login/"},
                timeout=30,
            )
            listing = session.get(f"{base}/cms/images/", timeout=30).text
            for title in ("Astronaut", "Chelsea", "Coffee", "Rocket"):
                assert title in listing
            edit = re.search(r'href="(/cms/images/\d+/)[^"]*"', listing)
            assert edit, listing
            page = session.get(f"{base}{edit[1]}", timeout=60).text
            assert "imageops-op-remove_background" in page

            # A job from the edit page's panel runs on the site's workers (its settings, its
            # database) and its result becomes a new image.
            image_id = edit[1].rstrip("/").rsplit("/", 1)[1]
            queued = session.post(
                f"{base}/cms/imageops/images/{image_id}/reimagine/",
                data={
                    "imageops_post": "yes",
                    "field": "file",
                    "destination": "new_image",
                    "csrfmiddlewaretoken": session.cookies["csrftoken"],
                },
                headers={"Referer": f"{base}{edit[1]}"},
                timeout=60,
            )
            assert queued.status_code == 202, queued.text
            job = queued.json()
            deadline = time.monotonic() + 120
            while not job["finished"]:
                assert time.monotonic() < deadline, (job, log_path.read_text())
                time.sleep(1)
                job = session.get(f"{base}{job['status_url']}", timeout=30).json() | {
                    "status_url": job["status_url"]
                }
            assert job["status"] == "succeeded", job
            applied = session.post(
                f"{base}{job['apply']['url']}",
                headers={"X-CSRFToken": session.cookies["csrftoken"], "Referer": base},
                timeout=60,
            ).json()
            assert applied["applied_text"].startswith("Saved as a new image: ")
            jobs = session.get(f"{base}/cms/imageops/jobs/", timeout=30)
            assert jobs.status_code == 200
        finally:
            process.terminate()
            process.wait(timeout=30)
