"""URLconf for the tests: the admin, the app's editor URLs and its REST API."""

from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("imageops/", include("django_imageops.urls")),
]
