"""Queries and time of the admin's "Remove background" action for 10, 100 and 1,000 objects.

    .venv/bin/python benchmarks/admin_action.py [--sizes 10 100 1000]

Runs the test settings (in-memory SQLite, photos on the local default storage) in this process
with the ``DummyBackend`` task backend (jobs are enqueued, never run) and every vendor URL
pointing at a closed port, so a vendor call would fail loudly. For each size it bulk-creates the
photos, then posts through Django's test client, as a superuser:

The first 100 photos are ticked and, above 100, "select all" (``select_across``) is set, as an
admin selecting every object of a changelist would.

- ``page``: the action's intermediate page (selected objects + the form);
- ``submit``: the form, which calls ``jobs.create_jobs`` once for all objects.

Prints one line per size and step: queries, INSERT statements among them (bulk-create batches:
SQLite splits a bulk insert by its 999-parameter limit; PostgreSQL needs one), and seconds.
"""

from __future__ import annotations

import argparse
import os
import socket
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")


def closed_port_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{s.getsockname()[1]}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10, 100, 1000])
    args = parser.parse_args()

    import django
    from django.conf import settings

    nowhere = closed_port_url()
    django.setup()
    settings.TASKS = {
        "default": {
            "BACKEND": (
                "django.tasks.backends.dummy.DummyBackend"
                if django.VERSION >= (6, 0)
                else "django_tasks.backends.dummy.DummyBackend"
            )
        }
    }
    settings.IMAGEOPS = {
        **settings.IMAGEOPS,
        "VENDORS": {
            name: {**conf, "BASE_URL": f"{nowhere}/{name}"}
            for name, conf in settings.IMAGEOPS["VENDORS"].items()
        },
    }

    from django.contrib.admin import helpers
    from django.contrib.auth.models import User
    from django.core.files.base import ContentFile
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from django.urls import reverse

    from django_imageops.models import ImageJob
    from tests.conftest import make_image
    from tests.testapp.models import Photo

    call_command("migrate", verbosity=0, run_syncdb=True)
    user = User.objects.create_superuser("bench", "bench@example.com", "bench")
    client = Client()
    client.force_login(user)
    seed = Photo(title="seed")
    seed.image.save("bench.png", ContentFile(make_image(640, 480)), save=False)
    url = reverse("admin:testapp_photo_changelist")

    print(f"{'objects':>8} {'step':>7} {'queries':>8} {'inserts':>8} {'seconds':>8}")
    for size in args.sizes:
        Photo.objects.all().delete()
        photos = Photo.objects.bulk_create(
            Photo(title=f"Photo {i}", image=seed.image.name) for i in range(size)
        )
        # As in the admin: the page's ticked rows (100 per page) plus "select all N"
        # (select_across) for the rest; posting 1,000 ids would pass Django's
        # DATA_UPLOAD_MAX_NUMBER_FIELDS (1,000).
        base = {
            "action": "imageops_remove_background",
            helpers.ACTION_CHECKBOX_NAME: [str(p.pk) for p in photos[:100]],
            "select_across": "1" if size > 100 else "0",
            "index": "0",
        }
        submit = {**base, "imageops_post": "yes", "field": "image", "mode": "auto"}
        before = ImageJob.objects.count()
        for step, data, expected in (("page", base, 200), ("submit", submit, 302)):
            with CaptureQueriesContext(connection) as queries:
                started = time.perf_counter()
                response = client.post(url, data)
                elapsed = time.perf_counter() - started
            if response.status_code != expected:
                raise SystemExit(f"{step}: HTTP {response.status_code}")
            inserts = sum(q["sql"].startswith("INSERT") for q in queries.captured_queries)
            print(f"{size:>8} {step:>7} {len(queries):>8} {inserts:>8} {elapsed:>8.3f}")
        created = ImageJob.objects.count() - before
        if created != size:
            raise SystemExit(f"expected {size} jobs, got {created}")
    print("vendor calls: 0 (DummyBackend; every vendor URL points at a closed port)")


if __name__ == "__main__":
    main()
