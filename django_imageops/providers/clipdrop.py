"""Clipdrop: ``uncrop`` (Uncrop, ``POST /uncrop/v1``) and ``reimagine`` (Reimagine,
``POST /reimagine/v1/reimagine``), both synchronous, on one API key.

Vendor limits (``shared/vendor-docs/clipdrop-*.txt``): Uncrop takes JPG/PNG/WebP up to 10
megapixels and 30 MB, offsets of at most 2000 pixels per side and a seed of 0..100000; Reimagine
takes PNG/JPEG/WebP up to 1024x1024. Credits come back in the ``x-credits-consumed`` /
``x-remaining-credits`` headers of each call.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from ..operations import INT, Param, Uncrop, replace_params
from ..vendors.clipdrop import MAX_EXTEND, SEED_RANGE, ClipdropClient
from .base import Provider, Result

#: Uncrop's input limits: pixels and bytes.
UNCROP_MAX_PIXELS = 10_000_000
UNCROP_MAX_BYTES = 30_000_000
#: Reimagine's largest width and height (pixels).
REIMAGINE_MAX_SIDE = 1024

#: Uncrop's optional seed: the same seed and image give the same bytes.
SEED = Param(
    "seed",
    INT,
    _("Seed"),
    _("Optional: the same seed and image give the same result."),
    min=SEED_RANGE[0],
    max=SEED_RANGE[1],
)


class Clipdrop(Provider):
    """What Clipdrop's two providers share: the account, the client, the formats."""

    name = "clipdrop"
    label = _("Clipdrop")
    client_class = ClipdropClient
    credentials = ("API_KEY",)
    default_settings = {
        "API_KEY": "",
        "BASE_URL": "https://clipdrop-api.co",
        "REQUESTS_PER_MINUTE": 60,
        # Seconds to wait for an answer: uncrop generates pixels around inputs of up to 10 MP
        # and 30 MB, Clipdrop's slowest operation (the docs give no duration).
        "READ_TIMEOUT": 180.0,
    }
    formats = frozenset({"JPEG", "PNG", "WEBP"})
    reports_balance = True


class ClipdropUncrop(Clipdrop):
    """``uncrop`` on Clipdrop Uncrop: offsets narrowed to +-2000 pixels, plus ``seed``.

    Over 10 MP or 30 MB the image is downscaled and the offsets scaled to match, unless
    ``IMAGEOPS["UNCROP_OVERSIZE"]`` is ``"refuse"``.
    """

    operation = "uncrop"
    supports_seed = True
    max_pixels = UNCROP_MAX_PIXELS
    max_bytes = UNCROP_MAX_BYTES
    option_defaults = {"UNCROP_OVERSIZE": "downscale"}
    option_choices = {"UNCROP_OVERSIZE": ("downscale", "refuse")}

    def params(self):
        """The offsets, each within +-2000 pixels, and ``seed`` (0..100000)."""
        bounds = {"min": -MAX_EXTEND, "max": MAX_EXTEND}
        sides = replace_params(super().params(), **dict.fromkeys(Uncrop.SIDES, bounds))
        return (*sides, SEED)

    def check_image(self, params, info):
        """Refuse an image over 10 MP or 30 MB when ``UNCROP_OVERSIZE="refuse"``, then the
        operation's rules.

        Raises:
            ValidationError: keyed by ``"image"``, ``"left"`` or ``"top"``.
        """
        oversize = self.fit_scale(info) < 1.0 or info.size > UNCROP_MAX_BYTES
        if oversize and self.option("UNCROP_OVERSIZE") == "refuse":
            raise ValidationError(
                {
                    "image": _(
                        "Clipdrop Uncrop takes at most 10 megapixels and 30 MB; this image "
                        "is %(width)sx%(height)s pixels, %(size)s bytes."
                    )
                    % {"width": info.width, "height": info.height, "size": info.size}
                }
            )
        super().check_image(params, info)

    def start(self, ctx, prepared):
        """``POST /uncrop/v1`` (``ClipdropClient.uncrop``): the JPEG result."""
        p = prepared.params
        result = ctx.call(
            lambda client: client.uncrop(
                prepared.upload,
                left=p["left"],
                right=p["right"],
                top=p["top"],
                bottom=p["bottom"],
                seed=p.get("seed"),
            ),
            paid=True,
        )
        return Result(result.content, result.content_type)


class ClipdropReimagine(Clipdrop):
    """``reimagine`` on Clipdrop Reimagine; images are downscaled to fit 1024x1024 first."""

    operation = "reimagine"
    max_side = REIMAGINE_MAX_SIDE

    def start(self, ctx, prepared):
        """``POST /reimagine/v1/reimagine``: the JPEG variation, same size."""
        result = ctx.call(lambda client: client.reimagine(prepared.upload), paid=True)
        return Result(result.content, result.content_type)
