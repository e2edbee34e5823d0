"""Models the tests run operations on."""

from django.db import models

from django_imageops.conf import get_storage
from django_imageops.fields import DerivedImageField


class Photo(models.Model):
    """A model with two ImageFields, like a site's own catalogue model, and a derived cut-out
    that a Remove background job on ``image`` fills (queued by hand: ``auto=False``)."""

    title = models.CharField(max_length=100, blank=True)
    image = models.ImageField(upload_to="photos/")
    banner = models.ImageField(upload_to="banners/", blank=True)
    cutout = DerivedImageField(
        source="image",
        operation="remove_background",
        params={"mode": "auto", "test": True},
    )

    def __str__(self):
        return self.title or f"Photo {self.pk}"


class Product(models.Model):
    """A model whose cut-out is queued automatically whenever its photo's content changes."""

    name = models.CharField(max_length=100, blank=True)
    photo = models.ImageField(upload_to="products/")
    cutout = DerivedImageField(
        source="photo",
        operation="remove_background",
        provider="clippingmagic",
        params={"mode": "auto", "test": True},
        auto=True,
    )

    def __str__(self):
        return self.name or f"Product {self.pk}"


class Poster(models.Model):
    """A model whose ``mirrored`` image is a reimagine of ``image``, queued automatically with
    the operation's default provider (the tests of a site's own provider set it)."""

    image = models.ImageField(upload_to="posters/")
    mirrored = DerivedImageField(source="image", operation="reimagine", auto=True)

    def __str__(self):
        return f"Poster {self.pk}"


class Picture(models.Model):
    """An image on the S3 storage whose size the model records (``width_field``/
    ``height_field``): the operation forms check values against it without reading the file."""

    name = models.CharField(max_length=100, blank=True)
    image = models.ImageField(
        upload_to="pictures/", storage=get_storage, width_field="width", height_field="height"
    )
    width = models.PositiveIntegerField(null=True, blank=True)
    height = models.PositiveIntegerField(null=True, blank=True)

    def __str__(self):
        return self.name or f"Picture {self.pk}"


class Listing(models.Model):
    """Like the example shop's product: a photo, its cut-out and a banner that only a Clipdrop
    uncrop of 32 pixels on each side fills on its own (both queued by hand)."""

    name = models.CharField(max_length=100, blank=True)
    photo = models.ImageField(upload_to="listings/")
    cutout = DerivedImageField(
        source="photo", operation="remove_background", params={"mode": "auto", "test": True}
    )
    banner = DerivedImageField(
        source="photo",
        operation="uncrop",
        provider="clipdrop",
        params={"left": 32, "right": 32},
    )

    def __str__(self):
        return self.name or f"Listing {self.pk}"
