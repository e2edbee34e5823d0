"""PixLab Crop (``POST https://api.pixlab.io/crop``): the exact sub-region of an image.

The image is always uploaded as a multipart file part (``file``): this client never hands
PixLab a URL, so nothing private of ours has to be reachable from the internet. With
``blob=true`` a success is the cropped image's bytes. PixLab reports errors as JSON
``{"status": <code>, "error": "..."}``, sometimes with HTTP 200: the JSON ``status`` is what
counts and is mapped like an HTTP status.
"""

from __future__ import annotations

from typing import Any

import requests

from .base import (
    DEFAULT_TIMEOUT,
    BaseClient,
    ImageUpload,
    VendorResult,
    error_class_for_status,
    is_json_response,
    require_int,
    response_json,
)
from .errors import VendorError


class PixlabClient(BaseClient):
    """Client for the PixLab Crop API.

    Args:
        api_key: the PixLab API key (sent as the ``key`` form field).
        base_url: the API root (default ``https://api.pixlab.io``; the sandbox's
            ``<url>/pixlab`` in tests).
        timeout: ``(connect, read)`` seconds per request.
        session: a ``requests.Session`` to reuse.

    Errors (from the HTTP status, or the JSON ``status`` when the body is JSON):
    ``InvalidImage`` (400/422), ``AuthenticationError`` (401/403), ``InsufficientCredits`` (402),
    ``RateLimited`` (429), ``VendorUnavailable`` (5xx, timeouts, connection errors, a
    non-image success body), ``InvalidRequest`` (bad arguments; nothing sent).
    """

    vendor = "pixlab"

    def __init__(
        self,
        api_key: str,
        base_url: str = "https://api.pixlab.io",
        *,
        timeout: tuple[float, float] | float = DEFAULT_TIMEOUT,
        session: requests.Session | None = None,
    ):
        super().__init__(base_url, timeout=timeout, session=session)
        self.api_key = api_key

    def error_details(self, payload: Any) -> tuple[str, str | int | None] | None:
        """PixLab's error body is ``{"status": <code>, "error": "..."}``."""
        if isinstance(payload, dict) and ("error" in payload or "status" in payload):
            return str(payload.get("error") or f"status {payload.get('status')}"), None
        return None

    def error_class(self, status: int, code: str | int | None, payload: Any) -> type[VendorError]:
        """By the JSON ``status`` when there is one (it is the real answer), else HTTP's."""
        json_status = _json_status(payload)
        if json_status is not None and json_status != 200:
            status = json_status
        return error_class_for_status(status)

    def error_from_response(self, response: requests.Response) -> VendorError:
        """The typed error; ``status_code`` is the JSON ``status`` when the body has one."""
        error = super().error_from_response(response)
        json_status = _json_status(response_json(response))
        if json_status is not None and json_status != 200:
            error.status_code = json_status
        return error

    def crop(
        self, image: ImageUpload | bytes, x: int, y: int, width: int, height: int
    ) -> VendorResult:
        """The ``width`` x ``height`` pixel region of ``image`` whose top-left corner is
        (``x``, ``y``).

        Endpoint: ``POST {base_url}/crop``, multipart ``file`` (the image) plus ``x``, ``y``,
        ``width``, ``height``, ``key`` and ``blob=true``.

        Args:
            image: image bytes (PNG, JPEG, WebP...).
            x, y: pixels from the left and top edges, >= 0.
            width, height: pixels, >= 1.

        Returns:
            ``VendorResult`` with the cropped image bytes and content type (PixLab does not
            report credits).
        """
        fields = {
            "x": require_int("x", x, minimum=0),
            "y": require_int("y", y, minimum=0),
            "width": require_int("width", width, minimum=1),
            "height": require_int("height", height, minimum=1),
        }
        upload = ImageUpload.coerce(image)
        response = self.send(
            "POST",
            self.url("crop"),
            files={"file": upload.as_multipart()},
            data={**{k: str(v) for k, v in fields.items()}, "key": self.api_key, "blob": "true"},
        )
        self.check(response)
        payload = (
            response_json(response) if is_json_response(response) or _looks_json(response) else None
        )
        if payload is not None:
            status = _json_status(payload)
            if status is not None and status != 200:
                raise self.error_from_response(response)
            # JSON with status 200 although blob=true was asked for: no image came back.
        self.expect_image(response)
        return VendorResult(
            content=response.content,
            content_type=response.headers.get("Content-Type", "").split(";")[0].strip(),
            status_code=response.status_code,
            headers=dict(response.headers),
        )


def _looks_json(response: requests.Response) -> bool:
    return response.content[:64].lstrip()[:1] == b"{"


def _json_status(payload: Any) -> int | None:
    if not isinstance(payload, dict):
        return None
    try:
        return int(payload["status"])
    except (KeyError, TypeError, ValueError):
        return None
