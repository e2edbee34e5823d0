"""System checks for django_imageops (``manage.py check``).

- ``django_imageops.E001``: an enabled provider (one named in ``IMAGEOPS["DEFAULT_PROVIDERS"]``
  or given credentials) lacks a credential.
- ``django_imageops.E002``: ``IMAGEOPS["STORAGE"]`` is not an alias in ``STORAGES``.
- ``django_imageops.E003``: ``IMAGEOPS["TASK_BACKEND"]`` is not an alias in ``TASKS`` (or the
  backend cannot be loaded).
- ``django_imageops.E004``: ``IMAGEOPS["DEFAULT_PROVIDERS"]`` names a provider that cannot run
  the operation.
- ``django_imageops.E005``: an ``IMAGEOPS`` choice setting has an unknown value.
"""

from __future__ import annotations

from django.conf import settings
from django.core.checks import Error, Tags, register

from .conf import OPERATION_PROVIDERS, get_settings

#: provider -> the credential settings it needs.
REQUIRED_CREDENTIALS = {
    "clipdrop": ("API_KEY",),
    "clippingmagic": ("API_ID", "API_KEY"),
    "piktid": ("EMAIL", "PASSWORD"),
    "pixlab": ("API_KEY",),
}


def enabled_providers(conf: dict) -> set[str]:
    """Providers the site uses: the default provider of each operation, and every provider
    with at least one credential set."""
    enabled = set(conf["DEFAULT_PROVIDERS"].values())
    for provider, names in REQUIRED_CREDENTIALS.items():
        vendor = conf["VENDORS"].get(provider) or {}
        if any(vendor.get(name) for name in names):
            enabled.add(provider)
    return enabled


@register(Tags.compatibility)
def check_credentials(app_configs=None, **kwargs):
    """E001 for a missing credential of an enabled provider, E004 for a bad default provider."""
    conf = get_settings()
    errors = []
    for operation, provider in conf["DEFAULT_PROVIDERS"].items():
        if operation in OPERATION_PROVIDERS and provider not in OPERATION_PROVIDERS[operation]:
            errors.append(
                Error(
                    f"IMAGEOPS['DEFAULT_PROVIDERS'][{operation!r}] is {provider!r}, which "
                    f"cannot run {operation}.",
                    hint=f"Use one of {', '.join(OPERATION_PROVIDERS[operation])}.",
                    id="django_imageops.E004",
                )
            )
    for provider in sorted(enabled_providers(conf)):
        vendor = conf["VENDORS"].get(provider) or {}
        missing = [name for name in REQUIRED_CREDENTIALS.get(provider, ()) if not vendor.get(name)]
        if missing:
            errors.append(
                Error(
                    f"IMAGEOPS['VENDORS'][{provider!r}] lacks {', '.join(missing)}.",
                    hint=(
                        f"Set {', '.join(missing)} for {provider} (e.g. from the environment), "
                        "or point DEFAULT_PROVIDERS at another provider."
                    ),
                    id="django_imageops.E001",
                )
            )
    for name, allowed in (
        ("UNCROP_OVERSIZE", ("downscale", "refuse")),
        ("PIKTID_OUT_OF_RANGE", ("fit", "refuse")),
    ):
        if conf.get(name) not in allowed:
            errors.append(
                Error(
                    f"IMAGEOPS[{name!r}] is {conf.get(name)!r}.",
                    hint=f"Use one of {', '.join(allowed)}.",
                    id="django_imageops.E005",
                )
            )
    return errors


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
        from . import tasks

        tasks.task_backends[alias]
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
