"""Shared pieces of the vendor clients: the upload and result types and the HTTP plumbing.

No Django imports here: the clients are plain ``requests`` code usable anywhere.
"""

from __future__ import annotations

import email.utils
import json
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

import requests

from .errors import (
    AuthenticationError,
    InsufficientCredits,
    InvalidImage,
    InvalidRequest,
    NotFound,
    RateLimited,
    VendorError,
    VendorUnavailable,
)

#: (connect, read) timeouts in seconds used when a client is given none.
DEFAULT_TIMEOUT: tuple[float, float] = (5.0, 120.0)

_MAGIC = (
    (b"\x89PNG\r\n\x1a\n", "image/png", "png"),
    (b"\xff\xd8\xff", "image/jpeg", "jpg"),
    (b"GIF87a", "image/gif", "gif"),
    (b"GIF89a", "image/gif", "gif"),
    (b"BM", "image/bmp", "bmp"),
    (b"II*\x00", "image/tiff", "tiff"),
    (b"MM\x00*", "image/tiff", "tiff"),
)


def sniff_image_type(content: bytes) -> tuple[str, str]:
    """Return ``(content_type, extension)`` of image bytes from their magic number.

    Recognises PNG, JPEG, WebP, GIF, BMP and TIFF; anything else gives
    ``("application/octet-stream", "bin")``.
    """
    if content[:4] == b"RIFF" and content[8:12] == b"WEBP":
        return "image/webp", "webp"
    for magic, content_type, ext in _MAGIC:
        if content.startswith(magic):
            return content_type, ext
    return "application/octet-stream", "bin"


@dataclass(frozen=True)
class ImageUpload:
    """An image to send to a vendor.

    Attributes:
        content: the encoded file bytes (PNG, JPEG, WebP, ...).
        filename: the file name sent in the multipart part (e.g. ``"photo.jpg"``).
        content_type: the part's MIME type; sniffed from ``content`` when empty.
    """

    content: bytes
    filename: str = ""
    content_type: str = ""

    @classmethod
    def coerce(cls, image: ImageUpload | bytes) -> ImageUpload:
        """Return ``image`` as an ``ImageUpload`` with a filename and content type filled in."""
        if not isinstance(image, ImageUpload):
            image = cls(content=bytes(image))
        content_type, ext = sniff_image_type(image.content)
        return cls(
            content=image.content,
            filename=image.filename or f"image.{ext}",
            content_type=image.content_type or content_type,
        )

    def as_multipart(self) -> tuple[str, bytes, str]:
        """The ``(filename, bytes, content_type)`` triple ``requests`` takes in ``files=``."""
        return (self.filename, self.content, self.content_type)


@dataclass(frozen=True)
class VendorResult:
    """What one vendor call returned: the bytes plus everything the vendor told us.

    Attributes:
        content: the response body bytes (the result image for image endpoints, else ``b""``).
        content_type: the response MIME type (e.g. ``"image/jpeg"``).
        credits_consumed: credits this call consumed, when the vendor says (``None`` otherwise).
        credits_remaining: credits left on the account, when the vendor says.
        vendor_ids: the vendor's identifiers for what was created or fetched, as strings
            (ClippingMagic: ``{"id", "secret", "result_revision"}``; PiktID: ``{"image_id"}``,
            ``{"notification_id"}``; PixLab: ``{"id"}``).
        data: the parsed JSON body, when the vendor answered JSON (else ``{}``).
        status_code: the final HTTP status.
        headers: the final response headers.
    """

    content: bytes = b""
    content_type: str = ""
    credits_consumed: Decimal | None = None
    credits_remaining: Decimal | None = None
    vendor_ids: Mapping[str, str] = field(default_factory=dict)
    data: Mapping[str, Any] = field(default_factory=dict)
    status_code: int = 200
    headers: Mapping[str, str] = field(default_factory=dict)


def parse_decimal(value: Any) -> Decimal | None:
    """Parse a credits header or JSON value into a ``Decimal``; ``None`` when absent or bad."""
    if value is None or value == "":
        return None
    try:
        return Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        return None


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a ``Retry-After`` header (delta-seconds or HTTP date); ``None`` if absent."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


#: HTTP status -> exception class, for statuses every vendor uses the same way.
STATUS_ERRORS: dict[int, type[VendorError]] = {
    400: InvalidImage,
    401: AuthenticationError,
    402: InsufficientCredits,
    403: AuthenticationError,
    404: NotFound,
    422: InvalidImage,
    429: RateLimited,
}


def error_class_for_status(status: int) -> type[VendorError]:
    """The exception class for an HTTP error status (5xx -> ``VendorUnavailable``)."""
    if status >= 500:
        return VendorUnavailable
    return STATUS_ERRORS.get(status, VendorError)


def response_json(response: requests.Response) -> Any:
    """The parsed JSON body of ``response``, or ``None`` when it is empty or not JSON."""
    if not response.content:
        return None
    try:
        return json.loads(response.content)
    except ValueError:
        return None


def describe_body(response: requests.Response) -> str:
    """A short human description of a body that is not what we expected (HTML page, empty...).

    E.g. ``"empty body (HTTP 502 Bad Gateway)"`` or
    ``"non-JSON body (text/html, 154 bytes, HTTP 502 Bad Gateway): 502 Bad Gateway nginx"``.
    Never more than ~300 characters.
    """
    status = f"HTTP {response.status_code} {response.reason or ''}".strip()
    if not response.content:
        return f"empty body ({status})"
    content_type = response.headers.get("Content-Type", "") or "no content type"
    text = response.content[:2000].decode("utf-8", "replace")
    if "html" in content_type or text.lstrip().startswith("<"):
        text = re.sub(r"<(script|style)\b.*?</\1>", " ", text, flags=re.S | re.I)
        text = re.sub(r"<[^>]*>", " ", text)
    text = " ".join(text.split())[:200]
    kind = "JSON" if response_json(response) is not None else "non-JSON"
    return f"{kind} body ({content_type}, {len(response.content)} bytes, {status}): {text}"


