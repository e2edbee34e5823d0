"""Results into Wagtail's image library, through real jobs (vendor sandbox over HTTP, moto S3, a
real Wagtail with its default image model and a custom one): a new image beside the source, or
the source's file replaced with its history (metadata, renditions, focal point, search index,
log entry)."""

from __future__ import annotations

import hashlib
import io

import pytest

pytest.importorskip("wagtail")

from django.core.files.storage import default_storage
from PIL import Image as PILImage
from wagtail.images import get_image_model

from django_imageops.contrib.wagtail import destinations
from django_imageops.contrib.wagtail.models import ImageJobDestination
from tests.contrib.wagtail.support import (
    IMAGE_MODELS,
    child_collection,
    editor,
    log_actions,
    log_entry,
    make_image,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_servers")]

REMOVE_BACKGROUND = {"mode": "auto", "test": True}


def queue(run, operation, images, destination, params, user=None, apply_on_success=True):
    [job] = run(
        destinations.queue_jobs,
        operation,
        images,
        destination=destination,
        apply_on_success=apply_on_success,
        created_by=user,
        params=params,
    )
    job.refresh_from_db()
    assert job.status == "succeeded", job.error_message
    return job


@pytest.mark.parametrize("model", IMAGE_MODELS, ids=lambda m: m.__name__)
def test_a_result_becomes_a_new_image_beside_its_source(run, model):
    user = editor()
    collection = child_collection("Products")
    extra = {"credit": "Studio"} if hasattr(model, "credit") else {}
    source = make_image(
        model, "Coffee", 160, 120, collection=collection, tags=["mug", "brown"], **extra
    )
    source.description = "A cup of coffee"
    source.save()
    original = source.file.name
    job = queue(run, "remove_background", [source], "new_image", REMOVE_BACKGROUND, user=user)

    new = model.objects.exclude(pk=source.pk).get()
    assert new.title == "Coffee (background removed)"
    assert new.collection == collection
    assert sorted(new.tags.names()) == ["brown", "mug"]
    assert new.uploaded_by_user == user
    assert new.description == "A cup of coffee"
    content = new.file.read()
    assert (new.width, new.height) == PILImage.open(new.file).size == (160, 120)
    assert new.file_size == len(content)
    assert new.file_hash == hashlib.sha1(content).hexdigest()
    assert new.file.name.startswith("original_images/")
    # The source is untouched; the job says where its result went.
    source.refresh_from_db()
    assert source.file.name == original
    destination = ImageJobDestination.objects.get(job=job)
    assert destination.image_id == str(new.pk)
    assert destination.applied_result == job.result.name
    job.refresh_from_db()
    assert job.applied_at is not None
    assert log_actions(new) == ["wagtail.create"]
    assert log_entry(new, "wagtail.create").data["job"] == str(job.uuid)
    # Searchable under its new title (the search index was updated).
    assert list(model.objects.search("removed")) == [new]


@pytest.mark.parametrize("model", IMAGE_MODELS, ids=lambda m: m.__name__)
def test_a_replaced_file_keeps_its_history(run, model):
    source = make_image(model, "Poster", 200, 100, focal=(50, 40, 20, 20))
    original = source.file.name
    original_hash = source.file_hash
    rendition = source.get_rendition("fill-40x40")
    rendition_file = rendition.file.name
    assert source.renditions.count() == 1
    crop = {"x": 30, "y": 10, "width": 120, "height": 80}
    job = queue(run, "crop", [source], "replace", crop)

    source.refresh_from_db()
    with source.file.open("rb") as file:
        content = file.read()
    assert source.file.name != original
    assert (source.width, source.height) == PILImage.open(io.BytesIO(content)).size == (120, 80)
    assert source.file_size == len(content)
    assert source.file_hash == hashlib.sha1(content).hexdigest() != original_hash
    # The focal point moved with the crop box (its centre by -x, -y).
    assert (
        source.focal_point_x,
        source.focal_point_y,
        source.focal_point_width,
        source.focal_point_height,
    ) == (20, 30, 20, 20)
    # Renditions are gone (their files too, once the transaction commits), the original stays.
    assert source.renditions.count() == 0
    assert default_storage.exists(original)
    if model is get_image_model():  # Wagtail cleans up the files of its image model's renditions
        assert not default_storage.exists(rendition_file)
    assert model.objects.count() == 1
    # The log entry keeps what the image was.
    entry = log_entry(source, "django_imageops.replace")
    assert entry.data["job"] == str(job.uuid)
    assert entry.data["previous"]["file"] == original
    assert entry.data["previous"]["file_hash"] == original_hash
    assert (entry.data["previous"]["width"], entry.data["previous"]["height"]) == (200, 100)
    assert entry.data["previous"]["focal_point"]["focal_point_x"] == 50
    assert "Crop job" in entry.message and original in entry.message
    assert entry.formatter.label == "Replace file with an image operation's result"


def test_uncrop_moves_the_focal_point_by_the_offsets(run):
    source = make_image(title="Banner", width=100, height=80, focal=(30, 40, 20, 20))
    queue(run, "uncrop", [source], "replace", {"left": 50, "top": 10, "right": 30})
    source.refresh_from_db()
    assert (source.width, source.height) == (180, 90)
    assert (source.focal_point_x, source.focal_point_y) == (80, 50)
    assert (source.focal_point_width, source.focal_point_height) == (20, 20)


def test_a_focal_point_cropped_away_is_reset(run):
    source = make_image(title="Corner", width=200, height=100, focal=(10, 10, 10, 10))
    queue(run, "crop", [source], "replace", {"x": 100, "y": 0, "width": 100, "height": 100})
    source.refresh_from_db()
    assert source.width == 100
    assert source.get_focal_point() is None


def test_a_file_changed_since_the_job_was_queued_is_not_replaced(run):
    from django.core.files.images import ImageFile

    from tests.contrib.wagtail.support import png

    source = make_image(title="Moving", width=64, height=48)
    job = queue(
        run,
        "crop",
        [source],
        "replace",
        {"x": 0, "y": 0, "width": 10, "height": 10},
        apply_on_success=False,
    )
    source.file.save("other.png", ImageFile(io.BytesIO(png(70, 50))), save=False)
    source.width, source.height = 70, 50
    source.save()
    with pytest.raises(ValueError, match="changed since the job was queued"):
        destinations.apply(job)
    source.refresh_from_db()
    assert "other" in source.file.name
    job.refresh_from_db()
    assert job.applied_at is None


def test_applying_twice_changes_nothing(run):
    source = make_image(title="Twice", width=64, height=48)
    job = queue(run, "remove_background", [source], "new_image", REMOVE_BACKGROUND)
    first = ImageJobDestination.objects.get(job=job).image_id
    again = destinations.apply(job)
    assert str(again.pk) == first
    assert type(source).objects.count() == 2


def test_a_failed_application_is_recorded_and_the_job_stays_succeeded(run):
    source = make_image(title="Gone", width=64, height=48)
    job = queue(
        run,
        "crop",
        [source],
        "replace",
        {"x": 0, "y": 0, "width": 10, "height": 10},
        apply_on_success=False,
    )
    source.delete()
    destinations.job_succeeded(sender=None, job=job)  # not asked to apply on success: nothing
    ImageJobDestination.objects.filter(job=job).update(apply_on_success=True)
    destinations.job_succeeded(sender=None, job=job)
    job.refresh_from_db()
    assert job.status == "succeeded"
    errors = job.events.filter(kind="error").values_list("message", flat=True)
    assert any("not a Wagtail image, or it was deleted" in message for message in errors)


def test_titles_say_what_was_done_and_fit_wagtails_limit():
    assert destinations.result_title("Coffee", "uncrop") == "Coffee (uncropped)"
    long = destinations.result_title("x" * 300, "remove_background")
    assert len(long) == 255 and long.endswith(" (background removed)")
