"""Overhead of the job pipeline: N crop jobs end to end against the same work done by hand.

    .venv/bin/python benchmarks/overhead.py [-n 50]

Starts the vendor sandbox and a moto S3 server as separate processes on loopback, configures
Django in this process (SQLite file database, the ImmediateBackend, results on S3), then times:

- jobs: ``jobs.create_jobs("crop", objects=[photo])`` for N photos (distinct images, so nothing
  is reused), each run inline: validation, the PixLab call, storing on S3, events, credits;
- by hand: the same N images, ``requests.post`` to the sandbox's PixLab crop and boto3
  ``put_object`` of the answer.

The two are interleaved image by image so that both see the same machine load. The S3 storage
uses ``"transfer_config": TransferConfig(use_threads=False)`` (docs/howto/s3.md recommends it:
results are small, and s3transfer's thread pool costs more than it saves for them).

Prints both times, how long django-storages' ``S3Storage._save`` takes to store the same result
bytes as a bare ``put_object`` (timed apart, after the loop) and the SQL statements one job
makes, then, last, ``ratio X.XX`` (jobs / by hand; goal <= 1.5).
"""

from __future__ import annotations

import argparse
import io
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

BUCKET = "imageops-bench"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise SystemExit(f"nothing listens on port {port}")


@contextmanager
def servers(latency_ms: int = 0):
    """Start the sandbox and moto S3 as subprocesses; yield ``(sandbox_url, s3_url)``."""
    sandbox_port, s3_port = free_port(), free_port()
    processes = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "django_imageops.sandbox",
                "--port",
                str(sandbox_port),
                "--clipdrop-rpm",
                "100000",
                "--latency-ms",
                str(latency_ms),
                "--credits",
                "1000000",
                "--quiet",
            ],
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        ),
        subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(s3_port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        ),
    ]
    try:
        wait_for_port(sandbox_port)
        wait_for_port(s3_port)
        yield f"http://127.0.0.1:{sandbox_port}", f"http://127.0.0.1:{s3_port}"
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(timeout=10)


def setup_django(sandbox_url: str, s3_url: str, workdir: Path) -> None:
    """Configure Django for the benchmark and create the database tables and bucket."""
    import django
    from boto3.s3.transfer import TransferConfig
    from django.conf import settings

    django6 = django.VERSION >= (6, 0)
    backend = "django.tasks" if django6 else "django_tasks"
    settings.configure(
        SECRET_KEY="benchmark-only",
        USE_TZ=True,
        INSTALLED_APPS=[
            "django.contrib.auth",
            "django.contrib.contenttypes",
            *([] if django6 else ["django_tasks"]),
            "django_imageops",
            "tests.testapp",
        ],
        DATABASES={
            "default": {
                "ENGINE": "django.db.backends.sqlite3",
                "NAME": str(workdir / "bench.sqlite3"),
                "OPTIONS": {"init_command": "PRAGMA synchronous=OFF; PRAGMA journal_mode=WAL;"},
            }
        },
        MEDIA_ROOT=str(workdir / "media"),
        STORAGES={
            "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
            "imageops": {
                "BACKEND": "storages.backends.s3.S3Storage",
                "OPTIONS": {
                    "bucket_name": BUCKET,
                    "endpoint_url": s3_url,
                    "access_key": "testing",
                    "secret_key": "testing",
                    "region_name": "us-east-1",
                    # Results are small: upload in the calling thread (no s3transfer pool).
                    # (django-storages deprecates "use_threads" in favour of this.)
                    "transfer_config": TransferConfig(use_threads=False),
                },
            },
        },
        TASKS={"default": {"BACKEND": f"{backend}.backends.immediate.ImmediateBackend"}},
        CACHES={"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}},
        IMAGEOPS={
            "VENDORS": {
                "clipdrop": {
                    "API_KEY": "sandbox",
                    "BASE_URL": f"{sandbox_url}/clipdrop",
                    "REQUESTS_PER_MINUTE": 100_000,
                },
                "clippingmagic": {
                    "API_ID": "1",
                    "API_KEY": "sandbox",
                    "BASE_URL": f"{sandbox_url}/clippingmagic",
                },
                "piktid": {
                    "EMAIL": "sandbox@example.com",
                    "PASSWORD": "sandbox",
                    "BASE_URL": f"{sandbox_url}/piktid/api",
                },
                "pixlab": {"API_KEY": "sandbox", "BASE_URL": f"{sandbox_url}/pixlab"},
            },
            "SPOOL_DIR": str(workdir / "spool"),
        },
        LOGGING_CONFIG=None,
    )
    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, run_syncdb=True)
    s3_client(s3_url).create_bucket(Bucket=BUCKET)


def s3_client(s3_url: str):
    import boto3

    return boto3.client(
        "s3",
        endpoint_url=s3_url,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        region_name="us-east-1",
    )


def sample_image(index: int, size=(800, 600)) -> bytes:
    """A photo-like JPEG (gradient + text-free noise-less shapes), different per index."""
    from PIL import Image, ImageDraw

    image = Image.linear_gradient("L").resize(size).convert("RGB")
    draw = ImageDraw.Draw(image)
    draw.ellipse((50 + index % 200, 60, 400 + index % 300, 500), fill=(200, 80, index % 256))
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


