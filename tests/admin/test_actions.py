"""Admin actions of ``ImageOpsAdminMixin`` (on ``tests.testapp.PhotoAdmin``): who sees them, the
intermediate page, invalid input, queueing in a constant number of queries without vendor calls,
and a full Remove background run against the sandbox and moto S3."""

from __future__ import annotations

import math
import re

import pytest
from django.contrib.admin import helpers
from django.contrib.auth.models import Permission, User
from django.core.files.base import ContentFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from django_imageops.models import ImageJob, ImageJobEvent
from tests.conftest import make_image
from tests.testapp.models import Photo, Picture

CHANGELIST = "admin:testapp_photo_changelist"


@pytest.fixture
def photo_file():
    """Name of one PNG (64x48) on the default storage, shared by bulk-created photos."""
    photo = Photo(title="seed")
    photo.image.save("seed.png", ContentFile(make_image(64, 48)), save=False)
    return photo.image.name


def make_photos(name: str, count: int) -> list[Photo]:
    """``count`` photos pointing at the same stored file (bulk-created: fast)."""
    return Photo.objects.bulk_create(Photo(title=f"Photo {i}", image=name) for i in range(count))


def post_action(client, action: str, photos, **data):
    """POST the changelist action form (the first step) or the intermediate page (with
    ``imageops_post``)."""
    payload = {
        "action": action,
        helpers.ACTION_CHECKBOX_NAME: [str(p.pk) for p in photos],
        "index": "0",
        **data,
    }
    return client.post(reverse(CHANGELIST), payload)


@pytest.fixture
def staff(db):
    """A staff user with change permission on Photo only (no add_imagejob)."""
    user = User.objects.create_user("staff", password="pw", is_staff=True)
    user.user_permissions.add(
        Permission.objects.get(codename="change_photo"),
        Permission.objects.get(codename="view_photo"),
    )
    return user


def action_names(response) -> list[str]:
    return re.findall(r'<option value="([a-z_]+)"', response.content.decode())


@pytest.mark.django_db
def test_superuser_sees_one_action_per_operation(admin_client, photo_file):
    make_photos(photo_file, 1)
    response = admin_client.get(reverse(CHANGELIST))
    names = action_names(response)
    for name in (
        "imageops_remove_background",
        "imageops_uncrop",
        "imageops_reimagine",
        "imageops_crop",
    ):
        assert name in names
    assert "Remove background" in response.content.decode()


@pytest.mark.django_db
def test_change_permission_without_add_imagejob_hides_the_actions(client, staff, photo_file):
    make_photos(photo_file, 1)
    client.force_login(staff)
    names = action_names(client.get(reverse(CHANGELIST)))
    assert "delete_selected" not in names  # no delete permission either
    assert not [n for n in names if n.startswith("imageops_")]
    # Posting the action anyway is refused by the action form: nothing is queued.
    photos = list(Photo.objects.all())
    post_action(client, "imageops_reimagine", photos, imageops_post="yes", field="image")
    assert ImageJob.objects.count() == 0


@pytest.mark.django_db
def test_add_imagejob_without_change_permission_hides_the_actions(client, photo_file):
    make_photos(photo_file, 1)
    user = User.objects.create_user("viewer", password="pw", is_staff=True)
    user.user_permissions.add(
        Permission.objects.get(codename="view_photo"),
        Permission.objects.get(codename="add_imagejob"),
    )
    client.force_login(user)
    names = action_names(client.get(reverse(CHANGELIST)))
    assert not [n for n in names if n.startswith("imageops_")]


@pytest.mark.django_db
def test_change_permission_plus_add_imagejob_shows_the_actions(client, staff, photo_file):
    make_photos(photo_file, 1)
    staff.user_permissions.add(Permission.objects.get(codename="add_imagejob"))
    client.force_login(staff)
    names = action_names(client.get(reverse(CHANGELIST)))
    assert "imageops_uncrop" in names


