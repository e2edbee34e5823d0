"""App configuration for django_imageops."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ImageOpsConfig(AppConfig):
    """Registers system checks and signal handlers when Django starts."""

    name = "django_imageops"
    label = "django_imageops"
    verbose_name = _("Image operations")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        """Import the modules that register checks and signal receivers."""
        from . import checks, conf, signal_handlers  # noqa: F401
