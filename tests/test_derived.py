"""Derived images that are never stale, filled only by the job they declare (issue 14, bugs 1,
2 and 11), through real jobs: the sandbox over HTTP, results on moto S3.

- A derived image knows the source content it was made from (the hash of the bytes its job
  sent) and shows *stale* once the source's content changes: a new photo, or "replace the
  source image with the result"; an ``auto`` field queues a job instead. No file is read to
  tell: the hash of the new source comes from the bytes in hand.
- A job fills a ``DerivedImageField`` on its own only when its operation, provider and
  parameters are the field's; a person may apply any other result explicitly.
- The state follows the latest job: queued, running, waiting, failed (even with an earlier
  image still there).
"""

from __future__ import annotations

import pytest
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile

from django_imageops import jobs
from django_imageops.derived import DerivedImageState, derived_state, derived_states
from django_imageops.fields import target_for
from django_imageops.models import ImageJob, SourceImageHash
from django_imageops.signal_handlers import queue_if_new_content
from tests.jobs.support import make_image, photo, run_due_job
from tests.testapp.models import Listing, Photo, Product

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_servers")]

AUTO_CLIP = {"mode": "auto", "test": True}
RED, BLUE = make_image(64, 48, color=(200, 0, 0)), make_image(64, 48, color=(0, 0, 200))


def state(obj, field="cutout") -> str:
    return derived_state(obj, obj._meta.get_field(field)).state


def cut_out(run, obj) -> ImageJob:
    """A real remove_background job on ``obj``'s source image filling ``cutout``."""
    [job] = run(
        jobs.create_jobs,
        "remove_background",
        objects=[obj],
        field=obj._meta.get_field("cutout").source,
        params=AUTO_CLIP,
        target_field="cutout",
    )
    job.refresh_from_db()
    assert job.status == "succeeded", job.error_message
    obj.refresh_from_db()
    assert obj.cutout.name == job.result.name
    return job


def test_a_new_photo_makes_the_cutout_stale(run):
    obj = photo(RED, name="chelsea.png")
    cut_out(run, obj)
    assert state(obj) == DerivedImageState.READY

    # Chelsea's photo replaced by the rocket (an upload, as the admin's form does it): the
    # cut-out still shows the cat, and says so.
    obj.image = SimpleUploadedFile("rocket.png", BLUE, content_type="image/png")
    obj.save()
    obj.refresh_from_db()
    assert state(obj) == DerivedImageState.STALE
    # The new file's hash was taken from the upload in hand.
    recorded = SourceImageHash.objects.get(field="image", object_id=str(obj.pk))
    assert recorded.name == obj.image.name

    # The same bytes uploaded under another name are not a change.
    same = photo(RED, name="first.png")
    cut_out(run, same)
    same.image = SimpleUploadedFile("renamed.png", RED, content_type="image/png")
    same.save()
    same.refresh_from_db()
    assert state(same) == DerivedImageState.READY

    # A new cut-out of the rocket is ready again.
    cut_out(run, obj)
    assert state(obj) == DerivedImageState.READY


def listing(data=RED, name="cat.png") -> Listing:
    obj = Listing(name=name)
    obj.photo.save(name, ContentFile(data), save=True)
    return obj


def banner(run, obj, provider="clipdrop", offsets=32, target="banner") -> ImageJob:
    """A real uncrop job on ``obj.photo`` (the job ``Listing.banner`` declares, by default)."""
    [job] = run(
        jobs.create_jobs,
        "uncrop",
        objects=[obj],
        field="photo",
        provider=provider,
        params={"left": offsets, "right": offsets},
        target_field=target,
    )
    job.refresh_from_db()
    return job


def test_replacing_the_source_with_a_result_makes_the_other_images_stale(run):
    obj = listing()
    cut_out(run, obj)
    banner(run, obj)
    obj.refresh_from_db()
    assert (state(obj), state(obj, "banner")) == ("ready", "ready")

    # The job action "replace the source images with the results", on the cut-out job.
    cutout_job = ImageJob.objects.get(operation="remove_background")
    jobs.apply_result(cutout_job, replace_source=True)
    obj.refresh_from_db()
    assert state(obj, "banner") == DerivedImageState.STALE
    assert state(obj) == DerivedImageState.STALE  # a cut-out of the old photo


