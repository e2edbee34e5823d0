"""OpenAPI details drf-spectacular cannot infer from the serializers (imported by ``views``,
which registers them when drf-spectacular is installed: ``openapi.SPECTACULAR``).

``POST jobs/`` takes the parameters of every operation at the top level, each optional.
Swagger UI's "Try it out" fills every field of a request with a sample of its type (0 for a
number, the first choice of a list), so a multipart request would send ``left=0`` with a
crop, ``mode=auto`` with an uncrop: parameters the operation does not take, refused with 400.
So the multipart request's optional fields get an empty example (Swagger UI leaves them
empty, and sends nothing for them), and the JSON request gets a whole example of its own.
"""

from __future__ import annotations

from .openapi import SPECTACULAR

#: The JSON request body Swagger UI shows first: an uncrop of a source object's image.
JSON_EXAMPLE_VALUE = {
    "operation": "uncrop",
    "model": "shop.product",
    "pk": "1",
    "field": "photo",
    "left": 200,
    "right": 200,
}

#: The examples of ``POST jobs/`` (for ``extend_schema(examples=...)``; none without
#: drf-spectacular).
CREATE_EXAMPLES: list = []

if SPECTACULAR:
    from drf_spectacular.extensions import OpenApiSerializerExtension
    from drf_spectacular.utils import OpenApiExample

    CREATE_EXAMPLES.append(
        OpenApiExample(
            "Uncrop an object's image",
            value=JSON_EXAMPLE_VALUE,
            request_only=True,
            media_type="application/json",
        )
    )

    class UploadRequestSchema(OpenApiSerializerExtension):
        """The multipart request of ``POST jobs/``: every optional field has an empty example,
        so that documentation tools leave it empty instead of filling in a sample value."""

        target_class = "django_imageops.api.serializers.ImageJobUploadRequestSerializer"

        def map_serializer(self, auto_schema, direction):
            """drf-spectacular's own schema, with ``example: ""`` on each optional property."""
            schema = auto_schema._map_basic_serializer(self.target, direction)
            required = set(schema.get("required", ()))
            for name, prop in schema.get("properties", {}).items():
                if name not in required:
                    prop["example"] = ""
            return schema
