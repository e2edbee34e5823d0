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


# -- rendering and size checks (issue 14: reusable forms, bug 3) -------------------------------


def source(label, width=None, height=None, field="image"):
    from django_imageops.sources import SourceImage

    return SourceImage(None, field, f"{label}.png", f"/media/{label}.png", width, height, label)


def test_the_form_renders_itself_as_aligned_fieldsets_without_admin_templates():
    """``{{ form }}`` needs no admin context: a Wagtail view renders it the same way."""
    from django.template import Context, Template

    form = UncropForm(image_fields=FIELDS, sources=[source("Coffee", 512, 384)])
    html = Template("{{ form }}").render(Context({"form": form}))
    assert 'class="imageops-form imageops-form-uncrop"' in html
    assert html.count('<fieldset class="module aligned imageops-fieldset"') == 3
    assert '<h2 class="fieldset-heading">Offsets</h2>' in html
    # The provider's own parameter sits in that provider's fieldset, shown only for it.
    assert 'data-providers="clipdrop"' in html and 'name="seed"' in html
    assert 'data-width="512" data-height="384"' in html and "Coffee" in html
    assert "imageops-extend" in html  # the "extend to aspect ratio" presets
    assert "admin/" not in str(form.media)


def test_media_brings_cropper_only_for_crop():
    crop = str(CropForm(image_fields=FIELDS).media)
    cropper = crop.index("django_imageops/vendor/cropperjs/cropper.min.js")
    assert cropper < crop.index("django_imageops/forms/operation_form.js")  # loaded first
    assert "cropper" not in str(UncropForm(image_fields=FIELDS).media)


def test_fieldsets_group_the_operations_and_the_providers_parameters():
    sets = UncropForm(image_fields=FIELDS).fieldsets()
    assert [[f.name for f in fs.fields] for fs in sets] == [
        ["field", "provider"],
        ["left", "right", "top", "bottom"],
        ["seed"],
    ]
    assert [fs.providers for fs in sets] == [(), (), ("clipdrop",)]
    # One provider: its own parameters are a fieldset named after it, always shown.
    [only] = RemoveBackgroundForm(image_fields=FIELDS[:1]).fieldsets()
    assert [f.name for f in only.fields] == ["mode", "test"] and only.providers == ()


def test_values_failing_against_known_sizes_name_the_objects_under_the_field():
    sources = [source("Coffee", 512, 512), source("Tea", 2000, 2000), source("Unknown")]
    form = CropForm(
        {"imageops_post": "yes", "field": "image", "x": "400", "y": "400"}
        | {"width": "300", "height": "300"},
        image_fields=FIELDS,
        sources=sources,
    )
    assert not form.is_valid()
    assert form.errors["width"] == [
        "Coffee: x + width (700) is beyond the image's width of 512 pixels."
    ]
    assert form.errors["height"] == [
        "Coffee: y + height (700) is beyond the image's height of 512 pixels."
    ]


def test_sources_of_another_field_are_not_checked():
    form = bound(UncropForm, field="banner", provider="clipdrop", left="-600")
    form.sources = [source("Coffee", 512, 512, field="image")]
    assert form.is_valid(), form.errors


def test_initial_values_follow_initial_and_the_defaults():
    form = UncropForm(image_fields=FIELDS, initial={"provider": "piktid", "left": 192})
    assert form.initial_values() == (
        "piktid",
        {"left": 192, "right": 0, "top": 0, "bottom": 0},
    )
    assert form.chosen_field() == "image"