def test_an_auto_field_queues_a_job_when_its_source_is_replaced(
    run, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        product = Product(name="Cat")
        product.photo.save("cat.png", ContentFile(RED))
    [first] = ImageJob.objects.filter(target_field="cutout")
    assert first.status == "succeeded"
    product.refresh_from_db()
    assert state(product) == DerivedImageState.READY

    # "Replace the source image with the result": the cut-out of the cut-out is queued, from
    # the hash of the bytes in hand (no second read of the new photo).
    with django_capture_on_commit_callbacks(execute=True):
        jobs.apply_result(first, replace_source=True)
    product.refresh_from_db()
    latest = ImageJob.objects.filter(target_field="cutout").order_by("-pk")[0]
    assert latest.pk != first.pk
    assert latest.source_name == product.photo.name
    assert state(product) == DerivedImageState.READY
    # Queued for that content once only.
    assert queue_if_new_content(Product, product.pk, "cutout") == []


def test_only_the_declared_job_fills_a_derived_field(run, sandbox):
    obj = listing(name="coffee.png")
    field = Listing._meta.get_field("banner")
    assert field.declares("uncrop", "photo", "clipdrop", {"left": 32, "right": 32})
    assert field.declares("uncrop", "photo", None, {"left": 32, "right": 32, "top": 0})
    assert not field.declares("uncrop", "photo", "piktid", {"left": 32, "right": 32})
    assert not field.declares("uncrop", "photo", "clipdrop", {"left": 100, "right": 100})
    assert target_for(Listing, "uncrop", "photo", "piktid", {"left": 100, "right": 100}) == ""
    assert target_for(Listing, "uncrop", "photo", "clipdrop", {"left": 32, "right": 32}) == "banner"

    declared = banner(run, obj)
    obj.refresh_from_db()
    assert obj.banner.name == declared.result.name

    # A PiktID 100/100 job made for the field does not fill it on its own (it would have
    # replaced the Clipdrop 32/32 image the field declares)...
    sandbox.configure(piktid_delay=0)
    piktid = run_due_job(banner(run, obj, provider="piktid", offsets=100))
    assert piktid.status == "succeeded", piktid.error_message
    note = piktid.events.get(kind="result_stored", message__startswith="not applied")
    assert "not applied to banner" in note.message
    obj.refresh_from_db()
    assert obj.banner.name == declared.result.name
    # ...nor does another Clipdrop uncrop, which the admin's action gives no target.
    other = banner(run, obj, offsets=10, target="")
    assert other.status == "succeeded" and other.target_field == ""
    obj.refresh_from_db()
    assert obj.banner.name == declared.result.name
    assert state(obj, "banner") == DerivedImageState.READY

    # A person applies it explicitly: then it is the field's image.
    jobs.apply_result(other, field="banner")
    obj.refresh_from_db()
    other.refresh_from_db()
    assert obj.banner.name == other.result.name and other.target_field == "banner"
    event = other.events.get(kind="applied")
    assert event.message == f"applied to testapp.Listing {obj.pk}: banner"


def test_the_state_follows_the_latest_job(run):
    obj = photo(RED)
    job = cut_out(run, obj)
    # A newer job that fails: Failed, even though the earlier image is still there.
    failed = ImageJob.objects.create(
        operation="remove_background",
        provider="clippingmagic",
        params=AUTO_CLIP,
        source_object=obj,
        source_field="image",
        target_field="cutout",
        status=ImageJob.Status.FAILED,
    )
    derived = derived_state(obj, Photo._meta.get_field("cutout"))
    assert derived.state == DerivedImageState.FAILED
    assert derived.latest.pk == failed.pk and derived.made_by.pk == job.pk
    ImageJob.objects.filter(pk=failed.pk).update(status=ImageJob.Status.RUNNING)
    assert state(obj) == DerivedImageState.RUNNING  # not "Queued" while it runs
    ImageJob.objects.filter(pk=failed.pk).update(status=ImageJob.Status.CANCELED)
    assert state(obj) == DerivedImageState.READY


def test_states_of_a_list_in_two_queries(run, django_assert_num_queries):
    objs = [photo(make_image(64, 48, color=(i * 20, 0, 0)), name=f"p{i}.png") for i in range(3)]
    for obj in objs[:2]:
        cut_out(run, obj)
    objs = list(Photo.objects.order_by("pk"))
    with django_assert_num_queries(2):
        states = derived_states(objs, Photo._meta.get_field("cutout"))
    assert [states[str(o.pk)].state for o in objs] == ["ready", "ready", "empty"]
