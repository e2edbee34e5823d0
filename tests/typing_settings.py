"""Settings for mypy's django-stubs plugin (``make lint``; ``[tool.django-stubs]`` in
pyproject.toml).

The plugin imports the settings and runs ``django.setup()`` to learn the models: this is the
package's apps and nothing else. No database is opened, no server started, nothing written.
"""

import django

SECRET_KEY = "typing-only-not-secret"
USE_TZ = True
INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "rest_framework",
    *([] if django.VERSION >= (6, 0) else ["django_tasks"]),
    "django_imageops",
    # Its Wagtail integration's models (Wagtail itself is not needed to load them).
    "django_imageops.contrib.wagtail",
]
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}}
# The models' file fields resolve the "imageops" storage alias when their module is imported.
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.InMemoryStorage"},
    "imageops": {"BACKEND": "django.core.files.storage.InMemoryStorage"},
}
