"""The example project's embedded stand-ins, started inside the process that uses them.

- the vendor sandbox (``django_imageops.sandbox.run_in_thread``) for every vendor without
  credentials in the environment (see ``settings.SANDBOX_VENDORS``);
- moto's S3 server (``ThreadedMotoServer``, in memory, on 127.0.0.1) when no real bucket is
  configured, with the bucket created;
- a loop that runs due jobs (deferred retries, PiktID polls), which the inline task backend
  cannot schedule itself.

Used by the ``imageops_demo`` and ``imageops_serve`` commands; a deployment uses none of it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.db import close_old_connections, connections

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
    """

    sandbox_url: str | None = None
    sandbox_vendors: list[str] = field(default_factory=list)
    s3_endpoint_url: str | None = None
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
        return lines

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


def run_due_jobs() -> int:
    """Run every due job once (``jobs.run_due``: deferred retries, PiktID polls whose time has
    come). ``jobs.run_job`` claims each job atomically, so two loops never run one job twice.

    Returns:
        The number of jobs run.
    """
    from django_imageops import jobs

    return jobs.run_due()


class DueJobsLoop(threading.Thread):
    """A daemon thread that runs due jobs every ``interval`` seconds (for ``imageops_serve``)."""

    def __init__(self, interval: float = 1.0):
        super().__init__(name="imageops-due-jobs", daemon=True)
        self.interval = interval
        self._stopped = threading.Event()

    def run(self) -> None:
        """Loop until ``stop()``; errors of one round are printed and the loop goes on."""
        while not self._stopped.wait(self.interval):
            close_old_connections()
            try:
                run_due_jobs()
            except Exception as exc:
                print(f"imageops due-jobs loop: {type(exc).__name__}: {exc}", flush=True)
            finally:
                close_old_connections()

    def stop(self) -> None:
        """Ask the loop to end after the current round."""
        self._stopped.set()
