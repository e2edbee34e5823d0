"""Helpers of the admin tests: jobs that look finished (no vendor, no file), running an action."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from django.contrib.admin import helpers
from django.contrib.contenttypes.models import ContentType
from django.urls import reverse
from django.utils import timezone

from django_imageops.models import ImageJob
from tests.testapp.models import Photo

CHANGELIST = "admin:django_imageops_imagejob_changelist"


def make_jobs(photo, count, *, batch=None, **fields) -> list[ImageJob]:
    """``count`` finished-looking jobs on ``photo`` with a result *name* on S3 (no file: the
    admin must not need one)."""
    now = timezone.now()
    content_type = ContentType.objects.get_for_model(Photo)
    defaults = {
        "operation": "remove_background",
        "provider": "clippingmagic",
        "status": ImageJob.Status.SUCCEEDED,
        "source_content_type": content_type,
        "source_object_id": str(photo.pk),
        "source_field": "image",
        "source_name": photo.image.name,
        "result_width": 64,
        "result_height": 48,
        "credits_consumed": Decimal("1"),
        "started_at": now - timedelta(seconds=3),
        "finished_at": now,
        "batch": batch,
    }
    defaults.update(fields)
    created = []
    for _ in range(count):
        job = ImageJob(**defaults)
        job.result.name = f"imageops/results/remove_background/{job.uuid}.png"
        created.append(job)
    return ImageJob.objects.bulk_create(created)


def act(client, action, selected, follow=True):
    return client.post(
        reverse(CHANGELIST),
        {"action": action, helpers.ACTION_CHECKBOX_NAME: [j.pk for j in selected], "index": 0},
        follow=follow,
    )
