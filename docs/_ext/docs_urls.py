"""URLconf of the documentation's site: the REST API where the README mounts it."""

from django.urls import include, path

urlpatterns = [
    path("imageops/", include("django_imageops.urls")),
    path("api/imageops/", include("django_imageops.api.urls")),
]