@pytest.mark.django_db
def test_intermediate_page_shows_objects_thumbnails_and_the_form(admin_client, photo_file):
    photos = make_photos(photo_file, 2)
    response = post_action(admin_client, "imageops_uncrop", photos)
    assert response.status_code == 200
    html = response.content.decode()
    assert response.templates[0].name == "django_imageops/admin/action_form.html"
    assert html.count('class="imageops-preview-image"') == 2
    assert f'src="/media/{photo_file}"' in html
    for name in ("left", "right", "top", "bottom", "seed"):
        assert f'name="{name}"' in html
    # Provider choice for uncrop, and a field chooser since Photo has two ImageFields.
    assert 'value="clipdrop"' in html and 'value="piktid"' in html
    assert '<select name="field"' in html
    # The selection is carried to the next step like delete_selected does.
    for photo in photos:
        assert f'name="_selected_action" value="{photo.pk}"' in html
    assert 'name="action" value="imageops_uncrop"' in html
    assert ImageJob.objects.count() == 0


@pytest.mark.django_db
def test_intermediate_page_of_remove_background_and_crop(admin_client, photo_file):
    photos = make_photos(photo_file, 1)
    html = post_action(admin_client, "imageops_remove_background", photos).content.decode()
    assert 'name="mode"' in html and 'value="review"' in html and 'name="test"' in html
    html = post_action(admin_client, "imageops_crop", photos).content.decode()
    assert 'class="imageops-crop-box"' in html
    for name in ("x", "y", "width", "height"):
        assert f'name="{name}"' in html


@pytest.mark.django_db
def test_uncrop_invalid_offset_reshows_the_form_with_the_field_error(
    admin_client, photo_file, sandbox
):
    photos = make_photos(photo_file, 2)
    response = post_action(
        admin_client,
        "imageops_uncrop",
        photos,
        imageops_post="yes",
        field="image",
        provider="clipdrop",
        left="5000",
        right="0",
        top="0",
        bottom="0",
    )
    assert response.status_code == 200
    form = response.context["form"]
    assert "left" in form.errors
    html = response.content.decode()
    assert 'class="form-row errors field-left"' in html
    assert 'value="5000"' in html  # the input is kept
    assert ImageJob.objects.count() == 0
    assert sandbox.counters()["clipdrop"]["calls"] == 0


@pytest.mark.django_db
def test_crop_box_outside_the_image_is_refused_on_the_form_naming_the_object(
    admin_client, photo_file, sandbox
):
    """Bug 3: a small selection's sizes are read from the files' headers, so a box leaving the
    image comes back under its field, naming the object; nothing is queued or paid for."""
    photos = make_photos(photo_file, 2)
    response = post_action(
        admin_client,
        "imageops_crop",
        photos,
        imageops_post="yes",
        field="image",
        x="10",
        y="0",
        width="60",  # 10 + 60 > 64 pixels
        height="10",
    )
    assert response.status_code == 200
    errors = response.context["form"].errors["width"]
    assert sorted(errors) == [
        f"{p.title}: x + width (70) is beyond the image's width of 64 pixels." for p in photos
    ]
    assert "Photo 0: x + width (70)" in response.content.decode()
    assert ImageJob.objects.count() == 0
    assert sandbox.counters()["pixlab"]["calls"] == 0


