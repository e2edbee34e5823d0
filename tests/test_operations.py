"""Operations (``operations``): the vendor-neutral declarations, ``Param.clean``, and the rules
that hold whatever the vendor."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from django_imageops.images import ImageInfo
from django_imageops.models import ImageJob
from django_imageops.operations import (
    BOOL,
    CHOICE,
    INT,
    OPERATIONS,
    Param,
    clean_declared,
    get_operation,
    param_union,
    replace_params,
)


def messages(param, value):
    with pytest.raises(ValidationError) as caught:
        param.clean(value)
    return " ".join(caught.value.messages)


def test_the_four_operations_are_imagejobs_vocabulary():
    assert list(OPERATIONS) == ImageJob.Operation.values
    assert [str(op.label) for op in OPERATIONS.values()] == [
        str(label) for label in ImageJob.Operation.labels
    ]
    with pytest.raises(ValidationError) as caught:
        get_operation("blur")
    assert "Unknown operation blur" in caught.value.message_dict["operation"][0]


def test_int_params():
    offset = get_operation("uncrop").params[0]
    assert offset.clean("12") == 12 and offset.clean(None) == 0 and offset.clean("") == 0
    assert "whole number of pixels" in messages(offset, "ten")
    assert "whole number of pixels" in messages(offset, 1.5)
    assert "whole number of pixels" in messages(offset, True)
    narrowed = offset.replace(min=-5, max=5)
    assert "less than or equal to 5" in messages(narrowed, 6)
    assert "greater than or equal to -5" in messages(narrowed, -6)
    seed = Param("seed", INT, "Seed")
    assert seed.clean(None) is None
    assert "whole number." in messages(seed, "x")
    assert "required" in messages(Param("x", INT, "X", required=True), None)


def test_bool_and_choice_params():
    flag = Param("test", BOOL, "Test", default=lambda: True)
    assert flag.clean(None) is True and flag.clean("on") is True and flag.clean("no") is False
    assert flag.get_initial() is True
    mode = Param("mode", CHOICE, "Mode", choices=(("auto", "A"), ("review", "R")), default="auto")
    assert mode.clean("") == "auto" and mode.clean("review") == "review"
    assert messages(mode, "manual") == "Choose auto or review."


def test_clean_declared_collects_errors_by_name():
    cleaned, errors = clean_declared(get_operation("crop").params, {"x": -1, "y": "a", "width": 3})
    assert cleaned == {"width": 3}
    assert set(errors) == {"x", "y", "height"}


def test_replace_and_union():
    params = replace_params(get_operation("crop").params, x={"min": 5})
    assert params[0].min == 5 and get_operation("crop").params[0].min == 0
    union = param_union([get_operation("crop").params, (Param("x", INT, "X again"),)])
    assert list(union) == ["x", "y", "width", "height"]
    with pytest.raises(ValueError):
        param_union([get_operation("crop").params, (Param("x", BOOL, "X"),)])


def test_the_rules_that_hold_for_every_vendor():
    uncrop, crop = get_operation("uncrop"), get_operation("crop")
    assert (
        "at least one of"
        in uncrop.validate({"left": 0, "right": 0, "top": 0, "bottom": 0})["left"][0]
    )
    image = ImageInfo(64, 48, "PNG", "RGB")
    with pytest.raises(ValidationError) as caught:
        uncrop.check_image({"left": -40, "right": -30, "top": 0, "bottom": 0}, image)
    assert "whole 64-pixel width" in caught.value.message_dict["left"][0]
    assert uncrop.result_size({"left": 10, "right": 0, "top": 0, "bottom": -8}, image, 0.5) == (
        37,
        20,
    )
    with pytest.raises(ValidationError) as caught:
        crop.check_image({"x": 60, "y": 0, "width": 10, "height": 10}, image)
    assert "width of 64 pixels" in caught.value.message_dict["width"][0]
    assert crop.scale_params({"x": 10, "y": 3, "width": 21, "height": 8}, 0.5) == {
        "x": 5,
        "y": 2,
        "width": 10,
        "height": 4,
    }
