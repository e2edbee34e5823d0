"""URLconf of the REST API (namespace ``django_imageops_api``).

Include it under a prefix of your choosing::

    path("api/imageops/", include("django_imageops.api.urls")),

Routes: ``jobs/`` (``imagejob-list``), ``jobs/<uuid>/`` (``imagejob-detail``),
``jobs/<uuid>/cancel/``, ``jobs/<uuid>/retry/`` and ``credits/`` (``credits-list``).
"""

from rest_framework.routers import SimpleRouter

from .views import ImageJobViewSet, VendorCreditsViewSet

app_name = "django_imageops_api"

router = SimpleRouter()
router.register("jobs", ImageJobViewSet, basename="imagejob")
router.register("credits", VendorCreditsViewSet, basename="credits")

urlpatterns = router.urls
