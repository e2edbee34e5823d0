"""Forms of the image operations in Wagtail's admin.

- ``form_for_operation(operation)``: the operation's form (``django_imageops.forms``: fieldsets,
  previews, cost line, own media; the same as the Django admin's) plus *where the result goes*
  (``destination``: a new image, or the image's file replaced). The bulk actions and the edit
  page's panel render it with ``{{ form }}``.
- ``ImageOpsImageFormMixin`` / ``ImageOpsImageForm``: Wagtail's image form with the operation
  buttons under the image's file on the edit page. Wagtail has no hook into that page; like
  wagtail-ai, this uses Wagtail's own extension point for the image form::

      WAGTAILIMAGES_IMAGE_FORM_BASE = "django_imageops.contrib.wagtail.forms.ImageOpsImageForm"

  A site with a form base of its own (e.g. wagtail-ai's ``DescribeImageForm``) adds the mixin
  to it: ``class MyImageForm(ImageOpsImageFormMixin, DescribeImageForm): ...``.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from django import forms
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from wagtail.images.forms import BaseImageForm

from ...admin.inplace import OperationsWidget
from ...forms import Fieldset, OperationForm
from ...forms import form_for_operation as operation_form_class
from ...models import ImageJob
from .models import ImageJobDestination
from .permissions import can_run_operations

#: The operations offered on Wagtail images, in this order.
OPERATIONS = ("remove_background", "uncrop", "reimagine", "crop")

#: The Wagtail skin of the panel and the forms (besides the forms' own media).
WAGTAIL_MEDIA = forms.Media(css={"all": ["django_imageops/wagtail/wagtail.css"]})


class DestinationFormMixin(OperationForm):
    """Adds *where the result goes* to an operation form, as its last fieldset (mixed in before
    the operation's form class: ``form_for_operation``)."""

    destination = forms.ChoiceField(
        label=_("Result"),
        choices=ImageJobDestination.Destination.choices,
        initial=ImageJobDestination.Destination.NEW_IMAGE,
        widget=forms.RadioSelect(attrs={"class": "radiolist"}),
        help_text=_(
            "A new image goes into the same collection with the same tags. A replaced file is "
            "kept on storage and named in the image's history."
        ),
    )

    def fieldsets(self) -> list[Fieldset]:
        """The operation's fieldsets, then *Where the result goes*."""
        return [*super().fieldsets(), Fieldset(_("Where the result goes"), [self["destination"]])]

    @property
    def media(self) -> forms.Media:
        """The operation form's media, and the Wagtail skin."""
        return super().media + WAGTAIL_MEDIA


@cache
def form_for_operation(operation: str) -> type[OperationForm]:
    """The Wagtail form class of ``operation``: its operation form with ``destination``.

    Raises:
        KeyError: for an unknown operation name.
    """
    base = operation_form_class(operation)
    return type(f"Wagtail{base.__name__}", (DestinationFormMixin, base), {})


def operation_buttons(image, operations=OPERATIONS) -> list[dict]:
    """The edit page's buttons of ``image``: ``[{"label", "url", "kind"}]``, one per
    operation, each opening its form in the panel (``views.ImageOperationFormView``)."""
    labels = dict(ImageJob.Operation.choices)
    return [
        {
            "label": labels[operation],
            "url": reverse("imageops_wagtail:image_operation", args=[image.pk, operation])
            + "?field=file",
            "kind": operation,
        }
        for operation in operations
    ]


class WagtailOperationsWidget(OperationsWidget):
    """The Django admin's ``OperationsWidget`` (the field's widget, the buttons, the panel) with
    the Wagtail skin."""

    @property
    def media(self):
        """Django's widget API: the ``OperationsWidget``'s media, and the Wagtail skin."""
        return super().media + WAGTAIL_MEDIA


class ImageOpsImageFormMixin:
    """Puts the operation buttons (with their panel: the form, the progress, before/after,
    apply or discard) under the ``file`` field of Wagtail's image edit form, for users who may
    run operations on the image (``permissions.can_run_operations``). The add form (no image
    yet) is unchanged.

    Attributes:
        imageops_operations: the operations offered, in this order.
    """

    imageops_operations: tuple[str, ...] = OPERATIONS
    # Wagtail's image form (the class this is mixed into) has them.
    instance: Any
    fields: dict[str, Any]

    def __init__(self, *args, **kwargs):
        # Wagtail's collection form takes the user and keeps it to itself.
        self.imageops_user = kwargs.get("user")
        super().__init__(*args, **kwargs)
        image = self.instance
        if "file" not in self.fields or image.pk is None or not image.file:
            return
        if not can_run_operations(self.imageops_user, image):
            return
        self.fields["file"].widget = WagtailOperationsWidget(
            self.fields["file"].widget,
            lambda value: operation_buttons(image, self.imageops_operations),
        )


class ImageOpsImageForm(ImageOpsImageFormMixin, BaseImageForm):
    """Wagtail's image form with the operation buttons: the value of
    ``WAGTAILIMAGES_IMAGE_FORM_BASE``."""
