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
- ``django_imageops.E008``: a vendor's ``PRICE`` is not a number of credits (or a dict of them
  by operation).
- ``django_imageops.E009``: a vendor's budgets make no sense: not a number of credits, an
  unknown ``*_BUDGET`` key, a cap that can never be reached (a daily cap over the monthly one,
  a per-user cap over the vendor's), or one below the price of a single job (no job could run).
- ``django_imageops.E010``: a vendor's ``LOW_BALANCE`` is not a number of credits, or its
  ``READ_TIMEOUT`` is not a positive number of seconds.
- ``django_imageops.E007`` (``DerivedImageField.check``): a field names a provider that cannot
  run its operation, or params the provider refuses (an unknown name, a value out of range).
- ``django_imageops.W001``: the task backend is the ``ImmediateBackend`` while ``DEBUG`` is off:
  jobs run inside requests.
- ``django_imageops.W002``: ``settings.LOGIN_URL`` is the admin's login page, which lets only
  staff in, while the app's editor pages are installed: a job's creator who is not staff is
  sent there and cannot log in.

Nothing here names a vendor: the registry (``django_imageops.providers``) says what each needs.
"""

from __future__ import annotations

from django.conf import settings
from django.core.checks import Error, Tags, Warning, register
from django.core.exceptions import ValidationError
from django.shortcuts import resolve_url
from django.urls import NoReverseMatch, reverse

from . import providers
from .amounts import parse_credits
from .conf import get_settings
from .jobs import queue
from .jobs.budgets import setting_errors
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
def check_costs(app_configs=None, **kwargs):
    """E008 for a bad ``PRICE``, E009 for nonsense budgets, E010 for a bad ``LOW_BALANCE`` or
    ``READ_TIMEOUT``, per vendor of a registered provider."""
    errors = []
    vendors: dict[str, list] = {}
    for provider in providers.all_providers():
        vendors.setdefault(provider.vendor, []).append(provider)
    for vendor, owners in vendors.items():
        settings = providers.vendor_settings(vendor)
        key = f"IMAGEOPS['VENDORS'][{vendor!r}]"
        prices = []
        for provider in owners:
            try:
                prices.append(provider.price({}, settings))
            except ValueError as exc:
                errors.append(
                    Error(
                        f"{key}['PRICE']: {exc}.",
                        hint="Credits per job: a number, or {operation: number}.",
                        id="django_imageops.E008",
                    )
                )
                break
        cheapest = min((price for price in prices if price > 0), default=None)
        errors.extend(
            Error(
                f"{key}: {problem}",
                hint="Budgets are credits (None: no cap); see jobs.budgets.",
                id="django_imageops.E009",
            )
            for problem in setting_errors(vendor, settings, cheapest)
        )
        if settings.get("LOW_BALANCE") is not None:
            try:
                parse_credits(settings["LOW_BALANCE"], "LOW_BALANCE")
            except ValueError as exc:
                errors.append(Error(f"{key}: {exc}.", id="django_imageops.E010"))
        read = settings.get("READ_TIMEOUT")
        if read is not None and (
            isinstance(read, bool) or not isinstance(read, (int, float)) or read <= 0
        ):
            errors.append(
                Error(
                    f"{key}['READ_TIMEOUT'] is {read!r}.",
                    hint="Seconds to wait for the vendor's answer: a number > 0.",
                    id="django_imageops.E010",
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
                    f"Add STORAGES[{alias!r}] (e.g. django_imageops.storage.S3Storage) or set "
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


def _immediate_backend_classes() -> tuple[type, ...]:
    """The ImmediateBackend classes importable here (``django.tasks`` and the backport)."""
    classes = []
    for module in ("django.tasks.backends.immediate", "django_tasks.backends.immediate"):
        try:
            classes.append(__import__(module, fromlist=["ImmediateBackend"]).ImmediateBackend)
        except ImportError:
            continue
    return tuple(classes)


@register(Tags.compatibility)
def check_inline_tasks(app_configs=None, **kwargs):
    """W001 when jobs would run inside requests: the ``ImmediateBackend`` with ``DEBUG`` off."""
    if settings.DEBUG:
        return []
    alias = get_settings()["TASK_BACKEND"]
    try:
        backend = queue.task_backends[alias]
    except Exception:
        return []  # E003 says so
    if not isinstance(backend, _immediate_backend_classes()):
        return []
    return [
        Warning(
            f"TASKS[{alias!r}] is the ImmediateBackend and DEBUG is off: jobs run inside requests.",
            hint=(
                "Admin actions, the REST API and the ClippingMagic editor callback then wait for "
                "the vendor. Run jobs on workers: Celery through django-tasks-fennel, or "
                "django_tasks_db.DatabaseBackend with `manage.py db_worker` (documentation: "
                "'Run jobs on workers')."
            ),
            id="django_imageops.W001",
        )
    ]


@register(Tags.urls)
def check_login_url(app_configs=None, **kwargs):
    """W002 when ``LOGIN_URL`` is the admin's login page while the editor pages are installed
    (``django_imageops.urls``): the admin refuses non-staff accounts, so a creator who is not
    staff could never reach a job's editor page."""
    try:
        reverse(
            "django_imageops:clippingmagic-editor", args=["00000000-0000-0000-0000-000000000000"]
        )
        admin_login = reverse("admin:login")
    except NoReverseMatch:
        return []
    if str(resolve_url(settings.LOGIN_URL)).split("?", 1)[0] != admin_login:
        return []
    return [
        Warning(
            "LOGIN_URL is the admin's login page, which lets only staff in: a job's creator "
            "who is not staff cannot log in to open its editor page.",
            hint="Point LOGIN_URL at a login page of your site (e.g. django.contrib.auth's "
            "LoginView at /accounts/login/).",
            id="django_imageops.W002",
        )
    ]
