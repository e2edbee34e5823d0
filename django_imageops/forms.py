"""Forms of the admin actions' intermediate pages: one form per operation.

Each form asks for the operation's parameters (and the image field and provider when there is a
choice) and validates them with ``operations.get_operation(name).clean_params`` so the vendor
limits live in one place (``django_imageops.operations``); the form fields only parse numbers
and choices. ``form.job_kwargs()`` gives the keyword arguments of ``jobs.create_jobs``.
"""

from __future__ import annotations

from django import forms
from django.contrib.admin import helpers
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from .conf import OPERATION_PROVIDERS, default_provider, get_setting
from .models import ImageJob
from .operations import get_operation

PROVIDER_LABELS = dict(ImageJob.Provider.choices)


class OperationForm(forms.Form):
    """Base form of an operation's intermediate page.

    Args:
        data: ``request.POST`` (or ``None`` for the unbound first display).
        image_fields: ``[(field_name, label), ...]`` the operation may read; a chooser is shown
            when there are several, a hidden input otherwise.
        selected: primary keys of the selected objects (kept as ``_selected_action`` inputs, like
            Django's ``delete_selected``).

    Subclasses set ``operation`` and ``param_names`` (the keys of the operation's params dict).
    """

    operation: str = ""
    param_names: tuple[str, ...] = ()

    #: Marks the second (submitting) request of the intermediate page.
    imageops_post = forms.CharField(widget=forms.HiddenInput, initial="yes")
    field = forms.ChoiceField(label=_("Image field"))

    def __init__(self, data=None, *, image_fields=(), selected=(), **kwargs):
        super().__init__(data, **kwargs)
        self.image_fields = list(image_fields)
        self.selected = [str(pk) for pk in selected]
        self.fields["field"].choices = self.image_fields
        if self.image_fields:
            self.fields["field"].initial = self.image_fields[0][0]
        if len(self.image_fields) <= 1:
            self.fields["field"].widget = forms.HiddenInput()
        providers = OPERATION_PROVIDERS[self.operation]
        if len(providers) > 1:
            self.fields["provider"] = forms.ChoiceField(
                label=_("Provider"),
                choices=[(p, PROVIDER_LABELS.get(p, p)) for p in providers],
                initial=default_provider(self.operation),
                widget=forms.RadioSelect,
            )
            # The provider comes first on the page.
            self.order_fields(["field", "provider"])

    @property
    def action_checkbox_name(self) -> str:
        """Name of the hidden inputs carrying the selected primary keys."""
        return helpers.ACTION_CHECKBOX_NAME

    def provider(self) -> str:
        """The chosen provider (or the operation's only/default one)."""
        if "provider" in self.fields:
            return self.cleaned_data.get("provider") or default_provider(self.operation)
        return default_provider(self.operation)

    def raw_params(self) -> dict:
        """The parameters as parsed by the form fields, before the operation's rules."""
        return {
            name: self.cleaned_data.get(name)
            for name in self.param_names
            if self.cleaned_data.get(name) is not None
        }

    def clean(self):
        """Validate the params with the operation's ``clean_params``; its field errors become
        this form's field errors (``{"left": [...]}`` shows under the *left* input)."""
        cleaned = super().clean()
        if self.errors:
            return cleaned
        try:
            self.cleaned_params = get_operation(self.operation).clean_params(
                self.provider(), self.raw_params()
            )
        except ValidationError as error:
            self.add_validation_error(error)
        return cleaned

    def add_validation_error(self, error: ValidationError) -> None:
        """Attach a ``ValidationError`` keyed by field name to the matching form fields
        (unknown keys and unkeyed errors become non-field errors)."""
        if hasattr(error, "error_dict"):
            for name, errors in error.error_dict.items():
                self.add_error(name if name in self.fields else None, errors)
        else:
            self.add_error(None, error)

    def job_kwargs(self) -> dict:
        """Keyword arguments for ``jobs.create_jobs`` (``field``, ``provider``, ``params``)."""
        return {
            "field": self.cleaned_data["field"],
            "provider": self.provider(),
            "params": getattr(self, "cleaned_params", self.raw_params()),
        }


def _offset(label):
    return forms.IntegerField(
        label=label,
        initial=0,
        required=False,
        help_text=_("Pixels; positive extends, negative crops."),
        widget=forms.NumberInput(attrs={"step": 1}),
    )


class UncropForm(OperationForm):
    """Uncrop: ``left``, ``right``, ``top``, ``bottom`` offsets (pixels) and an optional seed;
    provider Clipdrop or PiktID."""

    operation = "uncrop"
    param_names = ("left", "right", "top", "bottom", "seed")

    left = _offset(_("Left"))
    right = _offset(_("Right"))
    top = _offset(_("Top"))
    bottom = _offset(_("Bottom"))
    seed = forms.IntegerField(
        label=_("Seed"),
        required=False,
        help_text=_("Optional (Clipdrop): the same seed and image give the same result."),
    )

    def raw_params(self) -> dict:
        """The offsets, a missing one as 0 pixels, and the seed when given."""
        params = super().raw_params()
        for name in ("left", "right", "top", "bottom"):
            params.setdefault(name, 0)
        return params


class ReimagineForm(OperationForm):
    """Reimagine (Clipdrop): no parameters."""

    operation = "reimagine"


class CropForm(OperationForm):
    """Crop (PixLab): the box ``x``, ``y``, ``width``, ``height`` in pixels of the source."""

    operation = "crop"
    param_names = ("x", "y", "width", "height")

    x = forms.IntegerField(label=_("X"), initial=0, help_text=_("Pixels from the left edge."))
    y = forms.IntegerField(label=_("Y"), initial=0, help_text=_("Pixels from the top edge."))
    width = forms.IntegerField(label=_("Width"), help_text=_("Pixels."))
    height = forms.IntegerField(label=_("Height"), help_text=_("Pixels."))


class RemoveBackgroundForm(OperationForm):
    """Remove background (ClippingMagic): Auto-Clip or human review in the editor, test mode."""

    operation = "remove_background"
    param_names = ("mode", "test")

    mode = forms.ChoiceField(
        label=_("Mode"),
        choices=[
            ("auto", _("Auto-Clip: store the automatic result")),
            ("review", _("Human review: open each image in the ClippingMagic editor")),
        ],
        initial="auto",
        widget=forms.RadioSelect,
    )
    test = forms.BooleanField(
        label=_("Test mode"),
        required=False,
        help_text=_("Free, watermarked results (ClippingMagic test mode)."),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["test"].initial = bool(get_setting("TEST_MODE"))

    def raw_params(self) -> dict:
        """``{"mode": "auto"|"review", "test": bool}``."""
        return {
            "mode": self.cleaned_data.get("mode") or "auto",
            "test": bool(self.cleaned_data.get("test")),
        }


#: Operation name -> its form class.
OPERATION_FORMS: dict[str, type[OperationForm]] = {
    "remove_background": RemoveBackgroundForm,
    "uncrop": UncropForm,
    "reimagine": ReimagineForm,
    "crop": CropForm,
}


def form_for_operation(operation: str) -> type[OperationForm]:
    """The form class of ``operation``.

    Raises:
        KeyError: for an unknown operation name.
    """
    return OPERATION_FORMS[operation]
