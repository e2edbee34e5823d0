"""URLconf of the Wagtail test session: Wagtail's admin and the app's editor URLs."""

from django.urls import include, path

from tests.contrib.wagtail.settings import WAGTAIL

urlpatterns = [path("imageops/", include("django_imageops.urls"))]

if WAGTAIL:
    from wagtail.admin import urls as wagtailadmin_urls

    urlpatterns += [path("admin/", include(wagtailadmin_urls))]
