"""The production worker setup (``docs/howto/workers.md``), started on loopback for benchmarks.

``production_setup()`` starts, in a temp dir, and stops afterwards:

- a private PostgreSQL cluster (``initdb`` + ``pg_ctl``), or uses ``--database-url``;
- a private ``redis-server`` (Debian's): Celery's broker (database 1) and the rate limiter's
  shared cache (database 0);
- the vendor sandbox in its own process (``python -m django_imageops.sandbox``) with the given
  options (``--latency-ms``, ``--clipdrop-rpm``, ...);
- moto's S3 server in its own process (``storage="s3"``, the default): uploads, sources and
  results on the ``django_imageops.storage.S3Storage`` the quickstart recommends (or another
  ``s3_backend``); ``storage="fs"``: a local directory instead;
- the workers: ``celery -A django_tasks_fennel.app worker --pool threads --concurrency N``
  processes (``engine="celery"``, the recommended setup) or ``manage.py db_worker`` processes
  (``engine="db"``, django-tasks-db on the same PostgreSQL);

and configures Django in this process with ``benchmarks.settings`` on the same services, so the
benchmark enqueues the way a web process does. ``RssSampler`` sums the resident memory of every
worker process and its children (psutil) and keeps the peak.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.services import free_port, stop_processes  # noqa: E402

ENGINES = ("celery", "db")


def _pg_bin(name: str) -> str:
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"))
    if not candidates:
        raise SystemExit(f"{name} not found: apt-get install -y postgresql, or --database-url")
    return str(candidates[-1])


@contextmanager
def private_postgres(workdir: Path) -> Iterator[str]:
    """A throw-away PostgreSQL cluster on 127.0.0.1; yields its database URL."""
    port = free_port()
    data = workdir / "pgdata"
    workdir.mkdir(parents=True, exist_ok=True)
    as_user: list[str] = []
    if os.geteuid() == 0:  # initdb refuses to run as root: use the postgres account
        workdir.parent.chmod(0o755)
        shutil.chown(workdir, "postgres")
        as_user = ["runuser", "-u", "postgres", "--"]
    subprocess.run(
        [*as_user, _pg_bin("initdb"), "-D", str(data), "-A", "trust", "-U", "postgres"],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    options = f"-k {workdir} -p {port} -h 127.0.0.1 -c fsync=off -c max_connections=200"
    pg_ctl = [*as_user, _pg_bin("pg_ctl"), "-D", str(data), "-l", str(workdir / "pg.log")]
    subprocess.run([*pg_ctl, "-o", options, "-w", "start"], check=True, stdout=subprocess.DEVNULL)
    try:
        yield f"postgres://postgres@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run([*pg_ctl, "-m", "immediate", "stop"], stdout=subprocess.DEVNULL)


@contextmanager
def listening(command: list[str], port: int) -> Iterator[subprocess.Popen]:
    """Start ``command`` (a server on ``port``), yield it once the port answers, then stop it.
    Its output goes to a temporary file (a pipe nobody reads would fill and block it).

    Raises:
        SystemExit: when the server exits first (its output in the message).
    """
    with tempfile.TemporaryFile("w+") as log:
        process = subprocess.Popen(command, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
        try:
            wait_for_port(port, process, log)
            yield process
        finally:
            process.terminate()
            process.wait(timeout=10)


@contextmanager
def private_redis(workdir: Path) -> Iterator[str]:
    """A throw-away redis-server on 127.0.0.1; yields its URL (database 0)."""
    if shutil.which("redis-server") is None:
        raise SystemExit("redis-server not found: apt-get install -y redis-server")
    workdir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    with listening(
        [
            *("redis-server", "--port", str(port), "--bind", "127.0.0.1"),
            *("--save", "", "--appendonly", "no", "--dir", str(workdir)),
        ],
        port,
    ):
        yield f"redis://127.0.0.1:{port}/0"


#: The bucket of the benchmarks' S3 server.
S3_BUCKET = "imageops-bench"


@contextmanager
def private_s3() -> Iterator[str]:
    """moto's S3 server in its own process on 127.0.0.1, with ``S3_BUCKET``; yields its URL."""
    import boto3

    port = free_port()
    with listening([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)], port):
        url = f"http://127.0.0.1:{port}"
        boto3.client(
            "s3",
            endpoint_url=url,
            aws_access_key_id="bench",
            aws_secret_access_key="bench",
            region_name="us-east-1",
        ).create_bucket(Bucket=S3_BUCKET)
        yield url


