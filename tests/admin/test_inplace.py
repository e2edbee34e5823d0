"""The change page's in-place operations (``ImageOpsInplaceMixin``, on the test app's
``PhotoAdmin``): who gets the buttons, the panel's form, queueing one job, its JSON, apply, and
the refusals.
The browser side is in ``tests/browser/test_inplace.py``."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission, User
from django.core.files.base import ContentFile
from django.urls import reverse

from django_imageops.models import ImageJob
from tests.conftest import make_image
from tests.testapp.models import Photo


@pytest.fixture
def photo(db):
    photo = Photo(title="Coffee")
    photo.image.save("coffee.png", ContentFile(make_image(64, 48)))
    return photo


def form_url(photo, operation, **query):
    url = reverse("admin:testapp_photo_imageops_form", args=[photo.pk, operation])
    return url + ("?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else "")


def job_url(photo, job, name="imageops_job"):
    return reverse(f"admin:testapp_photo_{name}", args=[photo.pk, job.uuid])


def staff_user(*codenames):
    user = User.objects.create_user("staff", password="pw", is_staff=True)
    user.user_permissions.add(*Permission.objects.filter(codename__in=codenames))
    return user


@pytest.mark.django_db
def test_change_page_has_operation_buttons_on_the_photo_and_regenerate_on_the_cutout(
    admin_client, photo
):
    html = admin_client.get(reverse("admin:testapp_photo_change", args=[photo.pk])).content
    html = html.decode()
    for operation in ("remove_background", "uncrop", "reimagine", "crop"):
        assert f'data-form-url="{form_url(photo, operation, field="image")}"' in html
    regenerate = form_url(photo, "remove_background", field="image", target="cutout")
    assert f'data-form-url="{regenerate.replace("&", "&amp;")}"' in html
    # The empty banner gets no buttons; the page loads the panel's and the forms' scripts.
    assert html.count("button imageops-op-button ") == 5
    assert "django_imageops/inplace/inplace.js" in html
    assert "django_imageops/vendor/cropperjs/cropper.min.js" in html


@pytest.mark.django_db
def test_no_buttons_on_the_add_page_nor_without_the_imageops_permission(
    admin_client, client, photo
):
    assert (
        "imageops-op-button"
        not in admin_client.get(reverse("admin:testapp_photo_add")).content.decode()
    )
    client.force_login(staff_user("change_photo", "view_photo"))  # no add_imagejob
    page = client.get(reverse("admin:testapp_photo_change", args=[photo.pk]))
    assert page.status_code == 200 and "imageops-op-button" not in page.content.decode()
    assert client.get(form_url(photo, "crop", field="image")).status_code == 403


@pytest.mark.django_db
def test_the_panel_form_for_one_object(admin_client, photo):
    response = admin_client.get(form_url(photo, "uncrop", field="image"))
    assert response.status_code == 200
    html = response.content.decode()
    assert 'class="imageops-form imageops-form-uncrop"' in html
    assert 'id="id_imageops-left"' in html  # ids apart from the change form's own
    assert 'data-width="64" data-height="48"' in html
    assert 'name="target" value=""' in html  # Photo has no uncrop field: the photo is replaced


@pytest.mark.django_db
def test_regenerate_opens_the_derived_fields_declaration(admin_client, photo):
    response = admin_client.get(
        form_url(photo, "remove_background", field="image", target="cutout")
    )
    form = response.context["form"]
    assert form["mode"].value() == "auto" and form["test"].value() is True
    assert 'name="target" value="cutout"' in response.content.decode()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("operation", "query"),
    [
        ("crop", {"field": "title"}),  # not an image field
        ("crop", {"field": "cutout"}),  # a derived image is not a source here
        ("uncrop", {"field": "image", "target": "cutout"}),  # cutout is not an uncrop
        ("sharpen", {"field": "image"}),
    ],
)
def test_bad_form_requests_are_404(admin_client, photo, operation, query):
    assert admin_client.get(form_url(photo, operation, **query)).status_code == 404


@pytest.mark.django_db
def test_invalid_values_come_back_in_the_panel_with_the_object_named(admin_client, photo):
    response = admin_client.post(
        form_url(photo, "crop"),
        {"field": "image", "imageops_post": "yes", "x": "10", "y": "0", "width": "60"}
        | {"height": "10", "target": ""},
    )
    assert response.status_code == 400
    assert "Coffee: x + width (70) is beyond the image&#x27;s width of 64 pixels." in (
        response.content.decode()
    )
    assert ImageJob.objects.count() == 0


@pytest.mark.django_db
def test_run_queues_one_job_and_answers_its_json(admin_client, admin_user, photo):
    response = admin_client.post(
        form_url(photo, "remove_background"),
        {"field": "image", "target": "cutout", "imageops_post": "yes", "mode": "auto"},
    )
    assert response.status_code == 202
    job = ImageJob.objects.get()
    assert (job.source_object, job.source_field, job.target_field, job.created_by) == (
        photo,
        "image",
        "cutout",
        admin_user,
    )
    payload = response.json()
    assert payload["uuid"] == str(job.uuid) and payload["status"] == "pending"
    assert payload["status_url"] == job_url(photo, job)
    assert payload["before"] == {"url": photo.image.url}
    assert payload["apply"] is None and payload["finished"] is False
    # Not yet applicable.
    assert admin_client.post(job_url(photo, job, "imageops_apply")).status_code == 409


@pytest.mark.django_db
def test_the_cost_line_refresh(admin_client, photo):
    response = admin_client.post(
        form_url(photo, "remove_background"),
        {"field": "image", "imageops_post": "yes", "mode": "auto", "imageops_estimate": "1"}
        | {"test": "on"},
    )
    assert response.status_code == 200
    assert response.json()["summary"] == "1 job · 1 free · 0 ClippingMagic credits"
    assert ImageJob.objects.count() == 0
    invalid = admin_client.post(
        form_url(photo, "crop"), {"field": "image", "x": "a", "imageops_estimate": "1"}
    )
    assert invalid.status_code == 400 and "x" in invalid.json()["errors"]


@pytest.mark.django_db(transaction=True)
def test_apply_replaces_the_photo_and_keeps_the_original(admin_client, photo, fresh_servers):
    original = photo.image.name
    response = admin_client.post(
        form_url(photo, "crop"),
        {"field": "image", "target": "", "imageops_post": "yes", "x": "0", "y": "0"}
        | {"width": "32", "height": "24"},
    )
    payload = response.json()
    assert payload["status"] == "succeeded"  # the Immediate backend ran it on commit
    assert payload["apply"]["label"] == "Replace Image"
    assert payload["after"]["width"] == 32
    job = ImageJob.objects.get()
    applied = admin_client.post(job_url(photo, job, "imageops_apply")).json()
    assert applied["applied"] is True and applied["apply"] is None
    assert applied["applied_field"] == "image"
    photo.refresh_from_db()
    assert photo.image.name != original and photo.image.width == 32
    assert ImageJob.objects.get().source_name == original


@pytest.mark.django_db
def test_jobs_of_other_objects_are_not_reachable_through_this_one(admin_client, photo):
    other = Photo.objects.create(title="Tea", image=photo.image.name)
    admin_client.post(
        form_url(other, "reimagine"), {"field": "image", "imageops_post": "yes", "target": ""}
    )
    job = ImageJob.objects.get()
    assert admin_client.get(job_url(other, job)).status_code == 200
    assert admin_client.get(job_url(photo, job)).status_code == 404
    assert admin_client.post(job_url(photo, job, "imageops_apply")).status_code == 404


@pytest.mark.django_db
def test_saving_the_change_form_still_works_with_the_wrapped_widgets(admin_client, photo):
    name = photo.image.name
    response = admin_client.post(
        reverse("admin:testapp_photo_change", args=[photo.pk]),
        {"title": "Coffee beans", "image": "", "banner": "", "imagejob-TOTAL_FORMS": "0"}
        | {
            "django_imageops-imagejob-source_content_type-source_object_id-TOTAL_FORMS": "0",
            "django_imageops-imagejob-source_content_type-source_object_id-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    photo.refresh_from_db()
    assert photo.title == "Coffee beans" and photo.image.name == name


@pytest.mark.django_db(transaction=True)
def test_a_review_job_waits_for_the_editor_with_a_link_to_it(admin_client, photo, fresh_servers):
    response = admin_client.post(
        form_url(photo, "remove_background"),
        {"field": "image", "target": "", "imageops_post": "yes", "mode": "review", "test": "on"},
    )
    payload = response.json()
    job = ImageJob.objects.get()
    assert (payload["status"], payload["waiting"], payload["finished"]) == (
        "waiting_for_editor",
        True,
        False,
    )
    assert payload["editor_url"] == reverse("django_imageops:clippingmagic-editor", args=[job.uuid])
    assert payload["apply"] is None