def make_photos(images: list[bytes]):
    from django.core.files.base import ContentFile

    from tests.testapp.models import Photo

    photos = []
    for i, data in enumerate(images):
        photo = Photo(title=f"bench {i}")
        photo.image.save(f"bench-{i}.jpg", ContentFile(data), save=True)
        photos.append(photo)
    return photos


CROP = {"x": 100, "y": 50, "width": 400, "height": 300}


def run_job(photo) -> float:
    """Seconds for one crop job end to end (created, run inline, stored)."""
    from django_imageops import jobs

    started = time.perf_counter()
    [job] = jobs.create_jobs("crop", objects=[photo], field="image", params=CROP)
    elapsed = time.perf_counter() - started
    job.refresh_from_db()
    if job.status != "succeeded":
        raise SystemExit(f"job {job.uuid} {job.status}: {job.error_message}")
    return elapsed


class ByHand:
    """The same work without the app: ``requests.post`` to the sandbox, boto3 ``put_object``."""

    def __init__(self, sandbox_url: str, s3_url: str):
        import requests

        self.sandbox_url = sandbox_url
        self.session = requests.Session()
        self.client = s3_client(s3_url)
        self.last_result = b""  # the latest crop's bytes, for the storage breakdown

    def __call__(self, path: str) -> float:
        started = time.perf_counter()
        with open(path, "rb") as handle:
            data = handle.read()
        response = self.session.post(
            f"{self.sandbox_url}/pixlab/crop",
            files={"file": ("photo.jpg", data, "image/jpeg")},
            data={**{k: str(v) for k, v in CROP.items()}, "key": "sandbox", "blob": "true"},
            timeout=60,
        )
        response.raise_for_status()
        self.put(response.content, response.headers.get("Content-Type", "image/png"))
        self.last_result = response.content
        return time.perf_counter() - started

    def put(self, content: bytes, content_type: str = "image/jpeg") -> float:
        """Seconds for one boto3 ``put_object`` of ``content``."""
        import uuid

        started = time.perf_counter()
        self.client.put_object(
            Bucket=BUCKET, Key=f"by-hand/{uuid.uuid4()}.png", Body=content, ContentType=content_type
        )
        return time.perf_counter() - started


def storage_save(content: bytes) -> float:
    """Seconds for the app's storage (django-storages' ``S3Storage._save``, as ``jobs`` calls it)
    to store ``content``: the by-hand ``put_object``'s counterpart, for the breakdown."""
    import uuid

    from django.core.files.base import ContentFile

    from django_imageops.conf import get_storage

    name = f"bench-storage/{uuid.uuid4()}.jpg"
    started = time.perf_counter()
    get_storage()._save(name, ContentFile(content, name=name))
    return time.perf_counter() - started


def statements_per_job(photo) -> int:
    """SQL statements one inline crop job makes, from ``create_jobs`` to its stored result."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        run_job(photo)
    # Not counted: BEGIN/COMMIT, and run_job's refresh_from_db (the benchmark's own check).
    sql = [q["sql"] for q in queries.captured_queries if q["sql"] not in ("BEGIN", "COMMIT")]
    return len(sql) - 1


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", type=int, default=50, help="jobs (default %(default)s)")
    parser.add_argument(
        "--latency-ms",
        type=int,
        default=0,
        help="sandbox latency per vendor request (default %(default)s: pure overhead)",
    )
    args = parser.parse_args(argv)
    workdir = Path(tempfile.mkdtemp(prefix="imageops-bench-overhead-"))
    try:
        with servers(args.latency_ms) as (sandbox_url, s3_url):
            setup_django(sandbox_url, s3_url, workdir)
            warm = make_photos([sample_image(10_000 + i) for i in range(3)])
            by_hand = ByHand(sandbox_url, s3_url)
            for photo in warm:  # imports, connections, first queries
                run_job(photo)
                by_hand(photo.image.path)
            photos = make_photos([sample_image(i) for i in range(args.n + 1)])
            statements = statements_per_job(photos.pop())
            # Interleaved, so both see the same machine load.
            with_jobs = hand = cpu_jobs = cpu_hand = 0.0
            for photo in photos:
                cpu = time.process_time()
                hand += by_hand(photo.image.path)
                cpu_hand += time.process_time() - cpu
                cpu = time.process_time()
                with_jobs += run_job(photo)
                cpu_jobs += time.process_time() - cpu
            # Apart, after the timed loop: the app's storage against put_object, same bytes.
            store = put = 0.0
            for _ in range(args.n):
                store += storage_save(by_hand.last_result)
                put += by_hand.put(by_hand.last_result)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    for label, seconds, cpu in (
        ("crop jobs end to end", with_jobs, cpu_jobs),
        ("by hand", hand, cpu_hand),
    ):
        print(
            f"{args.n} {label}: {seconds:.3f} s ({seconds / args.n * 1000:.1f} ms each, "
            f"{cpu / args.n * 1000:.1f} ms CPU in this process)"
        )
    # Where the difference comes from, in part: the storage library the app must use, and the
    # database (each statement costs the ORM ~0.4-0.6 ms here on top of SQLite's own time).
    print(
        f"storing a result: django-storages S3Storage._save {store / args.n * 1000:.1f} ms, "
        f"boto3 put_object {put / args.n * 1000:.1f} ms; "
        f"SQL statements per job: {statements}"
    )
    print(f"load average: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    print(f"ratio {with_jobs / hand:.2f}")
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    raise SystemExit(main())
