"""The job list and the ClippingMagic editor page inside Wagtail's admin, with the Django
admin's permission rules (read: ``view_imagejob``; act: the job's creator or who may change its
image), and the system check of the edit page's form base. Real jobs (sandbox over HTTP, moto
S3)."""

from __future__ import annotations

import uuid

import pytest

pytest.importorskip("wagtail")

from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.test import override_settings
from django.urls import reverse
from wagtail.images.models import Image

from django_imageops.contrib.wagtail import destinations
from django_imageops.models import ImageJob
from tests.contrib.wagtail.support import (
    child_collection,
    editor,
    log_actions,
    make_image,
    superuser,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_servers")]

REVIEW = {"mode": "review", "test": True}


def queued(run, image, operation="crop", params=None, user=None, **kwargs):
    [job] = run(
        destinations.queue_jobs,
        operation,
        [image],
        destination=kwargs.pop("destination", "new_image"),
        apply_on_success=kwargs.pop("apply_on_success", False),
        created_by=user,
        params=params or {"x": 0, "y": 0, "width": 20, "height": 20},
    )
    job.refresh_from_db()
    return job


def test_the_job_list_needs_the_view_permission(client, run):
    image = make_image(title="Listed")
    job = queued(run, image)
    client.force_login(editor("reader", can_view_jobs=True))
    index = client.get(reverse("imageops_wagtail_jobs:index"))
    assert index.status_code == 200
    html = index.content.decode()
    assert str(job.uuid) in html and "Listed" in html
    assert job.result.url.split("?")[0] in html  # the after thumbnail, no storage request
    assert reverse("imageops_wagtail_jobs:inspect", args=[job.pk]) in html
    # Nothing to add or edit by hand.
    assert "/imageops/jobs/new/" not in html
    assert client.get(f"{reverse('imageops_wagtail_jobs:index')}?status=failed").status_code == 200

    client.force_login(editor("no-reader"))
    assert client.get(reverse("imageops_wagtail_jobs:index")).status_code == 302
    assert client.get(reverse("imageops_wagtail_jobs:inspect", args=[job.pk])).status_code == 302


def test_the_batch_filter_shows_one_actions_jobs(client, run):
    first = queued(run, make_image(title="First"))
    second = queued(run, make_image(title="Second"))
    batch = uuid.uuid4()
    ImageJob.objects.filter(pk=first.pk).update(batch=batch)
    client.force_login(superuser())
    html = client.get(f"{reverse('imageops_wagtail_jobs:index')}?batch={batch}").content.decode()
    assert str(first.uuid) in html and str(second.uuid) not in html


def test_a_job_page_puts_the_result_in_the_library_for_who_may_act(client, run):
    image = make_image(title="Acted", collection=child_collection("Shop"))
    job = queued(run, image, destination="replace")
    page_url = reverse("imageops_wagtail_jobs:inspect", args=[job.pk])
    action = reverse("imageops_wagtail_jobs:action", args=[job.pk, "apply"])

    # May read jobs, may not change this image: no action, and posting one is refused.
    outsider = editor("outsider", collection=child_collection("Other"), can_view_jobs=True)
    client.force_login(outsider)
    html = client.get(page_url).content.decode()
    assert "Before and after" in html and action not in html
    assert client.post(action).status_code in (302, 403)
    image.refresh_from_db()
    assert image.width == 160

    client.force_login(editor("shop", collection=image.collection, can_view_jobs=True))
    html = client.get(page_url).content.decode()
    assert action in html and "Replace the file" in html
    response = client.post(action, follow=True)
    assert "The result is in the image library" in response.content.decode()
    image.refresh_from_db()
    assert (image.width, image.height) == (20, 20)
    # Applied: the action is gone.
    assert action not in client.get(page_url).content.decode()


def test_a_failed_job_can_be_retried_from_its_page(client, run, sandbox):
    image = make_image(title="Retried")
    sandbox.fail_next("pixlab", count=10, status=400)
    job = queued(run, image)
    assert job.status == "failed"
    sandbox.reset()
    client.force_login(superuser())
    client.post(reverse("imageops_wagtail_jobs:action", args=[job.pk, "retry"]))
    job.refresh_from_db()
    assert job.status in ("pending", "succeeded")


def test_the_editor_page_in_wagtails_skin(client, run):
    image = make_image(title="Cut me", width=80, height=60, collection=child_collection("Shop"))
    owner = editor("owner")
    job = queued(run, image, "remove_background", REVIEW, user=owner)
    assert job.status == "waiting_for_editor"
    url = reverse("imageops_wagtail:editor", args=[job.uuid])

    # Not staff, not the creator, but may change the image: may open it (Wagtail's policy).
    client.force_login(editor("colleague", collection=image.collection))
    page = client.get(url)
    assert page.status_code == 200
    html = page.content.decode()
    assert "wagtailadmin" in html  # Wagtail's skin
    assert "imageops-editor-config" in html and "sandbox" not in html  # never the API key
    assert reverse("imageops_wagtail:editor_callback", args=[job.uuid]) in html
    assert reverse("wagtailimages:edit", args=[image.pk]) in html
    status = client.get(reverse("imageops_wagtail:editor_status", args=[job.uuid])).json()
    assert status["status"] == "waiting_for_editor"

    # The job page links to it for who may act.
    client.force_login(superuser())
    page = client.get(reverse("imageops_wagtail_jobs:inspect", args=[job.pk])).content.decode()
    assert url in page

    # May change nothing here: not found (a staff user would be refused, as in the Django admin).
    client.force_login(editor("stranger", collection=child_collection("Elsewhere")))
    assert client.get(url).status_code == 404
    assert (
        client.post(
            reverse("imageops_wagtail:editor_callback", args=[job.uuid]),
            data='{"event": "editor-exit"}',
            content_type="application/json",
        ).status_code
        == 404
    )


def test_a_new_editor_revision_goes_to_the_same_new_image(client, run, sandbox):
    image = make_image(title="Revised", width=80, height=60)
    job = queued(run, image, "remove_background", REVIEW, apply_on_success=True)
    sandbox.clippingmagic_edit(job.vendor_image_id)
    client.force_login(superuser())
    callback = reverse("imageops_wagtail:editor_callback", args=[job.uuid])
    body = f'{{"event": "result-generated", "image": {{"id": {job.vendor_image_id}}}}}'
    # The download is enqueued on commit (run by the Immediate backend).
    run(client.post, callback, data=body, content_type="application/json")
    new = Image.objects.get(title="Revised (background removed)")
    first_file = new.file.name
    sandbox.clippingmagic_edit(job.vendor_image_id)
    run(client.post, callback, data=body, content_type="application/json")
    assert Image.objects.filter(title__startswith="Revised (").count() == 1
    new.refresh_from_db()
    assert new.file.name != first_file
    assert log_actions(new) == ["wagtail.create", "django_imageops.replace"]


def test_the_check_asks_for_the_form_base():
    call_command("check")  # the test settings use ImageOpsImageForm: no warning
    with (
        override_settings(WAGTAILIMAGES_IMAGE_FORM_BASE=""),
        pytest.raises(SystemCheckError, match=r"django_imageops\.W101"),
    ):
        call_command("check", fail_level="WARNING")
    with override_settings(
        WAGTAILIMAGES_IMAGE_FORM_BASE="tests.contrib.wagtail.support.MixedImageForm"
    ):
        call_command("check", fail_level="WARNING")
