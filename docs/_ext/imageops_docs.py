"""Sphinx extension of the django-imageops docs: generates the REST API's OpenAPI schema.

On ``builder-inited`` the schema of the API as ``docs_urls`` mounts it is generated with
drf-spectacular (as ``manage.py spectacular`` would) into ``docs/_generated/openapi.yaml``,
which ``reference/rest-api.md`` renders with sphinxcontrib-openapi and offers for download.
So the reference cannot drift from the code: it is the code's own schema.
"""

from __future__ import annotations

from pathlib import Path

GENERATED = Path(__file__).resolve().parent.parent / "_generated"


def write_openapi_schema(app=None) -> Path:
    """Write the OpenAPI 3 schema (YAML) to ``docs/_generated/openapi.yaml``; returns its path."""
    from drf_spectacular.generators import SchemaGenerator
    from drf_spectacular.renderers import OpenApiYamlRenderer

    schema = SchemaGenerator().get_schema(request=None, public=True)
    GENERATED.mkdir(exist_ok=True)
    path = GENERATED / "openapi.yaml"
    path.write_bytes(OpenApiYamlRenderer().render(schema, renderer_context={}))
    return path


def setup(app):
    app.connect("builder-inited", write_openapi_schema)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
