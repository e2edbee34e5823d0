"""The REST API answers JSON only, errors included (``{"detail": "..."}``).

DRF turns its own exceptions into JSON, but Django's refusals of a request it cannot read
(a body over ``DATA_UPLOAD_MAX_MEMORY_SIZE``, more fields than ``DATA_UPLOAD_MAX_NUMBER_FIELDS``
or files than ``DATA_UPLOAD_MAX_NUMBER_FILES``) are ``SuspiciousOperation`` s, which DRF lets
through to Django's HTML "Bad Request (400)" page; a URL under the API's prefix that no route
matches gets Django's HTML 404 page. ``JSONErrorsMixin`` (on every viewset) and ``not_found``
(the URLconf's last route) answer them in JSON.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.http import JsonResponse
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions, status

if TYPE_CHECKING:  # for mypy, the mixin's super() is a DRF view's
    from rest_framework.views import APIView as _ViewBase
else:
    _ViewBase = object


class RequestTooLarge(exceptions.APIException):
    """HTTP 413: the request body is over ``DATA_UPLOAD_MAX_MEMORY_SIZE`` bytes (uploaded files
    do not count)."""

    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = _("The request body is too large.")
    default_code = "request_too_large"


def request_error(exc: Exception) -> exceptions.APIException | None:
    """The API error for Django's refusal of an unreadable request, or None for any other
    exception: ``RequestTooLarge`` (413) for ``RequestDataTooBig``, a ``ParseError`` (400) for
    ``TooManyFieldsSent`` and ``TooManyFilesSent``."""
    if isinstance(exc, RequestDataTooBig):
        return RequestTooLarge(
            _(
                "The request body is larger than %(max)s bytes (DATA_UPLOAD_MAX_MEMORY_SIZE). "
                "Send the image as a multipart upload: files do not count."
            )
            % {"max": settings.DATA_UPLOAD_MAX_MEMORY_SIZE}
        )
    if isinstance(exc, TooManyFieldsSent):
        return exceptions.ParseError(
            _("The request has more than %(max)s fields (DATA_UPLOAD_MAX_NUMBER_FIELDS).")
            % {"max": settings.DATA_UPLOAD_MAX_NUMBER_FIELDS}
        )
    if isinstance(exc, TooManyFilesSent):
        return exceptions.ParseError(
            _("The request has more than %(max)s files (DATA_UPLOAD_MAX_NUMBER_FILES).")
            % {"max": settings.DATA_UPLOAD_MAX_NUMBER_FILES}
        )
    return None


class JSONErrorsMixin(_ViewBase):
    """For API views: Django's refusals of an unreadable request answer JSON too
    (``request_error``), through the view's usual exception handling."""

    def handle_exception(self, exc):
        """``exc`` as ``request_error`` translates it, handled by DRF."""
        return super().handle_exception(request_error(exc) or exc)


def not_found(request, *args, **kwargs) -> JsonResponse:
    """HTTP 404 in JSON for a URL under the API's prefix that no route matches."""
    return JsonResponse({"detail": gettext("Not found.")}, status=status.HTTP_404_NOT_FOUND)
