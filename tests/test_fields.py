"""``DerivedImageField``: deconstruction, ``auto`` queueing keyed by content hash, the states
shown in the admin, and a job filling the field."""

from __future__ import annotations

import pytest
from django.contrib.contenttypes.models import ContentType
from django.core.files.base import ContentFile
from django.db import models
from django.test.utils import isolate_apps
from django.urls import reverse

from django_imageops.conf import get_storage
from django_imageops.fields import DerivedImageField, DerivedImageState
from django_imageops.models import ImageJob
from tests.conftest import make_image
from tests.testapp.models import Photo, Product

RED = make_image(64, 48, color=(200, 40, 40))
BLUE = make_image(64, 48, color=(40, 40, 200))


def test_deconstruct_round_trip():
    field = Product._meta.get_field("cutout")
    _name, path, args, kwargs = field.deconstruct()
    assert path == "django_imageops.fields.DerivedImageField"
    assert kwargs == {
        "source": "photo",
        "operation": "remove_background",
        "provider": "clippingmagic",
        "params": {"mode": "auto", "test": True},
        "auto": True,
    }
    clone = DerivedImageField(*args, **kwargs)
    assert clone.storage is get_storage() or clone.storage == get_storage()
    assert clone.blank is True
    assert clone.deconstruct()[3] == kwargs


def test_unknown_operation_or_provider_is_refused():
    with pytest.raises(ValueError):
        DerivedImageField(source="photo", operation="sharpen")
    # A provider is checked by the system checks (it may come from IMAGEOPS["PROVIDERS"],
    # which is not read while models are defined): E007.
    with isolate_apps("tests.testapp"):

        class Sign(models.Model):
            photo = models.ImageField()
            wrong = DerivedImageField(source="photo", operation="crop", provider="clipdrop")
            right = DerivedImageField(
                source="photo",
                operation="crop",
                provider="pixlab",
                params={"x": 0, "y": 0, "width": 10, "height": 10},
            )

            class Meta:
                app_label = "testapp"

            def __str__(self):
                return "sign"

    [error] = Sign._meta.get_field("wrong").check()
    assert error.id == "django_imageops.E007"
    assert "'clipdrop' cannot run 'crop'" in error.msg and "pixlab" in error.hint
    assert Sign._meta.get_field("right").check() == []


def test_params_a_provider_refuses_are_reported():
    """Every job of such a field would be refused: said by check E007, not by each job."""
    with isolate_apps("tests.testapp"):

        class Banner(models.Model):
            photo = models.ImageField()
            unknown = DerivedImageField(
                source="photo", operation="reimagine", params={"strength": 0.5}
            )
            too_far = DerivedImageField(source="photo", operation="uncrop", params={"left": 5000})
            right = DerivedImageField(source="photo", operation="uncrop", params={"left": 50})

            class Meta:
                app_label = "testapp"

            def __str__(self):
                return "banner"

    [error] = Banner._meta.get_field("unknown").check()
    assert error.id == "django_imageops.E007"
    assert "strength: Not a parameter of reimagine on clipdrop" in error.msg
    [error] = Banner._meta.get_field("too_far").check()
    assert error.id == "django_imageops.E007" and "left:" in error.msg
    assert Banner._meta.get_field("right").check() == []


def jobs_for(product) -> list[ImageJob]:
    return list(
        ImageJob.objects.filter(
            source_content_type=ContentType.objects.get_for_model(Product),
            source_object_id=str(product.pk),
        ).order_by("pk")
    )


@pytest.mark.django_db
def test_auto_queues_on_commit_and_not_again_for_the_same_bytes(
    django_capture_on_commit_callbacks,
):
    with django_capture_on_commit_callbacks() as callbacks:
        product = Product(name="Mug")
        product.photo.save("mug.png", ContentFile(RED))
    assert jobs_for(product) == []  # nothing before the commit
    # Run the captured callbacks as the commit would (the job's own enqueue is captured too).
    with django_capture_on_commit_callbacks():
        for callback in callbacks:
            callback()
    jobs = jobs_for(product)
    assert len(jobs) == 1
    job = jobs[0]
    assert job.operation == "remove_background" and job.provider == "clippingmagic"
    assert job.target_field == "cutout" and job.source_field == "photo"
    assert job.params == {"mode": "auto", "test": True}
    assert job.source_hash

    # Re-saving, or reloading and saving, queues nothing.
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        product.name = "Big mug"
        product.save()
        Product.objects.get(pk=product.pk).save()
    assert callbacks == []
    # Uploading the same bytes under a new name: hashed, recognised, nothing queued.
    with django_capture_on_commit_callbacks(execute=True):
        product.photo.save("mug-again.png", ContentFile(RED))
    assert len(jobs_for(product)) == 1
    # New content queues a new job.
    with django_capture_on_commit_callbacks() as callbacks:
        product.photo.save("mug-blue.png", ContentFile(BLUE))
        product.refresh_from_db()
    with django_capture_on_commit_callbacks():
        for callback in callbacks:
            callback()
    assert len(jobs_for(product)) == 2


