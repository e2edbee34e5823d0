"""The provider registry (``django_imageops.providers``): the built-ins, a site's own classes
from ``IMAGEOPS["PROVIDERS"]`` (added, or replacing a built-in in its place), clear errors, and
a reload when the setting changes."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.test import override_settings

from django_imageops import providers
from django_imageops.providers.clipdrop import ClipdropUncrop
from django_imageops.vendors.clipdrop import ClipdropClient
from django_imageops.vendors.clippingmagic import ClippingMagicClient
from django_imageops.vendors.piktid import PiktidClient
from django_imageops.vendors.pixlab import PixlabClient
from tests.providers.echo import ECHO


class FasterClipdrop(ClipdropUncrop):
    """A site's replacement of a built-in: the same (operation, name)."""

    label = "Clipdrop (ours)"


class Nameless(providers.Provider):
    operation = "crop"


class NotAProvider:
    pass


def imageops(settings, **changes):
    return override_settings(IMAGEOPS={**settings.IMAGEOPS, **changes})


def test_the_built_in_providers_in_order():
    pairs = [(p.operation, p.name) for p in providers.all_providers()]
    assert pairs == [
        ("uncrop", "clipdrop"),
        ("uncrop", "piktid"),
        ("reimagine", "clipdrop"),
        ("remove_background", "clippingmagic"),
        ("crop", "pixlab"),
    ]
    clients = {p.name: p.client_class for p in providers.all_providers()}
    assert clients == {
        "clipdrop": ClipdropClient,
        "piktid": PiktidClient,
        "clippingmagic": ClippingMagicClient,
        "pixlab": PixlabClient,
    }
    assert [p.name for p in providers.providers_for("uncrop")] == ["clipdrop", "piktid"]
    assert [p.operation for p in providers.providers_named("clipdrop")] == ["uncrop", "reimagine"]
    assert providers.provider_choices() == [
        ("clipdrop", "Clipdrop"),
        ("piktid", "PiktID"),
        ("clippingmagic", "ClippingMagic"),
        ("pixlab", "PixLab"),
    ]
    assert providers.load_errors() == []


def test_defaults_the_first_registered_or_the_setting(settings):
    assert providers.default_provider("uncrop") == "clipdrop"
    assert providers.get_provider("uncrop").name == "clipdrop"
    with imageops(settings, DEFAULT_PROVIDERS={"uncrop": "piktid"}):
        assert providers.default_provider("uncrop") == "piktid"
        assert providers.get_provider("uncrop").name == "piktid"
        assert providers.default_provider("crop") == "pixlab"


def test_unknown_names_are_clear_validation_errors():
    with pytest.raises(ValidationError) as caught:
        providers.get_provider("crop", "clipdrop")
    message = caught.value.message_dict["provider"][0]
    assert "clipdrop cannot run crop (choose from pixlab)" in message
    with pytest.raises(ValidationError) as caught:
        providers.get_provider("sharpen", "clipdrop")
    assert "operation" in caught.value.message_dict
    assert providers.find_provider("crop", "clipdrop") is None


def test_a_site_adds_providers_and_the_registry_reloads(settings):
    with imageops(settings, PROVIDERS=[ECHO]):
        assert providers.find_provider("reimagine", "echo") is not None
        assert providers.vendor_choices()[-1][0] == "echo"
    assert providers.find_provider("reimagine", "echo") is None


def test_the_same_operation_and_name_replace_the_built_in_in_its_place(settings):
    path = f"{__name__}.FasterClipdrop"
    with imageops(settings, PROVIDERS=[path]):
        [first, second] = providers.providers_for("uncrop")
        assert isinstance(first, FasterClipdrop) and second.name == "piktid"
        assert providers.default_provider("uncrop") == "clipdrop"
        assert len(providers.all_providers()) == 5


def test_bad_entries_are_left_out_and_said(settings):
    bad = ["no.such.Module", f"{__name__}.NotAProvider", f"{__name__}.Nameless", ECHO]
    with imageops(settings, PROVIDERS=bad):
        errors = providers.load_errors()
        assert len(errors) == 3
        assert "'no.such.Module' cannot be imported" in errors[0]
        assert "is not a subclass" in errors[1]
        assert "needs a name" in errors[2]
        # The good entry still loads; a missing provider's error points at the check.
        assert providers.find_provider("reimagine", "echo") is not None
        with pytest.raises(ValidationError) as caught:
            providers.get_provider("crop", "nameless")
        assert "manage.py check" in caught.value.message_dict["provider"][0]
    with imageops(settings, PROVIDERS="tests.providers.echo.EchoReimagine"):
        assert "must be a list" in providers.load_errors()[0]


def test_vendor_settings_merge_the_site_over_the_providers_defaults(settings):
    clipdrop = providers.vendor_settings("clipdrop")
    assert clipdrop["REQUESTS_PER_MINUTE"] == 60  # the provider's default
    assert clipdrop["API_KEY"] == "sandbox"  # the site's
    assert clipdrop["BASE_URL"] == f"{settings.SANDBOX_URL}/clipdrop"
    with imageops(settings, VENDORS={"pixlab": {"API_KEY": "k"}}):
        assert providers.vendor_settings("pixlab") == {
            "API_KEY": "k",
            "BASE_URL": "https://api.pixlab.io",  # the real vendor by default
            "READ_TIMEOUT": 60.0,
        }
        assert providers.vendor_settings("clipdrop")["BASE_URL"] == "https://clipdrop-api.co"
        assert providers.credential("pixlab") == "k"
    with pytest.raises(KeyError):
        providers.vendor_settings("nobody")


def test_credentials_are_the_accounts_limits_are_kept_per():
    assert providers.credential("clipdrop") == "sandbox"  # API key
    assert providers.credential("clippingmagic") == "sandbox"  # API key, not the public Id
    assert providers.credential("piktid") == "sandbox@example.com"  # the account e-mail
    assert providers.credential("nobody") == ""
