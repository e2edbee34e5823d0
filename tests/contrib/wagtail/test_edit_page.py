"""The image edit page's operations (``WAGTAILIMAGES_IMAGE_FORM_BASE``) and their panel views,
through Wagtail's admin with Django's test client: the buttons for those who may spend credits on
the image, the form in place, the job queued and followed, the result applied where the form
said; refusals for the others. Real jobs (sandbox over HTTP, moto S3)."""

from __future__ import annotations

import pytest

pytest.importorskip("wagtail")

from django.test import override_settings
from django.urls import reverse

from django_imageops.contrib.wagtail.models import ImageJobDestination
from django_imageops.models import ImageJob
from tests.contrib.wagtail.support import (
    child_collection,
    editor,
    log_actions,
    make_image,
    superuser,
)
from tests.contrib.wagtail.testapp.models import CustomImage

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_servers")]


def form_url(image, operation):
    return reverse("imageops_wagtail:image_operation", args=[image.pk, operation])


def test_the_edit_page_shows_the_operation_buttons_to_who_may_run_them(client):
    image = make_image(title="Coffee")
    client.force_login(editor("may"))
    page = client.get(reverse("wagtailimages:edit", args=[image.pk])).content.decode()
    for operation in ("remove_background", "uncrop", "reimagine", "crop"):
        assert f'data-form-url="{form_url(image, operation)}?field=file"' in page
    assert "django_imageops/inplace/inplace.js" in page
    assert "django_imageops/wagtail/wagtail.css" in page

    # Without the permission to spend credits: the edit page as Wagtail makes it.
    client.force_login(editor("may-not", can_queue=False))
    page = client.get(reverse("wagtailimages:edit", args=[image.pk])).content.decode()
    assert "imageops-op-button" not in page
    # Wagtail's admin answers a PermissionDenied with a redirect and a message.
    assert client.get(form_url(image, "crop") + "?field=file").status_code in (302, 403)


def test_an_image_outside_the_editors_collections_is_refused(client):
    elsewhere = make_image(title="Elsewhere", collection=child_collection("Private"))
    client.force_login(editor(collection=child_collection("Mine")))
    assert client.get(form_url(elsewhere, "crop") + "?field=file").status_code in (302, 403)
    response = client.post(form_url(elsewhere, "crop"), {"field": "file"})
    assert response.status_code in (302, 403)
    assert not ImageJob.objects.exists()


def test_the_panel_queues_a_job_and_applies_it_as_a_new_image(
    client, django_capture_on_commit_callbacks
):
    image = make_image(title="Coffee", width=160, height=120)
    user = editor()
    client.force_login(user)
    panel = client.get(form_url(image, "remove_background") + "?field=file")
    assert panel.status_code == 200
    html = panel.content.decode()
    assert 'name="destination"' in html and "imageops-cost" in html
    assert "1 job" in html  # the cost line of the defaults

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            form_url(image, "remove_background"),
            {
                "imageops_post": "yes",
                "field": "file",
                "mode": "auto",
                "test": "on",
                "destination": "new_image",
            },
        )
    assert response.status_code == 202, response.content
    payload = response.json()
    job = ImageJob.objects.get(uuid=payload["uuid"])
    assert job.created_by == user and job.source_object == image
    # Not applied on its own: the person looks first.
    assert ImageJobDestination.objects.get(job=job).apply_on_success is False
    polled = client.get(payload["status_url"]).json()
    assert polled["status"] == "succeeded"
    assert polled["apply"]["label"] == "Save as a new image"
    assert polled["before"]["url"] and polled["after"]["url"]
    assert type(image).objects.count() == 1

    with django_capture_on_commit_callbacks(execute=True):
        applied = client.post(polled["apply"]["url"]).json()
    new = type(image).objects.exclude(pk=image.pk).get()
    assert new.title == "Coffee (background removed)"
    assert applied["applied"] is True and applied["apply"] is None
    assert applied["applied_text"] == "Saved as a new image: Coffee (background removed)."
    assert applied["applied_url"] == reverse("wagtailimages:edit", args=[new.pk])
    assert "reload_after_apply" not in applied


def test_the_panel_replaces_the_file_and_asks_the_page_to_reload(
    client, django_capture_on_commit_callbacks
):
    image = make_image(title="Banner", width=100, height=80)
    client.force_login(editor())
    with django_capture_on_commit_callbacks(execute=True):
        payload = client.post(
            form_url(image, "uncrop"),
            {
                "imageops_post": "yes",
                "field": "file",
                "provider": "clipdrop",
                "left": 20,
                "right": 20,
                "destination": "replace",
            },
        ).json()
    polled = client.get(payload["status_url"]).json()
    assert polled["apply"]["label"] == "Replace the file"
    with django_capture_on_commit_callbacks(execute=True):
        applied = client.post(polled["apply"]["url"]).json()
    image.refresh_from_db()
    assert (image.width, image.height) == (140, 80)
    assert applied["reload_after_apply"] is True
    assert "previous file is kept" in applied["applied_text"]
    assert log_actions(image)[-1] == "django_imageops.replace"


def test_values_failing_against_the_image_are_refused_before_any_job(client):
    image = make_image(title="Small", width=64, height=48)
    client.force_login(editor())
    response = client.post(
        form_url(image, "crop"),
        {
            "imageops_post": "yes",
            "field": "file",
            "x": 40,
            "y": 0,
            "width": 40,
            "height": 10,
            "destination": "new_image",
        },
    )
    assert response.status_code == 400
    assert "Small: x + width (80) is beyond the image" in response.content.decode()
    assert not ImageJob.objects.exists()


def test_the_cost_line_refreshes_from_the_form(client):
    image = make_image(title="Cost", width=64, height=48)
    client.force_login(editor())
    answer = client.post(
        form_url(image, "uncrop"),
        {
            "imageops_estimate": "1",
            "imageops_post": "yes",
            "field": "file",
            "provider": "clipdrop",
            "left": 10,
            "destination": "new_image",
        },
    )
    assert answer.status_code == 200, answer.content
    assert answer.json()["summary"].startswith("1 job")


@override_settings(WAGTAILIMAGES_IMAGE_MODEL="wagtailtests.CustomImage")
def test_the_panel_works_with_a_custom_image_model(client, django_capture_on_commit_callbacks):
    image = make_image(CustomImage, title="Custom", width=80, height=60, credit="Studio")
    client.force_login(superuser())
    assert client.get(form_url(image, "reimagine") + "?field=file").status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        payload = client.post(
            form_url(image, "reimagine"),
            {"imageops_post": "yes", "field": "file", "destination": "new_image"},
        ).json()
    polled = client.get(payload["status_url"]).json()
    with django_capture_on_commit_callbacks(execute=True):
        client.post(polled["apply"]["url"])
    new = CustomImage.objects.exclude(pk=image.pk).get()
    assert new.title == "Custom (reimagined)"
