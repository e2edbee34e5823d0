"""URLs of django_imageops's pages (``app_name = "django_imageops"``).

Include them under any prefix, e.g. ``path("imageops/", include("django_imageops.urls"))``:

- ``clippingmagic/<uuid>/`` (``clippingmagic-editor``): the embedded ClippingMagic editor page;
- ``clippingmagic/<uuid>/callback/`` (``clippingmagic-callback``): its POST callback;
- ``clippingmagic/<uuid>/status/`` (``clippingmagic-status``): its JSON status.

The REST API has its own URLconf, ``django_imageops.api.urls``.
"""

from django.urls import path

from . import views

app_name = "django_imageops"

urlpatterns = [
    path(
        "clippingmagic/<uuid:job_uuid>/",
        views.clippingmagic_editor,
        name="clippingmagic-editor",
    ),
    path(
        "clippingmagic/<uuid:job_uuid>/callback/",
        views.clippingmagic_callback,
        name="clippingmagic-callback",
    ),
    path(
        "clippingmagic/<uuid:job_uuid>/status/",
        views.clippingmagic_status,
        name="clippingmagic-status",
    ),
]
