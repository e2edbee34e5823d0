"""Fixtures of the REST API tests: users, authenticated clients, jobs, an image on a Photo."""

from __future__ import annotations

import uuid

import pytest
from django.contrib.auth.models import Permission
from django.core.cache import cache
from django.core.files.base import ContentFile
from django.urls import reverse
from rest_framework.test import APIClient

from django_imageops.models import ImageJob
from tests.conftest import make_image
from tests.testapp.models import Photo

JOBS_URL = "/api/imageops/jobs/"
CREDITS_URL = "/api/imageops/credits/"


def job_url(job, action: str = "") -> str:
    """``/api/imageops/jobs/<uuid>/`` (+ ``cancel/`` or ``retry/``)."""
    return f"{JOBS_URL}{job.uuid}/" + (f"{action}/" if action else "")


@pytest.fixture(autouse=True)
def _clear_throttle_history():
    """Throttle histories live in the default cache: start every test with none."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def alice(django_user_model):
    return django_user_model.objects.create_user("alice", password="alice-pw")


@pytest.fixture
def bob(django_user_model):
    return django_user_model.objects.create_user("bob", password="bob-pw")


@pytest.fixture
def staff(django_user_model):
    return django_user_model.objects.create_user("staff", password="staff-pw", is_staff=True)


def client_for(user) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


@pytest.fixture
def anon_client():
    return APIClient()


@pytest.fixture
def alice_client(alice):
    return client_for(alice)


@pytest.fixture
def bob_client(bob):
    return client_for(bob)


@pytest.fixture
def staff_client(staff):
    return client_for(staff)


@pytest.fixture
def make_job():
    """Insert an ``ImageJob`` row directly (a stand-in for a job in any state)."""

    def make(created_by=None, **fields) -> ImageJob:
        fields.setdefault("operation", ImageJob.Operation.UNCROP)
        fields.setdefault("provider", "clipdrop")
        fields.setdefault("params", {"left": 10, "right": 0, "top": 0, "bottom": 0})
        return ImageJob.objects.create(created_by=created_by, **fields)

    return make


@pytest.fixture
def photo():
    """A ``testapp.Photo`` with a 64x48 PNG on the default storage."""
    obj = Photo(title="sample")
    obj.image.save(f"{uuid.uuid4().hex}.png", ContentFile(make_image(64, 48)), save=True)
    return obj


def grant(user, codename: str):
    """Give ``user`` the permission ``codename`` (e.g. ``"change_photo"``) and drop the cache."""
    user.user_permissions.add(Permission.objects.get(codename=codename))
    for attr in ("_perm_cache", "_user_perm_cache", "_group_perm_cache"):
        user.__dict__.pop(attr, None)
    return user


def editor_url_for(job) -> str:
    return reverse("django_imageops:clippingmagic-editor", kwargs={"job_uuid": job.uuid})
