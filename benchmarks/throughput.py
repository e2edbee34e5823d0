"""Throughput of batch jobs under a vendor rate limit: N uncrop jobs, W ``db_worker`` processes.

    .venv/bin/python benchmarks/throughput.py            # 200 jobs, 600/min, 300 ms, 4 workers

Starts everything it needs on loopback and stops it afterwards: a private PostgreSQL cluster in
a temp dir (``initdb`` + ``pg_ctl``; or ``--database-url``), a private ``redis-server`` as the
limiter's shared cache (or ``--db-cache``: Django's database cache), the vendor sandbox with
``--clipdrop-rpm`` and ``--latency-ms``, and the workers. Queues the jobs with
``jobs.create_jobs`` and waits (at most ``--timeout`` seconds) until they are finished.

Prints jobs per minute (jobs / time from the first job started to the last finished), that
rate as a fraction of the vendor limit (goal >= 0.9), the most vendor calls in any 60 s, and
the number of 429 answers the sandbox sent (goal 0). Exits 1 when a goal is missed.
"""

from __future__ import annotations

import argparse
import io
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from contextlib import ExitStack, contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.services import free_port, max_in_window  # noqa: E402


def _pg_bin(name: str) -> str:
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"))
    if not candidates:
        raise SystemExit(f"{name} not found: apt-get install -y postgresql, or --database-url")
    return str(candidates[-1])


@contextmanager
def private_postgres(workdir: Path):
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
    options = f"-k {workdir} -p {port} -h 127.0.0.1 -c fsync=off -c max_connections=50"
    pg_ctl = [*as_user, _pg_bin("pg_ctl"), "-D", str(data), "-l", str(workdir / "pg.log")]
    subprocess.run([*pg_ctl, "-o", options, "-w", "start"], check=True, stdout=subprocess.DEVNULL)
    try:
        yield f"postgres://postgres@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run([*pg_ctl, "-m", "immediate", "stop"], stdout=subprocess.DEVNULL)


@contextmanager
def private_redis(workdir: Path):
    """A throw-away redis-server on 127.0.0.1; yields its URL."""
    port = free_port()
    process = subprocess.Popen(
        [
            *("redis-server", "--port", str(port), "--bind", "127.0.0.1"),
            *("--save", "", "--appendonly", "no", "--dir", str(workdir)),
        ],
        stdout=subprocess.DEVNULL,
    )
    try:
        _wait_for_port(port, process)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        process.terminate()
        process.wait(timeout=10)


@contextmanager
def sandbox_process(rpm: int, latency_ms: int, credits: int):
    """The vendor sandbox in its own process; yields its URL."""
    port = free_port()
    process = subprocess.Popen(
        [
            *(sys.executable, "-m", "django_imageops.sandbox", "--port", str(port), "--quiet"),
            *("--clipdrop-rpm", str(rpm), "--latency-ms", str(latency_ms)),
            *("--credits", str(credits)),
        ],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
    )
    try:
        _wait_for_port(port, process)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=10)


