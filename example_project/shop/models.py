"""The example catalogue: a ``Product`` with a photo and two images derived from it."""

from django.db import models
from django.utils.translation import gettext_lazy as _

from django_imageops.fields import DerivedImageField

#: Pixels the banner adds on the left and on the right of the photo (uncrop).
BANNER_EXTEND = 192


class Product(models.Model):
    """A product of the shop: a name, a photo, and the images django-imageops makes of it.

    ``cutout`` is the photo without its background (ClippingMagic Auto-Clip), ``banner`` the
    photo widened by ``BANNER_EXTEND`` pixels on each side (uncrop, Clipdrop). Both live on the
    ``imageops`` storage and are filled by succeeded jobs: the admin's actions, the demo, or the
    REST API (``target_field``).
    """

    name = models.CharField(_("name"), max_length=200)
    photo = models.ImageField(_("photo"), upload_to="products/")
    cutout = DerivedImageField(
        _("cut-out"), source="photo", operation="remove_background", params={"mode": "auto"}
    )
    banner = DerivedImageField(
        _("banner"),
        source="photo",
        operation="uncrop",
        provider="clipdrop",
        params={"left": BANNER_EXTEND, "right": BANNER_EXTEND},
    )

    class Meta:
        verbose_name = _("product")
        verbose_name_plural = _("products")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name
