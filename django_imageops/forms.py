"""Forms of the admin actions' intermediate pages: one per operation, generated from the
declarations.

An ``OperationForm`` asks for the image field (a chooser when the model has several), the
provider (a radio when several providers run the operation) and the operation's parameters:
every ``operations.Param`` that a provider of the operation declares, as a form field of its
type, label and help text (a parameter only some providers take says which). The form fields
only parse numbers and choices; ``clean`` validates with the chosen provider's
``Provider.clean_params``, so the rules live in one place and its errors show under their
fields. ``form.job_kwargs()`` gives the keyword arguments of ``jobs.create_jobs``.

A provider registered from ``IMAGEOPS["PROVIDERS"]`` appears here (and its own parameters) with
no change to this module.
"""

from __future__ import annotations

from django import forms
from django.contrib.admin import helpers
from django.core.exceptions import ValidationError
from django.utils.text import get_text_list
from django.utils.translation import gettext_lazy as _

from .operations import BOOL, CHOICE, Param, param_union
from .providers import Provider, default_provider, get_provider, providers_for


def _declared_by(name: str, providers: list[Provider]) -> list[Provider]:
    return [p for p in providers if any(param.name == name for param in p.params())]


def param_help(param: Param, providers: list[Provider]) -> str:
    """``param``'s help text, saying which providers take it when not all of ``providers``
    do (e.g. "Optional: ... Only with Clipdrop.")."""
    takers = _declared_by(param.name, providers)
    help_text = str(param.help_text or "")
    if len(providers) > 1 and len(takers) < len(providers):
        only = _("Only with %(providers)s.") % {
            "providers": get_text_list([str(p.label) for p in takers], _("or"))
        }
        help_text = f"{help_text} {only}".strip()
    return help_text


def form_field(param: Param, help_text: str) -> forms.Field:
    """The form field of a parameter: it parses the value; the provider checks the rest."""
    options = {"label": param.label, "help_text": help_text, "initial": param.get_initial()}
    if param.type == BOOL:
        return forms.BooleanField(required=False, **options)
    if param.type == CHOICE:
        return forms.ChoiceField(
            choices=list(param.choices),
            required=param.required or param.default is not None,
            widget=forms.RadioSelect,
            **options,
        )
    return forms.IntegerField(
        required=param.required, widget=forms.NumberInput(attrs={"step": 1}), **options
    )


class OperationForm(forms.Form):
    """Base form of an operation's intermediate page.

    Args:
        data: ``request.POST`` (or ``None`` for the unbound first display).
        image_fields: ``[(field_name, label), ...]`` the operation may read; a chooser is shown
            when there are several, a hidden input otherwise.
        selected: primary keys of the selected objects (kept as ``_selected_action`` inputs, like
            Django's ``delete_selected``).

    Subclasses set ``operation``; the parameter fields come from its providers' declarations.
    """

    operation: str = ""

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
        providers = providers_for(self.operation)
        if len(providers) > 1:
            self.fields["provider"] = forms.ChoiceField(
                label=_("Provider"),
                choices=[(p.name, p.label) for p in providers],
                initial=default_provider(self.operation),
                widget=forms.RadioSelect,
            )
        self.params = param_union(p.params() for p in providers)
        for name, param in self.params.items():
            self.fields[name] = form_field(param, param_help(param, providers))
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
        """The parameters as parsed by the form fields, before the provider's rules: those
        given (a checkbox is always given)."""
        return {
            name: self.cleaned_data.get(name)
            for name in self.params
            if self.cleaned_data.get(name) is not None
        }

    def clean(self):
        """Validate the params with the provider's ``clean_params``; its field errors become
        this form's field errors (``{"left": [...]}`` shows under the *left* input)."""
        cleaned = super().clean()
        if self.errors:
            return cleaned
        try:
            provider = get_provider(self.operation, self.provider())
            self.cleaned_params = provider.clean_params(self.raw_params())
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


class UncropForm(OperationForm):
    """Uncrop: ``left``, ``right``, ``top``, ``bottom`` (pixels), and each provider's own."""

    operation = "uncrop"


class ReimagineForm(OperationForm):
    """Reimagine: the providers' own parameters, if any."""

    operation = "reimagine"


class CropForm(OperationForm):
    """Crop: the box ``x``, ``y``, ``width``, ``height`` in pixels of the source."""

    operation = "crop"


class RemoveBackgroundForm(OperationForm):
    """Remove background: the providers' own parameters (e.g. automatic or reviewed, test mode)."""

    operation = "remove_background"


#: Operation name -> its form class.
OPERATION_FORMS: dict[str, type[OperationForm]] = {
    form.operation: form for form in (RemoveBackgroundForm, UncropForm, ReimagineForm, CropForm)
}


def form_for_operation(operation: str) -> type[OperationForm]:
    """The form class of ``operation``.

    Raises:
        KeyError: for an unknown operation name.
    """
    return OPERATION_FORMS[operation]
