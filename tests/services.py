"""Helpers for tests that start real processes: a Redis server, task workers on the test DB.

A test module defines its own small fixtures around these (``yield from redis_server()``).
A service whose program is missing skips the test, unless ``IMAGEOPS_REQUIRE_SERVICES=1``
(set by ``.ci/run``) turns that into a failure.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest

ROOT = Path(__file__).resolve().parent.parent


def services_required() -> bool:
    """True when missing services must fail the run instead of skipping (CI)."""
    return os.environ.get("IMAGEOPS_REQUIRE_SERVICES") == "1"


def skip_or_fail(reason: str):
    """Skip the test with ``reason``, or fail it when services are required."""
    if services_required():
        pytest.fail(f"{reason} (IMAGEOPS_REQUIRE_SERVICES=1)")
    pytest.skip(reason)


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def max_in_window(times: list[float], window: float) -> int:
    """The most timestamps (seconds) in any half-open window of ``window`` seconds."""
    times = sorted(times)
    best, start = 0, 0
    for end, t in enumerate(times):
        while t - times[start] >= window:
            start += 1
        best = max(best, end - start + 1)
    return best


def redis_server() -> Iterator[str]:
    """Yield the URL of a Redis server: ``IMAGEOPS_TEST_REDIS_URL`` if set, else a private
    ``redis-server`` (Debian's package) started on 127.0.0.1 and stopped afterwards."""
    if os.environ.get("IMAGEOPS_TEST_REDIS_URL"):
        yield os.environ["IMAGEOPS_TEST_REDIS_URL"]
        return
    binary = shutil.which("redis-server")
    if binary is None:
        skip_or_fail("redis-server is not installed (apt-get install -y redis-server)")
    import redis

    port = free_port()
    workdir = tempfile.mkdtemp(prefix="imageops-redis-")
    process = subprocess.Popen(
        [
            binary,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            workdir,
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"redis://127.0.0.1:{port}/0"
    client = redis.Redis.from_url(url)
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                break
            except redis.ConnectionError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise RuntimeError("redis-server did not start") from None
                time.sleep(0.05)
        yield url
    finally:
        client.close()
        process.terminate()
        process.wait(timeout=10)
        shutil.rmtree(workdir, ignore_errors=True)


def database_url() -> str:
    """A URL of the test database (as opened by this process) for tests/settings.py."""
    from django.db import connection

    config = connection.settings_dict
    if connection.vendor == "postgresql":
        user = quote(config.get("USER") or "")
        password = quote(config.get("PASSWORD") or "")
        auth = f"{user}:{password}@" if password else (f"{user}@" if user else "")
        port = f":{config['PORT']}" if config.get("PORT") else ""
        return f"postgres://{auth}{config.get('HOST') or ''}{port}/{config['NAME']}"
    if connection.vendor == "sqlite":
        name = str(config["NAME"])
        if name == ":memory:" or name.startswith("file:"):
            skip_or_fail("the test database is in memory: worker processes cannot reach it")
        return f"sqlite:///{name}"
    skip_or_fail(f"no worker support for database vendor {connection.vendor}")
    return ""


#: Variables that would make the example project use real services or a fixed port.
EXAMPLE_REAL_SERVICE_VARS = (
    "CLIPDROP_API_KEY",
    "CLIPPINGMAGIC_API_ID",
    "CLIPPINGMAGIC_API_KEY",
    "PIKTID_EMAIL",
    "PIKTID_PASSWORD",
    "PIXLAB_API_KEY",
    "AWS_STORAGE_BUCKET_NAME",
    "IMAGEOPS_SANDBOX_URL",
    "IMAGEOPS_SANDBOX_PORT",
    "IMAGEOPS_S3_PORT",
    "CLIPPINGMAGIC_TEST_MODE",
    "DJANGO_SETTINGS_MODULE",
)


def example_env(var_dir: Path, **extra: str) -> dict[str, str]:
    """The environment of a fresh example-project run in ``var_dir``: embedded sandbox and S3
    on free ports (none of ``EXAMPLE_REAL_SERVICE_VARS``), plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if k not in EXAMPLE_REAL_SERVICE_VARS}
    env["IMAGEOPS_EXAMPLE_VAR_DIR"] = str(var_dir)
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra)
    return env


def worker_env(**extra: str) -> dict[str, str]:
    """Environment for a worker process on the same test database and sandbox as this one."""
    from django.conf import settings

    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
        "IMAGEOPS_TEST_DATABASE_URL": database_url(),
        "IMAGEOPS_TEST_SANDBOX_PORT": str(settings.SANDBOX_PORT),
        "IMAGEOPS_TEST_S3_PORT": str(settings.S3_PORT),
        "IMAGEOPS_TEST_RATE_LIMIT_CACHE": "imageops-shared",
    }
    env.update(extra)
    return env


def start_process(
    args: list[str], env: dict[str, str], log_name: str, module: str = "django"
) -> subprocess.Popen:
    """Start ``python -m <module> <args>`` (``django``: a management command; ``celery``: a
    Celery worker) with output to a temp log file (``process.log_path``)."""
    log_path = Path(tempfile.mkdtemp(prefix="imageops-worker-")) / f"{log_name}.log"
    log = log_path.open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", module, *args],
        env=env,
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    process.log_path = log_path
    return process


def stop_processes(processes: list[subprocess.Popen], timeout: float = 15) -> str:
    """Stop worker processes (SIGTERM, then SIGKILL after ``timeout`` seconds) and return the
    logs of those started by ``start_process``, joined."""
    for process in processes:
        if process.poll() is None:
            process.terminate()
    logs = []
    for process in processes:
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)
        if hasattr(process, "log_path"):
            logs.append(process.log_path.read_text(errors="replace"))
    return "\n".join(logs)


#: Seconds without any change (tasks, jobs, their history) after which ``wait_for_workers``
#: takes the workers for hung. Only a safety net: waiting is judged by the conditions, and a
#: slow machine still changes something every few seconds (a worker starting takes longest).
STALL_SECONDS = 300.0


def wait_for_workers(
    done,
    processes: list[subprocess.Popen],
    tasks_left=None,
    *,
    stall: float = STALL_SECONDS,
    interval: float = 0.2,
) -> str:
    """Wait while worker ``processes`` run the tasks until ``done()`` is true, however long a
    busy machine makes that take. Returns "" when done, else why waiting could not help:

    - a worker process exited;
    - ``tasks_left()``, when given (the tasks the task backend holds, queued, scheduled or
      running: a number or a tuple of numbers, read in one consistent snapshot), is empty twice
      in a row while ``done()`` is false: nothing is left that could do the work (a dropped
      task);
    - nothing changed (tasks, jobs, their history) for ``stall`` seconds: a hung worker.
    """
    from django.db.models import Count, Max

    from django_imageops.models import ImageJob, ImageJobEvent

    def state():
        jobs = ImageJob.objects.aggregate(updated=Max("updated_at"), n=Count("pk"))
        left = tasks_left() if tasks_left is not None else None
        return left, jobs["updated"], jobs["n"], ImageJobEvent.objects.count()

    last, changed_at, idle = None, time.monotonic(), 0
    while True:
        if done():
            return ""
        for process in processes:
            if process.poll() is not None:
                return f"worker {process.args} exited with {process.returncode}"
        snapshot = state()
        left = snapshot[0]
        empty = left is not None and not (any(left) if isinstance(left, tuple) else left)
        idle = idle + 1 if empty else 0
        if idle >= 2 and not done():
            return "no task is left to run, and the work is not done (a task was dropped)"
        if snapshot != last:
            last, changed_at = snapshot, time.monotonic()
        elif time.monotonic() - changed_at > stall:
            return f"nothing changed for {stall:.0f} s (tasks left: {left})"
        time.sleep(interval)


def db_tasks_left() -> int:
    """The tasks django-tasks-db holds (ready, including those to run later, or running): one
    COUNT, a consistent snapshot (a run enqueues its follow-up before its own row says done)."""
    from django_tasks_db.models import DBTaskResult

    return DBTaskResult.objects.filter(status__in=["READY", "RUNNING"]).count()


def wait_until(predicate, timeout: float, interval: float = 0.2) -> bool:
    """Poll ``predicate()`` until true or ``timeout`` seconds passed; return its last value."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(interval)
