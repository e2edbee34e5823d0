"""URLconf of the example project: the admin, a login page for every user, the ClippingMagic editor,
the REST API and its OpenAPI schema with Swagger UI."""

from django.contrib import admin
from django.contrib.auth.views import LoginView
from django.urls import include, path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="admin:index", permanent=False)),
    path("admin/", admin.site.urls),
    # LOGIN_URL: any active user logs in here (the admin's login refuses non-staff accounts).
    path(
        "accounts/login/",
        LoginView.as_view(
            template_name="admin/login.html", extra_context={"site_header": "Example shop"}
        ),
        name="login",
    ),
    path("imageops/", include("django_imageops.urls")),
    path("api/imageops/", include("django_imageops.api.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="swagger-ui"),
]