def _wait_for_port(port: int, process: subprocess.Popen, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"{process.args[0]} exited with {process.returncode}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise SystemExit(f"nothing listens on port {port} after {timeout} s")


def make_png(index: int) -> bytes:
    """A small distinct PNG (distinct so that no job reuses another's result)."""
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (96, 64), (index % 256, (index * 7) % 256, (index * 13) % 256)).save(
        buffer, "PNG"
    )
    return buffer.getvalue()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=200)
    parser.add_argument("--clipdrop-rpm", type=int, default=600)
    parser.add_argument("--latency-ms", type=int, default=300)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument(
        "--worker-interval",
        type=float,
        default=0.05,
        help="db_worker --interval: seconds an idle worker sleeps",
    )
    parser.add_argument("--database-url", help="an existing PostgreSQL database to use")
    parser.add_argument(
        "--db-cache",
        action="store_true",
        help="limiter state in Django's database cache instead of Redis",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=180.0,
        help="give up waiting for the jobs after this many seconds",
    )
    args = parser.parse_args(argv)

    workdir = Path(tempfile.mkdtemp(prefix="imageops-bench-"))
    workers: list[subprocess.Popen] = []
    with ExitStack() as stack:
        stack.callback(shutil.rmtree, workdir, ignore_errors=True)
        database_url = args.database_url or stack.enter_context(private_postgres(workdir / "pg"))
        redis_url = ""
        if not args.db_cache:
            if shutil.which("redis-server") is None:
                print("redis-server not found: using the database cache", file=sys.stderr)
            else:
                redis_dir = workdir / "redis"
                redis_dir.mkdir()
                redis_url = stack.enter_context(private_redis(redis_dir))
        sandbox_url = stack.enter_context(
            sandbox_process(args.clipdrop_rpm, args.latency_ms, credits=args.jobs * 10)
        )
        media = workdir / "media"
        media.mkdir()
        os.environ.update(
            DJANGO_SETTINGS_MODULE="benchmarks.settings",
            BENCH_DATABASE_URL=database_url,
            BENCH_SANDBOX_URL=sandbox_url,
            BENCH_CLIPDROP_RPM=str(args.clipdrop_rpm),
            BENCH_REDIS_URL=redis_url,
            BENCH_MEDIA_ROOT=str(media),
            PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
        )
        import django

        django.setup()
        from django.core.files.base import ContentFile
        from django.core.management import call_command
        from django.db.models import Max, Min

        from django_imageops import jobs
        from django_imageops.models import ImageJob

        call_command("migrate", verbosity=0)
        if not redis_url:
            call_command("createcachetable", verbosity=0)

        def stop_workers():
            for process in workers:
                if process.poll() is None:
                    process.send_signal(signal.SIGTERM)
            for process in workers:
                try:
                    process.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    process.kill()

        stack.callback(stop_workers)
        for index in range(args.workers):
            workers.append(
                subprocess.Popen(
                    [
                        sys.executable,
                        "-m",
                        "django",
                        "db_worker",
                        "--no-startup-delay",
                        "--interval",
                        str(args.worker_interval),
                        "--worker-id",
                        f"bench-{index}",
                        "--verbosity",
                        "0",
                    ],
                    cwd=ROOT,
                )
            )
        time.sleep(3)  # let the workers import Django before the clock starts

        batch = uuid.uuid4()
        uploads = [ContentFile(make_png(i), name=f"bench-{i}.png") for i in range(args.jobs)]
        jobs.create_jobs("uncrop", uploads=uploads, params={"right": 32}, batch=batch)
        print(
            f"queued {args.jobs} uncrop jobs; {args.workers} workers; "
            f"Clipdrop limit {args.clipdrop_rpm}/min; latency {args.latency_ms} ms; "
            f"limiter cache: {'redis' if redis_url else 'database'}",
            flush=True,
        )

        queryset = ImageJob.objects.filter(batch=batch)
        deadline = time.monotonic() + args.timeout
        while time.monotonic() < deadline:
            unfinished = queryset.exclude(status__in=ImageJob.FINISHED_STATUSES).count()
            if not unfinished:
                break
            if all(process.poll() is not None for process in workers):
                print("every worker exited", file=sys.stderr)
                break
            time.sleep(0.5)
        stop_workers()

        import requests

        counters = requests.get(f"{sandbox_url}/_sandbox/counters", timeout=10).json()
        clipdrop = counters.get("clipdrop", {})
        succeeded = queryset.filter(status=ImageJob.Status.SUCCEEDED).count()
        failed = queryset.filter(status=ImageJob.Status.FAILED).count()
        span = queryset.aggregate(first=Min("started_at"), last=Max("finished_at"))
        from django_imageops.models import ImageJobEvent

        calls = list(
            ImageJobEvent.objects.filter(
                job__batch=batch, kind=ImageJobEvent.Kind.VENDOR_CALL
            ).values_list("created_at", "data")
        )
        call_times = [created.timestamp() for created, _ in calls]
        call_seconds = [float(data.get("seconds") or 0) for _, data in calls]
        durations = [
            (finished - started).total_seconds()
            for started, finished in queryset.filter(status=ImageJob.Status.SUCCEEDED).values_list(
                "started_at", "finished_at"
            )
        ]
        deferrals = ImageJobEvent.objects.filter(
            job__batch=batch, kind=ImageJobEvent.Kind.RETRY_SCHEDULED
        ).count()

    rate_limited = int(clipdrop.get("rate_limited", 0))
    if span["first"] is None or span["last"] is None or not succeeded:
        print(f"no job finished: succeeded={succeeded} failed={failed}")
        return 1
    seconds = (span["last"] - span["first"]).total_seconds()
    per_minute = succeeded / seconds * 60 if seconds > 0 else float("inf")
    fraction = per_minute / args.clipdrop_rpm
    unfinished = args.jobs - succeeded - failed
    print(f"succeeded {succeeded}, failed {failed}, unfinished {unfinished} in {seconds:.1f} s")
    print(f"jobs per minute: {per_minute:.0f}")
    print(f"fraction of the vendor limit: {fraction:.2f} (goal >= 0.9)")
    print(
        f"most Clipdrop calls in any 60 s: {max_in_window(call_times, 60.0)} "
        f"(limit {args.clipdrop_rpm}); in any 1 s: {max_in_window(call_times, 1.0)}"
    )
    print(f"Clipdrop calls: {clipdrop.get('calls', '?')}; deferrals by the limiter: {deferrals}")
    if durations and call_seconds:
        print(
            f"mean vendor call {sum(call_seconds) / len(call_seconds):.3f} s; "
            f"mean job (first start to finish) {sum(durations) / len(durations):.3f} s"
        )
    print(f"429 answers: {rate_limited} (goal 0)")
    ok = fraction >= 0.9 and rate_limited == 0 and unfinished == 0 and failed == 0
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
