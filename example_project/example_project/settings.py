"""Settings of the django-imageops example project, all from environment variables.

Real services when their variables are set, embedded stand-ins otherwise:

- Vendors: ``CLIPDROP_API_KEY``, ``CLIPPINGMAGIC_API_ID`` + ``CLIPPINGMAGIC_API_KEY``,
  ``PIKTID_EMAIL`` + ``PIKTID_PASSWORD``, ``PIXLAB_API_KEY``. A vendor without credentials is
  served by the vendor sandbox (``django_imageops.sandbox``), started in-process by the
  ``imageops_demo`` / ``imageops_serve`` commands on a free loopback port
  (``IMAGEOPS_SANDBOX_PORT`` to pick one), or an already running one at ``IMAGEOPS_SANDBOX_URL``.
- Storage: ``AWS_STORAGE_BUCKET_NAME`` (with ``AWS_S3_REGION_NAME``, ``AWS_S3_ENDPOINT_URL``,
  ``AWS_ACCESS_KEY_ID``/``AWS_SECRET_ACCESS_KEY`` or any boto3 credential source) selects a real
  bucket; without it an embedded S3 server (moto's, in memory, on 127.0.0.1,
  ``IMAGEOPS_S3_PORT`` to pick the port) is used through the same django-storages S3 storage.
- Database: SQLite at ``$IMAGEOPS_EXAMPLE_VAR_DIR/db.sqlite3`` (default ``example_project/var/``),
  in WAL mode with IMMEDIATE transactions and a 20 s busy timeout (concurrent writers wait
  rather than fail with "database is locked").
- Tasks: django-tasks-db's database backend, run by ``db_worker`` processes that the
  ``imageops_demo`` / ``imageops_serve`` commands start (``IMAGEOPS_EXAMPLE_WORKERS``, default 2):
  no request waits for a vendor, and deferred retries and PiktID polls come back through
  ``run_after``. ``CLIPPINGMAGIC_TEST_MODE=1`` makes ClippingMagic results free test results
  (watermarked).

The app's own defaults are the real vendor URLs: only this project points at the sandbox.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path

import django

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("IMAGEOPS_EXAMPLE_VAR_DIR") or BASE_DIR / "var").resolve()
VAR_DIR.mkdir(parents=True, exist_ok=True)

DJANGO6 = django.VERSION >= (6, 0)


def _env(name: str, default: str = "") -> str:
    return os.environ.get(name, default).strip()


def _env_bool(name: str, default: bool = False) -> bool:
    value = _env(name)
    if not value:
        return default
    return value.lower() in ("1", "true", "yes", "on")


def _port(name: str) -> int:
    """A port from the environment, else a free loopback port (kept in the environment so that
    every later reading in this process agrees)."""
    value = _env(name)
    if value and value != "0":
        return int(value)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    os.environ[name] = str(port)
    return port


SECRET_KEY = _env("DJANGO_SECRET_KEY") or "example-project-only-not-secret"
DEBUG = _env_bool("DJANGO_DEBUG", True)
ALLOWED_HOSTS = ["127.0.0.1", "localhost", "[::1]", *filter(None, _env("ALLOWED_HOSTS").split(","))]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI's files, served locally (no CDN)
    # Django 6 ships django.tasks; on 5.2 the django_tasks backport provides it.
    *([] if DJANGO6 else ["django_tasks"]),
    "django_tasks_db",
    "django_imageops",
    "shop",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "example_project.urls"
WSGI_APPLICATION = "example_project.wsgi.application"

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

# The serving process and the background workers write to this one file: WAL lets readers go
# on while one writes, and IMMEDIATE transactions wait for the write lock up front (for at most
# `timeout` seconds) instead of failing half-way with "database is locked".
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": VAR_DIR / "db.sqlite3",
        "OPTIONS": {
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        },
    }
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

USE_TZ = True
TIME_ZONE = "UTC"
LANGUAGE_CODE = "en-us"
USE_I18N = True

STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
MEDIA_URL = "/media/"
MEDIA_ROOT = VAR_DIR / "media"

# --- Storage: a real S3 bucket, or the embedded S3 server -------------------------------------

AWS_STORAGE_BUCKET_NAME = _env("AWS_STORAGE_BUCKET_NAME")
#: True when this process must start moto's S3 server (no real bucket configured).
EMBEDDED_S3 = not AWS_STORAGE_BUCKET_NAME

if EMBEDDED_S3:
    EMBEDDED_S3_PORT = _port("IMAGEOPS_S3_PORT")
    EMBEDDED_S3_ENDPOINT_URL = f"http://127.0.0.1:{EMBEDDED_S3_PORT}"
    _s3_options = {
        "bucket_name": "imageops-example",
        "endpoint_url": EMBEDDED_S3_ENDPOINT_URL,
        "access_key": "example",
        "secret_key": "example",
        "region_name": "us-east-1",
    }
else:
    _s3_options = {
        "bucket_name": AWS_STORAGE_BUCKET_NAME,
        "region_name": _env("AWS_S3_REGION_NAME") or None,
        "endpoint_url": _env("AWS_S3_ENDPOINT_URL") or None,
        # Credentials: AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY or any boto3 source.
    }
_s3_options.update({"file_overwrite": False, "querystring_auth": True})

STORAGES = {
    # The site's own uploads (Product.photo) and the app's results share the bucket.
    "default": {
        "BACKEND": "django_imageops.storage.S3Storage",
        "OPTIONS": {**_s3_options, "location": "media"},
    },
    "imageops": {"BACKEND": "django_imageops.storage.S3Storage", "OPTIONS": dict(_s3_options)},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

# --- Vendors: real credentials, or the vendor sandbox -----------------------------------------

SANDBOX_EXTERNAL_URL = _env("IMAGEOPS_SANDBOX_URL").rstrip("/")

_real_vendors = {
    "clipdrop": {"API_KEY": _env("CLIPDROP_API_KEY")} if _env("CLIPDROP_API_KEY") else None,
    "clippingmagic": (
        {"API_ID": _env("CLIPPINGMAGIC_API_ID"), "API_KEY": _env("CLIPPINGMAGIC_API_KEY")}
        if _env("CLIPPINGMAGIC_API_ID") and _env("CLIPPINGMAGIC_API_KEY")
        else None
    ),
    "piktid": (
        {"EMAIL": _env("PIKTID_EMAIL"), "PASSWORD": _env("PIKTID_PASSWORD")}
        if _env("PIKTID_EMAIL") and _env("PIKTID_PASSWORD")
        else None
    ),
    "pixlab": {"API_KEY": _env("PIXLAB_API_KEY")} if _env("PIXLAB_API_KEY") else None,
}

#: Vendors served by the sandbox (those without credentials in the environment).
SANDBOX_VENDORS = [name for name, real in _real_vendors.items() if real is None]
#: True when this process must start the sandbox itself.
EMBEDDED_SANDBOX = bool(SANDBOX_VENDORS) and not SANDBOX_EXTERNAL_URL

if SANDBOX_VENDORS:
    SANDBOX_URL = SANDBOX_EXTERNAL_URL or f"http://127.0.0.1:{_port('IMAGEOPS_SANDBOX_PORT')}"
    SANDBOX_PORT = None if SANDBOX_EXTERNAL_URL else int(SANDBOX_URL.rsplit(":", 1)[1])
else:
    SANDBOX_URL = SANDBOX_PORT = None

# The sandbox's default credentials (see django_imageops.sandbox.SandboxConfig).
_sandbox_vendors = {
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
}

IMAGEOPS = {
    "VENDORS": {
        name: real if real is not None else _sandbox_vendors[name]
        for name, real in _real_vendors.items()
    },
    "TEST_MODE": _env_bool("CLIPPINGMAGIC_TEST_MODE"),
    "SPOOL_DIR": str(VAR_DIR / "spool"),
}

# --- Tasks ---------------------------------------------------------------------------------

# A database queue (django-tasks-db) run by real background workers (`manage.py db_worker`),
# which the imageops_demo / imageops_serve commands start next to the embedded servers: a request
# only records the jobs. Retries, rate-limit waits and PiktID polls are tasks with run_after.
TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}

REST_FRAMEWORK = {
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "rest_framework.authentication.BasicAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
}

SPECTACULAR_SETTINGS = {
    "TITLE": "django-imageops example API",
    "DESCRIPTION": "Image jobs on paid image-AI vendor APIs (django-imageops example project).",
    "VERSION": "0.1.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # Swagger UI and Redoc from drf-spectacular-sidecar's static files: they work offline.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# The site's login page (urls.py), for every active user: the ClippingMagic editor page sends a
# job's creator there, and the admin's own login lets only staff in (check W002).
LOGIN_URL = "login"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {
        "django_imageops": {
            "handlers": ["console"],
            "level": _env("IMAGEOPS_LOG_LEVEL", "WARNING"),
        },
        # The embedded S3 server's (werkzeug's) access log would drown the demo's output.
        "werkzeug": {"handlers": ["console"], "level": "WARNING", "propagate": False},
    },
}
