"""URLconf for the tests: the admin, the app's editor URLs and its REST API."""

from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView

urlpatterns = [
    path("admin/", admin.site.urls),
    path("imageops/", include("django_imageops.urls")),
    path("api/imageops/", include("django_imageops.api.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
]
