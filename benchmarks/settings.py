"""Django settings for the benchmarks (``benchmarks/runtime.py``) and the workers they start.

Everything comes from the environment the scripts set: ``BENCH_ENGINE`` (``celery``: Celery
through django-tasks-fennel with the broker at ``BENCH_BROKER_URL``, the production setup of
``docs/howto/workers.md``; ``db``: django-tasks-db), ``BENCH_DATABASE_URL``
(``postgres://user@host:port/name``),
``BENCH_SANDBOX_URL``, ``BENCH_REDIS_URL`` (limiter cache; without it the database cache),
``BENCH_MEDIA_ROOT``, ``BENCH_S3_URL`` (moto's S3 server: uploads, sources and results go to
``BENCH_S3_BUCKET`` through ``BENCH_S3_BACKEND``; without it, ``BENCH_MEDIA_ROOT``), and vendor
limits: ``BENCH_CLIPDROP_RPM``, ``BENCH_CLIPPINGMAGIC_CONCURRENCY``, ``BENCH_PIXLAB_RPM``.
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

ENGINE = os.environ.get("BENCH_ENGINE", "celery")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "rest_framework",
    "drf_spectacular",
    *([] if DJANGO6 else ["django_tasks"]),
    "django_tasks_db",
    *(["django_tasks_fennel"] if ENGINE == "celery" else []),
    "django_imageops",
    "tests.testapp",
]

MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]
ROOT_URLCONF = "tests.urls"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]
        },
    }
]
STATIC_URL = "/static/"
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

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
if os.environ.get("BENCH_S3_URL"):
    from boto3.s3.transfer import TransferConfig

    _s3 = {
        "bucket_name": os.environ["BENCH_S3_BUCKET"],
        "endpoint_url": os.environ["BENCH_S3_URL"],
        "access_key": "bench",
        "secret_key": "bench",
        "region_name": "us-east-1",
        "file_overwrite": False,
        "querystring_auth": True,
        "transfer_config": TransferConfig(use_threads=False),  # docs/howto/s3.md
    }
    STORAGES = {
        "default": {"BACKEND": os.environ["BENCH_S3_BACKEND"], "OPTIONS": {**_s3, "location": "m"}},
        "imageops": {"BACKEND": os.environ["BENCH_S3_BACKEND"], "OPTIONS": _s3},
    }

if ENGINE == "celery":
    # The production setup (docs/howto/workers.md, "Celery").
    TASKS = {"default": {"BACKEND": "django_tasks_fennel.CeleryBackend"}}
    CELERY_BROKER_URL = os.environ["BENCH_BROKER_URL"]
    CELERY_TASK_ACKS_LATE = True
    CELERY_WORKER_PREFETCH_MULTIPLIER = 1
else:
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
            "CONCURRENCY": int(os.environ.get("BENCH_CLIPPINGMAGIC_CONCURRENCY", "5")),
        },
        "piktid": {
            "EMAIL": "sandbox@example.com",
            "PASSWORD": "sandbox",
            "BASE_URL": f"{_sandbox}/piktid/api",
        },
        "pixlab": {
            "API_KEY": "sandbox",
            "BASE_URL": f"{_sandbox}/pixlab",
            **(
                {"REQUESTS_PER_MINUTE": int(os.environ["BENCH_PIXLAB_RPM"])}
                if os.environ.get("BENCH_PIXLAB_RPM")
                else {}
            ),
        },
    },
    "RATE_LIMIT_CACHE": "default",
    "SPOOL_DIR": os.path.join(MEDIA_ROOT, "spool"),
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": "WARNING"},
    # Django 6's task framework logs every task start and end at INFO.
    "loggers": {"django.tasks": {"level": "WARNING"}, "django_tasks": {"level": "WARNING"}},
}
