"""Settings for the test suite: SQLite (or PostgreSQL via IMAGEOPS_TEST_DATABASE_URL), the
vendor sandbox and a moto S3 server, both on free loopback ports started by tests/conftest.py.
"""

import os
import socket
import tempfile
from pathlib import Path

import django
from boto3.s3.transfer import TransferConfig


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


BASE_DIR = Path(__file__).resolve().parent
SECRET_KEY = "tests-only-not-secret"
DEBUG = False
ALLOWED_HOSTS = ["*"]
USE_TZ = True
TIME_ZONE = "UTC"
LANGUAGE_CODE = "en-us"

# Ports of the servers conftest.py starts (fixed per test session).
SANDBOX_PORT = int(os.environ.setdefault("IMAGEOPS_TEST_SANDBOX_PORT", str(_free_port())))
S3_PORT = int(os.environ.setdefault("IMAGEOPS_TEST_S3_PORT", str(_free_port())))
SANDBOX_URL = f"http://127.0.0.1:{SANDBOX_PORT}"
S3_ENDPOINT_URL = f"http://127.0.0.1:{S3_PORT}"
S3_BUCKET = "imageops-test"

DJANGO6 = django.VERSION >= (6, 0)

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    *([] if DJANGO6 else ["django_tasks"]),
    "django_tasks_db",
    "django_imageops",
    "tests.testapp",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]

ROOT_URLCONF = "tests.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
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

_db_url = os.environ.get("IMAGEOPS_TEST_DATABASE_URL", "")
if _db_url.startswith("postgres"):
    from urllib.parse import urlparse

    _u = urlparse(_db_url)
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": _u.path.lstrip("/") or "imageops",
            "USER": _u.username or "",
            "PASSWORD": _u.password or "",
            "HOST": _u.hostname or "",
            "PORT": _u.port or "",
        }
    }
else:
    # The test database is a file, not ":memory:", so that worker processes started by a test
    # (db_worker, rqworker) reach it: they get IMAGEOPS_TEST_DATABASE_URL=sqlite:///<file>.
    _sqlite_file = _db_url.split(":///", 1)[1] if _db_url.startswith("sqlite:") else None
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": _sqlite_file or ":memory:",
            "TEST": {
                "NAME": _sqlite_file
                or os.path.join(tempfile.mkdtemp(prefix="imageops-test-db-"), "test.sqlite3")
            },
            "OPTIONS": {
                "timeout": 30,
                "transaction_mode": "IMMEDIATE",
                "init_command": "PRAGMA synchronous=OFF; PRAGMA journal_mode=WAL;",
            },
        }
    }

MEDIA_ROOT = tempfile.mkdtemp(prefix="imageops-test-media-")
MEDIA_URL = "/media/"
STATIC_URL = "/static/"

STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    "imageops": {
        "BACKEND": "django_imageops.storage.S3Storage",
        "OPTIONS": {
            "bucket_name": S3_BUCKET,
            "endpoint_url": S3_ENDPOINT_URL,
            "access_key": "testing",
            "secret_key": "testing",
            "region_name": "us-east-1",
            "file_overwrite": False,
            "querystring_auth": True,
            # Small files: upload in the calling thread (docs/howto/s3.md; no s3transfer pool).
            "transfer_config": TransferConfig(use_threads=False),
        },
    },
}

TASKS = {
    "default": {
        "BACKEND": (
            "django.tasks.backends.immediate.ImmediateBackend"
            if DJANGO6
            else "django_tasks.backends.immediate.ImmediateBackend"
        )
    },
}

# The suite runs most jobs inline on purpose (DEBUG is off, as in production): not a site whose
# requests wait for vendors (tests/test_checks.py checks the warning itself).
SILENCED_SYSTEM_CHECKS = ["django_imageops.W001"]

