"""Thumbnails of results (``django_imageops.thumbnails``): made once when a result is stored,
stored beside it on S3 (moto), reused with the result, shown by the admin instead of the
full-size result, and never a reason to lose a result."""

from __future__ import annotations

import io

import pytest
from django.urls import reverse
from PIL import Image

from django_imageops import jobs
from django_imageops.thumbnails import make_thumbnail, thumbnail_name
from tests.jobs.support import imageops_settings, make_image, noisy_image, photo, s3_object

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_servers")]


def test_a_stored_result_gets_a_thumbnail_beside_it(run, s3):
    data = noisy_image(900, 600)  # incompressible: a result far bigger than its thumbnail
    source = photo(data, name="wide.png")
    params = {"mode": "auto", "test": True}
    [job] = run(
        jobs.create_jobs, "remove_background", objects=[source], field="image", params=params
    )
    job.refresh_from_db()
    assert job.status == "succeeded", job.error_message
    assert job.result_thumbnail.name == thumbnail_name(job.result.name)
    assert job.result_thumbnail.name.endswith(f"{job.uuid}.thumb.webp")
    stored = s3_object(s3, job.result_thumbnail.name)
    with Image.open(io.BytesIO(stored["Body"].read())) as thumb:
        assert thumb.format == "WEBP"
        assert max(thumb.size) == 320 and thumb.size[0] > thumb.size[1]
        assert thumb.mode == "RGBA"  # the cut-out's transparency is kept
    assert job.result_summary()["thumbnail_url"] == job.result_thumbnail.url

    # A job reusing that result reuses its thumbnail too (no second one is made).
    [again] = run(
        jobs.create_jobs,
        "remove_background",
        objects=[photo(data, name="same.png")],
        field="image",
        params=params,
    )
    again.refresh_from_db()
    assert again.reused_from_id == job.pk
    assert again.result_thumbnail.name == job.result_thumbnail.name


@pytest.mark.parametrize(
    ("thumbnail_size", "data"),
    [
        (None, noisy_image(500, 400)),  # thumbnails switched off
        (320, noisy_image(300, 200)),  # no larger than a thumbnail
        (320, make_image(500, 400)),  # a few bytes: its own thumbnail
    ],
)
def test_no_thumbnail_when_off_or_not_worth_it(run, settings, thumbnail_size, data):
    imageops_settings(settings, THUMBNAIL_SIZE=thumbnail_size)
    box = {"x": 0, "y": 0, "width": 300, "height": 200}
    [job] = run(jobs.create_jobs, "crop", objects=[photo(data)], field="image", params=box)
    job.refresh_from_db()
    assert job.status == "succeeded" and job.result and not job.result_thumbnail
    assert job.result_summary()["thumbnail_url"] is None


def test_make_thumbnail_never_enlarges_and_refuses_nothing():
    assert make_thumbnail(b"not an image") is None
    data = make_image(40, 30, fmt="JPEG")
    assert Image.open(io.BytesIO(make_thumbnail(data))).size == (40, 30)


def test_the_admin_shows_thumbnails_and_names_the_source(run, admin_client):
    source = photo(noisy_image(500, 400), name="coffee.png", title="Coffee")
    box = {"x": 0, "y": 0, "width": 400, "height": 300}
    [job] = run(jobs.create_jobs, "crop", objects=[source], field="image", params=box)
    job.refresh_from_db()
    html = admin_client.get(reverse("admin:django_imageops_imagejob_changelist")).content.decode()
    thumb_url = job.result_thumbnail.url.split("?")[0]
    result_url = job.result.url.split("?")[0]
    assert f'src="{thumb_url}?' in html  # the small WebP is what the browser loads...
    assert f'href="{result_url}?' in html  # ...linked to the full result
    assert f'src="{result_url}?' not in html
    change_url = reverse("admin:testapp_photo_change", args=[source.pk])
    assert f'<a href="{change_url}" title="photo #{source.pk}, image">Coffee</a>' in html

    inline = admin_client.get(change_url).content.decode()
    assert f'src="{thumb_url}?' in inline and f'src="{result_url}?' not in inline

    source.delete()
    html = admin_client.get(reverse("admin:django_imageops_imagejob_changelist")).content.decode()
    assert f"photo #{job.source_object_id} (deleted)" in html
