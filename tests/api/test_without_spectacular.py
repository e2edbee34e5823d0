"""The REST API works where drf-spectacular is not installed (it is the ``openapi`` extra only).

A fresh interpreter is run with ``drf_spectacular`` blocked (``sys.modules[name] = None``, which
makes every import of it fail as if it were not installed), a minimal site using the API as its
URLconf, and DRF's test client: the system checks pass, listing and creating jobs answer as
usual, and the schema annotations are the inert stand-ins of ``django_imageops.api.openapi``.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

SCRIPT = textwrap.dedent(
    """
    import sys

    sys.modules["drf_spectacular"] = None  # as if not installed

    import django
    from django.conf import settings

    django6 = django.VERSION >= (6, 0)
    settings.configure(
        SECRET_KEY="not-secret",
        ALLOWED_HOSTS=["testserver"],
        INSTALLED_APPS=[
            "django.contrib.auth",
            "django.contrib.contenttypes",
            "rest_framework",
            *([] if django6 else ["django_tasks"]),
            "django_imageops",
        ],
        DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}},
        ROOT_URLCONF="django_imageops.api.urls",
        STORAGES={
            "default": {"BACKEND": "django.core.files.storage.InMemoryStorage"},
            "imageops": {"BACKEND": "django.core.files.storage.InMemoryStorage"},
        },
        TASKS={
            "default": {
                "BACKEND": (
                    "django.tasks" if django6 else "django_tasks"
                ) + ".backends.immediate.ImmediateBackend"
            }
        },
        SILENCED_SYSTEM_CHECKS=["django_imageops.W001"],  # jobs run inline here, on purpose
        IMAGEOPS={
            "VENDORS": {
                "clipdrop": {"API_KEY": "k"},
                "clippingmagic": {"API_ID": "1", "API_KEY": "k"},
                "piktid": {"EMAIL": "e@example.com", "PASSWORD": "p"},
                "pixlab": {"API_KEY": "k"},
            }
        },
    )
    django.setup()

    from django.core.management import call_command
    from django.contrib.auth.models import User
    from rest_framework.test import APIClient

    from django_imageops.api import openapi

    assert openapi.SPECTACULAR is False, "drf_spectacular was importable"
    call_command("check", fail_level="WARNING")
    call_command("migrate", verbosity=0)
    client = APIClient()
    client.force_authenticate(User.objects.create_user("alice"))
    listed = client.get("/jobs/")
    assert listed.status_code == 200, (listed.status_code, listed.content)
    assert listed.json()["results"] == [], listed.json()
    refused = client.post("/jobs/", {"operation": "crop", "x": -1}, format="json")
    assert refused.status_code == 400, (refused.status_code, refused.content)
    print("ok")
    """
)


def test_api_serves_requests_without_drf_spectacular():
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.strip().endswith("ok")
