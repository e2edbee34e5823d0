"""App configuration for django_imageops."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ImageOpsConfig(AppConfig):
    """Registers system checks, signal handlers and the job tasks when Django starts."""

    name = "django_imageops"
    label = "django_imageops"
    verbose_name = _("Image operations")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        """Import the checks, connect the ``DerivedImageField`` receivers and register the job
        tasks (``tasks`` registers them with ``jobs.queue`` on import).

        A misconfigured ``IMAGEOPS["TASK_BACKEND"]`` makes importing ``tasks`` fail (its
        ``@task`` decorators look the backend up): start-up goes on so that check
        ``django_imageops.E003`` can say what is wrong; jobs cannot be enqueued until it is
        fixed. Any other import error is raised.
        """
        from . import checks, signal_handlers

        signal_handlers.connect_derived_fields()
        try:
            from . import tasks  # noqa: F401
        except Exception:
            if not checks.check_tasks():
                raise
