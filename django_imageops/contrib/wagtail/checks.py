"""System checks of ``django_imageops.contrib.wagtail``.

- ``django_imageops.W101``: the image edit page has no operation buttons:
  ``WAGTAILIMAGES_IMAGE_FORM_BASE`` is not ``forms.ImageOpsImageForm`` nor a form using
  ``forms.ImageOpsImageFormMixin``. The bulk actions and the job list work without it.
"""

from __future__ import annotations

from django.conf import settings
from django.core.checks import Tags, Warning, register
from django.utils.module_loading import import_string

FORM_BASE = "django_imageops.contrib.wagtail.forms.ImageOpsImageForm"


@register(Tags.compatibility)
def check_image_form_base(app_configs=None, **kwargs):
    """W101 when Wagtail's image form does not bring the operation buttons."""
    from .forms import ImageOpsImageFormMixin

    path = getattr(settings, "WAGTAILIMAGES_IMAGE_FORM_BASE", "") or ""
    try:
        form = import_string(path) if path else None
    except ImportError:
        return []  # Wagtail reports a form base it cannot import
    if isinstance(form, type) and issubclass(form, ImageOpsImageFormMixin):
        return []
    return [
        Warning(
            "The Wagtail image edit page shows no image operations: "
            "WAGTAILIMAGES_IMAGE_FORM_BASE does not use ImageOpsImageFormMixin.",
            hint=(
                f'Set WAGTAILIMAGES_IMAGE_FORM_BASE = "{FORM_BASE}", or add '
                "django_imageops.contrib.wagtail.forms.ImageOpsImageFormMixin to the bases of "
                f"your own form ({path or 'none set'})."
            ),
            id="django_imageops.W101",
        )
    ]
