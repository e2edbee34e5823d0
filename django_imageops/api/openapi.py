"""drf-spectacular's schema annotations when it is installed, inert stand-ins when it is not.

The REST API works without drf-spectacular, which only the ``openapi`` extra installs
(``pip install "django-imageops[s3,openapi]"``). The API's views and serializers import
``extend_schema`` and its companions from here instead of from drf-spectacular:

- with drf-spectacular installed these names *are* drf-spectacular's own objects, so
  ``manage.py spectacular`` and the site's schema views see every annotation;
- without it the decorators return what they decorate, unchanged, and ``OpenApiTypes``,
  ``OpenApiParameter`` and ``OpenApiResponse`` are placeholders that accept any arguments and
  that nothing reads. Requests are served exactly the same.

A drf-spectacular that is installed but fails to import (a missing dependency of its own)
raises as usual: only its absence selects the stand-ins.
"""

from __future__ import annotations

from importlib.util import find_spec
from typing import TYPE_CHECKING, Any

__all__ = [
    "SPECTACULAR",
    "OpenApiParameter",
    "OpenApiResponse",
    "OpenApiTypes",
    "extend_schema",
    "extend_schema_field",
    "extend_schema_view",
]


def _spectacular_installed() -> bool:
    try:
        return find_spec("drf_spectacular") is not None
    except ValueError:  # ``sys.modules["drf_spectacular"] = None``: import is blocked
        return False


#: True when drf-spectacular is installed and the annotations are real.
SPECTACULAR = _spectacular_installed()

if TYPE_CHECKING or SPECTACULAR:
    from drf_spectacular.types import OpenApiTypes
    from drf_spectacular.utils import (
        OpenApiParameter,
        OpenApiResponse,
        extend_schema,
        extend_schema_field,
        extend_schema_view,
    )
else:

    class _Constants(type):
        """Upper-case class attributes that are not defined (``OpenApiTypes.UUID``,
        ``OpenApiParameter.PATH``) read as their own name."""

        def __getattr__(cls, name: str) -> str:
            if name.isupper():
                return name
            raise AttributeError(name)

    class _Inert(metaclass=_Constants):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            pass

    class OpenApiTypes(_Inert):
        """Stand-in for ``drf_spectacular.types.OpenApiTypes``."""

    class OpenApiParameter(_Inert):
        """Stand-in for ``drf_spectacular.utils.OpenApiParameter``."""

    class OpenApiResponse(_Inert):
        """Stand-in for ``drf_spectacular.utils.OpenApiResponse``."""

    def _unchanged(target: Any) -> Any:
        return target

    def extend_schema(*args: Any, **kwargs: Any) -> Any:
        """Stand-in for ``drf_spectacular.utils.extend_schema``: changes nothing."""
        return _unchanged

    def extend_schema_view(**kwargs: Any) -> Any:
        """Stand-in for ``drf_spectacular.utils.extend_schema_view``: changes nothing."""
        return _unchanged

    def extend_schema_field(*args: Any, **kwargs: Any) -> Any:
        """Stand-in for ``drf_spectacular.utils.extend_schema_field``: changes nothing."""
        return _unchanged
