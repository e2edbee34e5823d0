"""System checks: missing credentials, unknown storage alias, no task backend, a login page that
refuses non-staff creators."""

from __future__ import annotations

import copy

import django
import pytest
from django.core import checks

from django_imageops.checks import (
    check_credentials,
    check_inline_tasks,
    check_login_url,
    check_providers,
    check_storage,
    check_tasks,
)
from tests.providers.echo import EchoReimagine


def ids(messages):
    return sorted(m.id for m in messages)


@pytest.mark.django_db
def test_the_test_settings_pass():
    # Django 6.1's JSONField check asks the database whether SQLite has JSON1 (a query):
    # without database access this passed only when another test's connection had cached it.
    assert check_credentials() + check_providers() + check_storage() + check_tasks() == []
    assert check_login_url() == []
    all_ids = [
        m.id
        for m in checks.run_checks()
        if m.id.startswith("django_imageops") and not m.is_silenced()
    ]
    assert all_ids == []


def test_missing_credentials_of_an_enabled_provider(settings):
    conf = copy.deepcopy(settings.IMAGEOPS)
    conf["VENDORS"]["clipdrop"]["API_KEY"] = ""  # default provider of uncrop and reimagine
    conf["VENDORS"]["clippingmagic"]["API_KEY"] = ""  # API Id set: enabled, key missing
    settings.IMAGEOPS = conf
    messages = check_credentials()
    assert ids(messages) == ["django_imageops.E001", "django_imageops.E001"]
    text = " ".join(m.msg for m in messages)
    assert "'clipdrop'" in text and "API_KEY" in text and "'clippingmagic'" in text


def test_a_provider_without_any_credential_and_not_default_is_not_enabled(settings):
    conf = copy.deepcopy(settings.IMAGEOPS)
    conf["VENDORS"]["piktid"] = {"EMAIL": "", "PASSWORD": ""}
    settings.IMAGEOPS = conf
    assert check_credentials() == []


def test_bad_default_provider_and_choice_settings(settings):
    settings.IMAGEOPS = {
        **settings.IMAGEOPS,
        "DEFAULT_PROVIDERS": {"crop": "clipdrop"},
        "UNCROP_OVERSIZE": "shrink",
    }
    assert ids(check_credentials()) == ["django_imageops.E004", "django_imageops.E005"]


def test_unknown_storage_alias(settings):
    settings.IMAGEOPS = {**settings.IMAGEOPS, "STORAGE": "results"}
    [message] = check_storage()
    assert message.id == "django_imageops.E002"
    assert "'results'" in message.msg


def test_no_task_backend(settings):
    settings.IMAGEOPS = {**settings.IMAGEOPS, "TASK_BACKEND": "workers"}
    [message] = check_tasks()
    assert message.id == "django_imageops.E003"


def test_misconfigured_task_backend(settings):
    settings.TASKS = {"default": {"BACKEND": "no.such.Backend"}}
    [message] = check_tasks()
    assert message.id == "django_imageops.E003"
    assert "no.such" in message.msg or "No module" in message.msg


def test_bad_provider_entries(settings):
    settings.IMAGEOPS = {
        **settings.IMAGEOPS,
        "PROVIDERS": ["no.such.Provider", "django_imageops.vendors.clipdrop.ClipdropClient"],
    }
    messages = check_providers()
    assert ids(messages) == ["django_imageops.E006", "django_imageops.E006"]
    assert "'no.such.Provider' cannot be imported" in messages[0].msg
    assert "ClipdropClient' is not a subclass" in messages[1].msg


def test_a_provider_option_checked_by_its_provider(settings):
    settings.IMAGEOPS = {**settings.IMAGEOPS, "PIKTID_OUT_OF_RANGE": "stretch"}
    [message] = check_credentials()
    assert message.id == "django_imageops.E005"
    assert "'PIKTID_OUT_OF_RANGE'" in message.msg and "fit, refuse" in message.hint


def test_credentials_of_a_sites_own_provider_are_checked(settings):
    settings.IMAGEOPS = {
        **settings.IMAGEOPS,
        "PROVIDERS": ["tests.test_checks.KeyedEcho"],
        "VENDORS": {**settings.IMAGEOPS["VENDORS"], "keyed": {"API_KEY": "", "SECRET": "s"}},
    }
    [message] = check_credentials()
    assert message.id == "django_imageops.E001"
    assert message.msg == "IMAGEOPS['VENDORS']['keyed'] lacks API_KEY."


class KeyedEcho(EchoReimagine):
    """Echo on a vendor that needs credentials (E001 comes from ``credentials``)."""

    name = "keyed"
    vendor = "keyed"
    credentials = ("API_KEY", "SECRET")


IMMEDIATE = (
    "django.tasks.backends.immediate.ImmediateBackend"
    if django.VERSION >= (6, 0)
    else "django_tasks.backends.immediate.ImmediateBackend"
)


def test_immediate_backend_without_debug_warns_that_jobs_run_inside_requests(settings):
    settings.TASKS = {"default": {"BACKEND": IMMEDIATE}}
    settings.DEBUG = False
    [message] = check_inline_tasks()
    assert message.id == "django_imageops.W001"
    assert message.level == checks.WARNING
    assert "jobs run inside requests" in message.msg
    assert "django-tasks-fennel" in message.hint


def test_immediate_backend_with_debug_or_a_worker_backend_does_not_warn(settings):
    settings.TASKS = {"default": {"BACKEND": IMMEDIATE}}
    settings.DEBUG = True
    assert check_inline_tasks() == []
    settings.DEBUG = False
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    assert check_inline_tasks() == []
    settings.TASKS = {"default": {"BACKEND": "django_tasks_fennel.CeleryBackend"}}
    assert check_inline_tasks() == []


@pytest.mark.parametrize("login_url", ["admin:login", "/admin/login/"])
def test_login_url_at_the_admins_login_page(settings, login_url):
    # The admin refuses non-staff accounts: a job's creator could never open its editor page.
    settings.LOGIN_URL = login_url
    assert ids(check_login_url()) == ["django_imageops.W002"]
    settings.LOGIN_URL = "login"  # the site's own page (tests/urls.py)
    assert check_login_url() == []