@pytest.mark.django_db
def test_auto_field_is_filled_by_the_job(django_capture_on_commit_callbacks, sandbox, s3):
    with django_capture_on_commit_callbacks(execute=True):
        product = Product(name="Mug")
        product.photo.save("mug.png", ContentFile(BLUE))
    job = jobs_for(product)[0]
    assert job.status == ImageJob.Status.SUCCEEDED
    product.refresh_from_db()
    assert product.cutout.name == job.result.name
    assert Product._meta.get_field("cutout").get_state(product) == DerivedImageState.READY


@pytest.mark.django_db
def test_update_fields_without_the_source_queues_nothing(django_capture_on_commit_callbacks):
    product = Product.objects.create(name="Cup", photo="products/none.png")
    with django_capture_on_commit_callbacks() as callbacks:
        product.photo.name = "products/other.png"
        product.save(update_fields=["name"])
    assert callbacks == []


@pytest.mark.django_db
def test_manual_field_queues_nothing(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        photo = Photo(title="Manual")
        photo.image.save("manual.png", ContentFile(RED))
    assert ImageJob.objects.count() == 0


@pytest.mark.django_db
def test_states():
    field = Photo._meta.get_field("cutout")
    photo = Photo.objects.create(title="S", image="photos/s.png")
    assert field.get_state(photo) == DerivedImageState.EMPTY
    content_type = ContentType.objects.get_for_model(Photo)
    job = ImageJob.objects.create(
        operation="remove_background",
        provider="clippingmagic",
        source_content_type=content_type,
        source_object_id=str(photo.pk),
        source_field="image",
        source_name="photos/s.png",
        target_field="cutout",
    )
    assert field.get_state(photo) == DerivedImageState.QUEUED
    for status, state in [
        (ImageJob.Status.RUNNING, DerivedImageState.RUNNING),
        (ImageJob.Status.WAITING_FOR_EDITOR, DerivedImageState.WAITING),
        (ImageJob.Status.FAILED, DerivedImageState.FAILED),
    ]:
        ImageJob.objects.filter(pk=job.pk).update(status=status)
        assert field.get_state(photo) == state
    # A file from an earlier job, and the latest job failed: Failed, not Ready.
    photo.cutout.name = "imageops/results/remove_background/x.png"
    assert field.get_state(photo) == DerivedImageState.FAILED
    ImageJob.objects.filter(pk=job.pk).update(
        status=ImageJob.Status.SUCCEEDED, result=photo.cutout.name
    )
    state, latest = field.get_state(photo, with_job=True)
    assert state == DerivedImageState.READY
    assert latest.pk == job.pk
    # The source changed since: Stale.
    photo.image.name = "photos/other.png"
    assert field.get_state(photo) == DerivedImageState.STALE


@pytest.mark.django_db
def test_admin_shows_the_state_and_never_changes_the_file(admin_client):
    photo = Photo.objects.create(title="S", image="photos/s.png")
    photo.cutout.name = "imageops/results/remove_background/kept.png"
    photo.save()
    url = reverse("admin:testapp_photo_change", args=[photo.pk])
    html = admin_client.get(url).content.decode()
    assert "imageops-derived-ready" in html
    assert "/imageops-test/imageops/results/remove_background/kept.png" in html
    # Posting the change form keeps the derived file without reading it from storage.
    admin_client.post(
        url,
        {
            "title": "Renamed",
            "imageops_jobs-TOTAL_FORMS": "0",
            "imageops_jobs-INITIAL_FORMS": "0",
            "django_imageops-imagejob-source_content_type-source_object_id-TOTAL_FORMS": "0",
            "django_imageops-imagejob-source_content_type-source_object_id-INITIAL_FORMS": "0",
        },
    )
    photo.refresh_from_db()
    assert photo.title == "Renamed"
    assert photo.cutout.name == "imageops/results/remove_background/kept.png"
