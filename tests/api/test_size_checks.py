"""Values that only fail against the source object's image size are refused by ``POST jobs/``
(issue 14 bug 3), as on the admin's forms: the size comes from ``width_field``/``height_field``
or a header read, so no job is created and no vendor called."""

from __future__ import annotations

import pytest

from django_imageops.models import ImageJob
from tests.testapp.models import Picture

from .conftest import JOBS_URL, grant

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("dry_run", [False, True])
def test_a_crop_box_leaving_the_image_is_refused(alice_client, alice, photo, sandbox, dry_run):
    grant(alice, "change_photo")
    body = {"operation": "crop", "model": "testapp.photo", "pk": photo.pk, "field": "image"}
    body |= {"x": 10, "y": 0, "width": 60, "height": 10, "dry_run": dry_run}  # 70 > 64 px
    response = alice_client.post(JOBS_URL, body, format="json")
    assert response.status_code == 400
    assert response.json()["width"] == ["x + width (70) is beyond the image's width of 64 pixels."]
    assert ImageJob.objects.count() == 0
    assert sandbox.counters()["pixlab"]["calls"] == 0


def test_offsets_cropping_away_a_stored_size_are_refused_without_reading_the_file(
    alice_client, alice, sandbox
):
    grant(alice, "change_picture")
    picture = Picture.objects.create(image="pictures/not-there.png", width=512, height=512)
    body = {"operation": "uncrop", "model": "testapp.picture", "pk": picture.pk}
    body |= {"field": "image", "left": -600}
    response = alice_client.post(JOBS_URL, body, format="json")
    assert response.status_code == 400
    assert response.json()["left"] == ["left + right crop away the whole 512-pixel width."]
    assert ImageJob.objects.count() == 0
