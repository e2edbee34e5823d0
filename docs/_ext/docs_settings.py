"""Django settings for building the documentation (``docs/conf.py`` sets them up).

Just enough of a site for autodoc to import the package and for drf-spectacular to generate
the REST API's OpenAPI schema: no database is used, no vendor is called.
"""

import django

DJANGO6 = django.VERSION >= (6, 0)

SECRET_KEY = "docs-only-not-secret"
USE_TZ = True
INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "rest_framework",
    "drf_spectacular",
    *([] if DJANGO6 else ["django_tasks"]),
    "django_imageops",
    "django_imageops.contrib.wagtail",  # its models (Wagtail is not needed to load them)
]
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}}
ROOT_URLCONF = "docs_urls"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.InMemoryStorage"},
    "imageops": {"BACKEND": "django.core.files.storage.InMemoryStorage"},
}
TASKS = {
    "default": {
        "BACKEND": (
            "django.tasks.backends.immediate.ImmediateBackend"
            if DJANGO6
            else "django_tasks.backends.immediate.ImmediateBackend"
        )
    }
}
REST_FRAMEWORK = {"DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema"}
SPECTACULAR_SETTINGS = {
    "TITLE": "django-imageops REST API",
    "DESCRIPTION": "Image jobs and vendor credits, mounted here under /api/imageops/.",
    "SERVE_INCLUDE_SCHEMA": False,
}
