"""Creating jobs (``jobs.create_jobs``): everything validated before anything is created, a
constant number of queries, sources read when the job runs (objects) or at once (uploads)."""

from __future__ import annotations

import hashlib

import pytest
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile

from django_imageops import jobs
from django_imageops.models import ImageJob, ImageJobEvent
from tests.jobs.support import (
    CROP,
    DUMMY_BACKEND,
    calls,
    make_image,
    photo,
    s3_object,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_servers")]


def test_create_jobs_validates_everything_before_creating_anything(sandbox):
    good, empty = photo(), photo()
    empty.image = ""
    empty.save()
    with pytest.raises(ValidationError) as exc:
        jobs.create_jobs("crop", objects=[good, empty], field="image", params=CROP)
    assert "image" in exc.value.message_dict
    with pytest.raises(ValidationError) as exc:
        jobs.create_jobs("crop", objects=[good], field="image", params={"x": -1, "y": "a"})
    assert set(exc.value.message_dict) == {"x", "y", "width", "height"}
    with pytest.raises(ValidationError) as exc:
        jobs.create_jobs("crop", objects=[good], field="title", params=CROP)
    assert "is not an image field" in exc.value.message_dict["title"][0]
    with pytest.raises(ValidationError) as exc:
        jobs.create_jobs("sharpen", objects=[good], field="image")
    assert "operation" in exc.value.message_dict
    with pytest.raises(ValidationError) as exc:
        jobs.create_jobs("crop", provider="clipdrop", objects=[good], field="image", params=CROP)
    assert "provider" in exc.value.message_dict
    with pytest.raises(ValidationError) as exc:
        jobs.create_jobs("crop", objects=[good], field="image", params=CROP, target_field="nope")
    assert "target_field" in exc.value.message_dict
    with pytest.raises(ValueError):
        jobs.create_jobs("crop", params=CROP)
    # A name the provider does not take is refused by name, never dropped.
    with pytest.raises(ValidationError) as exc:
        jobs.create_jobs("crop", objects=[good], field="image", params={**CROP, "foo": 1})
    assert exc.value.message_dict == {"foo": ["Not a parameter of crop on pixlab."]}
    with pytest.raises(ValidationError) as exc:
        jobs.create_jobs("reimagine", objects=[good], field="image", params={"strength": 0.5})
    assert list(exc.value.message_dict) == ["strength"]
    assert ImageJob.objects.count() == 0
    assert calls(sandbox, "pixlab") == 0


def test_object_sources_are_not_read_when_jobs_are_created(sandbox, settings):
    """Queueing N objects costs no storage read (in production: no S3 GET per object inside
    the admin's request); the bytes are read and checked when the job runs."""
    from django.core.files.storage import default_storage

    settings.TASKS = {"default": {"BACKEND": DUMMY_BACKEND}}
    gone = photo()
    default_storage.delete(gone.image.name)  # a name, but no file behind it
    [job] = jobs.create_jobs("crop", objects=[gone], field="image", params=CROP)
    assert job.status == "pending" and job.source_hash == ""
    job = jobs.run_job(job.pk)
    assert job.status == "failed" and job.error_code == "source_missing"
    assert calls(sandbox, "pixlab") == 0


def test_an_unusable_object_source_fails_its_job_before_any_vendor_call(run, sandbox):
    broken = photo(b"%PDF-1.4 not an image", name="report.png")
    outside = photo(make_image(64, 48))
    created = run(jobs.create_jobs, "crop", objects=[broken], field="image", params=CROP)
    created += run(
        jobs.create_jobs, "crop", objects=[outside], field="image", params={**CROP, "x": 60}
    )
    broken_job, outside_job = (ImageJob.objects.get(pk=j.pk) for j in created)
    assert broken_job.status == outside_job.status == "failed"
    assert broken_job.error_code == outside_job.error_code == "invalid_input"
    assert "not an image we can read" in broken_job.error_message
    assert "beyond the image's width of 64" in outside_job.error_message
    assert broken_job.credits_consumed == outside_job.credits_consumed == 0
    assert broken_job.source_hash  # hashed when it ran
    assert calls(sandbox, "pixlab") == 0


def test_given_source_hashes_are_stored_but_the_bytes_are_still_checked(run, sandbox):
    broken = photo(b"not an image either", name="x.png")
    [job] = run(
        jobs.create_jobs,
        "crop",
        objects=[broken],
        field="image",
        params=CROP,
        source_hashes=[hashlib.sha256(b"not an image either").hexdigest()],
    )
    job.refresh_from_db()
    assert job.status == "failed" and job.error_code == "invalid_input"
    assert calls(sandbox, "pixlab") == 0
    with pytest.raises(ValueError):
        jobs.create_jobs("crop", objects=[broken], field="image", params=CROP, source_hashes=[])


def test_create_jobs_uses_a_constant_number_of_queries(django_assert_num_queries, settings):
    settings.TASKS = {"default": {"BACKEND": DUMMY_BACKEND}}
    one = [photo()]
    many = [photo() for _ in range(6)]
    from django.contrib.contenttypes.models import ContentType

    from tests.testapp.models import Photo

    ContentType.objects.get_for_model(Photo)  # cached, as on a running site
    with django_assert_num_queries(4) as captured:
        jobs.create_jobs("crop", objects=one, field="image", params=CROP)
    count = len(captured.captured_queries)
    with django_assert_num_queries(count):
        created = jobs.create_jobs("crop", objects=many, field="image", params=CROP, batch=None)
    assert len(created) == 6 and all(j.pk for j in created)


def test_create_jobs_from_uploads_stores_the_source(run, sandbox, s3):
    upload = ContentFile(make_image(64, 48), name="holiday photo (1).png")
    [job] = run(jobs.create_jobs, "crop", uploads=[upload], params=CROP)
    job.refresh_from_db()
    assert job.source_file.name.startswith(f"imageops/sources/{job.uuid}/")
    assert job.source_name == job.source_file.name
    assert s3_object(s3, job.source_file.name)["ContentLength"] > 0
    assert job.status == "succeeded", job.error_message
    with pytest.raises(ValidationError) as exc:
        jobs.create_jobs("crop", uploads=[ContentFile(b"not an image", name="x.png")], params=CROP)
    assert "image" in exc.value.message_dict


@pytest.mark.parametrize(
    ("name", "image_format", "stored_as", "content_type"),
    [
        ("page.html", "PNG", "page.png", "image/png"),
        ("photo.png", "JPEG", "photo.jpg", "image/jpeg"),
        ("evil.svg", "GIF", "evil.gif", "image/gif"),
        ("no-extension", "WEBP", "no-extension.webp", "image/webp"),
    ],
)
def test_uploads_are_stored_under_their_sniffed_format(
    run, sandbox, s3, name, image_format, stored_as, content_type
):
    """A valid image with an HTML page appended, sent as ``page.html``/``text/html``, must not
    be served back as ``text/html``: the stored name and Content-Type come from the bytes."""
    data = make_image(64, 48, image_format) + b"<html><script>alert(1)</script></html>"
    upload = SimpleUploadedFile(name, data, "text/html")
    [job] = run(jobs.create_jobs, "crop", uploads=[upload], params=CROP)
    assert job.source_file.name == f"imageops/sources/{job.uuid}/{stored_as}"
    assert s3_object(s3, job.source_file.name)["ContentType"] == content_type


def test_batch_and_created_by_are_recorded(sandbox, django_user_model, settings):
    import uuid

    settings.TASKS = {"default": {"BACKEND": DUMMY_BACKEND}}
    user = django_user_model.objects.create_user("editor")
    batch = uuid.uuid4()
    created = jobs.create_jobs(
        "crop", objects=[photo(), photo()], field="image", params=CROP, created_by=user, batch=batch
    )
    assert set(ImageJob.objects.filter(batch=batch).values_list("created_by", flat=True)) == {
        user.pk
    }
    assert all(j.status == "pending" for j in created)
    assert ImageJobEvent.objects.filter(kind="created").count() == 2
