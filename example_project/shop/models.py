"""The example catalogue: a ``Product`` with a photo and two images derived from it."""

from django.db import models
from django.utils.translation import gettext_lazy as _

from django_imageops.conf import get_storage

#: Pixels the banner adds on the left and on the right of the photo (uncrop).
BANNER_EXTEND = 192


class Product(models.Model):
    """A product of the shop: a name, a photo, and the images django-imageops makes of it.

    ``cutout`` is the photo without its background (ClippingMagic), ``banner`` the photo
    widened by ``BANNER_EXTEND`` pixels on each side (uncrop); both live on the ``imageops``
    storage and are filled by succeeded jobs.
    """

    name = models.CharField(_("name"), max_length=200)
    photo = models.ImageField(_("photo"), upload_to="products/")
    cutout = models.ImageField(
        _("cut-out"), upload_to="derived/cutout/", storage=get_storage, blank=True
    )
    banner = models.ImageField(
        _("banner"), upload_to="derived/banner/", storage=get_storage, blank=True
    )

    class Meta:
        verbose_name = _("product")
        verbose_name_plural = _("products")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name
