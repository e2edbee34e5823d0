"""Operation forms of the admin actions: fields per operation, the field chooser, and the
operation's own rules (``clean_params``) surfacing as form field errors."""

from __future__ import annotations

import pytest

from django_imageops.forms import (
    CropForm,
    ReimagineForm,
    RemoveBackgroundForm,
    UncropForm,
    form_for_operation,
)

FIELDS = [("image", "Image"), ("banner", "Banner")]


def bound(form_class, fields=FIELDS, **data):
    return form_class({"imageops_post": "yes", "field": fields[0][0], **data}, image_fields=fields)


def test_form_for_each_operation():
    assert form_for_operation("uncrop") is UncropForm
    assert form_for_operation("crop") is CropForm
    assert form_for_operation("reimagine") is ReimagineForm
    assert form_for_operation("remove_background") is RemoveBackgroundForm
    with pytest.raises(KeyError):
        form_for_operation("sharpen")


def test_field_chooser_only_with_several_image_fields():
    assert UncropForm(image_fields=FIELDS)["field"].is_hidden is False
    assert UncropForm(image_fields=FIELDS[:1])["field"].is_hidden is True


def test_provider_choice_only_when_the_operation_has_several():
    assert "provider" in UncropForm(image_fields=FIELDS).fields
    assert "provider" not in ReimagineForm(image_fields=FIELDS).fields
    assert "provider" not in CropForm(image_fields=FIELDS).fields


def test_uncrop_valid_params_and_defaults():
    form = bound(UncropForm, provider="clipdrop", left="100", top="-20", seed="7")
    assert form.is_valid(), form.errors
    kwargs = form.job_kwargs()
    assert kwargs["field"] == "image"
    assert kwargs["provider"] == "clipdrop"
    assert kwargs["params"]["left"] == 100
    assert kwargs["params"]["top"] == -20
    assert kwargs["params"]["right"] == 0 and kwargs["params"]["bottom"] == 0
    assert kwargs["params"]["seed"] == 7


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"left": "2001"}, "left"),  # Clipdrop allows at most 2000 per side
        ({"bottom": "-99999"}, "bottom"),
        ({"seed": "100001"}, "seed"),
        ({"right": "ten"}, "right"),  # not a number: the form field says so
    ],
)
def test_uncrop_invalid_params_are_field_errors(data, field):
    form = bound(UncropForm, provider="clipdrop", **data)
    assert not form.is_valid()
    assert field in form.errors
    assert not form.non_field_errors()


def test_unknown_image_field_is_refused():
    form = bound(ReimagineForm, field="title")
    assert not form.is_valid()
    assert "field" in form.errors


def test_unknown_provider_is_refused():
    form = bound(UncropForm, provider="pixlab")
    assert not form.is_valid()
    assert "provider" in form.errors


def test_crop_needs_the_box():
    form = bound(CropForm, x="0", y="0")
    assert not form.is_valid()
    assert "width" in form.errors and "height" in form.errors
    form = bound(CropForm, x="-1", y="0", width="10", height="10")
    assert not form.is_valid()
    assert "x" in form.errors
    form = bound(CropForm, x="1", y="2", width="10", height="20")
    assert form.is_valid(), form.errors
    assert form.job_kwargs()["params"] == {"x": 1, "y": 2, "width": 10, "height": 20}
    assert form.job_kwargs()["provider"] == "pixlab"


def test_remove_background_modes_and_test_flag(settings):
    form = bound(RemoveBackgroundForm, mode="review", test="on")
    assert form.is_valid(), form.errors
    assert form.job_kwargs()["params"] == {"mode": "review", "test": True}
    form = bound(RemoveBackgroundForm, mode="auto")
    assert form.is_valid()
    assert form.job_kwargs()["params"] == {"mode": "auto", "test": False}
    form = bound(RemoveBackgroundForm, mode="magic")
    assert not form.is_valid()
    assert "mode" in form.errors


def test_remove_background_test_mode_initial_follows_the_setting(settings):
    settings.IMAGEOPS = {**settings.IMAGEOPS, "TEST_MODE": True}
    assert RemoveBackgroundForm(image_fields=FIELDS)["test"].initial is True
    settings.IMAGEOPS = {**settings.IMAGEOPS, "TEST_MODE": False}
    assert RemoveBackgroundForm(image_fields=FIELDS)["test"].initial is False


def test_an_empty_optional_field_is_not_an_error():
    # The seed input is on the uncrop form for Clipdrop; left empty with PiktID it is not given.
    form = bound(UncropForm, provider="piktid", left="100", seed="", right="")
    assert form.is_valid(), form.errors
    assert form.job_kwargs()["params"] == {"left": 100, "right": 0, "top": 0, "bottom": 0}
