"""Bulk actions on Wagtail's image listing (``register_bulk_action``), through Wagtail's bulk
action URL with Django's test client: the confirmation page (the shared operation form, its
previews and cost line), one batch of jobs, each result into the image library; the images the
user may not change left out; users who may not spend credits refused. Real jobs."""

from __future__ import annotations

import pytest

pytest.importorskip("wagtail")

from django.urls import reverse
from wagtail.images.models import Image

from django_imageops.models import ImageJob
from tests.contrib.wagtail.support import (
    child_collection,
    editor,
    make_image,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_servers")]


def action_url(action: str, images, **query) -> str:
    url = reverse("wagtail_bulk_action", args=("wagtailimages", "image", f"imageops_{action}"))
    ids = "&".join(f"id={image.pk}" for image in images)
    extra = "".join(f"&{key}={value}" for key, value in query.items())
    return f"{url}?{ids}{extra}"


def test_the_actions_are_offered_on_the_image_listing(client):
    make_image(title="Listed")
    client.force_login(editor())
    page = client.get(reverse("wagtailimages:index")).content.decode()
    for action in ("remove_background", "uncrop", "reimagine", "crop"):
        assert f"imageops_{action}" in page


def test_a_bulk_action_queues_one_batch_and_each_result_becomes_an_image(
    client, django_capture_on_commit_callbacks
):
    coffee = make_image(title="Coffee", width=160, height=120, tags=["menu"])
    tea = make_image(title="Tea", width=120, height=160)
    user = editor(can_view_jobs=True)
    client.force_login(user)
    url = action_url("remove_background", [coffee, tea], next="/admin/images/")
    page = client.get(url)
    assert page.status_code == 200
    html = page.content.decode()
    # The shared operation form: previews of both images, the defaults' cost, the destination.
    assert html.count('class="imageops-source"') == 2
    assert "2 jobs" in html
    assert 'name="destination"' in html
    assert "django_imageops/forms/operation_form.js" in html

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            url,
            {
                "imageops_post": "yes",
                "field": "file",
                "mode": "auto",
                "test": "on",
                "destination": "new_image",
            },
        )
    assert response.status_code == 302
    assert response["Location"] == "/admin/images/"
    jobs = list(ImageJob.objects.order_by("pk"))
    assert [job.source_object for job in jobs] == [coffee, tea]
    assert len({job.batch for job in jobs}) == 1 and jobs[0].batch is not None
    assert all(job.status == "succeeded" and job.created_by == user for job in jobs)
    titles = sorted(Image.objects.values_list("title", flat=True))
    assert titles == ["Coffee", "Coffee (background removed)", "Tea", "Tea (background removed)"]
    assert Image.objects.get(title="Coffee (background removed)").tags.names()[0] == "menu"
    message = next(str(m) for m in response.wsgi_request._messages)
    assert "2 Remove background jobs queued" in message
    assert f"?batch={jobs[0].batch}" in message


def test_a_replacing_bulk_action_replaces_each_file(client, django_capture_on_commit_callbacks):
    images = [make_image(title=f"Wide {n}", width=100, height=50) for n in (1, 2)]
    client.force_login(editor())
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            action_url("uncrop", images),
            {
                "imageops_post": "yes",
                "field": "file",
                "provider": "clipdrop",
                "right": 100,
                "destination": "replace",
            },
        )
    for image in images:
        image.refresh_from_db()
        assert (image.width, image.height) == (200, 50)
    assert Image.objects.count() == 2


def test_images_the_user_may_not_change_are_left_out(client, django_capture_on_commit_callbacks):
    mine = make_image(title="Mine", collection=child_collection("Mine"))
    theirs = make_image(title="Theirs", collection=child_collection("Theirs"))
    client.force_login(editor(collection=mine.collection))
    url = action_url("crop", [mine, theirs])
    html = client.get(url).content.decode()
    assert "permission to change this image" in html and "Theirs" in html
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            url,
            {
                "imageops_post": "yes",
                "field": "file",
                "x": 0,
                "y": 0,
                "width": 20,
                "height": 20,
                "destination": "new_image",
            },
        )
    assert [job.source_object for job in ImageJob.objects.all()] == [mine]


def test_users_who_may_not_spend_credits_are_refused(client):
    image = make_image(title="Refused")
    client.force_login(editor(can_queue=False))
    # Wagtail lists every registered bulk action; using this one is refused.
    response = client.post(
        action_url("crop", [image]),
        {
            "imageops_post": "yes",
            "field": "file",
            "x": 0,
            "y": 0,
            "width": 20,
            "height": 20,
            "destination": "new_image",
        },
    )
    assert response.status_code in (302, 403)
    assert not ImageJob.objects.exists()


def test_invalid_values_show_the_form_again_and_queue_nothing(client):
    image = make_image(title="Tiny", width=64, height=48)
    client.force_login(editor())
    response = client.post(
        action_url("crop", [image]),
        {
            "imageops_post": "yes",
            "field": "file",
            "x": 0,
            "y": 0,
            "width": 100,
            "height": 10,
            "destination": "new_image",
        },
    )
    assert response.status_code == 200
    assert "Tiny: x + width (100) is beyond the image" in response.content.decode()
    assert not ImageJob.objects.exists()