IMAGEOPS = {
    "VENDORS": {
        "clipdrop": {"API_KEY": "sandbox", "BASE_URL": f"{SANDBOX_URL}/clipdrop"},
        "clippingmagic": {
            "API_ID": "1",
            "API_KEY": "sandbox",
            "BASE_URL": f"{SANDBOX_URL}/clippingmagic",
            "JS_URL": f"{SANDBOX_URL}/clippingmagic/api/v1/ClippingMagic.js",
        },
        "piktid": {
            "EMAIL": "sandbox@example.com",
            "PASSWORD": "sandbox",
            "BASE_URL": f"{SANDBOX_URL}/piktid/api",
        },
        "pixlab": {"API_KEY": "sandbox", "BASE_URL": f"{SANDBOX_URL}/pixlab"},
    },
    "SPOOL_DIR": tempfile.mkdtemp(prefix="imageops-test-spool-"),
}

REST_FRAMEWORK = {
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
}
# Swagger UI from drf-spectacular-sidecar's static files: no CDN, no network.
SPECTACULAR_SETTINGS = {
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

# Caches: the limiter (django_imageops.ratelimit) uses "default" (per process) unless told
# otherwise; "imageops-shared" is the database cache every process on the test database sees
# (created with the test database), "imageops-redis" a Redis cache when a test gives a server.
CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
    "imageops-shared": {
        "BACKEND": "django.core.cache.backends.db.DatabaseCache",
        "LOCATION": "imageops_test_cache",
        "OPTIONS": {"MAX_ENTRIES": 100_000},
    },
}
if os.environ.get("IMAGEOPS_TEST_REDIS_URL"):
    CACHES["imageops-redis"] = {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": os.environ["IMAGEOPS_TEST_REDIS_URL"],
    }
if os.environ.get("IMAGEOPS_TEST_RATE_LIMIT_CACHE"):
    IMAGEOPS["RATE_LIMIT_CACHE"] = os.environ["IMAGEOPS_TEST_RATE_LIMIT_CACHE"]
if os.environ.get("IMAGEOPS_TEST_VENDOR_SETTINGS"):  # JSON {vendor: {KEY: value}}, merged
    import json

    for _vendor, _values in json.loads(os.environ["IMAGEOPS_TEST_VENDOR_SETTINGS"]).items():
        IMAGEOPS["VENDORS"].setdefault(_vendor, {}).update(_values)
if os.environ.get("IMAGEOPS_TEST_CLIPDROP_RPM"):
    IMAGEOPS["VENDORS"]["clipdrop"]["REQUESTS_PER_MINUTE"] = int(
        os.environ["IMAGEOPS_TEST_CLIPDROP_RPM"]
    )

# Worker processes started by tests (tests/services.py) pick their task backend here:
# "db" (django-tasks-db's db_worker), "rq" (django-tasks-rq, Redis at IMAGEOPS_TEST_REDIS_URL) or
# "celery" (django-tasks-fennel, broker at IMAGEOPS_TEST_CELERY_BROKER_URL: the production
# setup of docs/howto/workers.md).
_task_backend = os.environ.get("IMAGEOPS_TEST_TASK_BACKEND", "")
if _task_backend == "db":
    TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
elif _task_backend == "rq":
    INSTALLED_APPS += ["django_rq", "django_tasks_rq"]
    TASKS = {"default": {"BACKEND": "django_tasks_rq.RQBackend", "QUEUES": ["default"]}}
    RQ_QUEUES = {"default": {"URL": os.environ["IMAGEOPS_TEST_REDIS_URL"]}}
elif _task_backend == "celery":
    INSTALLED_APPS += ["django_tasks_fennel"]
    TASKS = {"default": {"BACKEND": "django_tasks_fennel.CeleryBackend"}}
    CELERY_BROKER_URL = os.environ["IMAGEOPS_TEST_CELERY_BROKER_URL"]
    # As docs/howto/workers.md recommends: acknowledge after the run, one task per free thread.
    CELERY_TASK_ACKS_LATE = True
    CELERY_WORKER_PREFETCH_MULTIPLIER = 1
if _task_backend:
    # Worker processes started by tests log what the jobs do: a failing test shows their logs.
    LOGGING = {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"plain": {"format": "%(asctime)s %(process)d %(name)s: %(message)s"}},
        "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
        "loggers": {"django_imageops": {"handlers": ["console"], "level": "INFO"}},
    }
