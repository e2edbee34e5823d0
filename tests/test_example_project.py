"""The example project: its settings, and ``manage.py imageops_demo`` run end to end in a subprocess
(a fresh var dir, its own embedded sandbox and moto S3), as ``make demo`` runs it."""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys
import time
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path

import pytest
import requests
from PIL import Image

from tests.services import example_env

ROOT = Path(__file__).resolve().parent.parent
MANAGE = ROOT / "example_project" / "manage.py"
SAMPLES = sorted(
    p for p in (ROOT / "example_project" / "samples").iterdir() if p.suffix in (".png", ".jpg")
)
#: operation x provider steps the demo runs on each sample (shop.demo.STEPS).
STEPS = 6
SUMMARY = re.compile(r"^(\d+) jobs succeeded, (\d+) failed, ([\d.]+) credits$", re.MULTILINE)


def run_demo(var_dir: Path, *args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(MANAGE), "imageops_demo", *args],
        env=example_env(var_dir, **env),
        capture_output=True,
        text=True,
        timeout=600,
        cwd=ROOT,
    )


def example_settings(tmp_path: Path, **env: str) -> dict:
    """``IMAGEOPS``, ``STORAGES`` and the embedded flags of example_project.settings under
    ``env`` (imported in a subprocess, so each call reads its own environment)."""
    code = (
        "import json, sys; sys.path.insert(0, sys.argv[1]);"
        "import example_project.settings as s;"
        "print(json.dumps({'IMAGEOPS': s.IMAGEOPS, 'STORAGES': s.STORAGES,"
        " 'SANDBOX_VENDORS': s.SANDBOX_VENDORS, 'EMBEDDED_SANDBOX': s.EMBEDDED_SANDBOX,"
        " 'EMBEDDED_S3': s.EMBEDDED_S3, 'DB': str(s.DATABASES['default']['NAME'])}))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(MANAGE.parent)],
        env=example_env(tmp_path, **env),
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return json.loads(out.stdout)


def test_settings_default_to_sandbox_and_embedded_s3(tmp_path):
    s = example_settings(tmp_path)
    vendors = s["IMAGEOPS"]["VENDORS"]
    assert s["SANDBOX_VENDORS"] == ["clipdrop", "clippingmagic", "piktid", "pixlab"]
    assert s["EMBEDDED_SANDBOX"] and s["EMBEDDED_S3"]
    for name, prefix in (
        ("clipdrop", "/clipdrop"),
        ("clippingmagic", "/clippingmagic"),
        ("piktid", "/piktid/api"),
        ("pixlab", "/pixlab"),
    ):
        assert re.fullmatch(rf"http://127\.0\.0\.1:\d+{prefix}", vendors[name]["BASE_URL"])
    endpoint = s["STORAGES"]["imageops"]["OPTIONS"]["endpoint_url"]
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+", endpoint)
    assert s["STORAGES"]["imageops"]["BACKEND"] == "django_imageops.storage.S3Storage"
    assert s["DB"] == str(tmp_path / "db.sqlite3")


def test_settings_use_real_vendors_and_bucket_when_given(tmp_path):
    s = example_settings(
        tmp_path,
        CLIPDROP_API_KEY="cd-key",
        PIXLAB_API_KEY="px-key",
        AWS_STORAGE_BUCKET_NAME="my-bucket",
        AWS_S3_REGION_NAME="eu-west-1",
    )
    vendors = s["IMAGEOPS"]["VENDORS"]
    # Real vendors get only credentials: the app's defaults are the real vendor URLs.
    assert vendors["clipdrop"] == {"API_KEY": "cd-key"}
    assert vendors["pixlab"] == {"API_KEY": "px-key"}
    assert s["SANDBOX_VENDORS"] == ["clippingmagic", "piktid"]
    assert "127.0.0.1" in vendors["piktid"]["BASE_URL"]
    assert not s["EMBEDDED_S3"]
    options = s["STORAGES"]["imageops"]["OPTIONS"]
    assert options["bucket_name"] == "my-bucket"
    assert options["region_name"] == "eu-west-1"
    assert options["endpoint_url"] is None


@pytest.mark.slow
def test_demo_runs_every_operation_end_to_end(tmp_path):
    result = run_demo(tmp_path)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-6000:]

    # It says it talks to the sandbox and the embedded S3, not to the real vendors.
    assert "Vendor SANDBOX" in result.stdout
    assert "Embedded S3" in result.stdout
    assert "REAL vendor" not in result.stdout

    match = SUMMARY.search(result.stdout)
    assert match, output[-4000:]
    succeeded, failed, credits = int(match[1]), int(match[2]), float(match[3])
    assert (succeeded, failed) == (len(SAMPLES) * STEPS, 0)
    assert credits > 0

    # One report line per job: product, operation, provider, status, credits, pixels, bytes, URL.
    job_lines = [
        line for line in result.stdout.splitlines() if re.search(r"\s(succeeded|failed)\s", line)
    ]
    job_lines = [line for line in job_lines if "http://127.0.0.1:" in line]
    assert len(job_lines) == succeeded
    pairs = {tuple(line.split()[1:3]) for line in job_lines}
    assert {
        ("crop", "pixlab"),
        ("uncrop", "clipdrop"),
        ("uncrop", "piktid"),
        ("reimagine", "clipdrop"),
        ("remove_background", "clippingmagic"),
    } <= pairs
    assert sum("(review)" in line for line in job_lines) == len(SAMPLES)
    for line in job_lines:
        assert re.search(r"\s\d+x\d+\s+\d+ B\s+http://127\.0\.0\.1:\d+/", line), line

    # What the jobs recorded equals what the sandbox counted, for every vendor (PiktID and PixLab
    # report no costs: their jobs record the price, estimated).
    credits = re.search(
        r"^Credits recorded by the jobs: (.+); counted by the sandbox: (.+)$",
        result.stdout,
        re.MULTILINE,
    )
    assert credits, output[-4000:]
    recorded, counted = (
        dict(item.split() for item in part.split(", ")) for part in credits.groups()
    )
    assert set(recorded) == {"clipdrop", "clippingmagic", "piktid", "pixlab"}
    assert recorded == counted
    assert all(int(value) > 0 for value in recorded.values())
    assert any(re.search(r"\spiktid\s+succeeded\s+~1\s", line) for line in job_lines)

    sheet_line = re.search(r"^Contact sheet: (.+)$", result.stdout, re.MULTILINE)
    sheet = Path(sheet_line[1])
    assert sheet.parent == tmp_path
    with Image.open(sheet) as image:
        assert image.format == "PNG"
        # A row per sample, a column for the original plus one per step.
        assert image.width > (STEPS + 1) * 240 and image.height > len(SAMPLES) * 180


