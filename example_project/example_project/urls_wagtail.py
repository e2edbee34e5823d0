"""URLconf of the example project's Wagtail variant: the example's own URLs, and Wagtail's admin
at ``/cms/`` (the image operations' pages are under it)."""

from django.urls import include, path
from django.views.generic import RedirectView
from wagtail.admin import urls as wagtailadmin_urls

from .urls import urlpatterns as example_urlpatterns

urlpatterns = [
    path("", RedirectView.as_view(url="/cms/", permanent=False)),
    path("cms/", include(wagtailadmin_urls)),
    # The example's own URLs, but its home page (a redirect to Django's admin).
    *(pattern for pattern in example_urlpatterns if str(pattern.pattern) != ""),
]
