"""Shared pieces of the vendor clients: the upload and result types and the HTTP plumbing.

No Django imports here: the clients are plain ``requests`` code usable anywhere.
"""

from __future__ import annotations

import email.utils
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


class BaseClient:
    """HTTP plumbing shared by the vendor clients.

    Args:
        base_url: the vendor's API root (a sandbox URL in development and tests).
        timeout: ``(connect, read)`` seconds for every request.
        session: a ``requests.Session`` to reuse connections; one is created when omitted.

    Subclasses set ``vendor`` and implement ``error_from_response``.
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
            VendorUnavailable: on timeouts and connection errors (``status_code`` is ``None``).
        """
        kwargs.setdefault("timeout", self.timeout)
        try:
            return self.session.request(method, url, **kwargs)
        except requests.Timeout as exc:
            raise VendorUnavailable(
                f"no answer within the timeout ({exc.__class__.__name__})", vendor=self.vendor
            ) from exc
        except requests.ConnectionError as exc:
            raise VendorUnavailable(
                f"could not connect ({exc.__class__.__name__})", vendor=self.vendor
            ) from exc
        except requests.RequestException as exc:
            raise VendorUnavailable(f"request failed: {exc}", vendor=self.vendor) from exc

    def error_from_response(self, response: requests.Response) -> VendorError:
        """Build the exception for an error response (override per vendor for its body shape)."""
        message = response.text[:200].strip() or response.reason or "error"
        return error_class_for_status(response.status_code)(
            message,
            vendor=self.vendor,
            status_code=response.status_code,
            retry_after=parse_retry_after(response.headers.get("Retry-After")),
            body=response.content[:2000],
        )

    def check(self, response: requests.Response) -> requests.Response:
        """Return ``response`` if its status is 2xx, else raise ``error_from_response``."""
        if 200 <= response.status_code < 300:
            return response
        raise self.error_from_response(response)
