"""URLconf for the tests: the admin, a login page for any user, the app's editor URLs, its REST API,
the OpenAPI schema and Swagger UI."""

from django.contrib import admin
from django.contrib.auth.views import LoginView
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

urlpatterns = [
    path("admin/", admin.site.urls),
    # The site's own login page (settings.LOGIN_URL, Django's default): any active user, staff
    # or not, logs in here (the admin's login refuses non-staff accounts).
    path("accounts/login/", LoginView.as_view(template_name="admin/login.html"), name="login"),
    path("imageops/", include("django_imageops.urls")),
    path("api/imageops/", include("django_imageops.api.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="swagger-ui"),
]
