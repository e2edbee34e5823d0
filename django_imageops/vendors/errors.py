"""The one error hierarchy every vendor client raises.

``VendorError`` -> ``AuthenticationError`` (401/403), ``InsufficientCredits`` (402),
``InvalidImage`` (400/422; its subclass ``InvalidRequest`` for arguments refused before
anything is sent), ``NotFound`` (404), ``RateLimited`` (429, with ``retry_after`` seconds) and
``VendorUnavailable`` (5xx, timeouts, connection errors). ``retryable`` says whether the
same request may succeed later without any change.
"""

from __future__ import annotations


class VendorError(Exception):
    """A vendor refused or failed a request.

    Attributes:
        vendor: ``"clipdrop"``, ``"clippingmagic"``, ``"piktid"`` or ``"pixlab"``.
        status_code: the HTTP status (``None`` for timeouts and connection errors).
        code: the vendor's own error code when it sends one (ClippingMagic: e.g. ``1006``).
        message: the vendor's message, or a plain description when the body was not JSON.
        retry_after: seconds to wait before retrying, when known (``None`` otherwise).
        retryable: whether retrying the same request later may succeed.
    """

    retryable = False
    #: Short machine-readable name stored on failed jobs.
    error_code = "vendor_error"

    def __init__(
        self,
        message: str,
        *,
        vendor: str = "",
        status_code: int | None = None,
        code: str | int | None = None,
        retry_after: float | None = None,
        body: bytes | None = None,
    ):
        super().__init__(message)
        self.message = message
        self.vendor = vendor
        self.status_code = status_code
        self.code = code
        self.retry_after = retry_after
        self.body = body

    def __str__(self) -> str:
        parts = [self.vendor or "vendor"]
        if self.status_code is not None:
            parts.append(f"HTTP {self.status_code}")
        if self.code not in (None, ""):
            parts.append(f"code {self.code}")
        return f"{' '.join(parts)}: {self.message}"


class AuthenticationError(VendorError):
    """401/403: the credentials are missing, wrong or revoked (an API key; PiktID's account
    e-mail and password, or its tokens)."""

    error_code = "authentication"


class InsufficientCredits(VendorError):
    """402: the vendor account has no credits left for this request."""

    error_code = "insufficient_credits"


class InvalidImage(VendorError):
    """400/422: the vendor rejected the request or image as malformed, unreadable or too big."""

    error_code = "invalid_image"


class InvalidRequest(InvalidImage, ValueError):
    """An argument the vendor would reject, caught by the client before anything was sent.

    Raised for pure argument checks (types, documented ranges such as Clipdrop's offsets up to
    2000 px or seed 0..100000) so no request is made and no credit is spent. ``status_code`` is
    ``None``. It is an ``InvalidImage`` (not retryable) and a ``ValueError``.
    """

    error_code = "invalid_request"


class NotFound(VendorError):
    """404: the vendor has no such resource (e.g. an unknown ClippingMagic image id)."""

    error_code = "not_found"


class RateLimited(VendorError):
    """429: too many requests; wait ``retry_after`` seconds before the next one."""

    retryable = True
    error_code = "rate_limited"


class VendorUnavailable(VendorError):
    """5xx, timeout or connection error: the vendor could not answer; try again later."""

    retryable = True
    error_code = "vendor_unavailable"


__all__ = [
    "AuthenticationError",
    "InsufficientCredits",
    "InvalidImage",
    "InvalidRequest",
    "NotFound",
    "RateLimited",
    "VendorError",
    "VendorUnavailable",
]
