"""Operation forms: one per operation, generated from the declarations, usable in any admin.

An ``OperationForm`` asks for the image field (a chooser when the model has several), the
provider (a radio when several providers run the operation) and the operation's parameters:
every ``operations.Param`` that a provider of the operation declares, as a form field of its
type, label and help text. The form fields only parse numbers and choices; ``clean`` validates
with the chosen provider's ``Provider.clean_params``, so the rules live in one place and its
errors show under their fields. ``form.job_kwargs()`` gives the keyword arguments of
``jobs.create_jobs``.

Values that only fail against an image's size (a crop box leaving the image, offsets cropping
it away) are checked too, for every source whose size is known without downloading it
(``sources.source_images``): the objects that fail are named under the field ("Coffee: x +
width (700) is beyond the image's width of 512 pixels.").

The form renders itself (``{{ form }}``, template ``django_imageops/forms/operation_form.html``)
as aligned admin fieldsets with the sources' previews (the crop box, drawn and resized with
Cropper.js; the uncrop canvas with the result's size and "extend to aspect ratio" presets) and
the cost line, and brings its media (``form.media``). Nothing in it depends on Django's admin
templates: the Django admin's action page (``admin/action_form.html``), its change page (the
in-place panel) and a Wagtail view render the same form.

A provider registered from ``IMAGEOPS["PROVIDERS"]`` appears here (and its own parameters) with
no change to this module.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, cast

from django import forms
from django.contrib.admin import helpers
from django.core.exceptions import ValidationError
from django.utils.functional import Promise
from django.utils.text import get_text_list
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from .operations import BOOL, CHOICE, OPERATIONS, Param, param_union
from .providers import Provider, default_provider, get_provider, param_bounds, providers_for
from .sources import SourceImage

if TYPE_CHECKING:
    from .jobs import Estimate

#: Failing objects named under a field before the rest are counted.
MAX_NAMED_SOURCES = 10

_STATIC = "django_imageops/"


def _declared_by(name: str, providers: list[Provider]) -> list[Provider]:
    return [p for p in providers if any(param.name == name for param in p.params())]


def param_help(param: Param, providers: list[Provider]) -> str:
    """``param``'s help text, saying which providers take it when not all of ``providers``
    do (e.g. "Optional: ... Only with Clipdrop."), and each one's bounds when they differ
    ("Clipdrop: -2000 to 2000; PiktID: -100000 to 100000.")."""
    takers = _declared_by(param.name, providers)
    help_text = str(param.help_text or "")
    if len(providers) > 1 and len(takers) < len(providers):
        only = _("Only with %(providers)s.") % {
            "providers": get_text_list([str(p.label) for p in takers], gettext("or"))
        }
        help_text = f"{help_text} {only}".strip()
    note = param_bounds(param.name, providers)[2]
    return f"{help_text} {note}".strip()


def form_field(param: Param, help_text: str, providers: list[Provider]) -> forms.Field:
    """The form field of a parameter: it parses the value, within the widest bounds of the
    ``providers`` that declare it (the browser's number input shows them); the chosen
    provider checks the rest."""
    options = {"label": param.label, "help_text": help_text, "initial": param.get_initial()}
    if param.type == BOOL:
        return forms.BooleanField(required=False, **options)
    if param.type == CHOICE:
        return forms.ChoiceField(
            choices=list(param.choices),
            required=param.required or param.default is not None,
            widget=forms.RadioSelect(attrs={"class": "radiolist inline"}),
            **options,
        )
    low, high, _note = param_bounds(param.name, providers)
    return forms.IntegerField(
        required=param.required,
        min_value=low,
        max_value=high,
        widget=forms.NumberInput(attrs={"step": 1}),
        **options,
    )


@dataclass
class Fieldset:
    """One fieldset of an operation form, as the template renders it.

    Attributes:
        name: its heading ("" for none).
        fields: its bound fields, in order.
        providers: names of the providers it applies to; empty for all. The page shows it only
            while one of them is chosen.
        template: an extra template rendered at its end (e.g. aspect-ratio presets), or "".
    """

    name: str | Promise
    fields: list = field(default_factory=list)
    providers: tuple[str, ...] = ()
    template: str = ""

    @property
    def providers_attr(self) -> str:
        """``providers`` as the space-separated ``data-providers`` attribute."""
        return " ".join(self.providers)


class OperationForm(forms.Form):
    """Base form of an operation.

    Args:
        data: ``request.POST`` (or ``None`` for the unbound first display).
        image_fields: ``[(field_name, label), ...]`` the operation may read; a chooser is shown
            when there are several, a hidden input otherwise.
        selected: primary keys of the selected objects (kept as ``_selected_action`` inputs, like
            Django's ``delete_selected``, by the admin's action page).
        sources: the ``sources.SourceImage`` of the objects the jobs will read: previewed (the
            first ``preview_limit``) and, where their size is known, checked by ``clean``.
        estimate_url: where the page POSTs the form (plus ``imageops_estimate=1``) to refresh
            the cost line; "" for no live refresh.
        preview_limit: sources previewed at most (the rest are counted).

    ``initial`` (Django's) may preset any field, e.g. a ``DerivedImageField``'s provider and
    params. ``estimate`` may be set to the cost of the initial values (an object with
    ``summary()``, as ``jobs.estimate`` returns) for the cost line's first display.

    Subclasses set ``operation``; the parameter fields come from its providers' declarations.
    """

    operation: str = ""
    template_name = "django_imageops/forms/operation_form.html"
    #: Heading of the fieldset holding the operation's own parameters ("" for none).
    params_heading: str | Promise = ""
    #: Template rendered under the operation's own parameters (presets), or "".
    presets_template = ""

    #: Marks the second (submitting) request of the intermediate page.
    imageops_post = forms.CharField(widget=forms.HiddenInput, initial="yes")
    field = forms.ChoiceField(label=_("Image field"))

    def __init__(
        self,
        data=None,
        *,
        image_fields=(),
        selected=(),
        sources: list[SourceImage] | None = None,
        estimate_url: str = "",
        preview_limit: int = 24,
        **kwargs,
    ):
        super().__init__(data, **kwargs)
        self.image_fields = list(image_fields)
        self.selected = [str(pk) for pk in selected]
        self.sources = list(sources or [])
        self.estimate_url = estimate_url
        self.preview_limit = preview_limit
        self.source_count: int | None = None
        self.estimate: Estimate | None = None
        field_choice = cast(forms.ChoiceField, self.fields["field"])
        field_choice.choices = self.image_fields
        if self.image_fields:
            self.fields["field"].initial = self.image_fields[0][0]
        if len(self.image_fields) <= 1:
            self.fields["field"].widget = forms.HiddenInput()
        self.providers = providers_for(self.operation)
        if len(self.providers) > 1:
            self.fields["provider"] = forms.ChoiceField(
                label=_("Provider"),
                choices=[(p.name, p.label) for p in self.providers],
                initial=default_provider(self.operation),
                widget=forms.RadioSelect(attrs={"class": "radiolist inline"}),
            )
        self.params = param_union(p.params() for p in self.providers)
        for name, param in self.params.items():
            self.fields[name] = form_field(param, param_help(param, self.providers), self.providers)
        # The provider comes first on the page.
        self.order_fields(["field", "provider"])

    # -- rendering ---------------------------------------------------------------------------

    @property
    def media(self) -> forms.Media:
        """The form's CSS and script (plus Cropper.js for a crop), with the widgets' media."""
        css = [f"{_STATIC}forms/operation_form.css"]
        js = []
        if self.operation == "crop":
            css.insert(0, f"{_STATIC}vendor/cropperjs/cropper.min.css")
            js.append(f"{_STATIC}vendor/cropperjs/cropper.min.js")
        js.append(f"{_STATIC}forms/operation_form.js")
        return super().media + forms.Media(css={"all": css}, js=js)

    @property
    def js_text(self) -> str:
        """The translated messages the form's script shows, as JSON (``data-text``)."""
        return json.dumps(
            {
                # The multiplication sign is meant (RUF001).
                "size": str(_("%(width)s × %(height)s px")),  # noqa: RUF001
                "resized": str(
                    _("%(width)s × %(height)s px → %(rwidth)s × %(rheight)s px")  # noqa: RUF001
                ),
                "cropOutside": str(
                    _(
                        "The box leaves this %(width)s × %(height)s px image (x + width = "  # noqa: RUF001
                        "%(right)s, y + height = %(bottom)s)."
                    )
                ),
                "uncropEmpty": str(_("These offsets crop the whole image away.")),
                "costInvalid": str(_("The cost is shown once the values are valid.")),
            }
        )

    @property
    def action_checkbox_name(self) -> str:
        """Name of the hidden inputs carrying the selected primary keys."""
        return helpers.ACTION_CHECKBOX_NAME

    @property
    def preview_sources(self) -> list[SourceImage]:
        """The sources previewed on the page (the first ``preview_limit``)."""
        return self.sources[: self.preview_limit]

    @property
    def hidden_source_count(self) -> int:
        """Objects not previewed (``source_count``, when set, counts them all)."""
        total = len(self.sources) if self.source_count is None else self.source_count
        return max(0, total - len(self.preview_sources))

    def fieldsets(self) -> list[Fieldset]:
        """The visible fields grouped as the page shows them: the image field and provider,
        then the operation's own parameters (with the presets), then each provider's own
        parameters (shown only while that provider is chosen)."""
        operation_params = {p.name for p in OPERATIONS[self.operation].params}
        first = Fieldset("", [self[n] for n in ("field", "provider") if n in self.fields])
        first.fields = [f for f in first.fields if not f.is_hidden]
        own = Fieldset(
            self.params_heading,
            [self[name] for name in self.params if name in operation_params],
            template=self.presets_template,
        )
        by_takers: dict[tuple[str, ...], Fieldset] = {}
        several = len(self.providers) > 1
        for name in self.params:
            if name in operation_params:
                continue
            takers = tuple(p.name for p in _declared_by(name, self.providers))
            if takers not in by_takers:
                labels = [str(p.label) for p in self.providers if p.name in takers]
                by_takers[takers] = Fieldset(
                    get_text_list(labels, gettext("and")),
                    providers=takers if several and len(takers) < len(self.providers) else (),
                )
            by_takers[takers].fields.append(self[name])
        return [fs for fs in (first, own, *by_takers.values()) if fs.fields or fs.template]

    # -- values --------------------------------------------------------------------------------

    def chosen_field(self) -> str:
        """The image field the jobs will read: the submitted one when it is a choice, else the
        initial one (before validation: for reading the sources of the right field)."""
        names = [name for name, _label in self.image_fields]
        value = self["field"].value()
        if value in names:
            return value
        return names[0] if names else ""

    def initial_values(self) -> tuple[str, dict]:
        """``(provider, params)`` as the unbound form shows them (``initial`` applied): what the
        cost line's first display prices."""
        provider = default_provider(self.operation)
        if "provider" in self.fields:
            provider = self["provider"].initial or provider
        params = {}
        for name in self.params:
            value = self[name].initial
            if value is not None and value != "":
                params[name] = value
        return provider, params

    def provider(self) -> str:
        """The chosen provider (or the operation's only/default one)."""
        if "provider" in self.fields:
            value = self.cleaned_data.get("provider") if hasattr(self, "cleaned_data") else None
            return value or default_provider(self.operation)
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
        """Validate the params with the provider's ``clean_params`` (its field errors become
        this form's field errors: ``{"left": [...]}`` shows under the *left* input), then
        against each source whose size is known (``check_sources``)."""
        cleaned = super().clean()
        if self.errors:
            return cleaned
        try:
            provider = get_provider(self.operation, self.provider())
            self.cleaned_params = provider.clean_params(self.raw_params())
        except ValidationError as error:
            self.add_validation_error(error)
            return cleaned
        self.check_sources(provider, self.cleaned_params)
        return cleaned

    def check_sources(self, provider: Provider, params: dict) -> None:
        """Check ``params`` against every source of known size with ``provider.check_image``;
        the failing objects are named under the field at fault (at most
        ``MAX_NAMED_SOURCES`` per field, the rest counted)."""
        failures: dict[str | None, list[str]] = {}
        chosen = self.cleaned_data.get("field")
        for source in self.sources:
            info = source.info()
            if info is None or (chosen and source.field != chosen):
                continue
            try:
                provider.check_image(params, info)
            except ValidationError as error:
                items: Iterable[tuple[str | None, list[ValidationError]]] = (
                    error.error_dict.items() if hasattr(error, "error_dict") else []
                )
                if not items:
                    items = [(None, [error])]
                for key, errors in items:
                    target = key if key in self.fields and key != "field" else None
                    for message in ValidationError(errors).messages:
                        failures.setdefault(target, []).append(f"{source.label}: {message}")
        for target, messages in failures.items():
            named = messages[:MAX_NAMED_SOURCES]
            rest = len(messages) - len(named)
            if rest:
                named.append(
                    ngettext("… and %(count)d more object.", "… and %(count)d more objects.", rest)
                    % {"count": rest}
                )
            self.add_error(target, named)

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
    """Uncrop: ``left``, ``right``, ``top``, ``bottom`` (pixels), and each provider's own;
    previews the result's size and where the new pixels go, with "extend to aspect ratio"
    presets that compute the offsets."""

    operation = "uncrop"
    params_heading = _("Offsets")
    presets_template = "django_imageops/forms/uncrop_presets.html"


class ReimagineForm(OperationForm):
    """Reimagine: the providers' own parameters, if any."""

    operation = "reimagine"


class CropForm(OperationForm):
    """Crop: the box ``x``, ``y``, ``width``, ``height`` in pixels of the source, drawn on the
    image (Cropper.js) with aspect-ratio presets."""

    operation = "crop"
    params_heading = _("Box")
    presets_template = "django_imageops/forms/crop_presets.html"


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
