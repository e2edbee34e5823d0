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

from typing import NamedTuple

from django.contrib.contenttypes.models import ContentType
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from ..fields import DerivedImageField, DerivedImageState
from ..models import ImageJob
from .openapi import extend_schema_field


class DerivedImageSerializer(serializers.Serializer):
    """Schema of ``ImageJobResultField``: ``{status, url, width, height}``."""

    status = serializers.ChoiceField(
        choices=list(DerivedImageState.LABELS.items()),
        help_text=_("empty, queued (a job is making it), ready or failed."),
    )
    url = serializers.URLField(allow_null=True, help_text=_("storage.url() of the image."))
    width = serializers.IntegerField(allow_null=True, help_text=_("Pixels."))
    height = serializers.IntegerField(allow_null=True, help_text=_("Pixels."))


class DerivedImageInfo(NamedTuple):
    """What the jobs targeting one object's derived field say about it."""

    #: Status of the newest job, or None when no job targeted the field.
    status: str | None
    #: Sizes in pixels recorded by the job whose result is the field's current file.
    width: int | None
    height: int | None


def derived_image_info(instances, field_name: str) -> dict[str, DerivedImageInfo]:
    """``{str(pk): DerivedImageInfo}`` for ``field_name`` of each of ``instances``.

    One query for all ``instances`` (which share a model), whatever their number; objects that
    no job ever targeted are absent. Sizes come from the job whose stored result is the file
    the field now holds (``jobs.apply_result`` puts the result's name there), never from
    opening the file.
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
        .values_list("source_object_id", "status", "result", "result_width", "result_height")
    )
    current = {str(obj.pk): getattr(obj, field_name).name or None for obj in instances}
    info: dict[str, DerivedImageInfo] = {}
    for object_id, status, result, width, height in rows:
        known = info.get(object_id)
        if known is None:
            known = info[object_id] = DerivedImageInfo(status, None, None)
        if known.width is None and result and result == current.get(object_id):
            info[object_id] = known._replace(width=width, height=height)
    return info


@extend_schema_field(DerivedImageSerializer)
class ImageJobResultField(serializers.Field):
    """Read-only field: a ``DerivedImageField`` as ``{status, url, width, height}``.

    - ``url`` comes from ``storage.url()`` (no storage request; presigned on a private bucket);
      ``null`` when the field is empty.
    - ``width``/``height``: from the model field's ``width_field``/``height_field`` columns when
      it has them, else as recorded by the job that produced the file; never by opening it.
    - ``status``: see the module docstring.

    One query per object, or one per list when the parent serializer has ``many=True``. On a
    plain ``ImageField`` no query is made and the status is ``"ready"`` or ``"empty"``.
    """

    def __init__(self, **kwargs):
        kwargs["read_only"] = True
        super().__init__(**kwargs)
        self._info: dict[str, DerivedImageInfo] = {}
        self._info_for = None

    def _derived_info(self, instance, model_field: DerivedImageField) -> DerivedImageInfo | None:
        root = self.root
        if isinstance(root, serializers.ListSerializer) and root.instance is not None:
            if self._info_for is not root.instance:
                objects = root.instance
                cached = getattr(objects, "_result_cache", None)
                objects = cached if cached is not None else list(objects)
                self._info = derived_image_info(objects, model_field.name)
                self._info_for = root.instance
            return self._info.get(str(instance.pk))
        return derived_image_info([instance], model_field.name).get(str(instance.pk))

    def to_representation(self, value) -> dict:
        """``value`` (the model's ``FieldFile``) as ``{status, url, width, height}``; see the class
        docstring."""
        instance = getattr(value, "instance", None)
        model_field = getattr(value, "field", None)
        has_file = bool(value)
        width = height = None
        if instance is not None and model_field is not None:
            width_field = getattr(model_field, "width_field", None)
            height_field = getattr(model_field, "height_field", None)
            width = getattr(instance, width_field, None) if width_field else None
            height = getattr(instance, height_field, None) if height_field else None
        job_status = None
        if isinstance(model_field, DerivedImageField) and instance is not None:
            info = self._derived_info(instance, model_field)
            if info is not None:
                job_status = info.status
                if has_file and width is None and height is None:
                    width, height = info.width, info.height
        return {
            "status": DerivedImageState.of(has_file, job_status),
            "url": value.url if has_file else None,
            "width": width,
            "height": height,
        }
