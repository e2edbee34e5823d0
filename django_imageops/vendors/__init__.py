"""Vendor clients: one plain HTTP client per vendor API (no Django imports).

``CLIENTS`` maps a provider name to its client class.
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
    "get_client_class",
]

#: provider name -> "module:Class" of its client
CLIENTS = {
    "clipdrop": "clipdrop:ClipdropClient",
    "clippingmagic": "clippingmagic:ClippingMagicClient",
    "piktid": "piktid:PiktidClient",
    "pixlab": "pixlab:PixlabClient",
}


def get_client_class(provider: str):
    """The client class for ``provider`` (e.g. ``"clipdrop"`` -> ``ClipdropClient``).

    Raises:
        KeyError: for an unknown provider name.
    """
    import importlib

    module_name, class_name = CLIENTS[provider].split(":")
    module = importlib.import_module(f"{__name__}.{module_name}")
    return getattr(module, class_name)
