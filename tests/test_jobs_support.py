"""Helpers shared by the job tests (no tests here): photos with an image, running on-commit
callbacks, making jobs due, reading counters."""

from __future__ import annotations

import io
from datetime import timedelta

from django.core.files.base import ContentFile
from django.utils import timezone

from django_imageops import jobs
from django_imageops.models import ImageJob
from tests.conftest import make_image
from tests.testapp.models import Photo

__all__ = ["calls", "fresh_limits", "make_due", "make_image", "noisy_image", "photo", "run_due_job"]


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


def imageops_settings(settings, **changes) -> None:
    """Change top-level ``IMAGEOPS`` keys for one test."""
    settings.IMAGEOPS = {**settings.IMAGEOPS, **changes}