@pytest.mark.django_db
def test_offsets_cropping_the_image_away_are_refused_from_the_stored_size(admin_client, sandbox):
    """Bug 3, from the model's width_field/height_field: no file is read (these do not even
    exist on storage), the selection is over the header-read limit, and the failing objects are
    named under the field, ten at most."""
    pictures = Picture.objects.bulk_create(
        Picture(name=f"Coffee {i}", image=f"pictures/missing-{i}.png", width=512, height=512)
        for i in range(25)
    )
    payload = {
        "action": "imageops_uncrop",
        helpers.ACTION_CHECKBOX_NAME: [str(p.pk) for p in pictures],
        "index": "0",
        "imageops_post": "yes",
        "field": "image",
        "provider": "clipdrop",
        "left": "-600",
        "right": "0",
        "top": "0",
        "bottom": "0",
    }
    response = admin_client.post(reverse("admin:testapp_picture_changelist"), payload)
    assert response.status_code == 200
    errors = response.context["form"].errors["left"]
    assert errors[0].endswith(": left + right crop away the whole 512-pixel width.")
    assert errors[0].startswith("Coffee ")
    assert len(errors) == 11
    assert errors[-1] == "… and 15 more objects."
    assert ImageJob.objects.count() == 0
    assert sandbox.counters()["clipdrop"]["calls"] == 0


@pytest.mark.django_db
def test_crop_box_outside_an_image_of_unknown_size_fails_the_job_before_any_vendor_call(
    admin_client, photo_file, sandbox
):
    """Over the header-read limit and without width_field, the size is not known in the
    request: the job checks the box when it runs and fails with a clear message, no vendor
    call."""
    from django_imageops import jobs
    from django_imageops.sources import HEADER_READ_LIMIT

    photos = make_photos(photo_file, HEADER_READ_LIMIT + 1)
    response = post_action(
        admin_client,
        "imageops_crop",
        photos,
        imageops_post="yes",
        field="image",
        x="10",
        y="0",
        width="60",
        height="10",
    )
    assert response.status_code == 302
    job = jobs.run_job(ImageJob.objects.first().pk)
    assert (job.status, job.error_code) == ("failed", "invalid_input")
    assert "beyond the image's width of 64 pixels" in job.error_message
    assert sandbox.counters()["pixlab"]["calls"] == 0


@pytest.mark.django_db
def test_object_without_image_in_chosen_field_is_a_form_error(admin_client, photo_file):
    photos = make_photos(photo_file, 1)  # banner is empty
    response = post_action(
        admin_client, "imageops_reimagine", photos, imageops_post="yes", field="banner"
    )
    assert response.status_code == 200
    assert response.context["form"].non_field_errors()
    assert ImageJob.objects.count() == 0


@pytest.mark.django_db
def test_submit_queues_one_job_per_object_in_one_batch_and_links_to_it(
    admin_client, admin_user, photo_file, sandbox
):
    photos = make_photos(photo_file, 3)
    response = post_action(
        admin_client,
        "imageops_uncrop",
        photos,
        imageops_post="yes",
        field="image",
        provider="piktid",
        left="16",
        right="0",
        top="8",
        bottom="0",
    )
    assert response.status_code == 302
    jobs = list(ImageJob.objects.order_by("pk"))
    assert len(jobs) == 3
    assert {j.batch for j in jobs} == {jobs[0].batch} and jobs[0].batch is not None
    assert {j.source_object_id for j in jobs} == {str(p.pk) for p in photos}
    assert all(j.provider == "piktid" and j.operation == "uncrop" for j in jobs)
    assert jobs[0].params["left"] == 16 and jobs[0].params["top"] == 8
    assert all(j.created_by == admin_user for j in jobs)
    assert all(j.status == ImageJob.Status.PENDING for j in jobs)
    follow = admin_client.get(response["Location"])
    text = follow.content.decode()
    assert "3 Uncrop jobs queued." in text
    batch_url = reverse("admin:django_imageops_imagejob_changelist") + f"?batch={jobs[0].batch}"
    assert f'href="{batch_url}"' in text
    assert sum(c["calls"] for c in sandbox.counters().values() if isinstance(c, dict)) == 0


@pytest.mark.django_db
@pytest.mark.parametrize(("mode", "target"), [("auto", "cutout"), ("review", "")])
def test_remove_background_fills_the_derived_field_only_as_declared(
    admin_client, photo_file, mode, target
):
    # Photo.cutout declares remove_background on image, ClippingMagic, Auto-Clip, test mode: a
    # review job is not that, and its result waits for a person to apply it.
    post_action(
        admin_client,
        "imageops_remove_background",
        make_photos(photo_file, 1),
        imageops_post="yes",
        field="image",
        mode=mode,
        test="on",
    )
    job = ImageJob.objects.get()
    assert job.target_field == target
    assert job.params == {"mode": mode, "test": True}


