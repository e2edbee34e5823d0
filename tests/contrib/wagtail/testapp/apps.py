from django.apps import AppConfig


class WagtailTestAppConfig(AppConfig):
    """Models of the Wagtail tests (a custom image model)."""

    name = "tests.contrib.wagtail.testapp"
    label = "wagtailtests"
    default_auto_field = "django.db.models.BigAutoField"
