"""PixLab: ``crop`` (``POST /crop``, a multipart upload: no URL of ours is ever sent).

PixLab does not tell API clients what a call cost: its jobs record the vendor's ``PRICE``
(default 1 credit per crop), marked as estimated.
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from ..vendors.pixlab import PixlabClient
from .base import Provider, Result


class PixlabCrop(Provider):
    """``crop`` on PixLab: the exact box, from an upload."""

    name = "pixlab"
    label = _("PixLab")
    operation = "crop"
    client_class = PixlabClient
    credentials = ("API_KEY",)
    default_settings = {
        "API_KEY": "",
        "BASE_URL": "https://api.pixlab.io",
        # Seconds to wait for an answer: a crop of an uploaded image (PixLab's own sample
        # waits 10 s; uploads of large images take longer).
        "READ_TIMEOUT": 60.0,
    }
    formats = frozenset({"JPEG", "PNG", "WEBP", "GIF", "BMP"})

    def is_deterministic(self, params):
        """A crop is the same pixels every time."""
        return True

    def start(self, ctx, prepared):
        """``POST /crop`` (multipart, ``blob=true``): the region's bytes."""
        p = prepared.params
        result = ctx.call(
            lambda client: client.crop(prepared.upload, p["x"], p["y"], p["width"], p["height"]),
            paid=True,
        )
        return Result(result.content, result.content_type)