@pytest.mark.django_db
def test_select_across_queues_every_object_of_the_changelist(admin_client, photo_file):
    photos = make_photos(photo_file, 5)
    response = post_action(
        admin_client,
        "imageops_reimagine",
        photos[:1],  # only the first is ticked; "select all 5" is set
        imageops_post="yes",
        field="image",
        select_across="1",
    )
    assert response.status_code == 302
    assert ImageJob.objects.count() == 5


def _count_queries(client, photos, **data) -> tuple[int, int]:
    """(queries other than INSERTs, INSERT statements) of submitting Reimagine for photos."""
    with CaptureQueriesContext(connection) as queries:
        response = post_action(
            client, "imageops_reimagine", photos, imageops_post="yes", field="image", **data
        )
    assert response.status_code == 302, response.content[:2000]
    inserts = [q for q in queries.captured_queries if q["sql"].startswith("INSERT")]
    return len(queries) - len(inserts), len(inserts)


def _bulk_batches(model, count: int) -> int:
    """INSERT statements the database backend needs to bulk-create ``count`` rows (1 on
    PostgreSQL; SQLite splits by its limit on query parameters)."""
    fields = [f for f in model._meta.concrete_fields if not f.primary_key]
    size = connection.ops.bulk_batch_size(fields, [None] * count) or count
    return math.ceil(count / size)


@pytest.mark.django_db
def test_queueing_takes_a_constant_number_of_queries(admin_client, photo_file, sandbox):
    small, small_inserts = _count_queries(admin_client, make_photos(photo_file, 10))
    large, large_inserts = _count_queries(admin_client, make_photos(photo_file, 200))
    assert small == large
    # Jobs and their "created" events are bulk-created: one INSERT per backend batch.
    assert small_inserts == _bulk_batches(ImageJob, 10) + _bulk_batches(ImageJobEvent, 10)
    assert large_inserts == _bulk_batches(ImageJob, 200) + _bulk_batches(ImageJobEvent, 200)
    assert large_inserts < 20
    assert ImageJob.objects.count() == 210
    assert sandbox.counters()["clipdrop"]["calls"] == 0


@pytest.mark.django_db
def test_intermediate_page_takes_a_constant_number_of_queries(admin_client, photo_file):
    def count(photos):
        with CaptureQueriesContext(connection) as queries:
            assert post_action(admin_client, "imageops_crop", photos).status_code == 200
        return len(queries)

    assert count(make_photos(photo_file, 3)) == count(make_photos(photo_file, 300))


@pytest.mark.django_db(transaction=True)
def test_remove_background_runs_end_to_end_and_fills_the_cutout(
    admin_client, sandbox, s3, settings
):
    photos = []
    for i, color in enumerate([(200, 40, 40), (40, 40, 200)]):
        photo = Photo(title=f"Photo {i}")
        photo.image.save(f"p{i}.png", ContentFile(make_image(64, 48, color=color)))
        photos.append(photo)
    response = post_action(
        admin_client,
        "imageops_remove_background",
        photos,
        imageops_post="yes",
        field="image",
        mode="auto",
        test="on",
    )
    assert response.status_code == 302
    jobs = list(ImageJob.objects.order_by("pk"))
    assert [j.status for j in jobs] == [ImageJob.Status.SUCCEEDED] * 2
    for job in jobs:
        stored = s3.head_object(Bucket=settings.S3_BUCKET, Key=job.result.name)
        assert stored["ContentLength"] == job.result_bytes
    for job in jobs:
        assert Photo.objects.get(pk=job.source_object_id).cutout.name == job.result.name
    assert sandbox.counters()["clippingmagic"]["calls"] == 2
