"""Each provider's parameters: the operation's declarations, narrowed or extended by the
provider (``Provider.params``), and ``Provider.clean_params`` naming the field at fault."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from django_imageops.operations import OPERATIONS, get_operation
from django_imageops.providers import all_providers, get_provider

BOX = {"x": 0, "y": 0, "width": 5, "height": 5}


@pytest.mark.parametrize(
    ("operation", "provider", "params", "field", "words"),
    [
        ("uncrop", "clipdrop", {"left": 2001}, "left", "less than or equal to 2000"),
        ("uncrop", "clipdrop", {"bottom": -2001}, "bottom", "greater than or equal to -2000"),
        ("uncrop", "clipdrop", {"left": "ten"}, "left", "whole number"),
        ("uncrop", "clipdrop", {"left": 1.5}, "left", "whole number"),
        ("uncrop", "clipdrop", {}, "left", "at least one of"),
        ("uncrop", "clipdrop", {"left": 5, "seed": 100_001}, "seed", "100000"),
        ("uncrop", "clipdrop", {"left": 5, "seed": -1}, "seed", "greater than or equal to 0"),
        ("uncrop", "piktid", {"left": 5, "seed": 3}, "seed", "Not a parameter of uncrop on piktid"),
        ("crop", "pixlab", {**BOX, "left": 3}, "left", "Not a parameter of crop on pixlab"),
        ("crop", "pixlab", {"x": 0, "y": 0, "width": 0, "height": 5}, "width", "greater than"),
        ("crop", "pixlab", {"y": 0, "width": 5, "height": 5}, "x", "required"),
        ("remove_background", "clippingmagic", {"mode": "manual"}, "mode", "auto or review"),
        ("crop", "clipdrop", {}, "provider", "cannot run crop"),
    ],
)
def test_clean_params_names_the_field(operation, provider, params, field, words):
    with pytest.raises(ValidationError) as exc:
        get_provider(operation, provider).clean_params(params)
    messages = exc.value.message_dict[field]
    assert any(words in m for m in messages), messages


def test_clean_params_normalises():
    assert get_provider("uncrop", "clipdrop").clean_params({"left": "12", "seed": "7"}) == {
        "left": 12,
        "right": 0,
        "top": 0,
        "bottom": 0,
        "seed": 7,
    }
    assert get_provider("remove_background", "clippingmagic").clean_params({}) == {
        "mode": "auto",
        "test": False,
    }
    assert get_provider("remove_background", "clippingmagic").clean_params(
        {"mode": "review", "test": "true"}
    ) == {"mode": "review", "test": True}
    with pytest.raises(ValidationError) as exc:
        get_operation("blur")
    assert "operation" in exc.value.message_dict


def names(operation: str, provider: str) -> list[str]:
    return [p.name for p in get_provider(operation, provider).params()]


def test_providers_narrow_or_extend_their_operations_params():
    assert names("uncrop", "clipdrop") == ["left", "right", "top", "bottom", "seed"]
    assert names("uncrop", "piktid") == ["left", "right", "top", "bottom"]
    assert names("remove_background", "clippingmagic") == ["mode", "test"]
    assert names("crop", "pixlab") == ["x", "y", "width", "height"]
    assert names("reimagine", "clipdrop") == []
    clipdrop = {p.name: p for p in get_provider("uncrop", "clipdrop").params()}
    assert (clipdrop["left"].min, clipdrop["left"].max) == (-2000, 2000)
    assert (clipdrop["seed"].min, clipdrop["seed"].max) == (0, 100_000)
    piktid = {p.name: p for p in get_provider("uncrop", "piktid").params()}
    assert (piktid["left"].min, piktid["left"].max) == (-100_000, 100_000)
    # The operation's own declaration is untouched by the narrowing.
    assert get_operation("uncrop").params[0].max == 100_000


def test_piktid_takes_offsets_clipdrop_would_refuse():
    assert get_provider("uncrop", "piktid").clean_params({"left": 3000})["left"] == 3000


def test_the_test_mode_default_follows_the_setting(settings):
    provider = get_provider("remove_background", "clippingmagic")
    settings.IMAGEOPS = {**settings.IMAGEOPS, "TEST_MODE": True}
    assert provider.clean_params({})["test"] is True
    settings.IMAGEOPS = {**settings.IMAGEOPS, "TEST_MODE": False}
    assert provider.clean_params({})["test"] is False


def test_operation_declarations_name_no_vendor():
    labels = {str(p.label).lower() for p in all_providers()} | {p.name for p in all_providers()}
    for operation in OPERATIONS.values():
        for param in operation.params:
            text = f"{param.label} {param.help_text}".lower()
            assert not any(label in text for label in labels), (operation.name, param.name)


@pytest.mark.parametrize("empty", [None, ""])
@pytest.mark.parametrize(
    ("operation", "provider", "params", "expected"),
    [
        # An optional parameter of this provider: its default (none for seed).
        (
            "uncrop",
            "clipdrop",
            {"left": 5, "seed": "?"},
            {"left": 5, "right": 0, "top": 0, "bottom": 0},
        ),
        # Another provider's parameter, empty: not given, not "Not a parameter of ...".
        (
            "uncrop",
            "piktid",
            {"left": 5, "seed": "?"},
            {"left": 5, "right": 0, "top": 0, "bottom": 0},
        ),
        ("crop", "pixlab", {**BOX, "left": "?", "mode": "?"}, BOX),
        (
            "remove_background",
            "clippingmagic",
            {"mode": "?", "test": "?", "seed": "?"},
            {"mode": "auto", "test": False},
        ),
        # An offset left empty is 0.
        (
            "uncrop",
            "clipdrop",
            {"left": 5, "right": "?"},
            {"left": 5, "right": 0, "top": 0, "bottom": 0},
        ),
    ],
)
def test_an_empty_optional_parameter_is_not_given(operation, provider, params, expected, empty):
    params = {key: empty if value == "?" else value for key, value in params.items()}
    assert get_provider(operation, provider).clean_params(params) == expected


@pytest.mark.parametrize("empty", [None, ""])
def test_an_empty_required_parameter_is_required(empty):
    with pytest.raises(ValidationError) as exc:
        get_provider("crop", "pixlab").clean_params({**BOX, "width": empty})
    assert exc.value.message_dict["width"] == ["This field is required."]


def test_every_length_has_a_declared_bound_for_every_provider():
    """Offsets, coordinates and sizes (``scales``), and every other number, are bounded both
    ways in each provider's declarations: forms, the API and its schema show the bounds."""
    for provider in all_providers():
        for param in provider.params():
            if param.type == "int":
                assert param.min is not None and param.max is not None, (provider, param.name)
                assert -100_000 <= param.min <= param.max <= 100_000, (provider, param.name)


def test_api_fields_and_forms_show_the_widest_bounds_and_each_providers():
    from django_imageops.api.serializers import param_fields
    from django_imageops.forms import UncropForm

    left = param_fields()["left"]
    assert (left.min_value, left.max_value) == (-100_000, 100_000)
    assert "Clipdrop: -2000 to 2000; PiktID: -100000 to 100000." in str(left.help_text)
    assert (param_fields()["seed"].min_value, param_fields()["seed"].max_value) == (0, 100_000)
    form = UncropForm(image_fields=[("image", "Image")])
    assert form.fields["left"].widget.attrs["max"] == 100_000
    assert "Clipdrop: -2000 to 2000" in str(form.fields["left"].help_text)
