"""How long the requests that queue work take, on the production worker setup
(``docs/howto/workers.md``, "Celery").

    .venv/bin/python benchmarks/request_latency.py --latency-ms 3000

Starts PostgreSQL, Redis, the vendor sandbox with every vendor answering after
``--latency-ms`` and a Celery worker (``--pool threads``, django-tasks-fennel), as
``benchmarks/throughput.py`` does (``benchmarks/runtime.py``), then times, through Django's
test client in this process (the whole middleware, view and ORM stack; no network):

- ``admin action submit``: the admin's "Remove background" action on 20 objects;
- ``API create (upload)``: ``POST jobs/`` with a multipart image;
- ``API create (object)``: ``POST jobs/`` naming a model instance's image field;
- ``editor callback``: the ClippingMagic editor's ``result-generated`` POST for a review job;
- ``admin job list`` and ``API job list``: with 100 jobs or more in the database.

Each request runs once to warm up, then ``--repeat`` times; prints the median and the slowest
of each, then ``slowest request: X s`` (goal <= 0.5: no request waits for a vendor). Exits 1
when the goal is missed.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.runtime import add_storage_arguments, production_setup  # noqa: E402

GOAL_SECONDS = 0.5
ADMIN_OBJECTS = 20
LISTED_JOBS = 100
CROP = {"x": 0, "y": 0, "width": 32, "height": 32}


def timed(client_call, expected: int, repeat: int) -> list[float]:
    """Run ``client_call()`` once to warm up, then ``repeat`` times; the seconds of each timed
    run. SystemExit when a response has another status than ``expected``."""
    seconds = []
    for run in range(repeat + 1):
        started = time.perf_counter()
        response = client_call()
        elapsed = time.perf_counter() - started
        if response.status_code != expected:
            body = response.content[:500]
            raise SystemExit(f"HTTP {response.status_code}, expected {expected}: {body!r}")
        if run:
            seconds.append(elapsed)
    return seconds


def wait_for(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out waiting for {what}")
        time.sleep(0.25)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--latency-ms", default="3000", help="sandbox latency of every vendor")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs of each request")
    parser.add_argument("--concurrency", type=int, default=16, help="Celery worker threads")
    parser.add_argument("--database-url", help="an existing PostgreSQL database to use")
    add_storage_arguments(parser)
    args = parser.parse_args(argv)

    sandbox_options = ("--latency-ms", args.latency_ms, "--credits", "100000")
    with production_setup(
        concurrency=args.concurrency,
        sandbox_options=sandbox_options,
        database_url=args.database_url,
        storage=args.storage,
        s3_backend=args.s3_backend,
        settings_env={"BENCH_CLIPPINGMAGIC_CONCURRENCY": "20"},
    ) as setup:
        import requests
        from django.contrib.admin import helpers
        from django.contrib.auth.models import User
        from django.core.files.base import ContentFile
        from django.test import Client
        from django.urls import reverse

        from django_imageops import jobs
        from django_imageops.models import ImageJob
        from tests.conftest import make_image
        from tests.testapp.models import Photo

        user = User.objects.create_superuser("bench", "bench@example.com", "bench")
        client = Client()
        client.force_login(user)
        seed = Photo(title="seed")
        seed.image.save("bench.png", ContentFile(make_image(320, 240)), save=False)
        photos = Photo.objects.bulk_create(
            Photo(title=f"Photo {i}", image=seed.image.name) for i in range(ADMIN_OBJECTS)
        )
        # Review jobs for the editor callbacks: the worker uploads them to ClippingMagic.
        reviews = jobs.create_jobs(
            "remove_background",
            objects=photos[: args.repeat + 1],
            field="image",
            params={"mode": "review", "test": True},
        )
        wait_for(
            lambda: (
                ImageJob.objects.filter(
                    pk__in=[j.pk for j in reviews], status="waiting_for_editor"
                ).count()
                == len(reviews)
            ),
            timeout=120,
            what="the review jobs to wait for the editor",
        )
        print(f"sandbox latency {args.latency_ms} ms; 1 Celery worker x {args.concurrency} threads")

        results: dict[str, list[float]] = {}
        changelist = reverse("admin:testapp_photo_changelist")
        submit = {
            "action": "imageops_remove_background",
            helpers.ACTION_CHECKBOX_NAME: [str(p.pk) for p in photos],
            "index": "0",
            "imageops_post": "yes",
            "field": "image",
            "mode": "auto",
            "test": "on",
        }
        results[f"admin action submit ({ADMIN_OBJECTS} objects)"] = timed(
            lambda: client.post(changelist, submit), 302, args.repeat
        )
        api = reverse("django_imageops_api:imagejob-list")
        results["API create (upload)"] = timed(
            lambda: client.post(
                api,
                {"operation": "crop", **CROP, "image": ContentFile(make_image(), name="up.png")},
            ),
            202,
            args.repeat,
        )
        reference = {"operation": "crop", "model": "testapp.photo", "pk": photos[0].pk}
        results["API create (object)"] = timed(
            lambda: client.post(
                api, {**reference, "field": "image", **CROP}, content_type="application/json"
            ),
            202,
            args.repeat,
        )
        pending = [ImageJob.objects.get(pk=job.pk) for job in reviews]

        def callback():
            job = pending.pop()
            requests.post(
                f"{setup.sandbox_url}/_sandbox/clippingmagic/{job.vendor_image_id}/edit", timeout=60
            ).raise_for_status()
            url = reverse("django_imageops:clippingmagic-callback", args=[job.uuid])
            payload = {"event": "result-generated", "image": {"id": int(job.vendor_image_id)}}
            started = time.perf_counter()
            response = client.post(url, payload, content_type="application/json")
            callback.seconds = time.perf_counter() - started
            return response

        # The sandbox's edit control (a person saving) is not part of the request: time only
        # the POST to the callback.
        callback_times = []
        for run in range(args.repeat + 1):
            response = callback()
            if response.status_code != 202:
                raise SystemExit(f"editor callback: HTTP {response.status_code}")
            if run:
                callback_times.append(callback.seconds)
        results["editor callback"] = callback_times

        more = LISTED_JOBS - ImageJob.objects.count()
        if more > 0:
            jobs.create_jobs(
                "crop",
                uploads=[ContentFile(make_image(40 + i, 40), name=f"{i}.png") for i in range(more)],
                params=CROP,
            )
        listed = ImageJob.objects.count()
        results[f"admin job list ({listed} jobs)"] = timed(
            lambda: client.get(reverse("admin:django_imageops_imagejob_changelist")),
            200,
            args.repeat,
        )
        results[f"API job list ({listed} jobs, page_size=100)"] = timed(
            lambda: client.get(api, {"page_size": 100}), 200, args.repeat
        )
        print(f"{'request':<42} {'median s':>9} {'slowest s':>10}")
        for name, seconds in results.items():
            print(f"{name:<42} {statistics.median(seconds):>9.3f} {max(seconds):>10.3f}")

    slowest = max(max(seconds) for seconds in results.values())
    print(f"slowest request: {slowest:.3f} s (goal <= {GOAL_SECONDS})")
    return 0 if slowest <= GOAL_SECONDS else 1


if __name__ == "__main__":
    sys.exit(main())
