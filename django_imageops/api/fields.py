"""Serializer fields a site's own DRF serializers use to show derived images.

``ImageJobResultField`` renders a ``django_imageops.fields.DerivedImageField`` (the field an
image job's result fills) as ``{status, url, thumbnail_url, width, height}``::

    from django_imageops.api.fields import ImageJobResultField

    class ProductSerializer(serializers.ModelSerializer):
        cutout = ImageJobResultField()

        class Meta:
            model = Product
            fields = ["id", "photo", "cutout"]

``status`` is the field's state as the admin shows it (``derived.DerivedImageState``):
``"empty"``, ``"queued"``/``"running"`` (a job is making it), ``"waiting"`` (for a person in the
vendor's editor), ``"ready"``, ``"stale"`` (made from an earlier source image) or ``"failed"``
(the latest job making it failed). In a list (``many=True``) the states of all objects are read
with two queries, whatever the list's length.
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from ..derived import DerivedImage, DerivedImageState, derived_states
from ..fields import DerivedImageField
from .openapi import extend_schema_field


class DerivedImageSerializer(serializers.Serializer):
    """Schema of ``ImageJobResultField``: ``{status, url, thumbnail_url, width, height}``."""

    status = serializers.ChoiceField(
        choices=list(DerivedImageState.LABELS.items()),
        help_text=_(
            "empty, queued or running (a job is making it), waiting (for a person in the "
            "vendor's editor), ready, stale (made from an earlier source image) or failed (the "
            "latest job making it failed)."
        ),
    )
    url = serializers.URLField(allow_null=True, help_text=_("storage.url() of the image."))
    thumbnail_url = serializers.URLField(
        allow_null=True, help_text=_("storage.url() of its thumbnail (a small WebP), if any.")
    )
    width = serializers.IntegerField(allow_null=True, help_text=_("Pixels."))
    height = serializers.IntegerField(allow_null=True, help_text=_("Pixels."))


@extend_schema_field(DerivedImageSerializer)
class ImageJobResultField(serializers.Field):
    """Read-only field: a ``DerivedImageField`` as ``{status, url, thumbnail_url, width,
    height}``.

    - ``url``/``thumbnail_url`` come from ``storage.url()`` (no storage request; presigned on a
      private bucket); ``null`` when the field is empty (or the image has no thumbnail).
    - ``width``/``height``: from the model field's ``width_field``/``height_field`` columns when
      it has them, else as recorded by the job that produced the file; never by opening it.
    - ``status``: see the module docstring (``derived.DerivedImageState``).

    Two queries per object, or two per list when the parent serializer has ``many=True``. On a
    plain ``ImageField`` no query is made and the status is ``"ready"`` or ``"empty"``.
    """

    def __init__(self, **kwargs):
        kwargs["read_only"] = True
        super().__init__(**kwargs)
        self._states: dict[str, DerivedImage] = {}
        self._states_for = None

    def _derived(self, instance, model_field: DerivedImageField) -> DerivedImage | None:
        root = self.root
        if isinstance(root, serializers.ListSerializer) and root.instance is not None:
            if self._states_for is not root.instance:
                objects = root.instance
                cached = getattr(objects, "_result_cache", None)
                objects = cached if cached is not None else list(objects)
                self._states = derived_states(objects, model_field)
                self._states_for = root.instance
            return self._states.get(str(instance.pk))
        return derived_states([instance], model_field).get(str(instance.pk))

    def to_representation(self, value) -> dict:
        """``value`` (the model's ``FieldFile``) as ``{status, url, thumbnail_url, width,
        height}``; see the class docstring."""
        instance = getattr(value, "instance", None)
        model_field = getattr(value, "field", None)
        has_file = bool(value)
        width = height = None
        if instance is not None and model_field is not None:
            width_field = getattr(model_field, "width_field", None)
            height_field = getattr(model_field, "height_field", None)
            width = getattr(instance, width_field, None) if width_field else None
            height = getattr(instance, height_field, None) if height_field else None
        state = DerivedImageState.READY if has_file else DerivedImageState.EMPTY
        thumbnail_url = None
        if isinstance(model_field, DerivedImageField) and instance is not None:
            derived = self._derived(instance, model_field)
            if derived is not None:
                state = derived.state
                thumbnail_url = derived.thumbnail_url() or None
                made_by = derived.made_by
                if has_file and width is None and height is None and made_by is not None:
                    width, height = made_by.result_width, made_by.result_height
        return {
            "status": state,
            "url": value.url if has_file else None,
            "thumbnail_url": thumbnail_url,
            "width": width,
            "height": height,
        }
