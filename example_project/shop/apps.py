"""The example shop: a catalogue of products whose photos go through django-imageops."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ShopConfig(AppConfig):
    """App config of the example shop."""

    name = "shop"
    verbose_name = _("Shop")
    default_auto_field = "django.db.models.BigAutoField"
