"""Results (``jobs.results``): reuse of deterministic work, and results applied to the source
object (a target field without a copy, or the source replaced with the original kept)."""

from __future__ import annotations

import pytest
from PIL import Image

from django_imageops import jobs
from tests.jobs.support import (
    CROP,
    DUMMY_BACKEND,
    calls,
    kinds,
    make_image,
    photo,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_servers")]


@pytest.mark.parametrize(
    ("operation", "params", "vendor", "reused"),
    [
        ("crop", CROP, "pixlab", True),
        ("uncrop", {"left": 10, "seed": 42}, "clipdrop", True),
        ("remove_background", {"mode": "auto", "test": True}, "clippingmagic", True),
        ("uncrop", {"left": 10}, "clipdrop", False),
        ("reimagine", {}, "clipdrop", False),
    ],
)
def test_deterministic_work_is_not_paid_twice(run, sandbox, operation, params, vendor, reused):
    data = make_image(70, 50)
    [first] = run(jobs.create_jobs, operation, objects=[photo(data)], field="image", params=params)
    first.refresh_from_db()
    before = calls(sandbox, vendor)
    # Same content, another object and file name.
    [second] = run(
        jobs.create_jobs,
        operation,
        objects=[photo(data, name="copy.png")],
        field="image",
        params=params,
    )
    second.refresh_from_db()
    assert second.status == "succeeded"
    if reused:
        assert calls(sandbox, vendor) == before
        assert second.reused_from_id == first.pk
        assert second.result.name == first.result.name
        assert second.credits_consumed == 0
        assert second.result_width == first.result_width
    else:
        assert calls(sandbox, vendor) == before + 1
        assert second.reused_from_id is None
        assert second.result.name != first.result.name


def test_other_params_are_not_reused(run, sandbox):
    data = make_image(70, 50)
    run(jobs.create_jobs, "crop", objects=[photo(data)], field="image", params=CROP)
    [other] = run(
        jobs.create_jobs,
        "crop",
        objects=[photo(data)],
        field="image",
        params={**CROP, "width": 21},
    )
    other.refresh_from_db()
    assert other.reused_from_id is None
    assert calls(sandbox, "pixlab") == 2


def test_apply_result_fills_the_target_field_and_replaces_the_source_on_request(run, sandbox):
    from django.core.files.storage import default_storage

    obj = photo(make_image(64, 48))
    original = obj.image.name
    [job] = run(
        jobs.create_jobs, "crop", objects=[obj], field="image", params=CROP, target_field="banner"
    )
    job.refresh_from_db()
    obj.refresh_from_db()
    assert job.applied_at is not None
    assert obj.banner.name == job.result.name  # the stored name, no copy
    assert obj.image.name == original
    jobs.apply_result(job, replace_source=True)
    obj.refresh_from_db()
    assert obj.image.name != original
    assert Image.open(obj.image).size == (20, 10)
    assert default_storage.exists(original)  # the original stays, named in source_name
    assert job.source_name == original
    assert "applied" in kinds(job)


def test_apply_result_refuses_unfinished_jobs(sandbox, settings):
    settings.TASKS = {"default": {"BACKEND": DUMMY_BACKEND}}
    [job] = jobs.create_jobs("crop", objects=[photo()], field="image", params=CROP)
    with pytest.raises(ValueError):
        jobs.apply_result(job)


def test_the_result_fills_a_derived_image_field_without_a_copy(run, sandbox, s3):
    from django.conf import settings as django_settings

    obj = photo(make_image(80, 60))
    [job] = run(
        jobs.create_jobs,
        "remove_background",
        objects=[obj],
        field="image",
        params={"mode": "auto", "test": True},
        target_field="cutout",
    )
    job.refresh_from_db()
    obj.refresh_from_db()
    assert job.status == "succeeded", job.error_message
    assert obj.cutout.name == job.result.name
    assert job.result.name in obj.cutout.url  # a presigned URL, built without a request
    keys = [
        item["Key"]
        for page in s3.get_paginator("list_objects_v2").paginate(
            Bucket=django_settings.S3_BUCKET, Prefix="imageops/"
        )
        for item in page.get("Contents", [])
    ]
    # The result (and its thumbnail, when it is big enough for one), no copy in the derived
    # field's own folder.
    expected = [job.result.name] + ([job.result_thumbnail.name] if job.result_thumbnail else [])
    assert sorted(k for k in keys if str(job.uuid) in k or "cutout" in k) == sorted(expected)


def test_replacing_the_source_updates_its_width_and_height_fields(run, sandbox, s3):
    from django.core.files.base import ContentFile

    from django_imageops.conf import get_storage
    from tests.testapp.models import Picture

    name = get_storage().save("pictures/wide.png", ContentFile(make_image(100, 50)))
    picture = Picture.objects.create(name="Wide", image=name, width=100, height=50)
    [job] = run(jobs.create_jobs, "uncrop", objects=[picture], field="image", params={"right": 200})
    job.refresh_from_db()
    assert (job.result_width, job.result_height) == (300, 50), job.error_message
    jobs.apply_result(job, replace_source=True)
    picture.refresh_from_db()
    # The model's width_field/height_field follow the new file (they read 100x50 before).
    assert (picture.width, picture.height) == (300, 50)
    assert Image.open(picture.image).size == (300, 50)