@contextmanager
def sandbox_process(*options: str) -> Iterator[str]:
    """The vendor sandbox in its own process with these command line options; yields its URL.

    Raises:
        SystemExit: when the sandbox refuses the options (e.g. a per-vendor ``--latency-ms``
            on a sandbox that takes one number).
    """
    port = free_port()
    command = [sys.executable, "-m", "django_imageops.sandbox", "--port", str(port), "--quiet"]
    with listening([*command, *options], port):
        yield f"http://127.0.0.1:{port}"


def wait_for_port(port: int, process: subprocess.Popen, log=None, timeout: float = 30) -> None:
    """Wait until something listens on ``port``; SystemExit (with ``log``'s text, the
    process's output) when ``process`` exits first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            detail = ""
            if log is not None:
                log.seek(0)
                detail = log.read()[-4000:]
            raise SystemExit(f"{process.args[:3]} exited with {process.returncode}\n{detail}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise SystemExit(f"nothing listens on port {port} after {timeout} s")


class RssSampler(threading.Thread):
    """Samples the summed RSS (bytes) of processes and all their children every ``interval``
    seconds; ``peak`` is the largest sum seen."""

    def __init__(self, processes: list[subprocess.Popen], interval: float = 0.25):
        super().__init__(name="rss-sampler", daemon=True)
        self.processes = processes
        self.interval = interval
        self.peak = 0
        self._halt = threading.Event()

    def sample(self) -> int:
        """The summed RSS now, in bytes."""
        import psutil

        total = 0
        for process in self.processes:
            try:
                parent = psutil.Process(process.pid)
                family = [parent, *parent.children(recursive=True)]
            except psutil.NoSuchProcess:
                continue
            for member in family:
                try:
                    total += member.memory_info().rss
                except psutil.NoSuchProcess:
                    continue
        return total

    def run(self) -> None:
        """Sample until ``stop()``."""
        while not self._halt.is_set():
            self.peak = max(self.peak, self.sample())
            self._halt.wait(self.interval)

    def stop(self) -> int:
        """Stop sampling; returns the peak in bytes."""
        self._halt.set()
        self.join(timeout=5)
        return self.peak


def add_storage_arguments(parser) -> None:
    """``--storage`` and ``--s3-backend`` (``production_setup``'s ``storage``, ``s3_backend``)."""
    parser.add_argument(
        "--storage",
        choices=("s3", "fs"),
        default="s3",
        help="s3: moto's S3 server in its own process (default); fs: a local directory",
    )
    parser.add_argument(
        "--s3-backend",
        default="django_imageops.storage.S3Storage",
        help="the storage class on S3 (storages.backends.s3.S3Storage to compare)",
    )


@dataclass
class Setup:
    """What ``production_setup`` started.

    Attributes:
        engine: ``"celery"`` or ``"db"``.
        sandbox_url: root URL of the sandbox process.
        redis_url: the limiter cache's Redis URL (the broker is database 1 of the same server).
        workers: the worker processes.
        rss: the sampler of the workers' memory (started with them).
    """

    engine: str
    sandbox_url: str
    redis_url: str
    workers: list[subprocess.Popen] = field(default_factory=list)
    rss: RssSampler | None = None

    def workers_alive(self) -> bool:
        """True while at least one worker process runs."""
        return any(process.poll() is None for process in self.workers)


@contextmanager
def production_setup(
    *,
    engine: str = "celery",
    workers: int = 1,
    concurrency: int = 16,
    sandbox_options: tuple[str, ...] = (),
    database_url: str | None = None,
    settings_env: dict[str, str] | None = None,
    storage: str = "s3",
    s3_backend: str = "django_imageops.storage.S3Storage",
) -> Iterator[Setup]:
    """Start the services and workers (see the module docstring) and set up Django here.

    Args:
        engine: ``"celery"`` (threads pool, ``concurrency`` threads per process) or ``"db"``.
        workers: worker processes.
        sandbox_options: command line options of the sandbox.
        database_url: an existing PostgreSQL database instead of a private cluster.
        settings_env: more ``BENCH_*`` variables for ``benchmarks.settings`` (vendor limits).
        storage: ``"s3"`` (moto's server, ``s3_backend`` storages) or ``"fs"`` (a directory).
        s3_backend: the storage class on S3 (``storages.backends.s3.S3Storage`` to compare).

    Yields:
        ``Setup``; everything is stopped when the block ends.
    """
    if engine not in ENGINES:
        raise SystemExit(f"unknown engine {engine!r}: one of {', '.join(ENGINES)}")
    workdir = Path(tempfile.mkdtemp(prefix="imageops-bench-"))
    with ExitStack() as stack:
        stack.callback(shutil.rmtree, workdir, ignore_errors=True)
        database_url = database_url or stack.enter_context(private_postgres(workdir / "pg"))
        redis_url = stack.enter_context(private_redis(workdir / "redis"))
        sandbox_url = stack.enter_context(sandbox_process(*sandbox_options))
        media = workdir / "media"
        media.mkdir()
        if storage == "s3":
            os.environ.update(
                BENCH_S3_URL=stack.enter_context(private_s3()),
                BENCH_S3_BUCKET=S3_BUCKET,
                BENCH_S3_BACKEND=s3_backend,
            )
        elif storage != "fs":
            raise SystemExit(f"unknown storage {storage!r}: s3 or fs")
        os.environ.update(
            DJANGO_SETTINGS_MODULE="benchmarks.settings",
            BENCH_ENGINE=engine,
            BENCH_DATABASE_URL=database_url,
            BENCH_SANDBOX_URL=sandbox_url,
            BENCH_REDIS_URL=redis_url,
            BENCH_BROKER_URL=redis_url.rsplit("/", 1)[0] + "/1",
            BENCH_MEDIA_ROOT=str(media),
            PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
            **(settings_env or {}),
        )
        import django

        django.setup()
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
        setup = Setup(engine=engine, sandbox_url=sandbox_url, redis_url=redis_url)
        stack.callback(stop_processes, setup.workers, timeout=30)
        for index in range(workers):
            setup.workers.append(_start_worker(engine, index, concurrency))
        setup.rss = RssSampler(setup.workers)
        setup.rss.start()
        stack.callback(setup.rss.stop)
        time.sleep(3)  # let the workers import Django before a clock starts
        yield setup


def _start_worker(engine: str, index: int, concurrency: int) -> subprocess.Popen:
    if engine == "celery":
        command = [
            *(sys.executable, "-m", "celery", "--quiet", "-A", "django_tasks_fennel.app", "worker"),
            *("--pool", "threads", "--concurrency", str(concurrency)),
            *("--loglevel", "WARNING", "--hostname", f"bench-{index}@%h"),
            *("--without-gossip", "--without-mingle", "--without-heartbeat"),
        ]
    else:
        command = [
            *(sys.executable, "-m", "django", "db_worker", "--no-startup-delay"),
            *("--interval", "0.05", "--worker-id", f"bench-{index}", "--verbosity", "0"),
        ]
    return subprocess.Popen(command, cwd=ROOT)
