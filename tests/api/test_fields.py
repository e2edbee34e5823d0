"""``ImageJobResultField``: a DerivedImageField in a site's own serializer."""

from __future__ import annotations

import uuid

import pytest
from django.contrib.contenttypes.models import ContentType
from django.core.files.base import ContentFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from drf_spectacular.generators import SchemaGenerator
from rest_framework import generics, serializers

from django_imageops import jobs
from django_imageops.api.fields import ImageJobResultField
from django_imageops.models import ImageJob
from tests.conftest import make_image
from tests.testapp.models import Photo

pytestmark = pytest.mark.django_db


class PhotoSerializer(serializers.ModelSerializer):
    cutout = ImageJobResultField()

    class Meta:
        model = Photo
        fields = ["id", "cutout"]


def _photo(title="p") -> Photo:
    photo = Photo(title=title)
    photo.image.save(f"{uuid.uuid4().hex}.png", ContentFile(make_image(64, 48)), save=True)
    return photo


def _target_job(photo, **fields) -> ImageJob:
    return ImageJob.objects.create(
        operation="remove_background",
        provider="clippingmagic",
        params={"mode": "auto", "test": True},
        source_content_type=ContentType.objects.get_for_model(photo),
        source_object_id=str(photo.pk),
        source_field="image",
        target_field="cutout",
        **fields,
    )


def test_empty_queued_and_failed(s3):
    photo = _photo()
    assert PhotoSerializer(photo).data["cutout"] == {
        "status": "empty",
        "url": None,
        "thumbnail_url": None,
        "width": None,
        "height": None,
    }
    job = _target_job(photo)
    assert PhotoSerializer(photo).data["cutout"]["status"] == "queued"
    job.status = ImageJob.Status.FAILED
    job.save()
    assert PhotoSerializer(photo).data["cutout"]["status"] == "failed"


def test_ready_after_a_real_job(sandbox, s3, django_capture_on_commit_callbacks):
    photo = _photo()
    with django_capture_on_commit_callbacks(execute=True):
        (job,) = jobs.create_jobs(
            "remove_background",
            objects=[photo],
            field="image",
            params={"mode": "auto", "test": True},
            target_field="cutout",
        )
    job.refresh_from_db()
    assert job.status == ImageJob.Status.SUCCEEDED, job.error_message
    if not job.applied_at:
        jobs.apply_result(job)
    photo.refresh_from_db()
    data = PhotoSerializer(photo).data["cutout"]
    assert data["status"] == "ready"
    assert data["url"] and data["url"].split("?")[0].endswith(photo.cutout.name)
    assert (data["width"], data["height"]) == (job.result_width, job.result_height)
    assert data["width"] > 0
    # A newer job in flight shows as queued, the stored image stays available.
    _target_job(photo)
    data = PhotoSerializer(photo).data["cutout"]
    assert data["status"] == "queued"
    assert data["url"]


def _queries_for(count: int) -> int:
    Photo.objects.all().delete()
    for i in range(count):
        photo = _photo(f"p{i}")
        if i % 2:
            _target_job(photo)
    ContentType.objects.clear_cache()
    with CaptureQueriesContext(connection) as queries:
        data = PhotoSerializer(Photo.objects.all(), many=True).data
    assert len(data) == count
    assert {row["cutout"]["status"] for row in data} == (
        {"empty"} if count == 1 else {"empty", "queued"}
    )
    return len(queries)


def test_query_count_constant_in_list_length(s3):
    assert _queries_for(1) == _queries_for(20)


def test_schema_of_the_field():
    class PhotoList(generics.ListAPIView):
        queryset = Photo.objects.all()
        serializer_class = PhotoSerializer

    from django.urls import path

    generator = SchemaGenerator(patterns=[path("photos/", PhotoList.as_view())])
    schema = generator.get_schema(request=None, public=True)
    component = schema["components"]["schemas"]["DerivedImage"]
    assert set(component["properties"]) == {"status", "url", "thumbnail_url", "width", "height"}
