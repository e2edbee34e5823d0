"""Sphinx extension of the django-imageops docs: generates the REST API's OpenAPI schema.

On ``builder-inited`` the schema of the API as ``docs_urls`` mounts it is generated with
drf-spectacular (as ``manage.py spectacular`` would) into ``docs/_generated/openapi.yaml``,
offered for download, and ``reference/rest-api.md`` renders it with sphinxcontrib-openapi.
So the reference cannot drift from the code: it is the code's own schema.

sphinxcontrib-openapi (0.10) needs a ``type`` on every parameter's schema, while OpenAPI 3 also
allows ``oneOf``/``anyOf`` (the job list's ``batch`` filter: a UUID or an empty string). The
rendered copy, ``openapi-rendered.yaml``, gives such a parameter the type its alternatives share;
the downloadable schema is left exactly as drf-spectacular made it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

GENERATED = Path(__file__).resolve().parent.parent / "_generated"


def _typed_for_rendering(schema: dict[str, Any]) -> dict[str, Any]:
    """``schema`` with a ``type`` on each parameter schema whose ``oneOf``/``anyOf``
    alternatives all have the same one (changed in place; returned)."""
    for operations in schema.get("paths", {}).values():
        for operation in operations.values():
            for parameter in operation.get("parameters", []) if isinstance(operation, dict) else ():
                param_schema = parameter.get("schema", {})
                choices = param_schema.get("oneOf") or param_schema.get("anyOf") or []
                types = {choice.get("type") for choice in choices}
                if "type" not in param_schema and len(types) == 1 and None not in types:
                    param_schema["type"] = types.pop()
    return schema


def write_openapi_schema(app=None) -> Path:
    """Write the OpenAPI 3 schema (YAML) to ``docs/_generated/openapi.yaml`` and the copy the
    reference page renders to ``openapi-rendered.yaml``; returns the first one's path."""
    from drf_spectacular.generators import SchemaGenerator
    from drf_spectacular.renderers import OpenApiYamlRenderer

    schema = SchemaGenerator().get_schema(request=None, public=True)
    GENERATED.mkdir(exist_ok=True)
    path = GENERATED / "openapi.yaml"
    path.write_bytes(OpenApiYamlRenderer().render(schema, renderer_context={}))
    rendered = _typed_for_rendering(yaml.safe_load(path.read_text()))
    (GENERATED / "openapi-rendered.yaml").write_text(yaml.safe_dump(rendered, sort_keys=False))
    return path


def setup(app):
    app.connect("builder-inited", write_openapi_schema)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
