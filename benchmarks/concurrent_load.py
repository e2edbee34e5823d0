"""Concurrent clients against the example project, as an outside tester drives it.

    .venv/bin/python benchmarks/concurrent_load.py              # 8 clients, 60 jobs
    .venv/bin/python benchmarks/concurrent_load.py --json       # the report as JSON

Starts ``example_project/manage.py imageops_serve`` (its own settings: SQLite, background
``db_worker`` processes, the embedded sandbox and S3) in a fresh var dir, then ``--clients``
threads post ``--jobs`` jobs to its REST API at once (multipart uploads, HTTP basic auth): ten
identical crops, ten identical seeded uncrops, and a mix of unseeded uncrops, reimagines,
Auto-Clips in test mode and crops of other images. The requests record the jobs and the workers
run them, so the SQLite file has as many concurrent writers as clients, plus the workers. It
waits (at most
``--timeout`` seconds) until every job has finished, then reports:

- jobs by status, and the jobs **lost to locking**: a request answered 5xx, or a job failed with
  ``internal_error`` / ``database_unavailable`` or a "locked" message, or never finished
  (goal 0);
- vendor calls made for the ten identical crops and the ten identical seeded uncrops (goal 1
  each);
- per vendor: the credits the jobs recorded and the credits the sandbox counted.

Exits 1 when a goal is missed. Report the load average (``uptime``) with any figure.
"""

from __future__ import annotations

import argparse
import base64
import io
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from pathlib import Path

import requests
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
MANAGE = ROOT / "example_project" / "manage.py"
sys.path.insert(0, str(ROOT))

from tests.services import example_env, free_port  # noqa: E402

PASSWORD = "load-test-pw"
FINISHED = {"succeeded", "failed", "canceled"}
LOCKING_CODES = {"internal_error", "database_unavailable"}


def png(width: int, height: int, colour: tuple[int, int, int]) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), colour).save(buffer, "PNG")
    return buffer.getvalue()


def workload(count: int) -> list[tuple[str, dict, bytes]]:
    """``count`` job requests ``(kind, fields, image bytes)``: 10 identical crops, 10 identical
    seeded uncrops, then a mix of other jobs on distinct images, interleaved."""
    same = png(96, 64, (40, 120, 200))
    identical = [
        ("identical-crop", {"operation": "crop", "x": 4, "y": 4, "width": 40, "height": 30}, same)
    ] * 10
    identical += [("identical-uncrop", {"operation": "uncrop", "left": 16, "seed": 7}, same)] * 10
    others = []
    mix = [
        {"operation": "uncrop", "right": 24},
        {"operation": "reimagine"},
        {"operation": "remove_background", "mode": "auto", "test": "true"},
        {"operation": "crop", "x": 0, "y": 0, "width": 30, "height": 20},
    ]
    for index in range(max(0, count - len(identical))):
        colour = (index * 37 % 256, index * 91 % 256, 80)
        others.append(("other", mix[index % len(mix)], png(90 + index % 7, 60, colour)))
    # Interleave: the identical jobs arrive among the others, as concurrent clients would.
    requests_ = []
    while identical or others:
        if identical:
            requests_.append(identical.pop(0))
        if others:
            requests_.append(others.pop(0))
    return requests_[:count] if count < len(requests_) else requests_


