"""URLconf for the tests: the admin, the app's editor URLs and its REST API."""

from django.contrib import admin
from django.urls import path

urlpatterns = [
    path("admin/", admin.site.urls),
]
