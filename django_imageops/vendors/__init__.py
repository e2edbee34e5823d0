"""Vendor clients: one plain HTTP client per vendor API (no Django imports).

Each client module (``clipdrop``, ``clippingmagic``, ``piktid``, ``pixlab``) is used by its
provider (``django_imageops.providers.<vendor>``, ``Provider.client_class``); this package
exports what they share: the upload and result types and the error hierarchy.
"""

from .base import ImageUpload, VendorResult
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

__all__ = [
    "AuthenticationError",
    "ImageUpload",
    "InsufficientCredits",
    "InvalidImage",
    "InvalidRequest",
    "NotFound",
    "RateLimited",
    "VendorError",
    "VendorResult",
    "VendorUnavailable",
]
