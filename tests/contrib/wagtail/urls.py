"""URLconf of the Wagtail test session: Wagtail's admin, the app's editor URLs, and the media
files (the live server of the browser tests serves them: image previews and renditions)."""

from django.conf import settings
from django.urls import include, path, re_path
from django.views.static import serve

from tests.contrib.wagtail.settings import WAGTAIL

urlpatterns = [
    path("imageops/", include("django_imageops.urls")),
    re_path(r"^media/(?P<path>.*)$", serve, {"document_root": settings.MEDIA_ROOT}),
]

if WAGTAIL:
    from wagtail.admin import urls as wagtailadmin_urls

    urlpatterns += [path("admin/", include(wagtailadmin_urls))]
