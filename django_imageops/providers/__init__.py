"""Providers: one adapter per operation x vendor (``base.Provider``), and their registry.

The registry holds the built-in providers (``BUILTIN_PROVIDERS``) plus the site's own, named
by dotted path in ``IMAGEOPS["PROVIDERS"]``::

    IMAGEOPS = {
        "PROVIDERS": ["mysite.imaging.OutpaintUncrop"],  # added to the built-ins
        "DEFAULT_PROVIDERS": {"uncrop": "outpaint"},  # else the first registered one
        "VENDORS": {"outpaint": {"API_KEY": env("OUTPAINT_API_KEY")}},
    }

A class with the same (operation, name) as a built-in replaces it (in the built-in's place).
Classes are loaded with ``import_string`` on first use, kept, and loaded again when the
``IMAGEOPS`` setting changes (``setting_changed``, e.g. ``override_settings`` in tests). An
entry that cannot be imported, or is not a ``Provider`` subclass with a ``name`` and a known
``operation``, is left out and reported by check ``django_imageops.E006``.

This module names no vendor; the vendors are the modules next to it.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.utils.module_loading import import_string
from django.utils.translation import gettext_lazy as _

from ..conf import get_settings
from ..operations import OPERATIONS, Param, bounds_text, get_operation, widest_bounds
from .base import (
    Failure,
    JobContext,
    PollLater,
    Prepared,
    Provider,
    Result,
    StartAgain,
    VendorContext,
    WaitForEditor,
)

__all__ = [
    "BUILTIN_PROVIDERS",
    "Failure",
    "JobContext",
    "PollLater",
    "Prepared",
    "Provider",
    "Result",
    "StartAgain",
    "VendorContext",
    "WaitForEditor",
    "all_providers",
    "credential",
    "default_provider",
    "find_provider",
    "get_provider",
    "load_errors",
    "param_bounds",
    "provider_choices",
    "providers_for",
    "providers_named",
    "reset",
    "vendor_choices",
    "vendor_secrets",
    "vendor_settings",
]

#: The providers shipped with the app, in order: the first of an operation is its default.
BUILTIN_PROVIDERS = (
    "django_imageops.providers.clipdrop.ClipdropUncrop",
    "django_imageops.providers.piktid.PiktidUncrop",
    "django_imageops.providers.clipdrop.ClipdropReimagine",
    "django_imageops.providers.clippingmagic.ClippingMagicRemoveBackground",
    "django_imageops.providers.pixlab.PixlabCrop",
)


@dataclass
class _Registry:
    providers: dict[tuple[str, str], Provider]
    errors: list[str]
    vendor_settings: dict[str, dict[str, Any]] = field(default_factory=dict)
    vendor_secrets: dict[str, tuple[str, ...]] = field(default_factory=dict)


_registry: _Registry | None = None


def _load() -> _Registry:
    providers: dict[tuple[str, str], Provider] = {}
    errors: list[str] = []
    extra = get_settings().get("PROVIDERS") or []
    if isinstance(extra, str):
        errors.append("IMAGEOPS['PROVIDERS'] must be a list of dotted paths, not a string.")
        extra = []
    for path in (*BUILTIN_PROVIDERS, *extra):
        try:
            cls = import_string(path) if isinstance(path, str) else path
        except ImportError as exc:
            errors.append(f"{path!r} cannot be imported ({exc}).")
            continue
        if not (isinstance(cls, type) and issubclass(cls, Provider)):
            errors.append(f"{path!r} is not a subclass of django_imageops.providers.Provider.")
            continue
        if not cls.name or cls.operation not in OPERATIONS:
            errors.append(
                f"{path!r} needs a name and one of the operations {', '.join(OPERATIONS)} "
                f"(it has name={cls.name!r}, operation={cls.operation!r})."
            )
            continue
        providers[(cls.operation, cls.name)] = cls()
    return _Registry(providers, errors)


def _get() -> _Registry:
    global _registry
    if _registry is None:
        _registry = _load()
    return _registry


def reset() -> None:
    """Forget the loaded providers and merged vendor settings (done when ``IMAGEOPS`` changes)."""
    global _registry
    _registry = None


@receiver(setting_changed)
def _reset_on_change(*, setting, **kwargs):
    if setting == "IMAGEOPS":
        reset()


def load_errors() -> list[str]:
    """Why entries of ``IMAGEOPS["PROVIDERS"]`` were left out (check E006), one line each."""
    return list(_get().errors)


def all_providers() -> list[Provider]:
    """Every registered provider, in registration order (built-ins first)."""
    return list(_get().providers.values())


def providers_for(operation: str) -> list[Provider]:
    """The providers that run ``operation``, in registration order (the first is the default
    unless ``IMAGEOPS["DEFAULT_PROVIDERS"]`` names another)."""
    return [p for p in _get().providers.values() if p.operation == operation]


def providers_named(name: str) -> list[Provider]:
    """The providers stored as ``name`` in ``ImageJob.provider`` (one per operation)."""
    return [p for p in _get().providers.values() if p.name == name]


def find_provider(operation: str, name: str) -> Provider | None:
    """The provider running ``operation`` as ``name``, or None (for display code: a job whose
    provider is no longer registered still renders)."""
    return _get().providers.get((operation, name))


def get_provider(operation: str, name: str | None = None) -> Provider:
    """The provider running ``operation`` as ``name`` (None: the operation's default).

    Raises:
        ValidationError: ``{"operation": [...]}`` for an unknown operation, ``{"provider":
            [...]}`` for a provider that does not run it (naming the ones that do).
    """
    get_operation(operation)
    if name is None:
        name = default_provider(operation)
    provider = find_provider(operation, name)
    if provider is None:
        choices = ", ".join(p.name for p in providers_for(operation)) or "-"
        message = _("%(provider)s cannot run %(operation)s (choose from %(choices)s).") % {
            "provider": name,
            "operation": operation,
            "choices": choices,
        }
        if _get().errors:
            left_out = _("Some IMAGEOPS['PROVIDERS'] entries were left out: see manage.py check.")
            message = f"{message} {left_out}"
        raise ValidationError({"provider": message})
    return provider


def default_provider(operation: str) -> str:
    """The name of the provider that runs ``operation`` when a job names none:
    ``IMAGEOPS["DEFAULT_PROVIDERS"][operation]``, else the first registered one.

    Raises:
        ValidationError: ``{"operation": [...]}`` for an unknown operation or one no provider
            runs.
    """
    get_operation(operation)
    configured = (get_settings().get("DEFAULT_PROVIDERS") or {}).get(operation)
    if configured:
        return configured
    registered = providers_for(operation)
    if not registered:
        raise ValidationError(
            {"operation": _("No provider runs %(operation)s.") % {"operation": operation}}
        )
    return registered[0].name


def provider_choices() -> list[tuple[str, Any]]:
    """``[(name, label), ...]`` of the registered providers, each name once, for
    ``ImageJob.provider`` (``choices=provider_choices``: a new provider needs no migration)."""
    choices: dict[str, Any] = {}
    for provider in _get().providers.values():
        choices.setdefault(provider.name, provider.label)
    return list(choices.items())


def vendor_choices() -> list[tuple[str, Any]]:
    """``[(vendor, label), ...]`` of the registered providers' vendors, each once, for
    ``VendorCredits.vendor`` and ``VendorToken.vendor``."""
    choices: dict[str, Any] = {}
    for provider in _get().providers.values():
        choices.setdefault(provider.vendor, provider.label)
    return list(choices.items())


def vendor_settings(vendor: str) -> dict[str, Any]:
    """The settings of one vendor: the ``default_settings`` of its providers, with the site's
    ``IMAGEOPS["VENDORS"][vendor]`` merged over them key by key (a site names only what it
    changes). The dict is shared: do not modify it.

    Raises:
        KeyError: no registered provider uses ``vendor`` and the site does not configure it.
    """
    registry = _get()
    merged = registry.vendor_settings.get(vendor)
    if merged is None:
        site = (get_settings().get("VENDORS") or {}).get(vendor)
        owners = [p for p in registry.providers.values() if p.vendor == vendor]
        if site is None and not owners:
            raise KeyError(vendor)
        merged = {}
        for provider in owners:
            for key, value in provider.default_settings.items():
                merged.setdefault(key, copy.deepcopy(value))
        merged.update(site or {})
        registry.vendor_settings[vendor] = merged
    return merged


def vendor_secrets(vendor: str) -> tuple[str, ...]:
    """The values of ``vendor``'s secret settings (``Provider.secrets`` of each of its
    providers): API keys and passwords, never to be stored or shown (``redaction``). Empty for
    a vendor no registered provider uses."""
    registry = _get()
    secrets = registry.vendor_secrets.get(vendor)
    if secrets is None:
        owners = [p for p in registry.providers.values() if p.vendor == vendor]
        found: dict[str, None] = {}
        for provider in owners:
            found.update(dict.fromkeys(provider.secrets(vendor_settings(vendor))))
        secrets = registry.vendor_secrets[vendor] = tuple(found)
    return secrets


def credential(vendor: str) -> str:
    """The account of ``vendor`` that rate limits are kept per (its API key, API Id or
    account e-mail: ``Provider.account``); "" when unknown."""
    owners = [p for p in _get().providers.values() if p.vendor == vendor]
    if not owners:
        return ""
    try:
        return owners[0].account(vendor_settings(vendor))
    except KeyError:
        return ""


def param_bounds(name: str, providers: list[Provider]) -> tuple[int | None, int | None, str]:
    """The bounds of parameter ``name`` over the ``providers`` that declare it, for a form or
    API field serving them all: ``(min, max, note)``, the widest bounds (``None``: unbounded
    for one of them) and, when the providers' bounds differ, a note giving each one's
    (``"Clipdrop: -2000 to 2000; PiktID: -100000 to 100000."``; ``""`` when they agree)."""
    declared: list[tuple[Provider, Param]] = [
        (provider, param)
        for provider in providers
        for param in provider.params()
        if param.name == name
    ]
    low, high = widest_bounds(param for _provider, param in declared)
    texts = {str(provider.label): bounds_text(param) for provider, param in declared}
    note = ""
    if len(set(texts.values())) > 1:
        note = "; ".join(f"{label}: {text or '-'}" for label, text in texts.items()) + "."
    return low, high, note
