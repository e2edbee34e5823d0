"""Django settings for benchmarks/throughput.py and the worker processes it starts.

Everything comes from the environment the script sets: ``BENCH_DATABASE_URL``
(``postgres://user@host:port/name``), ``BENCH_SANDBOX_URL``, ``BENCH_CLIPDROP_RPM``,
``BENCH_REDIS_URL`` (limiter cache; without it the database cache), ``BENCH_MEDIA_ROOT``.
Results go to a local FileSystemStorage: the benchmark measures the limiter and the workers,
not S3.
"""

import os
from urllib.parse import urlparse

import django

DJANGO6 = django.VERSION >= (6, 0)
SECRET_KEY = "benchmark-only"
DEBUG = False
USE_TZ = True
TIME_ZONE = "UTC"
ALLOWED_HOSTS = ["*"]

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    *([] if DJANGO6 else ["django_tasks"]),
    "django_tasks_db",
    "django_imageops",
]

_db = urlparse(os.environ["BENCH_DATABASE_URL"])
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": _db.path.lstrip("/"),
        "USER": _db.username or "",
        "PASSWORD": _db.password or "",
        "HOST": _db.hostname or "",
        "PORT": _db.port or "",
    }
}

MEDIA_ROOT = os.environ["BENCH_MEDIA_ROOT"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "imageops": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": MEDIA_ROOT, "base_url": "/media/"},
    },
}

TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}

if os.environ.get("BENCH_REDIS_URL"):
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": os.environ["BENCH_REDIS_URL"],
        }
    }
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.db.DatabaseCache",
            "LOCATION": "imageops_bench_cache",
            "OPTIONS": {"MAX_ENTRIES": 100_000},
        }
    }

_sandbox = os.environ["BENCH_SANDBOX_URL"]
IMAGEOPS = {
    "VENDORS": {
        "clipdrop": {
            "API_KEY": "sandbox",
            "BASE_URL": f"{_sandbox}/clipdrop",
            "REQUESTS_PER_MINUTE": int(os.environ.get("BENCH_CLIPDROP_RPM", "60")),
        },
        "clippingmagic": {
            "API_ID": "1",
            "API_KEY": "sandbox",
            "BASE_URL": f"{_sandbox}/clippingmagic",
        },
        "piktid": {
            "EMAIL": "sandbox@example.com",
            "PASSWORD": "sandbox",
            "BASE_URL": f"{_sandbox}/piktid/api",
        },
        "pixlab": {"API_KEY": "sandbox", "BASE_URL": f"{_sandbox}/pixlab"},
    },
    "RATE_LIMIT_CACHE": "default",
    "SPOOL_DIR": os.path.join(MEDIA_ROOT, "spool"),
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": "WARNING"},
}
