"""The example project's embedded stand-ins, started by the process that uses them.

- the vendor sandbox (``django_imageops.sandbox.run_in_thread``) for every vendor without
  credentials in the environment (see ``settings.SANDBOX_VENDORS``);
- moto's S3 server (``ThreadedMotoServer``, in memory, on 127.0.0.1) when no real bucket is
  configured, with the bucket created;
- background workers: ``manage.py db_worker`` processes (django-tasks-db) on the example's
  SQLite database, so that no request and no demo step waits for a vendor. Deferred work
  (retries, rate-limit waits, PiktID polls) comes back through the tasks' ``run_after``;
- beside them, one ``manage.py imageops_run --due --loop 60`` process, as docs/howto/workers.md
  recommends for production: it requeues jobs a killed worker left ``running`` and resumes
  jobs waiting for a budget once it has room.

Used by the ``imageops_demo`` and ``imageops_serve`` commands; a deployment runs its own workers
(see docs/howto/workers.md).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.db import connections

#: ``SandboxConfig`` values of the embedded sandbox: a short PiktID generation (1 s instead of
#: the sandbox's 5 s) keeps the demo quick; the app still polls PiktID at most every 3 s.
SANDBOX_OPTIONS = {"piktid_delay": 1.0}


@dataclass
class Embedded:
    """The running embedded servers; ``stop()`` shuts them down.

    Attributes:
        sandbox_url: root URL of the vendor sandbox, or ``None`` when every vendor is real.
        sandbox_vendors: provider names served by the sandbox.
        s3_endpoint_url: URL of the embedded S3 server, or ``None`` with a real bucket.
        workers: the ``db_worker`` processes (``start_workers``).
        due_loop: the ``imageops_run --due --loop`` process (``start_workers``), or ``None``.
    """

    sandbox_url: str | None = None
    sandbox_vendors: list[str] = field(default_factory=list)
    s3_endpoint_url: str | None = None
    workers: list[subprocess.Popen] = field(default_factory=list)
    due_loop: subprocess.Popen | None = None
    _stops: list[Callable[[], None]] = field(default_factory=list)

    def describe(self) -> list[str]:
        """Lines that tell a person what this process talks to (printed at start-up)."""
        lines = []
        real = [name for name in settings.IMAGEOPS["VENDORS"] if name not in self.sandbox_vendors]
        if self.sandbox_vendors:
            lines.append(
                f"Vendor SANDBOX (a local emulator, not the real vendor APIs) at "
                f"{self.sandbox_url}: {', '.join(self.sandbox_vendors)}"
            )
        if real:
            lines.append(f"REAL vendor APIs (credits are spent): {', '.join(real)}")
        bucket = settings.STORAGES["imageops"]["OPTIONS"]["bucket_name"]
        if self.s3_endpoint_url:
            lines.append(
                f"Embedded S3 (moto, in memory) at {self.s3_endpoint_url}, bucket {bucket!r}"
            )
        else:
            lines.append(f"S3 bucket {bucket!r} (real)")
        lines.append(f"Database: {settings.DATABASES['default']['NAME']}")
        if self.workers:
            logs = ", ".join(str(worker.log_path) for worker in self.workers)
            lines.append(
                f"Background workers: {len(self.workers)} db_worker processes (logs: {logs})"
            )
        if self.due_loop is not None:
            lines.append(
                f"Due jobs, stale jobs and budget waits: imageops_run --due --loop "
                f"{DUE_LOOP_INTERVAL:g} (log: {self.due_loop.log_path})"
            )
        return lines

    def workers_alive(self) -> int:
        """How many of the background worker processes still run."""
        return sum(worker.poll() is None for worker in self.workers)

    def stop(self) -> None:
        """Shut down what ``start()`` started, last started first."""
        while self._stops:
            self._stops.pop()()


def start() -> Embedded:
    """Start the sandbox and the S3 server this configuration needs.

    Returns:
        ``Embedded`` with the URLs; call its ``stop()`` when done.

    Raises:
        OSError: when a configured port is taken.
    """
    embedded = Embedded(sandbox_vendors=list(settings.SANDBOX_VENDORS))
    try:
        if settings.EMBEDDED_S3:
            embedded.s3_endpoint_url = _start_s3(embedded)
        if settings.SANDBOX_VENDORS:
            embedded.sandbox_url = settings.SANDBOX_URL
            if settings.EMBEDDED_SANDBOX:
                _start_sandbox(embedded)
    except BaseException:
        embedded.stop()
        raise
    return embedded


def _start_s3(embedded: Embedded) -> str:
    import boto3
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(
        ip_address="127.0.0.1", port=settings.EMBEDDED_S3_PORT, verbose=False
    )
    server.start()
    embedded._stops.append(server.stop)
    options = settings.STORAGES["imageops"]["OPTIONS"]
    client = boto3.client(
        "s3",
        endpoint_url=settings.EMBEDDED_S3_ENDPOINT_URL,
        aws_access_key_id=options["access_key"],
        aws_secret_access_key=options["secret_key"],
        region_name=options["region_name"],
    )
    client.create_bucket(Bucket=options["bucket_name"])
    return settings.EMBEDDED_S3_ENDPOINT_URL


def _start_sandbox(embedded: Embedded) -> None:
    from django_imageops.sandbox import SandboxConfig, run_in_thread

    server = run_in_thread(
        SandboxConfig(**SANDBOX_OPTIONS), host="127.0.0.1", port=settings.SANDBOX_PORT
    )
    embedded._stops.append(server.shutdown)


def reset_database() -> bool:
    """Delete the SQLite file when S3 is the embedded, in-memory one.

    Rows pointing at files of an earlier run's (gone) S3 server would only show broken images,
    so every run with the embedded S3 starts from an empty database.

    Returns:
        True when a database file was deleted.
    """
    if not settings.EMBEDDED_S3:
        return False
    connections.close_all()
    path = settings.DATABASES["default"]["NAME"]
    deleted = False
    for suffix in ("", "-journal", "-wal", "-shm"):
        target = Path(f"{path}{suffix}")
        if target.exists():
            target.unlink()
            deleted = True
    return deleted


#: Background worker processes the commands start (``IMAGEOPS_EXAMPLE_WORKERS`` to change).
WORKERS = 2
#: Seconds an idle worker waits before looking for due tasks again.
WORKER_INTERVAL = 0.2
#: Seconds between two rounds of the ``imageops_run --due --loop`` process (requeueing stale
#: jobs, resuming budget waits, running what is due): the once a minute docs/howto/workers.md
#: recommends.
DUE_LOOP_INTERVAL = 60.0


def start_workers(embedded: Embedded, count: int | None = None) -> list[subprocess.Popen]:
    """Start ``count`` ``manage.py db_worker`` processes on this project's database, and one
    ``manage.py imageops_run --due --loop DUE_LOOP_INTERVAL`` process beside them, with this
    process's settings module (call after ``migrate``). They inherit this process's
    environment, so they use the same embedded sandbox and S3 ports; their output goes to
    ``VAR_DIR/worker-<n>.log`` and ``VAR_DIR/due-loop.log``. ``embedded.stop()`` stops them
    (SIGTERM: each finishes the task it is running).

    Returns:
        The ``db_worker`` processes (also in ``embedded.workers``; the loop is
        ``embedded.due_loop``).
    """
    if count is None:
        count = int(os.environ.get("IMAGEOPS_EXAMPLE_WORKERS") or WORKERS)
    if threading.current_thread() is threading.main_thread():
        # SIGTERM (``kill``, a supervisor) would end this process without its ``finally``
        # blocks and leave the workers running: make it an orderly exit that stops them.
        signal.signal(signal.SIGTERM, _exit_on_sigterm)
    for index in range(count):
        worker = _start_manage(
            embedded,
            f"worker-{index}.log",
            "db_worker",
            "--no-reload",
            *("--no-startup-delay", "--interval", str(WORKER_INTERVAL)),
            *("--worker-id", f"example-{os.getpid()}-{index}"),
        )
        embedded.workers.append(worker)
    embedded.due_loop = _start_manage(
        embedded, "due-loop.log", "imageops_run", "--due", "--loop", f"{DUE_LOOP_INTERVAL:g}"
    )
    return embedded.workers


def _start_manage(embedded: Embedded, log_name: str, *args: str) -> subprocess.Popen:
    """``manage.py <args>`` in the background with this process's settings module, its output
    in ``VAR_DIR/<log_name>`` (``.log_path``), stopped by ``embedded.stop()``."""
    manage = Path(settings.BASE_DIR) / "manage.py"
    log_path = Path(settings.VAR_DIR) / log_name
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [
                *(sys.executable, str(manage), *args),
                # This process's settings (manage.py's default is example_project.settings;
                # the Wagtail variant's workers need its own, and its database).
                f"--settings={settings.SETTINGS_MODULE}",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
    process.log_path = log_path
    embedded._stops.append(lambda: _stop_worker(process))
    return process


def _exit_on_sigterm(signum, frame) -> None:
    raise SystemExit(128 + signum)


def _stop_worker(worker: subprocess.Popen, timeout: float = 20.0) -> None:
    if worker.poll() is None:
        worker.terminate()
    try:
        worker.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        worker.kill()
        worker.wait(timeout=5)
