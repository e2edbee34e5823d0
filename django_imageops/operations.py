"""Operations: what a job does to an image, in our one vocabulary, with its parameters declared
once.

An ``Operation`` (``uncrop``, ``reimagine``, ``remove_background``, ``crop``) names its
parameters as ``Param`` declarations: type, label, help text, default, range. Everything that
asks a person or a client for parameters is generated from them: the admin action forms
(``forms.OperationForm``) and the REST API's create serializer
(``api.serializers.ImageJobCreateSerializer``). A provider (``providers.base.Provider``) starts
from its operation's parameters and may narrow them (Clipdrop: offsets of at most 2000 pixels)
or add its own (Clipdrop's ``seed``); ``Provider.clean_params`` validates with the result.

Nothing here names a vendor, touches the database or looks at pixels: the vendor rules live in
``providers/``, the image checks in ``images``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.db import models
from django.utils.text import get_text_list
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from .images import ImageInfo

#: ``Param.type`` values.
INT, BOOL, CHOICE = "int", "bool", "choice"

#: The bound of every length in pixels an operation takes (uncrop offsets, a crop's box):
#: at most this many pixels either way, whatever the provider (a provider narrows it: Clipdrop's
#: offsets stop at 2000). No image the app accepts by default has a side anywhere near as long
#: (JPEG and GIF stop at 65,535 pixels, WebP at 16,383; ``IMAGEOPS["MAX_IMAGE_PIXELS"]`` is 40
#: million in all), and the bound is checked before any arithmetic, so no value can overflow
#: the image fitting's floating point.
MAX_PIXELS_PARAM = 100_000

_TRUE_WORDS = ("1", "true", "yes", "on")


class OperationName(models.TextChoices):
    """The operations, our vocabulary (the same for every vendor); ``ImageJob.Operation``."""

    UNCROP = "uncrop", _("Uncrop")
    REIMAGINE = "reimagine", _("Reimagine")
    REMOVE_BACKGROUND = "remove_background", _("Remove background")
    CROP = "crop", _("Crop")


@dataclass(frozen=True)
class Param:
    """One parameter of an operation (or a provider's own), declared once.

    Attributes:
        name: the key in ``ImageJob.params``, the form field's and the API field's name.
        type: ``"int"``, ``"bool"`` or ``"choice"`` (``INT``, ``BOOL``, ``CHOICE``).
        label: translatable label (form label).
        help_text: translatable help (form help text, API field description). No vendor names:
            the form and the API add which providers take a parameter that not all of them take.
        default: the value when the parameter is left out (``None``: none, so it is left out
            of the cleaned parameters unless ``required``); a callable is called each time
            (e.g. a setting's current value).
        required: leaving it out is an error ("This field is required.").
        min, max: inclusive bounds of an ``int``.
        choices: ``((value, label), ...)`` of a ``choice``.
        initial: the value a form shows first (``None``: ``default``); may be a callable.
        scales: a length in pixels of the source image: scaled with the image when a provider
            resizes it to fit the vendor's limits (uncrop offsets, a crop box).
    """

    name: str
    type: str
    label: Any
    help_text: Any = ""
    default: Any = None
    required: bool = False
    min: int | None = None
    max: int | None = None
    choices: tuple[tuple[str, Any], ...] = ()
    initial: Any = None
    scales: bool = False

    def replace(self, **changes: Any) -> Param:
        """A copy with ``changes`` (how a provider narrows a parameter: ``min=-2000``)."""
        return dataclasses.replace(self, **changes)

    def get_default(self) -> Any:
        """``default``, called when it is a callable."""
        return self.default() if callable(self.default) else self.default

    def get_initial(self) -> Any:
        """What a form shows first: ``initial``, else ``default`` (callables called)."""
        value = self.initial if self.initial is not None else self.default
        return value() if callable(value) else value

    def clean(self, value: Any) -> Any:
        """The value, parsed and checked (``None`` for an optional parameter left out).

        ``None`` and ``""`` mean "left out": the default, an error when required, else ``None``.
        Integers accept ints and numeric strings (not bools or fractions); booleans accept
        bools and the strings ``1``/``true``/``yes``/``on`` (anything else is false).

        Raises:
            ValidationError: a list of messages for this parameter.
        """
        if is_empty(value):
            default = self.get_default()
            if default is None and self.required:
                raise ValidationError(_("This field is required."), code="required")
            return default
        if self.type == BOOL:
            if isinstance(value, str):
                return value.strip().lower() in _TRUE_WORDS
            return bool(value)
        if self.type == CHOICE:
            values = [str(v) for v, _label in self.choices]
            if str(value) not in values:
                raise ValidationError(
                    _("Choose %(choices)s.") % {"choices": get_text_list(values, gettext("or"))},
                    code="invalid_choice",
                )
            return str(value)
        return self._clean_int(value)

    def _clean_int(self, value: Any) -> int:
        try:
            if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
                raise ValueError
            value = int(value)
        except (TypeError, ValueError):
            message = _("Enter a whole number of pixels.") if self.scales else None
            raise ValidationError(message or _("Enter a whole number."), code="invalid") from None
        errors = []
        if self.min is not None and value < self.min:
            errors.append(
                ValidationError(
                    _("Ensure this value is greater than or equal to %(min)s.") % {"min": self.min},
                    code="min_value",
                )
            )
        if self.max is not None and value > self.max:
            errors.append(
                ValidationError(
                    _("Ensure this value is less than or equal to %(max)s.") % {"max": self.max},
                    code="max_value",
                )
            )
        if errors:
            raise ValidationError(errors)
        return value


def is_empty(value: Any) -> bool:
    """Whether a parameter's value means "not given": ``None`` (JSON ``null``) or ``""`` (an
    empty form field)."""
    return value is None or (isinstance(value, str) and value == "")


def replace_params(params: Iterable[Param], **changes: dict[str, Any]) -> tuple[Param, ...]:
    """``params`` with some replaced: ``replace_params(p, left={"min": -2000}, ...)``."""
    return tuple(p.replace(**changes[p.name]) if p.name in changes else p for p in params)


def clean_declared(declared: Iterable[Param], raw: dict | None) -> tuple[dict, dict[str, list]]:
    """Clean ``raw`` parameters against ``declared`` ones.

    Returns:
        ``(cleaned, errors)``: the cleaned values of the declared parameters (optional ones left
        out are omitted), and messages keyed by parameter name for the invalid ones.
    """
    raw = dict(raw or {})
    cleaned: dict[str, Any] = {}
    errors: dict[str, list] = {}
    for param in declared:
        try:
            value = param.clean(raw.get(param.name))
        except ValidationError as exc:
            errors[param.name] = list(exc.messages)
            continue
        if value is not None:
            cleaned[param.name] = value
    return cleaned, errors


class Operation:
    """What a job does to an image: its name, label and parameters, and the rules that hold
    whatever the vendor.

    Attributes:
        name: our operation name (``"uncrop"``, ...; an ``OperationName`` value).
        label: translatable label.
        params: the parameters every provider of the operation takes (``Param``).
        scaled_note: how a job's history says that ``scales`` parameters were resized with
            the image.
    """

    name: str = ""
    label: Any = ""
    params: tuple[Param, ...] = ()
    scaled_note = "parameters in pixels scaled to match"

    def validate(self, params: dict) -> dict[str, list]:
        """Rules across cleaned parameters (each one already valid). Returns messages keyed by
        parameter name (empty when valid)."""
        return {}

    def check_image(self, params: dict, info: ImageInfo, scale: float = 1.0) -> None:
        """Refuse an image/parameter combination no vendor can do, for ``info`` (pixels as
        displayed) resized by ``scale``.

        Raises:
            ValidationError: keyed by the parameter at fault (or ``"image"``).
        """

    def scale_params(self, params: dict, scale: float) -> dict:
        """A copy of ``params`` with the ``scales`` parameters multiplied by ``scale`` (rounded
        to whole pixels)."""
        scaled = dict(params)
        if scale != 1.0:
            for param in self.params:
                if param.scales and isinstance(scaled.get(param.name), int):
                    scaled[param.name] = round(scaled[param.name] * scale)
        return scaled

    def __repr__(self) -> str:
        return f"<Operation {self.name}>"


def _offset(name: str, label) -> Param:
    return Param(
        name,
        INT,
        label,
        help_text=_("Pixels; positive extends, negative crops."),
        default=0,
        min=-MAX_PIXELS_PARAM,
        max=MAX_PIXELS_PARAM,
        scales=True,
    )


class Uncrop(Operation):
    """``uncrop``: extend (positive) or crop (negative) each side by ``left``, ``right``,
    ``top``, ``bottom`` pixels (each within +-``MAX_PIXELS_PARAM``); at least one of them is
    not 0."""

    name = OperationName.UNCROP.value
    label = OperationName.UNCROP.label
    SIDES = ("left", "right", "top", "bottom")
    params = (
        _offset("left", _("Left")),
        _offset("right", _("Right")),
        _offset("top", _("Top")),
        _offset("bottom", _("Bottom")),
    )
    scaled_note = "offsets scaled to match"

    def validate(self, params):
        """At least one offset."""
        if not any(params.get(side) for side in self.SIDES):
            return {"left": [_("Give at least one of left, right, top or bottom (pixels).")]}
        return {}

    @classmethod
    def result_size(cls, params: dict, info: ImageInfo, scale: float = 1.0) -> tuple[int, int]:
        """``(width, height)`` in pixels of the result for ``info`` resized by ``scale`` (the
        offsets scaled the same way)."""
        offsets = {side: round(params[side] * scale) for side in cls.SIDES}
        width = int(info.width * scale) + offsets["left"] + offsets["right"]
        height = int(info.height * scale) + offsets["top"] + offsets["bottom"]
        return width, height

    def check_image(self, params, info, scale=1.0):
        """Refuse offsets that crop the whole image away.

        Raises:
            ValidationError: keyed by ``"left"`` and/or ``"top"``.
        """
        width, height = self.result_size(params, info, scale)
        errors = {}
        if width < 1:
            errors["left"] = [
                _("left + right crop away the whole %(width)s-pixel width.") % {"width": info.width}
            ]
        if height < 1:
            errors["top"] = [
                _("top + bottom crop away the whole %(height)s-pixel height.")
                % {"height": info.height}
            ]
        if errors:
            raise ValidationError(errors)


class Reimagine(Operation):
    """``reimagine``: a similar-but-different variation of the picture. No parameters."""

    name = OperationName.REIMAGINE.value
    label = OperationName.REIMAGINE.label


class RemoveBackground(Operation):
    """``remove_background``: the subject on a transparent background. Its providers add their
    own parameters (e.g. a review by a person in the vendor's editor)."""

    name = OperationName.REMOVE_BACKGROUND.value
    label = OperationName.REMOVE_BACKGROUND.label


def _box(name: str, label, help_text, **options) -> Param:
    return Param(
        name, INT, label, help_text, required=True, scales=True, max=MAX_PIXELS_PARAM, **options
    )


class Crop(Operation):
    """``crop``: the exact sub-region ``x``, ``y``, ``width``, ``height`` (pixels of the image
    as displayed, each at most ``MAX_PIXELS_PARAM``), which must lie inside the image."""

    name = OperationName.CROP.value
    label = OperationName.CROP.label
    params = (
        _box("x", _("X"), _("Pixels from the left edge."), min=0, initial=0),
        _box("y", _("Y"), _("Pixels from the top edge."), min=0, initial=0),
        _box("width", _("Width"), _("Pixels."), min=1),
        _box("height", _("Height"), _("Pixels."), min=1),
    )
    scaled_note = "box scaled to match"

    def check_image(self, params, info, scale=1.0):
        """Refuse a box that does not lie inside the image.

        Raises:
            ValidationError: keyed by ``"width"`` and/or ``"height"``.
        """
        errors = {}
        if params["x"] + params["width"] > info.width:
            errors["width"] = [
                _("x + width (%(right)s) is beyond the image's width of %(width)s pixels.")
                % {"right": params["x"] + params["width"], "width": info.width}
            ]
        if params["y"] + params["height"] > info.height:
            errors["height"] = [
                _("y + height (%(bottom)s) is beyond the image's height of %(height)s pixels.")
                % {"bottom": params["y"] + params["height"], "height": info.height}
            ]
        if errors:
            raise ValidationError(errors)


#: Operation name -> its declaration, in ``OperationName`` order.
OPERATIONS: dict[str, Operation] = {
    op.name: op for op in (Uncrop(), Reimagine(), RemoveBackground(), Crop())
}


def get_operation(name: str) -> Operation:
    """The declaration of operation ``name``.

    Raises:
        ValidationError: ``{"operation": [...]}`` for an unknown name.
    """
    try:
        return OPERATIONS[name]
    except (KeyError, TypeError):
        raise ValidationError(
            {
                "operation": _("Unknown operation %(name)s (choose from %(choices)s).")
                % {"name": name, "choices": ", ".join(OPERATIONS)}
            }
        ) from None


def param_union(declarations: Iterable[Iterable[Param]]) -> dict[str, Param]:
    """Parameters by name over several declarations, first declaration of a name first (how
    the API's create serializer and the admin forms collect the parameters of several
    providers).

    Raises:
        ValueError: one name declared with two types.
    """
    union: dict[str, Param] = {}
    for params in declarations:
        for param in params:
            known = union.get(param.name)
            if known is None:
                union[param.name] = param
            elif known.type != param.type:
                raise ValueError(
                    f"parameter {param.name!r} is declared as {known.type} and as {param.type}"
                )
    return union


def widest_bounds(params: Iterable[Param]) -> tuple[int | None, int | None]:
    """``(min, max)`` taking in every declaration of one parameter in ``params`` (several
    providers'): ``None`` where one of them is unbounded. What a form or API field that serves
    them all accepts; each provider then checks its own bounds."""
    params = list(params)
    lows = [p.min for p in params if p.min is not None]
    highs = [p.max for p in params if p.max is not None]
    low = min(lows) if lows and len(lows) == len(params) else None
    high = max(highs) if highs and len(highs) == len(params) else None
    return low, high


def bounds_text(param: Param) -> str:
    """``param``'s bounds in words: ``"-2000 to 2000"``, ``"at least 1"``, ``""`` (none)."""
    if param.min is not None and param.max is not None:
        return str(_("%(min)s to %(max)s") % {"min": param.min, "max": param.max})
    if param.min is not None:
        return str(_("at least %(min)s") % {"min": param.min})
    if param.max is not None:
        return str(_("at most %(max)s") % {"max": param.max})
    return ""