def is_json_response(response: requests.Response) -> bool:
    """Whether the response says it is JSON (``application/json`` or ``+json``)."""
    content_type = response.headers.get("Content-Type", "").split(";")[0].strip().lower()
    return content_type == "application/json" or content_type.endswith("+json")


def require_int(name: str, value: Any, *, minimum: int | None = None, maximum: int | None = None):
    """Check that ``value`` is an ``int`` (not a ``bool``) within ``minimum..maximum``.

    Pure argument checking done before any request, so nothing is sent (or paid) for a call
    the vendor would reject.

    Raises:
        InvalidRequest: naming the argument and the allowed range.
    """
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidRequest(f"{name} must be an integer, not {value!r}")
    if minimum is not None and value < minimum:
        raise InvalidRequest(f"{name} must be at least {minimum}, not {value}")
    if maximum is not None and value > maximum:
        raise InvalidRequest(f"{name} must be at most {maximum}, not {value}")
    return value


class BaseClient:
    """HTTP plumbing shared by the vendor clients.

    Args:
        base_url: the vendor's API root (a sandbox URL in development and tests).
        timeout: ``(connect, read)`` seconds for every request.
        session: a ``requests.Session`` to reuse connections; one is created when omitted.

    Subclasses set ``vendor`` and override ``error_details`` for their error body shape.
    """

    vendor = ""

    def __init__(
        self,
        base_url: str,
        *,
        timeout: tuple[float, float] | float = DEFAULT_TIMEOUT,
        session: requests.Session | None = None,
    ):
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.session = session or requests.Session()

    def url(self, path: str) -> str:
        """The absolute URL of ``path`` under ``base_url``."""
        return f"{self.base_url}/{path.lstrip('/')}"

    def send(self, method: str, url: str, **kwargs: Any) -> requests.Response:
        """Send one request with the client's timeouts; map transport failures.

        Raises:
            VendorUnavailable: on timeouts, connection errors and connections dropped
                mid-answer (``status_code`` is ``None``).
        """
        kwargs.setdefault("timeout", self.timeout)
        try:
            return self.session.request(method, url, **kwargs)
        except requests.Timeout as exc:
            raise VendorUnavailable(
                f"no answer from {method} {url} within the timeout {self.timeout} s "
                f"({exc.__class__.__name__})",
                vendor=self.vendor,
            ) from exc
        except requests.ConnectionError as exc:
            raise VendorUnavailable(
                f"connection failed for {method} {url} ({exc.__class__.__name__}: {exc})",
                vendor=self.vendor,
            ) from exc
        except requests.RequestException as exc:
            raise VendorUnavailable(
                f"request {method} {url} failed ({exc.__class__.__name__}: {exc})",
                vendor=self.vendor,
            ) from exc

    def error_details(self, payload: Any) -> tuple[str, str | int | None] | None:
        """``(message, vendor code)`` from a parsed JSON error body; ``None`` if not the shape.

        The default reads ``{"error": "..."}``; clients override it for their own shape.
        """
        if isinstance(payload, dict) and isinstance(payload.get("error"), str):
            return payload["error"], None
        return None

    def error_class(self, status: int, code: str | int | None, payload: Any) -> type[VendorError]:
        """The exception class for an error answer (default: by HTTP status)."""
        return error_class_for_status(status)

    def error_from_response(self, response: requests.Response) -> VendorError:
        """Build the typed exception for an error response.

        A JSON body of the vendor's shape gives the vendor's message and code; anything else
        (an HTML 502 page, an empty body) gives a message saying what came back instead.
        """
        payload = response_json(response)
        details = self.error_details(payload) if payload is not None else None
        if details is None:
            message, code = describe_body(response), None
        else:
            message, code = details
        status = response.status_code
        return self.error_class(status, code, payload)(
            message or describe_body(response),
            vendor=self.vendor,
            status_code=status,
            code=code,
            retry_after=parse_retry_after(response.headers.get("Retry-After")),
            body=response.content[:2000],
        )

    def check(self, response: requests.Response) -> requests.Response:
        """Return ``response`` if its status is 2xx, else raise ``error_from_response``."""
        if 200 <= response.status_code < 300:
            return response
        raise self.error_from_response(response)

    def expect_json(self, response: requests.Response) -> dict[str, Any]:
        """The JSON object body of a successful ``response``.

        Raises:
            VendorUnavailable: the vendor answered 2xx with something that is not a JSON object
                (the message says what came back).
        """
        payload = response_json(response)
        if not isinstance(payload, dict):
            raise VendorUnavailable(
                f"expected a JSON object, got {describe_body(response)}",
                vendor=self.vendor,
                status_code=response.status_code,
                body=response.content[:2000],
            )
        return payload

    def expect_image(self, response: requests.Response) -> requests.Response:
        """Check that a successful ``response`` carries a file, not JSON, HTML or nothing.

        Raises:
            VendorUnavailable: the body is empty, HTML or JSON where a file was expected.
        """
        content_type = response.headers.get("Content-Type", "").lower()
        if (
            not response.content
            or "html" in content_type
            or is_json_response(response)
            or content_type.startswith("text/plain")
        ):
            raise VendorUnavailable(
                f"expected a file, got {describe_body(response)}",
                vendor=self.vendor,
                status_code=response.status_code,
                body=response.content[:2000],
            )
        return response
