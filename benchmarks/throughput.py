"""Throughput of batch jobs under vendor rate limits, on the production worker setup
(``docs/howto/workers.md``, "Celery").

    .venv/bin/python benchmarks/throughput.py --jobs 80 --clipdrop-rpm 60 --latency-ms 8000
    .venv/bin/python benchmarks/throughput.py --mixed --latency-ms 3000
    .venv/bin/python benchmarks/throughput.py --engine db --workers 4   # db_worker processes

Starts everything on loopback and stops it afterwards (``benchmarks/runtime.py``): PostgreSQL,
Redis (Celery's broker and the limiter's cache), the vendor sandbox with ``--clipdrop-rpm`` and
``--latency-ms``, and by default one Celery worker process (``--pool threads --concurrency
16``, through django-tasks-fennel). Queues the jobs with ``jobs.create_jobs`` and waits (at most
``--timeout`` seconds) until they are finished.

Default mode: ``--jobs`` uncrop jobs on Clipdrop. Prints ``fraction of the vendor limit: X``
(Clipdrop calls per minute, counted from the first call's start to the last one's, over
``--clipdrop-rpm``; goal >= 0.95), ``429 answers: N`` (goal 0) and ``worker RSS total: N MB``
(the peak of the summed RSS of every worker process and its children; goal <= 350), then jobs
per minute and the busiest 60 s and 1 s.

``--mixed``: ``--jobs`` jobs on each vendor at once: uncrop on Clipdrop (at its cap), Auto-Clip
on ClippingMagic (``--clippingmagic-concurrency`` calls in flight, 20), crop on PixLab, uncrop
on PiktID (polled every 3 s), with the sandbox's latency per vendor (default
``clipdrop=8000,clippingmagic=3000,pixlab=500,piktid=500``); prints each vendor's fraction of
its own limit.

Exits 1 when a goal is missed.
"""

from __future__ import annotations

import argparse
import io
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.runtime import ENGINES, add_storage_arguments, production_setup  # noqa: E402
from tests.services import max_in_window  # noqa: E402

GOAL_FRACTION = 0.95
GOAL_RSS_MB = 350
#: Mixed mode: the operation each vendor runs, and its params.
MIXED = {
    "clipdrop": ("uncrop", {"right": 32}),
    "clippingmagic": ("remove_background", {"mode": "auto", "test": True}),
    "pixlab": ("crop", {"x": 8, "y": 8, "width": 48, "height": 32}),
    "piktid": ("uncrop", {"left": 32}),
}


#: Mixed mode's sandbox latency (ms) per vendor: generative calls slow, a crop quick.
MIXED_LATENCY = "clipdrop=8000,clippingmagic=3000,pixlab=500,piktid=500"


def make_png(index: int) -> bytes:
    """A small distinct PNG (distinct so that no job reuses another's result)."""
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (96, 64), (index % 256, (index * 7) % 256, (index * 13) % 256)).save(
        buffer, "PNG"
    )
    return buffer.getvalue()


def call_spans(batch, provider: str) -> list[tuple[float, float]]:
    """(start, end) epoch seconds of the batch's successful calls to ``provider``: the vendor
    call event is written right after the answer and says how long the call took."""
    from django_imageops.models import ImageJobEvent

    spans = []
    for created, data in ImageJobEvent.objects.filter(
        job__batch=batch, job__provider=provider, kind=ImageJobEvent.Kind.VENDOR_CALL
    ).values_list("created_at", "data"):
        end = created.timestamp()
        spans.append((end - float(data.get("seconds") or 0), end))
    return sorted(spans)


def call_rate(spans: list[tuple[float, float]]) -> float:
    """Calls per minute from the first call's start to the last one's."""
    starts = [start for start, _ in spans]
    if len(starts) < 2 or starts[-1] <= starts[0]:
        return 0.0
    return (len(starts) - 1) / (starts[-1] - starts[0]) * 60


