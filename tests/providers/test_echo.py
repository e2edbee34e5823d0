"""The proof of the provider contract: ``tests.providers.echo.EchoReimagine``, a provider the
package does not know, registered through ``IMAGEOPS["PROVIDERS"]`` with ``override_settings``,
runs through an admin action, the REST API and a ``DerivedImageField``, and the system checks
accept it. No vendor is called (the sandbox counts nothing); results go to S3 as usual."""

from __future__ import annotations

import io

import pytest
import requests
from django.contrib.admin import helpers
from django.core import checks
from django.core.files.base import ContentFile
from django.test import override_settings
from django.urls import reverse
from PIL import Image
from rest_framework.test import APIClient

from django_imageops import providers
from django_imageops.models import ImageJob
from tests.jobs.support import total_calls
from tests.providers.echo import ECHO, EchoClient, EchoReimagine
from tests.testapp.models import Photo, Poster

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_servers")]

RED, BLUE = (220, 20, 20), (20, 20, 220)


def halves(width=60, height=40, vertical=False) -> bytes:
    """A PNG red on the left (top) half and blue on the other."""
    image = Image.new("RGB", (width, height), BLUE)
    image.paste(RED, (0, 0, width // 2, height) if not vertical else (0, 0, width, height // 2))
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def corner(content: bytes) -> tuple[int, int, int]:
    with Image.open(io.BytesIO(content)) as image:
        return image.convert("RGB").getpixel((0, 0))


@pytest.fixture
def echo(settings):
    """Echo registered the way a site registers its provider (the registry reloads)."""
    with override_settings(IMAGEOPS={**settings.IMAGEOPS, "PROVIDERS": [ECHO]}):
        yield providers.get_provider("reimagine", "echo")


def test_it_is_registered_from_the_setting_only(echo):
    assert isinstance(echo, EchoReimagine)
    assert [p.name for p in providers.providers_for("reimagine")] == ["clipdrop", "echo"]
    assert ("echo", "Echo") in [(n, str(label)) for n, label in providers.provider_choices()]
    assert providers.default_provider("reimagine") == "clipdrop"  # the first registered
    assert providers.vendor_settings("echo") == {"BASE_URL": "local:"}
    ids = [
        m.id
        for m in checks.run_checks()
        if m.id.startswith("django_imageops") and not m.is_silenced()
    ]
    assert ids == []


def test_it_is_gone_without_the_setting():
    assert providers.find_provider("reimagine", "echo") is None


def test_an_admin_action(admin_client, echo, sandbox, django_capture_on_commit_callbacks):
    photo = Photo(title="halves")
    photo.image.save("halves.png", ContentFile(halves()), save=True)
    changelist = reverse("admin:testapp_photo_changelist")
    payload = {
        "action": "imageops_reimagine",
        helpers.ACTION_CHECKBOX_NAME: [str(photo.pk)],
        "index": "0",
    }
    page = admin_client.post(changelist, payload).content.decode()
    # The form is generated: the provider choice and echo's own parameter are there.
    assert 'value="echo"' in page and 'value="clipdrop"' in page
    assert 'name="direction"' in page and "Only with Echo." in page
    before = EchoClient.calls
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            changelist,
            {
                **payload,
                "imageops_post": "yes",
                "field": "image",
                "provider": "echo",
                "direction": "horizontal",
            },
        )
    assert response.status_code == 302
    job = ImageJob.objects.get()
    assert (job.provider, job.params, job.status) == (
        "echo",
        {"direction": "horizontal"},
        "succeeded",
    )
    assert corner(job.result.read()) == BLUE  # mirrored left to right
    assert EchoClient.calls == before + 1
    assert total_calls(sandbox) == 0
    assert "Echo answered HTTP 200" in job.events.values_list("message", flat=True)


def test_the_rest_api(echo, sandbox, django_user_model, django_capture_on_commit_callbacks):
    client = APIClient()
    client.force_authenticate(django_user_model.objects.create_user("alice"))
    upload = ContentFile(halves(vertical=True), name="halves.png")
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/api/imageops/jobs/",
            {
                "operation": "reimagine",
                "provider": "echo",
                "direction": "vertical",
                "image": upload,
            },
            format="multipart",
        )
    assert response.status_code == 202, response.content
    body = client.get(response["Location"]).json()
    assert (body["provider"], body["status"], body["params"]) == (
        "echo",
        "succeeded",
        {"direction": "vertical"},
    )
    stored = requests.get(body["result"]["url"], timeout=10)
    assert corner(stored.content) == BLUE  # mirrored top to bottom
    # Its parameter is echo's only, and the schema documents it.
    refused = client.post(
        "/api/imageops/jobs/",
        {
            "operation": "reimagine",
            "direction": "vertical",
            "image": ContentFile(halves(), name="b.png"),
        },
        format="multipart",
    )
    assert refused.status_code == 400
    assert "Not a parameter of reimagine on clipdrop" in refused.json()["direction"][0]
    schema = client.get("/api/schema/", {"format": "json"}).json()["components"]["schemas"]
    upload_request = schema["ImageJobUploadRequest"]["properties"]
    assert "direction" in upload_request
    enum = upload_request["provider"]["allOf"][0]["$ref"].rsplit("/", 1)[-1]
    assert "echo" in schema[enum]["enum"]
    assert total_calls(sandbox) == 0


def test_a_derived_image_field(echo, settings, sandbox, django_capture_on_commit_callbacks):
    settings.IMAGEOPS = {**settings.IMAGEOPS, "DEFAULT_PROVIDERS": {"reimagine": "echo"}}
    with django_capture_on_commit_callbacks(execute=True):
        poster = Poster()
        poster.image.save("halves.png", ContentFile(halves()))
    poster.refresh_from_db()
    job = ImageJob.objects.get()
    assert (job.provider, job.target_field, job.status) == ("echo", "mirrored", "succeeded")
    assert poster.mirrored.name == job.result.name
    assert corner(poster.mirrored.read()) == BLUE
    assert Poster._meta.get_field("mirrored").get_state(poster) == "ready"
    assert total_calls(sandbox) == 0
