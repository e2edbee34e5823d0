"""URLconf for the tests: the admin, the app's editor URLs, its REST API, the OpenAPI schema and
Swagger UI."""

from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

urlpatterns = [
    path("admin/", admin.site.urls),
    path("imageops/", include("django_imageops.urls")),
    path("api/imageops/", include("django_imageops.api.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="swagger-ui"),
]
