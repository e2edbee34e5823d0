"""The ``Provider`` base: fitting an image from declared limits (each provider its own: an
uncrop provider without limits is not given PiktID's), parameters a provider does not take,
review params and the capability flags of the built-ins."""

from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured, ValidationError

from django_imageops.images import ImageInfo
from django_imageops.providers import Provider, Result, get_provider
from tests.conftest import make_image


class PlainUncrop(Provider):
    """An uncrop provider declaring no image limits (like a sixth vendor might)."""

    name = "plain"
    operation = "uncrop"
    formats = frozenset({"PNG"})

    def start(self, ctx, prepared):
        return Result(b"")


def info(width, height, size=1000):
    return ImageInfo(width, height, "PNG", "RGB", size=size)


def test_an_uncrop_provider_without_limits_is_not_fitted_to_another_vendors():
    # Before providers, any uncrop provider but Clipdrop got PiktID's 64..4096 rule.
    plain = PlainUncrop()
    params = {"left": 10, "right": 0, "top": 0, "bottom": 0}
    for size in ((40, 50), (5000, 20)):
        assert plain.fit_scale(info(*size)) == 1.0
        plain.check_image(params, info(*size))  # nothing refused
    prepared = plain.prepare(params, make_image(40, 50), "small.png")
    assert (prepared.width, prepared.height, prepared.scale) == (40, 50, 1.0)
    assert prepared.params == params and prepared.notes == []
    # PiktID's own rule is its own.
    piktid = get_provider("uncrop", "piktid")
    assert piktid.fit_scale(info(40, 50)) == 64 / 40
    with pytest.raises(ValidationError):
        piktid.check_image(params, info(5000, 20))


@pytest.mark.parametrize(
    ("operation", "name", "size", "scale"),
    [
        ("uncrop", "clipdrop", (4000, 3000), (10_000_000 / 12_000_000) ** 0.5 * 0.999),
        ("uncrop", "clipdrop", (3000, 3000), 1.0),
        ("reimagine", "clipdrop", (2048, 1024), 0.5),
        (
            "remove_background",
            "clippingmagic",
            (3000, 2000),
            (4_194_404 / 6_000_000) ** 0.5 * 0.999,
        ),
        ("uncrop", "piktid", (8192, 100), 0.5),
        ("uncrop", "piktid", (32, 100), 2.0),
        ("crop", "pixlab", (9000, 9000), 1.0),
    ],
)
def test_each_providers_declared_limits(operation, name, size, scale):
    assert get_provider(operation, name).fit_scale(info(*size)) == pytest.approx(scale)


def test_prepare_scales_the_pixel_parameters_and_says_so():
    clipdrop = get_provider("reimagine", "clipdrop")
    prepared = clipdrop.prepare({}, make_image(2048, 1024), "wide.png")
    assert (prepared.width, prepared.height) == (1024, 512)
    assert prepared.notes == [
        "resized from 2048x1024 to 1024x512 (x0.500) to fit Clipdrop's limits"
    ]
    piktid = get_provider("uncrop", "piktid")
    prepared = piktid.prepare({"left": 10, "right": 0, "top": 5, "bottom": 0}, make_image(32, 40))
    assert prepared.params == {"left": 20, "right": 0, "top": 10, "bottom": 0}
    assert prepared.notes[0].endswith("offsets scaled to match")


def test_parameters_a_provider_does_not_take_are_refused_by_name():
    with pytest.raises(ValidationError) as caught:
        get_provider("reimagine", "clipdrop").clean_params({"left": 3, "colour": "red"})
    assert set(caught.value.message_dict) == {"left", "colour"}


def test_capabilities_of_the_built_ins():
    flags = ("supports_seed", "is_async", "supports_review", "supports_balance")
    table = {
        (p.operation, p.name): tuple(getattr(p, f) for f in flags)
        for p in (
            get_provider("uncrop", "clipdrop"),
            get_provider("uncrop", "piktid"),
            get_provider("remove_background", "clippingmagic"),
            get_provider("crop", "pixlab"),
        )
    }
    assert table == {
        ("uncrop", "clipdrop"): (True, False, False, False),
        ("uncrop", "piktid"): (False, True, False, False),
        ("remove_background", "clippingmagic"): (False, False, True, True),
        ("crop", "pixlab"): (False, False, False, False),
    }
    clippingmagic = get_provider("remove_background", "clippingmagic")
    assert clippingmagic.is_review({"mode": "review"})
    assert not clippingmagic.is_review({"mode": "auto"})
    assert not get_provider("crop", "pixlab").is_review({"mode": "review"})
    assert get_provider("uncrop", "clipdrop").is_deterministic({"seed": 3})
    assert not get_provider("uncrop", "clipdrop").is_deterministic({"seed": None})


def test_an_unimplemented_step_says_so():
    with pytest.raises(NotImplementedError):
        get_provider("crop", "pixlab").poll(None)
    with pytest.raises(NotImplementedError):
        Provider().start(None, None)


def test_a_provider_without_a_client_class_says_so():
    with pytest.raises(ImproperlyConfigured, match="PlainUncrop has no client_class"):
        PlainUncrop().build_client(None)
