"""One rule for acting on a job, in every interface (``permissions.can_act_on_job``).

Retrying, canceling, applying, editing or deleting the vendor copy of a job needs its creator,
or staff with the change permission on its source (model level, or object level where a
backend gives it; on ``ImageJob`` for an uploaded file). Reading stays staff-wide. The same
users try the same jobs through the REST API, the job admin's actions and the editor page.
"""

from __future__ import annotations

import pytest
from django.contrib.admin import helpers
from django.contrib.auth.backends import BaseBackend
from django.contrib.auth.models import Permission
from django.core.files.base import ContentFile
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from django_imageops.models import ImageJob
from django_imageops.permissions import can_act_on_job
from tests.conftest import make_image
from tests.testapp.models import Photo

pytestmark = pytest.mark.django_db

CHANGELIST = "admin:django_imageops_imagejob_changelist"


class SharedPhotosBackend(BaseBackend):
    """Grants ``testapp.change_photo`` on photos titled "shared" only (object-level)."""

    def has_perm(self, user_obj, perm, obj=None):
        return perm == "testapp.change_photo" and getattr(obj, "title", None) == "shared"


@pytest.fixture(autouse=True)
def _object_level_backend(settings):
    settings.AUTHENTICATION_BACKENDS = [
        "django.contrib.auth.backends.ModelBackend",
        f"{__name__}.SharedPhotosBackend",
    ]


def user(django_user_model, name, *perms, staff=True):
    """A user who may use the admin's job list (``view_imagejob``) and has ``perms``."""
    person = django_user_model.objects.create_user(name, password="pw", is_staff=staff)
    for codename in ("view_imagejob", *perms):
        person.user_permissions.add(Permission.objects.get(codename=codename))
    return person


def photo(title: str) -> Photo:
    obj = Photo(title=title)
    obj.image.save("p.png", ContentFile(make_image(32, 32)), save=True)
    return obj


def failed_job(owner, source: Photo | None) -> ImageJob:
    """A failed crop job of ``owner``'s, on ``source`` (None: on an uploaded file)."""
    fields = {"source_object": source, "source_field": "image"} if source else {}
    return ImageJob.objects.create(
        operation="crop",
        provider="pixlab",
        params={"x": 0, "y": 0, "width": 8, "height": 8},
        status=ImageJob.Status.FAILED,
        created_by=owner,
        **fields,
    )


def retry_through_the_api(person, job) -> bool:
    client = APIClient()
    client.force_authenticate(person)
    response = client.post(f"/api/imageops/jobs/{job.uuid}/retry/")
    assert response.status_code in (202, 403, 404), response.content
    return response.status_code == 202


def retry_through_the_admin(person, job) -> bool:
    client = Client()
    client.force_login(person)
    response = client.post(
        reverse(CHANGELIST),
        {"action": "retry_jobs", helpers.ACTION_CHECKBOX_NAME: [job.pk], "index": 0},
        follow=True,
    )
    assert response.status_code == 200
    return "1 job queued again." in response.content.decode()


def open_the_editor(person, job) -> bool:
    ImageJob.objects.filter(pk=job.pk).update(
        operation="remove_background",
        provider="clippingmagic",
        params={"mode": "review", "test": True},
        status=ImageJob.Status.WAITING_FOR_EDITOR,
        vendor_image_id="4242",
        vendor_secret="image-secret-4242",
    )
    client = Client()
    client.force_login(person)
    url = reverse("django_imageops:clippingmagic-editor", kwargs={"job_uuid": job.uuid})
    response = client.get(url)
    assert response.status_code in (200, 403, 404)
    return response.status_code == 200


INTERFACES = [retry_through_the_api, retry_through_the_admin, open_the_editor]


@pytest.mark.parametrize("interface", INTERFACES, ids=["api", "admin", "editor"])
@pytest.mark.parametrize(
    ("who", "source", "allowed"),
    [
        ("creator", "photo", True),  # no change permission: the creator may
        ("operator", "photo", False),  # may change jobs, not the photo: no
        ("photo_editor", "photo", True),  # may change photos
        ("photo_editor", "shared", True),
        ("guardian", "photo", False),  # object-level permission on "shared" photos only
        ("guardian", "shared", True),
        ("operator", "upload", True),  # an upload's source permission is change_imagejob
        ("photo_editor", "upload", False),
        ("superuser", "photo", True),
    ],
)
def test_one_rule_for_acting_on_a_job(django_user_model, interface, who, source, allowed):
    people = {
        "creator": user(django_user_model, "creator"),
        "operator": user(django_user_model, "operator", "change_imagejob"),
        "photo_editor": user(django_user_model, "photo_editor", "change_photo"),
        "guardian": user(django_user_model, "guardian"),
        "superuser": django_user_model.objects.create_superuser("root", password="pw"),
    }
    source_object = None if source == "upload" else photo(source)
    job = failed_job(people["creator"], source_object)
    person = people[who]
    assert can_act_on_job(person, job) is allowed
    assert interface(person, job) is allowed
    job.refresh_from_db()
    if interface is not open_the_editor:
        assert job.status == (ImageJob.Status.PENDING if allowed else ImageJob.Status.FAILED)


def test_staff_see_the_jobs_they_may_not_act_on(django_user_model):
    creator, operator = user(django_user_model, "creator"), user(django_user_model, "operator")
    job = failed_job(creator, photo("photo"))
    client = APIClient()
    client.force_authenticate(operator)
    assert client.get(f"/api/imageops/jobs/{job.uuid}/").status_code == 200
    response = client.post(f"/api/imageops/jobs/{job.uuid}/cancel/")
    assert response.status_code == 403 and "may not act on this job" in response.json()["detail"]
    admin = Client()
    admin.force_login(operator)
    page = admin.get(reverse("admin:django_imageops_imagejob_change", args=[job.pk]))
    assert page.status_code == 200
    response = admin.post(
        reverse(CHANGELIST),
        {"action": "cancel_jobs", helpers.ACTION_CHECKBOX_NAME: [job.pk], "index": 0},
        follow=True,
    )
    assert "1 job skipped: only its creator" in response.content.decode()


def test_a_non_staff_user_never_sees_anothers_job(django_user_model):
    creator = user(django_user_model, "creator")
    outsider = user(django_user_model, "outsider", "change_photo", staff=False)
    job = failed_job(creator, photo("photo"))
    client = APIClient()
    client.force_authenticate(outsider)
    assert client.post(f"/api/imageops/jobs/{job.uuid}/retry/").status_code == 404
    assert not can_act_on_job(outsider, job)