class Server:
    """``imageops_serve`` in a subprocess on free ports, with a fresh var dir."""

    def __init__(self, workdir: Path):
        self.port, self.sandbox_port = free_port(), free_port()
        env = example_env(
            workdir,
            IMAGEOPS_ADMIN_PASSWORD=PASSWORD,
            IMAGEOPS_SANDBOX_PORT=str(self.sandbox_port),
            IMAGEOPS_S3_PORT=str(free_port()),
        )
        self.log_path = workdir / "serve.log"
        self.process = subprocess.Popen(
            [sys.executable, str(MANAGE), "imageops_serve", f"127.0.0.1:{self.port}"],
            env=env,
            cwd=ROOT,
            stdout=self.log_path.open("w"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.url = f"http://127.0.0.1:{self.port}"
        self.sandbox_url = f"http://127.0.0.1:{self.sandbox_port}"

    def wait_ready(self, timeout: float = 120.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SystemExit(f"imageops_serve exited:\n{self.log()}")
            try:
                if api(self, "GET", "jobs/").status_code == 200:
                    return
            except requests.ConnectionError:
                pass
            time.sleep(0.3)
        raise SystemExit(f"imageops_serve did not answer in {timeout:.0f} s:\n{self.log()}")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:]

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)


def api(server: Server, method: str, path: str, **kwargs) -> requests.Response:
    token = base64.b64encode(f"admin:{PASSWORD}".encode()).decode()
    headers = {"Authorization": f"Basic {token}"}
    return requests.request(
        method, f"{server.url}/api/imageops/{path}", headers=headers, timeout=180, **kwargs
    )


def post_job(server: Server, item: tuple[str, dict, bytes]) -> dict:
    kind, fields, image = item
    try:
        response = api(server, "POST", "jobs/", data=fields, files={"image": ("photo.png", image)})
    except requests.RequestException as exc:
        return {"kind": kind, "status_code": None, "error": str(exc)}
    body = (
        response.json()
        if response.headers.get("content-type", "").startswith("application/json")
        else {}
    )
    return {
        "kind": kind,
        "status_code": response.status_code,
        "uuid": body.get("uuid"),
        "error": "" if response.status_code < 500 else response.text[:300],
    }


def all_jobs(server: Server) -> dict[str, dict]:
    jobs, page = {}, 1
    while True:
        body = api(server, "GET", "jobs/", params={"page": page, "page_size": 200}).json()
        jobs.update({row["uuid"]: row for row in body["results"]})
        if not body.get("next"):
            return jobs
        page += 1


def run(clients: int, count: int, timeout: float) -> dict:
    workdir = Path(tempfile.mkdtemp(prefix="imageops-bench-load-"))
    server = Server(workdir)
    try:
        server.wait_ready()
        items = workload(count)
        started = time.monotonic()
        with ThreadPoolExecutor(clients) as pool:
            posted = list(pool.map(lambda item: post_job(server, item), items))
        requests_seconds = time.monotonic() - started
        uuids = {p["uuid"]: p["kind"] for p in posted if p.get("uuid")}
        deadline = time.monotonic() + timeout
        while True:
            jobs = all_jobs(server)
            unfinished = [u for u in uuids if jobs.get(u, {}).get("status") not in FINISHED]
            if not unfinished or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        total_seconds = time.monotonic() - started
        counters = requests.get(f"{server.sandbox_url}/_sandbox/counters", timeout=30).json()
    finally:
        server.stop()
    vendor_calls = vendor_calls_per_job(workdir / "db.sqlite3")
    return report(
        posted, jobs, uuids, unfinished, counters, vendor_calls, requests_seconds, total_seconds
    )


def vendor_calls_per_job(database: Path) -> dict[str, int]:
    """Vendor calls each job made (its ``vendor_call`` history entries), by job UUID, read from
    the example project's SQLite file once the server has stopped."""
    import sqlite3
    import uuid as uuid_module

    with sqlite3.connect(database) as connection:
        rows = connection.execute(
            "SELECT j.uuid, COUNT(e.id) FROM django_imageops_imagejob j "
            "LEFT JOIN django_imageops_imagejobevent e ON e.job_id = j.id "
            "AND e.kind = 'vendor_call' GROUP BY j.uuid"
        ).fetchall()
    return {str(uuid_module.UUID(str(value))): count for value, count in rows}


def report(
    posted, jobs, uuids, unfinished, counters, vendor_calls, requests_seconds, total_seconds
) -> dict:
    statuses: dict[str, int] = {}
    lost = [p for p in posted if p["status_code"] is None or p["status_code"] >= 500]
    for uuid in uuids:
        job = jobs.get(uuid, {})
        statuses[job.get("status", "missing")] = statuses.get(job.get("status", "missing"), 0) + 1
        error = job.get("error") or {}
        if error and (
            error.get("code") in LOCKING_CODES or "locked" in (error.get("message") or "")
        ):
            lost.append({"uuid": uuid, "error": error})
    lost += [{"uuid": uuid, "error": "not finished"} for uuid in unfinished]
    recorded: dict[str, Decimal] = {}
    for uuid in uuids:
        job = jobs.get(uuid)
        if job:
            vendor = job["provider"]  # the built-in providers are named after their vendor
            recorded[vendor] = recorded.get(vendor, Decimal(0)) + Decimal(job["credits_consumed"])
    identical_calls = {}
    for kind, vendor in (("identical-crop", "pixlab"), ("identical-uncrop", "clipdrop")):
        members = [u for u, k in uuids.items() if k == kind]
        identical_calls[kind] = {
            "jobs": len(members),
            "succeeded": sum(1 for u in members if jobs.get(u, {}).get("status") == "succeeded"),
            "calls": sum(vendor_calls.get(u, 0) for u in members),
            "vendor": vendor,
        }
    return {
        "requests": len(posted),
        "answered_5xx": sum(1 for p in posted if (p["status_code"] or 500) >= 500),
        "jobs": len(uuids),
        "statuses": statuses,
        "lost_to_locking": len(lost),
        "lost": lost[:20],
        "identical": identical_calls,
        "credits": {
            vendor: {
                "recorded": str(recorded.get(vendor, Decimal(0))),
                "sandbox": counters.get(vendor, {}).get("credits_consumed"),
                "calls": counters.get(vendor, {}).get("calls"),
            }
            for vendor in ("clipdrop", "clippingmagic", "pixlab", "piktid")
        },
        "seconds": {"requests": round(requests_seconds, 1), "total": round(total_seconds, 1)},
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=8, help="concurrent clients (8)")
    parser.add_argument("--jobs", type=int, default=60, help="job requests in all (60)")
    parser.add_argument("--timeout", type=float, default=180.0, help="seconds to wait (180)")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    args = parser.parse_args(argv)
    result = run(args.clients, args.jobs, args.timeout)
    ok = result["lost_to_locking"] == 0 and all(
        entry["calls"] <= 1 for entry in result["identical"].values()
    )
    if args.json:
        print(json.dumps(result, indent=2))
        return 0 if ok else 1
    print(f"load average: {os.getloadavg()[0]:.2f} (1 min)")
    print(
        f"{result['requests']} requests from {args.clients} clients in "
        f"{result['seconds']['requests']} s; all jobs finished after {result['seconds']['total']} s"
    )
    print(f"answered 5xx: {result['answered_5xx']}; jobs: {result['statuses']}")
    print(f"jobs lost to locking: {result['lost_to_locking']} (goal 0)")
    for entry in result["lost"]:
        print(f"  {entry}")
    for kind, entry in result["identical"].items():
        print(
            f"{kind}: {entry['jobs']} jobs, {entry['succeeded']} succeeded, "
            f"{entry['calls']} {entry['vendor']} call(s) (goal 1)"
        )
    for vendor, entry in result["credits"].items():
        print(
            f"{vendor}: {entry['calls']} calls; credits recorded {entry['recorded']}, "
            f"counted by the sandbox {entry['sandbox']}"
        )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
