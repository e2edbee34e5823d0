"""Creating, canceling and retrying jobs through the REST API, against the vendor sandbox."""

from __future__ import annotations

import io
import struct
import zlib

import pytest
import requests
from django.contrib.auth.backends import BaseBackend
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from django_imageops.models import ImageJob
from tests.conftest import make_image

from .conftest import JOBS_URL, client_for, grant, job_url

pytestmark = pytest.mark.django_db


def vendor_calls(sandbox) -> int:
    return sum(counters["calls"] for counters in sandbox.counters().values())


def upload(data: bytes, name: str = "photo.png", content_type: str = "image/png"):
    return SimpleUploadedFile(name, data, content_type)


def png_claiming(width: int, height: int) -> bytes:
    """A PNG whose header claims ``width`` x ``height`` pixels, with almost no pixel data."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body) & 0xFFFFFFFF
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(b"\x00" * 64))
        + chunk(b"IEND", b"")
    )


def test_upload_creates_a_job_and_runs_it(
    alice_client, alice, sandbox, s3, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = alice_client.post(
            JOBS_URL,
            {"operation": "uncrop", "left": 16, "image": upload(make_image(64, 48))},
            format="multipart",
        )
    assert response.status_code == 202, response.content
    body = response.json()
    job = ImageJob.objects.get(uuid=body["uuid"])
    assert response["Location"] == f"http://testserver{job_url(job)}"
    assert body["url"] == response["Location"]
    assert body["status"] == "pending"
    assert body["provider"] == "clipdrop"  # the default provider of uncrop
    assert body["params"]["left"] == 16
    assert job.created_by == alice
    assert job.source_file.name.endswith(".png")
    # Nothing was sent to a vendor inside the request: the task is queued on commit.
    assert vendor_calls(sandbox) == 0
    assert callbacks

    for callback in callbacks:
        callback()
    body = alice_client.get(job_url(job)).json()
    assert body["status"] == "succeeded", body
    assert body["result"]["width"] == 64 + 16
    assert body["result"]["height"] == 48
    assert body["result"]["content_type"].startswith("image/")
    assert body["result"]["bytes"] > 0
    assert body["credits_consumed"] != "0.000"
    # The presigned URL serves the stored result from S3.
    stored = requests.get(body["result"]["url"], timeout=10)
    assert stored.status_code == 200
    assert Image.open(io.BytesIO(stored.content)).size == (80, 48)
    assert vendor_calls(sandbox) == 1


@pytest.mark.parametrize(
    ("fields", "error_key"),
    [
        ({"operation": "uncrop", "left": 5000}, "left"),  # Clipdrop allows at most 2000
        ({"operation": "uncrop", "left": 5, "seed": 100001}, "seed"),
        ({"operation": "uncrop", "left": 5, "provider": "pixlab"}, "provider"),
        ({"operation": "uncrop", "left": 5, "x": 3}, "x"),  # not a parameter of uncrop
        ({"operation": "uncrop", "provider": "piktid", "left": 5, "seed": 3}, "seed"),
        ({"operation": "crop", "x": 0, "y": 0, "width": 65, "height": 10}, "width"),
        ({"operation": "crop", "x": 0, "y": 0}, "width"),  # required
        ({"operation": "remove_background", "mode": "manual"}, "mode"),
        ({"operation": "paint"}, "operation"),
        # Names no provider takes are refused too, never dropped (a paid job without them).
        ({"operation": "crop", "x": 0, "y": 0, "width": 9, "height": 9, "foo": 1}, "foo"),
        ({"operation": "reimagine", "strength": 0.5}, "strength"),
    ],
)
def test_bad_parameters_are_400_naming_the_field(alice_client, sandbox, s3, fields, error_key):
    response = alice_client.post(
        JOBS_URL, {**fields, "image": upload(make_image(64, 48))}, format="multipart"
    )
    assert response.status_code == 400, response.content
    assert error_key in response.json()
    assert ImageJob.objects.count() == 0
    assert vendor_calls(sandbox) == 0


HUGE = int("9" * 400)


@pytest.mark.parametrize("source", ["upload", "object"])
@pytest.mark.parametrize(
    ("fields", "error_key"),
    [
        ({"operation": "uncrop", "provider": "piktid", "left": HUGE}, "left"),
        ({"operation": "uncrop", "provider": "piktid", "bottom": -HUGE}, "bottom"),
        ({"operation": "uncrop", "left": 5, "seed": HUGE}, "seed"),
        ({"operation": "crop", "x": HUGE, "y": 0, "width": 5, "height": 5}, "x"),
        ({"operation": "crop", "x": 0, "y": 0, "width": 5, "height": HUGE}, "height"),
    ],
    ids=["piktid-left", "piktid-bottom", "clipdrop-seed", "crop-x", "crop-height"],
)
def test_a_huge_number_is_400_keyed_by_its_field(
    alice_client, alice, photo, sandbox, s3, fields, error_key, source
):
    """400 digits used to overflow the image fitting's floats: a 500 for an upload, a job
    failed with internal_error for an object. Every length has a declared bound."""
    payload = dict(fields)
    if source == "upload":
        payload["image"] = upload(make_image(64, 48))
        response = alice_client.post(JOBS_URL, payload, format="multipart")
    else:
        grant(alice, "change_photo")
        payload.update({"model": "testapp.photo", "pk": photo.pk, "field": "image"})
        response = alice_client.post(JOBS_URL, payload, format="json")
    assert response.status_code == 400, response.content
    assert (
        "less than or equal to" in response.json()[error_key][0]
        or "greater than" in (response.json()[error_key][0])
    )
    assert ImageJob.objects.count() == 0
    assert vendor_calls(sandbox) == 0


@pytest.mark.parametrize("empty", [None, ""], ids=["null", "empty"])
@pytest.mark.parametrize("body_format", ["json", "multipart"])
@pytest.mark.parametrize(
    ("fields", "params"),
    [
        ({"operation": "uncrop", "left": 5, "seed": "?"}, {"left": 5}),
        ({"operation": "uncrop", "provider": "piktid", "left": 5, "seed": "?"}, {"left": 5}),
        (
            {"operation": "crop", "x": 0, "y": 0, "width": 5, "height": 5, "left": "?"},
            {"x": 0, "y": 0, "width": 5, "height": 5},
        ),
        ({"operation": "remove_background", "mode": "?", "test": "?"}, {"mode": "auto"}),
    ],
    ids=["clipdrop-seed", "piktid-seed", "crop-left", "clippingmagic-mode"],
)
def test_null_or_empty_optional_parameters_mean_not_given(
    alice_client, alice, photo, s3, fields, params, body_format, empty
):
    """The schema says every parameter is nullable: null and "" are "not given" (the
    parameter's default), for the chosen provider's parameters and for the others'."""
    payload = {key: empty if value == "?" else value for key, value in fields.items()}
    if body_format == "multipart":
        if empty is None:  # a form has no null: the field is simply sent empty
            payload = {key: "" if value is None else value for key, value in payload.items()}
        payload["image"] = upload(make_image(64, 48))
    else:
        grant(alice, "change_photo")
        payload.update({"model": "testapp.photo", "pk": photo.pk, "field": "image"})
    response = alice_client.post(JOBS_URL, payload, format=body_format)
    assert response.status_code == 202, response.content
    stored = response.json()["params"]
    assert {key: stored[key] for key in params} == params
    assert "seed" not in stored and None not in stored.values()


def test_an_upload_is_stored_under_the_format_of_its_bytes(alice_client, sandbox, s3, settings):
    """A PNG with an HTML page appended, sent as ``page.html``, is stored (and served) as a
    PNG, whatever name and Content-Type the client gave."""
    data = make_image(64, 48) + b"<html><body><script>alert(document.cookie)</script></html>"
    response = alice_client.post(
        JOBS_URL,
        {"operation": "reimagine", "image": upload(data, "page.html", "text/html")},
        format="multipart",
    )
    assert response.status_code == 202, response.content
    job = ImageJob.objects.get(uuid=response.json()["uuid"])
    assert job.source_file.name == f"imageops/sources/{job.uuid}/page.png"
    stored = s3.head_object(Bucket=settings.S3_BUCKET, Key=job.source_file.name)
    assert stored["ContentType"] == "image/png"
    served = requests.get(job.source_file.url, timeout=10)
    assert served.headers["Content-Type"] == "image/png"


def _truncated_png() -> bytes:
    buffer = io.BytesIO()
    Image.effect_noise((256, 256), 64).convert("RGB").save(buffer, "PNG")
    data = buffer.getvalue()
    return data[: len(data) // 2]


@pytest.mark.parametrize(
    ("data", "imageops"),
    [
        (b"this is not an image at all", {}),
        (b"", {}),
        (_truncated_png(), {}),
        (make_image(64, 48), {"MAX_UPLOAD_BYTES": 100}),
        (png_claiming(30_000, 30_000), {}),  # a decompression bomb: 900 MP claimed
        (make_image(64, 48), {"MAX_IMAGE_PIXELS": 1000}),
    ],
    ids=["not-an-image", "empty", "truncated", "too-large", "bomb", "too-many-pixels"],
)
def test_invalid_image_is_400_before_any_vendor_call(
    alice_client, sandbox, s3, settings, django_capture_on_commit_callbacks, data, imageops
):
    settings.IMAGEOPS = {**settings.IMAGEOPS, **imageops}
    with django_capture_on_commit_callbacks(execute=True):
        response = alice_client.post(
            JOBS_URL, {"operation": "uncrop", "left": 10, "image": upload(data)}, format="multipart"
        )
    assert response.status_code == 400, response.content
    assert list(response.json()) == ["image"]
    assert ImageJob.objects.count() == 0
    assert vendor_calls(sandbox) == 0


def test_missing_and_double_sources(alice_client, photo):
    response = alice_client.post(JOBS_URL, {"operation": "reimagine"}, format="json")
    assert response.status_code == 400
    assert "image" in response.json()

    response = alice_client.post(
        JOBS_URL, {"operation": "reimagine", "model": "testapp.photo"}, format="json"
    )
    assert response.status_code == 400
    assert set(response.json()) == {"pk", "field"}

    response = alice_client.post(
        JOBS_URL,
        {
            "operation": "reimagine",
            "image": upload(make_image()),
            "model": "testapp.photo",
            "pk": photo.pk,
            "field": "image",
        },
        format="multipart",
    )
    assert response.status_code == 400
    assert "non_field_errors" in response.json()
    assert ImageJob.objects.count() == 0


def _source(photo, **extra):
    return {
        "operation": "uncrop",
        "left": 8,
        "model": "testapp.photo",
        "pk": photo.pk,
        "field": "image",
        **extra,
    }


def test_source_reference_needs_change_permission(alice, alice_client, photo, sandbox, s3):
    response = alice_client.post(JOBS_URL, _source(photo), format="json")
    assert response.status_code == 403
    assert ImageJob.objects.count() == 0

    # An object that does not exist looks the same to someone without the permission.
    response = alice_client.post(JOBS_URL, _source(photo, pk=photo.pk + 1000), format="json")
    assert response.status_code == 403

    grant(alice, "view_photo")
    assert alice_client.post(JOBS_URL, _source(photo), format="json").status_code == 403

    grant(alice, "change_photo")
    response = alice_client.post(JOBS_URL, _source(photo), format="json")
    assert response.status_code == 202, response.content
    body = response.json()
    assert body["source"] == {"model": "testapp.photo", "pk": str(photo.pk), "field": "image"}
    job = ImageJob.objects.get(uuid=body["uuid"])
    assert job.source_object == photo
    assert job.created_by == alice
    assert vendor_calls(sandbox) == 0


def test_unknown_keys_of_a_json_request_are_400_naming_them(alice, alice_client, photo, sandbox):
    grant(alice, "change_photo")
    body = {**_source(photo), "strength": 0.5, "options": {"a": 1}}
    response = alice_client.post(JOBS_URL, body, format="json")
    assert response.status_code == 400, response.content
    assert set(response.json()) == {"strength", "options"}
    assert ImageJob.objects.count() == 0
    assert vendor_calls(sandbox) == 0


def test_source_reference_errors_name_the_field(alice, alice_client, photo):
    grant(alice, "change_photo")
    cases = [
        (_source(photo, model="testapp.nothing"), "model"),
        (_source(photo, model="nodots"), "model"),
        (_source(photo, field="title"), "field"),  # not an image field
        (_source(photo, field="nope"), "field"),
        (_source(photo, field="banner"), "field"),  # empty image field
        (_source(photo, pk=photo.pk + 1000), "pk"),  # with the permission: "no such object"
        (_source(photo, pk="abc"), "pk"),
    ]
    for payload, key in cases:
        response = alice_client.post(JOBS_URL, payload, format="json")
        assert response.status_code == 400, (payload, response.content)
        assert key in response.json(), (payload, response.json())
    assert ImageJob.objects.count() == 0


def test_source_object_with_a_broken_image_fails_its_job_without_a_vendor_call(
    alice, alice_client, photo, sandbox
):
    """An object's image is not read in the request (jobs.create_jobs leaves that to the job):
    the job is accepted, then fails with a clear message before any vendor call."""
    from django_imageops import jobs

    photo.image.save("broken.png", io.BytesIO(b"not an image"), save=True)
    grant(alice, "change_photo")
    response = alice_client.post(JOBS_URL, _source(photo), format="json")
    assert response.status_code == 202, response.content
    job = jobs.run_job(ImageJob.objects.get().pk)
    assert (job.status, job.error_code) == ("failed", "invalid_input")
    assert "not an image we can read" in job.error_message
    assert vendor_calls(sandbox) == 0


class PerObjectBackend(BaseBackend):
    """Grants ``testapp.change_photo`` on photos titled "shared" only (object-level)."""

    def has_perm(self, user_obj, perm, obj=None):
        return perm == "testapp.change_photo" and getattr(obj, "title", None) == "shared"


def test_object_level_permission_is_honoured(alice, alice_client, photo, settings, s3):
    settings.AUTHENTICATION_BACKENDS = [
        "django.contrib.auth.backends.ModelBackend",
        f"{__name__}.PerObjectBackend",
    ]
    assert alice_client.post(JOBS_URL, _source(photo), format="json").status_code == 403
    photo.title = "shared"
    photo.save()
    assert alice_client.post(JOBS_URL, _source(photo), format="json").status_code == 202


def test_staff_without_change_permission_cannot_use_objects(staff, staff_client, photo):
    assert staff_client.post(JOBS_URL, _source(photo), format="json").status_code == 403


def test_cancel(alice_client, alice, make_job):
    job = make_job(created_by=alice)
    response = alice_client.post(job_url(job, "cancel"))
    assert response.status_code == 200
    assert response.json()["status"] == "canceled"
    job.refresh_from_db()
    assert job.status == ImageJob.Status.CANCELED

    response = alice_client.post(job_url(job, "cancel"))
    assert response.status_code == 409
    assert "detail" in response.json()


def test_retry(alice_client, alice, make_job, django_capture_on_commit_callbacks):
    failed = make_job(
        created_by=alice, status=ImageJob.Status.FAILED, error_code="x", error_message="y"
    )
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = alice_client.post(job_url(failed, "retry"))
    assert response.status_code == 202
    assert response.json()["status"] == "pending"
    assert response.json()["error"] is None
    assert len(callbacks) == 1  # the job is queued again on commit

    succeeded = make_job(created_by=alice, status=ImageJob.Status.SUCCEEDED)
    response = alice_client.post(job_url(succeeded, "retry"))
    assert response.status_code == 409
    succeeded.refresh_from_db()
    assert succeeded.status == ImageJob.Status.SUCCEEDED


def test_staff_cancel_anyones_job_with_the_change_permission_on_its_source(
    staff, staff_client, bob, make_job
):
    job = make_job(created_by=bob)  # no source object: the permission is on ImageJob
    assert staff_client.get(job_url(job)).status_code == 200  # reading is staff-wide
    assert staff_client.post(job_url(job, "cancel")).status_code == 403
    grant(staff, "change_imagejob")
    assert staff_client.post(job_url(job, "cancel")).status_code == 200


def test_get_on_action_routes_is_405(alice_client, alice, make_job):
    job = make_job(created_by=alice)
    assert alice_client.get(job_url(job, "cancel")).status_code == 405
    assert alice_client.delete(job_url(job)).status_code == 405


def test_client_for_is_per_user(alice, bob, make_job):
    job = make_job(created_by=alice)
    assert client_for(bob).get(job_url(job)).status_code == 404
    assert client_for(alice).get(job_url(job)).status_code == 200
