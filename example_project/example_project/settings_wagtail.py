"""The example project's Wagtail variant (``make serve-wagtail``): the same site and embedded
parts as ``settings`` (Django's admin, the REST API, the vendor sandbox, the embedded S3), plus
Wagtail's admin at ``/cms/`` with the image operations (``django_imageops.contrib.wagtail``) and
the sample photos in its image library. Its own database: ``$IMAGEOPS_EXAMPLE_VAR_DIR/
db-wagtail.sqlite3``.

Run any command with it: ``python example_project/manage.py <command>
--settings=example_project.settings_wagtail``.
"""

from .settings import *  # noqa: F403
from .settings import DATABASES, INSTALLED_APPS, VAR_DIR

INSTALLED_APPS = [
    *INSTALLED_APPS,
    "django_imageops.contrib.wagtail",
    "wagtail.users",
    "wagtail.images",
    "wagtail.documents",
    "wagtail.search",
    "wagtail.admin",
    "wagtail",
    "modelcluster",
    "taggit",
]

ROOT_URLCONF = "example_project.urls_wagtail"
DATABASES = {"default": {**DATABASES["default"], "NAME": VAR_DIR / "db-wagtail.sqlite3"}}

WAGTAIL_SITE_NAME = "django-imageops example"
WAGTAILADMIN_BASE_URL = "http://127.0.0.1:8000"
# The operation buttons on an image's edit page (docs/howto/wagtail.md).
WAGTAILIMAGES_IMAGE_FORM_BASE = "django_imageops.contrib.wagtail.forms.ImageOpsImageForm"
