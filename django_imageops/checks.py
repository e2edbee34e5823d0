"""System checks for django_imageops (``manage.py check``).

- ``django_imageops.E001``: an enabled vendor (the vendor of an operation's default provider, or
  one given any credential) lacks a credential its providers need (``Provider.credentials``).
- ``django_imageops.E002``: ``IMAGEOPS["STORAGE"]`` is not an alias in ``STORAGES``.
- ``django_imageops.E003``: ``IMAGEOPS["TASK_BACKEND"]`` is not an alias in ``TASKS`` (or the
  backend cannot be loaded).
- ``django_imageops.E004``: ``IMAGEOPS["DEFAULT_PROVIDERS"]`` names a provider that cannot run
  the operation.
- ``django_imageops.E005``: a provider's choice setting (``Provider.option_choices``, e.g.
  ``UNCROP_OVERSIZE``) has an unknown value.
- ``django_imageops.E006``: an ``IMAGEOPS["PROVIDERS"]`` entry cannot be imported, or is not a
  ``Provider`` subclass with a name and a known operation.
- ``django_imageops.E007`` (``DerivedImageField.check``): a field names a provider that cannot
  run its operation, or params the provider refuses (an unknown name, a value out of range).

Nothing here names a vendor: the registry (``django_imageops.providers``) says what each needs.
"""

from __future__ import annotations

from django.conf import settings
from django.core.checks import Error, Tags, register
from django.core.exceptions import ValidationError

from . import providers
from .conf import get_settings
from .jobs import queue
from .operations import OPERATIONS


def enabled_vendors(conf: dict) -> set[str]:
    """Vendors the site uses: the vendor of each operation's default provider, and every
    vendor with at least one of its credentials set."""
    enabled = set()
    for operation in OPERATIONS:
        name = _default(operation)
        provider = providers.find_provider(operation, name) if name is not None else None
        if provider is not None:
            enabled.add(provider.vendor)
    for provider in providers.all_providers():
        vendor = conf["VENDORS"].get(provider.vendor) or {}
        if any(vendor.get(name) for name in provider.credentials):
            enabled.add(provider.vendor)
    return enabled


def _default(operation: str) -> str | None:
    try:
        return providers.default_provider(operation)
    except ValidationError:  # no provider runs it: nothing is enabled for it
        return None


@register(Tags.compatibility)
def check_credentials(app_configs=None, **kwargs):
    """E001 for a missing credential of an enabled vendor, E004 for a bad default provider,
    E005 for a bad choice setting of a provider."""
    conf = get_settings()
    errors = []
    for operation, name in (conf.get("DEFAULT_PROVIDERS") or {}).items():
        if operation in OPERATIONS and providers.find_provider(operation, name) is None:
            choices = ", ".join(p.name for p in providers.providers_for(operation))
            errors.append(
                Error(
                    f"IMAGEOPS['DEFAULT_PROVIDERS'][{operation!r}] is {name!r}, which "
                    f"cannot run {operation}.",
                    hint=f"Use one of {choices}.",
                    id="django_imageops.E004",
                )
            )
    for vendor in sorted(enabled_vendors(conf)):
        configured = providers.vendor_settings(vendor)
        needed = dict.fromkeys(
            name
            for provider in providers.all_providers()
            if provider.vendor == vendor
            for name in provider.credentials
        )
        missing = [name for name in needed if not configured.get(name)]
        if missing:
            errors.append(
                Error(
                    f"IMAGEOPS['VENDORS'][{vendor!r}] lacks {', '.join(missing)}.",
                    hint=(
                        f"Set {', '.join(missing)} for {vendor} (e.g. from the environment), "
                        "or point DEFAULT_PROVIDERS at another provider."
                    ),
                    id="django_imageops.E001",
                )
            )
    seen = set()
    for provider in providers.all_providers():
        for name, allowed in provider.option_choices.items():
            value = provider.option(name)
            if name in seen or value in allowed:
                continue
            seen.add(name)
            errors.append(
                Error(
                    f"IMAGEOPS[{name!r}] is {value!r}.",
                    hint=f"Use one of {', '.join(allowed)}.",
                    id="django_imageops.E005",
                )
            )
    return errors


@register(Tags.compatibility)
def check_providers(app_configs=None, **kwargs):
    """E006 for each ``IMAGEOPS["PROVIDERS"]`` entry the registry had to leave out."""
    return [
        Error(
            f"IMAGEOPS['PROVIDERS']: {reason}",
            hint=(
                "List dotted paths of django_imageops.providers.Provider subclasses that set "
                "name and operation."
            ),
            id="django_imageops.E006",
        )
        for reason in providers.load_errors()
    ]


@register(Tags.compatibility)
def check_storage(app_configs=None, **kwargs):
    """E002 when ``IMAGEOPS["STORAGE"]`` is not a ``STORAGES`` alias."""
    alias = get_settings()["STORAGE"]
    storages_setting = getattr(settings, "STORAGES", {}) or {}
    if alias not in storages_setting:
        return [
            Error(
                f"IMAGEOPS['STORAGE'] is {alias!r}, which is not an alias in STORAGES.",
                hint=(
                    f"Add STORAGES[{alias!r}] (e.g. storages.backends.s3.S3Storage) or set "
                    "IMAGEOPS['STORAGE'] to an existing alias."
                ),
                id="django_imageops.E002",
            )
        ]
    return []


@register(Tags.compatibility)
def check_tasks(app_configs=None, **kwargs):
    """E003 when the task backend alias is missing or cannot be loaded."""
    alias = get_settings()["TASK_BACKEND"]
    try:
        queue.task_backends[alias]
    except Exception as exc:
        return [
            Error(
                f"IMAGEOPS['TASK_BACKEND'] is {alias!r}, which is not a usable TASKS backend "
                f"({exc.__class__.__name__}: {exc}).",
                hint=(
                    "Define TASKS = {'default': {'BACKEND': ...}}: the ImmediateBackend runs jobs "
                    "inline; django_tasks_db.DatabaseBackend with `manage.py db_worker` runs "
                    "them in a worker."
                ),
                id="django_imageops.E003",
            )
        ]
    return []