@pytest.mark.slow
def test_demo_exits_non_zero_when_a_job_fails(tmp_path, sandbox):
    """Against the test session's sandbox (IMAGEOPS_SANDBOX_URL), where PixLab refuses every
    call: the crop jobs fail, the demo says so and exits 1."""
    sandbox.configure(piktid_delay=1)
    sandbox.fail_next("pixlab", count=100, kind="status", status=400)
    result = run_demo(tmp_path, IMAGEOPS_SANDBOX_URL=sandbox.url)
    assert result.returncode == 1, (result.stdout + result.stderr)[-4000:]
    match = SUMMARY.search(result.stdout)
    assert match, result.stdout[-4000:]
    assert int(match[2]) == len(SAMPLES)
    assert int(match[1]) == len(SAMPLES) * (STEPS - 1)
    assert "jobs failed" in result.stderr


def _free_ports(count: int) -> list[int]:
    """``count`` distinct free ports on 127.0.0.1 (held open together while chosen)."""
    import socket

    sockets = [socket.socket() for _ in range(count)]
    try:
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


@contextmanager
def serve(tmp_path: Path, **env: str):
    """``manage.py imageops_serve`` in a fresh var dir, the site, its sandbox and its S3 on
    distinct free ports; yields ``(site URL, sandbox URL)`` once the admin login page answers,
    and stops it (and so its workers) afterwards."""
    port, sandbox_port, s3_port = _free_ports(3)
    env = {"IMAGEOPS_SANDBOX_PORT": str(sandbox_port), "IMAGEOPS_S3_PORT": str(s3_port), **env}
    log_path = tmp_path / "serve.log"
    log = log_path.open("w+")
    process = subprocess.Popen(
        [sys.executable, str(MANAGE), "imageops_serve", f"127.0.0.1:{port}"],
        env=example_env(tmp_path, IMAGEOPS_ADMIN_PASSWORD="pw-for-tests", **env),
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=ROOT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            assert process.poll() is None, log_path.read_text()
            try:
                if requests.get(f"{base}/admin/login/", timeout=5).status_code == 200:
                    break
            except requests.ConnectionError:
                pass
            assert time.monotonic() < deadline, log_path.read_text()
            time.sleep(0.5)
        yield base, f"http://127.0.0.1:{sandbox_port}"
    finally:
        process.terminate()
        process.wait(timeout=60)
        log.close()
    # SIGTERM stopped the background workers and the due-jobs loop too.
    assert "db_worker" in log_path.read_text()
    assert not _running_workers(tmp_path), log_path.read_text()


def _running_workers(var_dir: Path) -> list[str]:
    """Command lines of running processes that are db_workers or the ``imageops_run --due``
    loop of the example in ``var_dir``."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            command = (proc / "cmdline").read_bytes().split(b"\0")
            environ = (proc / "environ").read_bytes()
        except OSError:
            continue
        if (
            b"db_worker" in command or b"imageops_run" in command
        ) and f"IMAGEOPS_EXAMPLE_VAR_DIR={var_dir}".encode() in environ:
            found.append(b" ".join(command).decode(errors="replace"))
    return found


@pytest.mark.slow
def test_serve_starts_the_site_with_its_embedded_parts(tmp_path):
    """``imageops_serve``: admin user with the printed password, the admin, the REST API and
    Swagger UI answer, and a PiktID job (asynchronous: its polls are tasks with run_after that
    the background workers run) succeeds with its result on the embedded S3."""
    with serve(tmp_path) as (base, _sandbox_url):
        output = (tmp_path / "serve.log").read_text()
        assert "user 'admin', password 'pw-for-tests'" in output
        assert "Vendor SANDBOX" in output
        assert "Background workers: 2 db_worker processes" in output
        assert "Due jobs, stale jobs and budget waits: imageops_run --due --loop 60" in output
        running = _running_workers(tmp_path)
        assert sum("db_worker" in line for line in running) == 2, running
        [loop] = [line for line in running if "imageops_run" in line]
        assert "--due --loop 60 --settings=" in loop, loop

        auth = ("admin", "pw-for-tests")
        assert requests.get(f"{base}/api/docs/", timeout=10).status_code == 200
        assert requests.get(f"{base}/api/schema/", timeout=10).status_code == 200
        assert requests.get(f"{base}/api/imageops/jobs/", timeout=10).status_code in (401, 403)
        created = requests.post(
            f"{base}/api/imageops/jobs/",
            json={
                "operation": "uncrop",
                "provider": "piktid",
                "model": "shop.product",
                "pk": 1,
                "field": "photo",
                "left": 32,
                "right": 32,
            },
            auth=auth,
            timeout=60,
        )
        assert created.status_code == 202, created.text
        job_url = created.json()["url"]
        deadline = time.monotonic() + 120
        while (job := requests.get(job_url, auth=auth, timeout=10).json())["status"] not in (
            "succeeded",
            "failed",
        ):
            assert time.monotonic() < deadline, job
            time.sleep(1)
        assert job["status"] == "succeeded", job
        result = requests.get(job["result"]["url"], timeout=10)
        assert result.status_code == 200
        with Image.open(io.BytesIO(result.content)) as image:
            assert (
                image.width
                == job["result"]["width"]
                == job["params"]["left"] * 2 + (Image.open(SAMPLES[0]).width)
            )


def _admin_session(base: str) -> requests.Session:
    """A browser-like session logged in to the example's admin (CSRF cookie and token)."""
    session = requests.Session()
    session.get(f"{base}/admin/login/", timeout=10).raise_for_status()
    session.post(
        f"{base}/admin/login/?next=/admin/",
        data={
            "username": "admin",
            "password": "pw-for-tests",
            "csrfmiddlewaretoken": session.cookies["csrftoken"],
        },
        timeout=10,
    ).raise_for_status()
    assert "sessionid" in session.cookies
    return session


def _wait_for(fetch, done, timeout: float):
    """``fetch()`` until ``done(value)`` (every 0.2 s, at most ``timeout`` s); returns it."""
    deadline = time.monotonic() + timeout
    while not done(value := fetch()):
        assert time.monotonic() < deadline, value
        time.sleep(0.2)
    return value


@pytest.mark.slow
def test_concurrent_clients_lose_no_job_to_locking(tmp_path):
    """benchmarks/concurrent_load.py against the example project's own settings (SQLite, the
    requests and the background workers writing to it at once): six clients post 24 jobs at
    once, ten of them identical crops and ten identical seeded uncrops. No request answers 5xx,
    no job fails on "database is locked" (six of 40 did under such load before IMMEDIATE
    transactions and the spool), and each group of identical jobs makes one vendor call."""
    result = subprocess.run(
        [
            sys.executable,
            str(ROOT / "benchmarks" / "concurrent_load.py"),
            "--clients",
            "6",
            "--jobs",
            "24",
            "--json",
        ],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=ROOT,
        env=example_env(tmp_path),
    )
    report = json.loads(result.stdout or "{}") if result.stdout.startswith("{") else {}
    assert report, result.stdout + result.stderr
    assert report["answered_5xx"] == 0, report
    assert report["lost_to_locking"] == 0, report
    assert report["statuses"] == {"succeeded": 24}, report
    for kind, entry in report["identical"].items():
        assert (entry["jobs"], entry["calls"]) == (10, 1), (kind, report)
    clipdrop = report["credits"]["clipdrop"]
    assert Decimal(clipdrop["recorded"]) == Decimal(clipdrop["sandbox"]), report
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.slow
def test_serve_answers_while_the_vendor_call_is_held(tmp_path):
    """On the example project's settings a request only records the work: the API's job
    creation, the admin action's submit and the ClippingMagic editor's callback answer while
    the background workers are inside vendor calls, which the sandbox holds for longer than
    any of these requests may take."""
    held = 60  # seconds the sandbox holds every PixLab and ClippingMagic call
    with serve(tmp_path) as (base, sandbox_url):
        auth = ("admin", "pw-for-tests")
        # A review job waiting for the editor (its upload is done before the vendors stall).
        review = requests.post(
            f"{base}/api/imageops/jobs/",
            json={
                "operation": "remove_background",
                "model": "shop.product",
                "pk": 2,
                "field": "photo",
                "mode": "review",
            },
            auth=auth,
            timeout=held / 3,
        ).json()
        _wait_for(
            lambda: requests.get(review["url"], auth=auth, timeout=10).json()["status"],
            lambda status: status == "waiting_for_editor",
            timeout=60,
        )
        for vendor in ("pixlab", "clippingmagic"):
            requests.post(
                f"{sandbox_url}/_sandbox/faults",
                json={"vendor": vendor, "count": 5, "kind": "timeout", "seconds": held},
                timeout=10,
            ).raise_for_status()
        crop = {"x": 0, "y": 0, "width": 16, "height": 16}
        # A request waiting for the vendor would still be waiting when these give up.
        created = requests.post(
            f"{base}/api/imageops/jobs/",
            json={"operation": "crop", "model": "shop.product", "pk": 1, "field": "photo", **crop},
            auth=auth,
            timeout=held / 3,
        )
        assert created.status_code == 202, created.text
        assert created.json()["status"] == "pending"
        # Meanwhile a worker took the job and is inside the (held) PixLab call.
        job_url = created.json()["url"]
        _wait_for(
            lambda: (
                requests.get(f"{sandbox_url}/_sandbox/counters", timeout=10).json()["pixlab"],
                requests.get(job_url, auth=auth, timeout=held / 3).json()["status"],
            ),
            lambda seen: bool(seen[0].get("faults_injected")) and seen[1] == "running",
            timeout=held / 2,
        )

        # The admin's Crop action on product 1: the submit redirects to the change list.
        admin = _admin_session(base)
        submitted = admin.post(
            f"{base}/admin/shop/product/",
            data={
                "csrfmiddlewaretoken": admin.cookies["csrftoken"],
                "action": "imageops_crop",
                "_selected_action": ["1"],
                "index": "0",
                "imageops_post": "yes",
                "field": "photo",
                "provider": "pixlab",
                **crop,
            },
            allow_redirects=False,
            timeout=held / 3,
        )
        assert submitted.status_code == 302, submitted.text[-2000:]
        listed = requests.get(
            f"{base}/api/imageops/jobs/", params={"operation": "crop"}, auth=auth, timeout=10
        ).json()
        assert listed["count"] == 2, listed
        # The message links the batch, whose page shows its progress (both workers are busy).
        changelist = admin.get(f"{base}{submitted.headers['Location']}", timeout=10).text
        batch = re.search(r"\?batch=([0-9a-f-]{36})", changelist).group(1)
        page = admin.get(f"{base}/admin/django_imageops/imagejob/?batch={batch}", timeout=10)
        assert 'id="imageops-progress"' in page.text
        progress = admin.get(
            f"{base}/admin/django_imageops/imagejob/batch/{batch}/progress/", timeout=10
        ).json()
        assert progress["total"] == 1 and not progress["done"], progress

        # The editor's save: its callback queues the result's download and answers.
        editor = admin.get(review["editor_url"], timeout=10)
        config = json.loads(
            re.search(
                r'<script id="imageops-editor-config" type="application/json">(.*?)</script>',
                editor.text,
                re.S,
            ).group(1)
        )
        callback = admin.post(
            f"{base}{config['callbackUrl']}",
            json={"event": "result-generated", "image": {"id": config["image"]["id"]}},
            headers={"X-CSRFToken": admin.cookies["csrftoken"]},
            timeout=held / 3,
        )
        assert callback.status_code == 202, callback.text
