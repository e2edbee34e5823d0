"""An offline provider that lives only in the tests (no module of the package knows it).

``EchoReimagine`` runs ``reimagine`` as "echo": the image mirrored, left to right or top to
bottom (its own ``direction`` parameter), by a tiny vendor client that does the work locally
with Pillow instead of calling anything. Register it the way a site registers its own
provider::

    IMAGEOPS = {**IMAGEOPS, "PROVIDERS": ["tests.providers.echo.EchoReimagine"]}

It proves the provider contract: a new vendor goes through the admin actions, the REST API and
a ``DerivedImageField`` with no edit to the package.
"""

from __future__ import annotations

import io

from django.utils.translation import gettext_lazy as _
from PIL import Image, ImageOps

from django_imageops.operations import CHOICE, Param
from django_imageops.providers import Provider, Result
from django_imageops.vendors import ImageUpload, VendorResult

#: The dotted path to put in ``IMAGEOPS["PROVIDERS"]``.
ECHO = "tests.providers.echo.EchoReimagine"


class EchoClient:
    """The "vendor": mirrors an image in this process (it takes and ignores the usual
    ``base_url``, ``session`` and ``timeout``)."""

    calls = 0

    def __init__(self, **options):
        self.options = options

    def mirror(self, image: ImageUpload, direction: str) -> VendorResult:
        """The PNG of ``image`` mirrored (``"horizontal"``: left to right, ``"vertical"``: top
        to bottom)."""
        type(self).calls += 1
        with Image.open(io.BytesIO(image.content)) as source:
            flip = ImageOps.mirror if direction == "horizontal" else ImageOps.flip
            buffer = io.BytesIO()
            flip(source.convert("RGB")).save(buffer, "PNG")
        return VendorResult(content=buffer.getvalue(), content_type="image/png")


class EchoReimagine(Provider):
    """``reimagine`` on "echo": the image mirrored, synchronously."""

    name = "echo"
    label = _("Echo")
    operation = "reimagine"
    client_class = EchoClient
    default_settings = {"BASE_URL": "local:"}
    formats = frozenset({"PNG"})
    max_side = 512

    def params(self):
        """The operation's (none), plus ``direction``."""
        return (
            *super().params(),
            Param(
                "direction",
                CHOICE,
                _("Direction"),
                _("Which way the image is mirrored."),
                choices=(("horizontal", _("Left to right")), ("vertical", _("Top to bottom"))),
                default="horizontal",
            ),
        )

    def is_deterministic(self, params):
        """A mirror is the same pixels every time."""
        return True

    def start(self, ctx, prepared):
        """One local "vendor call": the mirrored PNG."""
        direction = prepared.params["direction"]
        result = ctx.call(lambda client: client.mirror(prepared.upload, direction))
        return Result(result.content, result.content_type)