def mean_in_flight(spans: list[tuple[float, float]]) -> float:
    """Calls in flight on average, from the first call's start to the last one's end."""
    if not spans:
        return 0.0
    first, last = spans[0][0], max(end for _, end in spans)
    busy = sum(end - start for start, end in spans)
    return busy / (last - first) if last > first else 0.0


def mean_poll_interval(batch) -> float | None:
    """PiktID: seconds between polls of one image, on average over the batch's succeeded jobs
    (from the generate call to the result, divided by the polls the job recorded)."""
    from django_imageops.models import ImageJob, ImageJobEvent

    intervals = []
    for job in ImageJob.objects.filter(batch=batch, provider="piktid", status="succeeded"):
        polls = int((job.vendor_state or {}).get("polls") or 0)
        calls = list(job.events.filter(kind=ImageJobEvent.Kind.VENDOR_CALL).order_by("created_at"))
        if polls < 2 or len(calls) < 2:
            continue
        generated = calls[1].created_at  # upload, generate, (polls), download
        intervals.append((job.finished_at - generated).total_seconds() / polls)
    return sum(intervals) / len(intervals) if intervals else None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=80, help="jobs (per vendor with --mixed)")
    parser.add_argument("--clipdrop-rpm", type=int, default=60)
    parser.add_argument(
        "--latency-ms",
        help=(
            "sandbox latency: one number for every vendor, or vendor=ms,... (default 8000; "
            f"with --mixed {MIXED_LATENCY})"
        ),
    )
    parser.add_argument("--mixed", action="store_true", help="all four vendors at once")
    parser.add_argument("--clippingmagic-concurrency", type=int, default=20)
    parser.add_argument("--pixlab-rpm", type=int, default=0, help="PixLab limit (0: none)")
    parser.add_argument("--engine", choices=ENGINES, default="celery")
    parser.add_argument("--workers", type=int, default=1, help="worker processes")
    parser.add_argument(
        "--concurrency",
        type=int,
        help="threads per Celery worker (--engine celery; default 16, 48 with --mixed)",
    )
    parser.add_argument(
        "--piktid-delay",
        type=float,
        default=15.0,
        help="seconds until the sandbox's PiktID result is ready (--mixed: several polls)",
    )
    parser.add_argument("--database-url", help="an existing PostgreSQL database to use")
    add_storage_arguments(parser)
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds to wait at most")
    args = parser.parse_args(argv)
    if args.concurrency is None:
        args.concurrency = 48 if args.mixed else 16
    if args.latency_ms is None:
        args.latency_ms = MIXED_LATENCY if args.mixed else "8000"

    providers = list(MIXED) if args.mixed else ["clipdrop"]
    settings_env = {
        "BENCH_CLIPDROP_RPM": str(args.clipdrop_rpm),
        "BENCH_CLIPPINGMAGIC_CONCURRENCY": str(args.clippingmagic_concurrency),
        "BENCH_PIXLAB_RPM": str(args.pixlab_rpm or ""),
    }
    sandbox_options = (
        *("--clipdrop-rpm", str(args.clipdrop_rpm), "--latency-ms", args.latency_ms),
        *("--credits", str(args.jobs * 20), "--piktid-delay", str(args.piktid_delay)),
    )
    with production_setup(
        engine=args.engine,
        workers=args.workers,
        concurrency=args.concurrency,
        sandbox_options=sandbox_options,
        database_url=args.database_url,
        storage=args.storage,
        s3_backend=args.s3_backend,
        settings_env=settings_env,
    ) as setup:
        import requests
        from django.core.files.base import ContentFile
        from django.db.models import Max, Min

        from django_imageops import jobs
        from django_imageops.models import ImageJob, ImageJobEvent

        batch = uuid.uuid4()
        for offset, provider in enumerate(providers):
            operation, params = MIXED[provider]
            uploads = [
                ContentFile(make_png(offset * args.jobs + i), name=f"bench-{provider}-{i}.png")
                for i in range(args.jobs)
            ]
            jobs.create_jobs(
                operation, uploads=uploads, provider=provider, params=params, batch=batch
            )
        worker_setup = (
            f"{args.workers} Celery worker(s) x {args.concurrency} threads"
            if args.engine == "celery"
            else f"{args.workers} db_worker(s)"
        )
        print(
            f"queued {args.jobs} jobs on {', '.join(providers)}; {worker_setup}; "
            f"Clipdrop limit {args.clipdrop_rpm}/min; latency {args.latency_ms} ms",
            flush=True,
        )

        queryset = ImageJob.objects.filter(batch=batch)
        deadline = time.monotonic() + args.timeout
        while time.monotonic() < deadline:
            if not queryset.exclude(status__in=ImageJob.FINISHED_STATUSES).exists():
                break
            if not setup.workers_alive():
                print("every worker exited", file=sys.stderr)
                break
            time.sleep(0.5)
        rss_peak = setup.rss.stop()
        counters = requests.get(f"{setup.sandbox_url}/_sandbox/counters", timeout=10).json()
        succeeded = queryset.filter(status=ImageJob.Status.SUCCEEDED).count()
        failed = queryset.filter(status=ImageJob.Status.FAILED).count()
        span = queryset.aggregate(first=Min("started_at"), last=Max("finished_at"))
        spans = {provider: call_spans(batch, provider) for provider in providers}
        deferrals = ImageJobEvent.objects.filter(
            job__batch=batch, kind=ImageJobEvent.Kind.RETRY_SCHEDULED
        ).count()
        poll_interval = mean_poll_interval(batch) if "piktid" in providers else None

    total = args.jobs * len(providers)
    unfinished = total - succeeded - failed
    rate_limited = sum(int(counters.get(p, {}).get("rate_limited", 0)) for p in providers)
    rss_mb = rss_peak / 2**20
    print(f"succeeded {succeeded}, failed {failed}, unfinished {unfinished}")
    if span["first"] and span["last"] and succeeded:
        seconds = (span["last"] - span["first"]).total_seconds()
        print(f"jobs per minute: {succeeded / seconds * 60:.1f} (first start to last finish)")
    fractions = {}
    for provider in providers:
        rate = call_rate(spans[provider])
        if provider == "clipdrop":
            fractions[provider] = rate / args.clipdrop_rpm
            detail = f"{rate:.1f} calls/min of {args.clipdrop_rpm}"
        elif provider == "clippingmagic":
            in_flight = mean_in_flight(spans[provider])
            fractions[provider] = in_flight / args.clippingmagic_concurrency
            detail = f"{in_flight:.1f} calls in flight of {args.clippingmagic_concurrency}"
        elif provider == "pixlab":
            if args.pixlab_rpm:
                fractions[provider] = rate / args.pixlab_rpm
            detail = f"{rate:.1f} calls/min" + (
                f" of {args.pixlab_rpm}" if args.pixlab_rpm else " (no documented limit)"
            )
        else:  # piktid: polls of one image at most every 3 s
            if poll_interval:
                fractions[provider] = 3.0 / poll_interval
                detail = f"a poll every {poll_interval:.1f} s per image (at most every 3 s)"
            else:
                detail = "fewer than two polls per image: raise --piktid-delay"
        label = "fraction of the vendor limit" if not args.mixed else f"{provider}: fraction"
        value = f"{fractions[provider]:.2f}" if provider in fractions else "n/a"
        print(f"{label}: {value} ({detail})")
    starts = [start for start, _ in spans["clipdrop"]]
    print(
        f"most Clipdrop calls in any 60 s: {max_in_window(starts, 60.0)} "
        f"(limit {args.clipdrop_rpm}); in any 1 s: {max_in_window(starts, 1.0)}"
    )
    print(f"deferrals by the limiter: {deferrals}")
    print(f"429 answers: {rate_limited} (goal 0)")
    print(
        f"worker RSS total: {rss_mb:.0f} MB (goal <= {GOAL_RSS_MB}; peak of every worker process)"
    )
    ok = (
        unfinished == 0
        and failed == 0
        and rate_limited == 0
        and rss_mb <= GOAL_RSS_MB
        and fractions.get("clipdrop", 0) >= GOAL_FRACTION
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
