"""Models the tests run operations on."""

from django.db import models


class Photo(models.Model):
    """A model with two ImageFields, like a site's own catalogue model."""

    title = models.CharField(max_length=100, blank=True)
    image = models.ImageField(upload_to="photos/")
    banner = models.ImageField(upload_to="banners/", blank=True)

    def __str__(self):
        return self.title or f"Photo {self.pk}"
