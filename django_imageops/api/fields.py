"""Serializer fields a site's own DRF serializers use to show derived images.

``ImageJobResultField`` renders a ``django_imageops.fields.DerivedImageField`` (the field an
image job's result fills) as ``{status, url, width, height}``::

    from django_imageops.api.fields import ImageJobResultField

    class ProductSerializer(serializers.ModelSerializer):
        cutout = ImageJobResultField()

        class Meta:
            model = Product
            fields = ["id", "photo", "cutout"]

``status`` is the field's state as the admin shows it: ``"empty"``, ``"queued"`` (a job is
making it), ``"ready"`` or ``"failed"``. In a list (``many=True``) the states of all objects
are read with one query, whatever the list's length.
"""

from __future__ import annotations

from django.contrib.contenttypes.models import ContentType
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from ..fields import DerivedImageField, DerivedImageState
from ..models import ImageJob


class DerivedImageSerializer(serializers.Serializer):
    """Schema of ``ImageJobResultField``: ``{status, url, width, height}``."""

    status = serializers.ChoiceField(
        choices=list(DerivedImageState.LABELS.items()),
        help_text=_("empty, queued (a job is making it), ready or failed."),
    )
    url = serializers.URLField(allow_null=True, help_text=_("storage.url() of the image."))
    width = serializers.IntegerField(allow_null=True, help_text=_("Pixels."))
    height = serializers.IntegerField(allow_null=True, help_text=_("Pixels."))


def derived_state(has_file: bool, job_status: str | None) -> str:
    """The ``DerivedImageState`` for a field with/without a file and its newest job's status.

    Same rule as ``DerivedImageField.get_state``: queued while the newest job is unfinished,
    else ready with a file, failed when the newest job failed, else empty.
    """
    if job_status is not None and job_status not in ImageJob.FINISHED_STATUSES:
        return DerivedImageState.QUEUED
    if has_file:
        return DerivedImageState.READY
    if job_status == ImageJob.Status.FAILED:
        return DerivedImageState.FAILED
    return DerivedImageState.EMPTY


def latest_job_statuses(instances, field_name: str) -> dict[str, str]:
    """``{str(pk): status}`` of the newest job targeting ``field_name`` of each instance.

    One query for all ``instances`` (which share a model); objects without a job are absent.
    """
    instances = [obj for obj in instances if obj.pk is not None]
    if not instances:
        return {}
    content_type = ContentType.objects.get_for_model(instances[0], for_concrete_model=False)
    rows = (
        ImageJob.objects.filter(
            source_content_type=content_type,
            source_object_id__in=[str(obj.pk) for obj in instances],
            target_field=field_name,
        )
        .order_by("source_object_id", "-created_at", "-id")
        .values_list("source_object_id", "status")
    )
    statuses: dict[str, str] = {}
    for object_id, status in rows:
        statuses.setdefault(object_id, status)
    return statuses


@extend_schema_field(DerivedImageSerializer)
class ImageJobResultField(serializers.Field):
    """Read-only field: a ``DerivedImageField`` as ``{status, url, width, height}``.

    - ``url`` comes from ``storage.url()`` (no storage request; presigned on a private bucket);
      ``null`` when the field is empty.
    - ``width``/``height`` come from the model field's ``width_field``/``height_field`` columns
      when it has them, never from opening the file; else ``null``.
    - ``status``: see the module docstring. One query per object, or one per list when the
      parent serializer is used with ``many=True``. On a plain ``ImageField`` the status is
      ``"ready"`` or ``"empty"`` and no query is made.
    """

    def __init__(self, **kwargs):
        kwargs["read_only"] = True
        super().__init__(**kwargs)
        self._statuses: dict[str, str] | None = None
        self._statuses_for = None

    def _job_status(self, instance, model_field: DerivedImageField) -> str | None:
        root = self.root
        many = isinstance(root, serializers.ListSerializer)
        if many and root.instance is not None:
            if self._statuses is None or self._statuses_for is not root.instance:
                objects = root.instance
                cached = getattr(objects, "_result_cache", None)
                objects = cached if cached is not None else list(objects)
                self._statuses = latest_job_statuses(objects, model_field.name)
                self._statuses_for = root.instance
            return self._statuses.get(str(instance.pk))
        job = model_field.latest_job(instance)
        return job.status if job is not None else None

    def to_representation(self, value) -> dict:
        instance = getattr(value, "instance", None)
        model_field = getattr(value, "field", None)
        width = height = None
        if instance is not None and model_field is not None:
            width_field = getattr(model_field, "width_field", None)
            height_field = getattr(model_field, "height_field", None)
            width = getattr(instance, width_field, None) if width_field else None
            height = getattr(instance, height_field, None) if height_field else None
        has_file = bool(value)
        job_status = None
        if isinstance(model_field, DerivedImageField) and instance is not None:
            job_status = self._job_status(instance, model_field)
        return {
            "status": derived_state(has_file, job_status),
            "url": value.url if has_file else None,
            "width": width,
            "height": height,
        }
