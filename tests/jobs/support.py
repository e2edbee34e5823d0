"""Helpers shared by the job and provider tests (no tests here): photos with an image, making
jobs due, reading counters and history, the usual crop box, a backend that can defer."""

from __future__ import annotations

import io
from datetime import timedelta

import django
import pytest
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.utils import timezone

from django_imageops import jobs
from django_imageops.models import ImageJob
from tests.conftest import make_image
from tests.testapp.models import Photo

__all__ = [
    "CROP",
    "DUMMY_BACKEND",
    "calls",
    "encode",
    "fresh_limits",
    "kinds",
    "make_due",
    "make_image",
    "noisy_image",
    "photo",
    "refused",
    "run_due_job",
    "s3_object",
    "total_calls",
    "vendor_setting",
]

#: A crop box inside the 64x48 default photo (pixels).
CROP = {"x": 4, "y": 6, "width": 20, "height": 10}
#: django.tasks' DummyBackend: keeps the enqueued tasks (``backend.results``) and can defer.
DUMMY_BACKEND = (
    "django.tasks.backends.dummy.DummyBackend"
    if django.VERSION >= (6, 0)
    else "django_tasks.backends.dummy.DummyBackend"
)


def photo(data: bytes | None = None, name: str = "photo.png", **kwargs) -> Photo:
    """A saved ``Photo`` whose ``image`` holds ``data`` (a 64x48 PNG by default)."""
    obj = Photo(title=kwargs.pop("title", name))
    obj.image.save(name, ContentFile(data if data is not None else make_image()), save=True)
    return obj


def make_due(job: ImageJob) -> None:
    """Move the job's next attempt (retry or PiktID poll) into the past."""
    ImageJob.objects.filter(pk=job.pk).update(next_attempt_at=timezone.now() - timedelta(seconds=1))


def run_due_job(job: ImageJob) -> ImageJob:
    """Make ``job`` due and run it now; return it refreshed."""
    make_due(job)
    jobs.run_job(job.pk)
    job.refresh_from_db()
    return job


def calls(sandbox, vendor: str, endpoint: str | None = None) -> int:
    """Requests the sandbox received for ``vendor`` (optionally one endpoint)."""
    counters = sandbox.counters()[vendor]
    if endpoint is None:
        return counters["calls"]
    return counters["endpoints"].get(endpoint, 0)


def noisy_image(width: int, height: int, fmt: str = "PNG", **save) -> bytes:
    """An image of random noise (incompressible: large files for size limits)."""
    import os

    from PIL import Image

    image = Image.frombytes("RGB", (width, height), os.urandom(width * height * 3))
    buffer = io.BytesIO()
    image.save(buffer, fmt, **save)
    return buffer.getvalue()


def fresh_limits(settings) -> None:
    """Clear the rate limiter's state and lift Clipdrop's 60/minute client limit (the limiter
    has its own tests; these tests make many calls a second)."""
    import copy

    from django.core.cache import caches

    from django_imageops import ratelimit

    caches["default"].clear()
    ratelimit.reset()
    conf = copy.deepcopy(settings.IMAGEOPS)
    conf["VENDORS"]["clipdrop"]["REQUESTS_PER_MINUTE"] = 100_000
    conf["VENDORS"].setdefault("piktid", {})["POLL_INTERVAL"] = 0
    settings.IMAGEOPS = conf


def vendor_setting(settings, vendor: str, **values) -> None:
    """Change keys of one vendor's ``IMAGEOPS["VENDORS"]`` entry for one test."""
    import copy

    conf = copy.deepcopy(settings.IMAGEOPS)
    conf["VENDORS"].setdefault(vendor, {}).update(values)
    settings.IMAGEOPS = conf


def imageops_settings(settings, **changes) -> None:
    """Change top-level ``IMAGEOPS`` keys for one test."""
    settings.IMAGEOPS = {**settings.IMAGEOPS, **changes}


def s3_object(s3, name):
    """The S3 object ``name`` of the test bucket (boto3 ``get_object``)."""
    from django.conf import settings

    return s3.get_object(Bucket=settings.S3_BUCKET, Key=name)


def kinds(job):
    """The kinds of ``job``'s history entries, in order."""
    return list(job.events.values_list("kind", flat=True))


def total_calls(sandbox) -> int:
    """Requests the sandbox received, all vendors together."""
    return sum(v["calls"] for v in sandbox.counters().values())


def refused(run, sandbox, operation: str, data: bytes, name: str = "photo.png", **kwargs):
    """Check both ways ``data`` is refused before any vendor call.

    An upload is refused by ``create_jobs`` (nothing is created); an object's image is only
    read when its job runs, which then fails with ``invalid_input``, no call and no credit.

    Returns:
        ``(message_dict, failed_job)``: the upload's ``ValidationError`` messages and the job.
    """
    with pytest.raises(ValidationError) as exc:
        jobs.create_jobs(operation, uploads=[ContentFile(data, name=name)], **kwargs)
    assert ImageJob.objects.count() == 0
    [job] = run(
        jobs.create_jobs, operation, objects=[photo(data, name=name)], field="image", **kwargs
    )
    job.refresh_from_db()
    assert (job.status, job.error_code) == ("failed", "invalid_input"), job.error_message
    assert job.credits_consumed == 0
    assert total_calls(sandbox) == 0
    return exc.value.message_dict, job


def encode(image, fmt: str, **save) -> bytes:
    """``image`` (a Pillow image) saved as ``fmt`` with ``save`` options."""
    buffer = io.BytesIO()
    image.save(buffer, fmt, **save)
    return buffer.getvalue()
