"""Settings of the Wagtail test session: ``tests/contrib/wagtail/`` runs with them, in a pytest
session of its own (``make test`` runs it after the main one)::

    pytest --ds=tests.contrib.wagtail.settings tests/contrib/wagtail

A Wagtail site as Wagtail's project template makes one (no ``django.contrib.admin``): Wagtail's
admin at ``/admin/``, its image library with the default ``Image`` model, a custom image model
beside it (``tests.contrib.wagtail.testapp``), and ``django_imageops.contrib.wagtail``. The
database, S3, the vendor sandbox, the tasks and ``IMAGEOPS`` are the main suite's
(``tests/settings.py``). Without Wagtail installed the Wagtail
apps are left out too and every test of the directory skips (``IMAGEOPS_REQUIRE_WAGTAIL=1``
makes that a failure).
"""

from importlib.util import find_spec

from tests.settings import *  # noqa: F403
from tests.settings import INSTALLED_APPS as _MAIN_APPS

#: True when Wagtail is installed (the tests skip otherwise).
WAGTAIL = find_spec("wagtail") is not None

# The main suite's apps (its test models too: shared fixtures import them), without Django's admin.
INSTALLED_APPS = [app for app in _MAIN_APPS if app != "django.contrib.admin"]
if WAGTAIL:
    INSTALLED_APPS += [
        "django_imageops.contrib.wagtail",
        "tests.contrib.wagtail.testapp",
        "wagtail.users",
        "wagtail.images",
        "wagtail.documents",
        "wagtail.search",
        "wagtail.admin",
        "wagtail",
        "modelcluster",
        "taggit",
    ]

ROOT_URLCONF = "tests.contrib.wagtail.urls"
LOGIN_URL = "wagtailadmin_login"

WAGTAIL_SITE_NAME = "django-imageops tests"
WAGTAILADMIN_BASE_URL = "http://localhost"
# The edit page's operation buttons (docs/howto/wagtail.md).
WAGTAILIMAGES_IMAGE_FORM_BASE = "django_imageops.contrib.wagtail.forms.ImageOpsImageForm"
