"""App configuration of ``django_imageops.contrib.wagtail``."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ImageOpsWagtailConfig(AppConfig):
    """The image operations in Wagtail's admin (see the package docstring).

    ``ready`` registers the system checks and connects ``destinations.job_succeeded``, which puts
    a finished job's result where its Wagtail action asked (a new image or the replaced file).
    (The app's models load without Wagtail: the type checker and the docs build need no Wagtail
    site.)
    """

    name = "django_imageops.contrib.wagtail"
    label = "imageops_wagtail"
    verbose_name = _("Image operations for Wagtail")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        """Register the checks, connect the ``job_succeeded`` receiver and (Wagtail 8) the job
        list's permission policy."""
        from django.apps import apps

        from ... import signals
        from . import checks, destinations  # noqa: F401  (checks registers itself)

        signals.job_succeeded.connect(
            destinations.job_succeeded, dispatch_uid="imageops_wagtail_destination"
        )
        if apps.is_installed("wagtail.admin"):
            from .viewsets import register_permission_policy

            register_permission_policy()
