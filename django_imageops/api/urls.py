"""URLconf of the REST API (namespace ``django_imageops_api``).

Include it under a prefix of your choosing::

    path("api/imageops/", include("django_imageops.api.urls")),

Routes: ``jobs/`` (``imagejob-list``), ``jobs/<uuid>/`` (``imagejob-detail``),
``jobs/<uuid>/cancel/``, ``jobs/<uuid>/retry/`` and ``credits/`` (``credits-list``). Any other
path under ``jobs/`` or ``credits/`` ending with a slash answers a JSON 404
(``exceptions.not_found``; other paths are left to the site, since the prefix may be shared);
one without its trailing slash is still redirected by ``APPEND_SLASH``.
"""

from django.urls import re_path
from rest_framework.routers import SimpleRouter

from .exceptions import not_found
from .views import ImageJobViewSet, VendorCreditsViewSet

app_name = "django_imageops_api"

router = SimpleRouter()
router.register("jobs", ImageJobViewSet, basename="imagejob")
router.register("credits", VendorCreditsViewSet, basename="credits")

urlpatterns = [*router.urls, re_path(r"^(?:jobs|credits)/(?:.*/)?$", not_found)]
