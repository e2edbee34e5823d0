"""The REST API of django_imageops (Django REST framework; OpenAPI 3 with drf-spectacular).

Include it under a prefix of your choosing::

    path("api/imageops/", include("django_imageops.api.urls")),

Endpoints (see ``urls.py``): ``jobs/`` (create, list), ``jobs/{uuid}/`` (retrieve),
``jobs/{uuid}/cancel/``, ``jobs/{uuid}/retry/`` and ``credits/`` (staff only).
"""
