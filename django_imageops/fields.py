"""``DerivedImageField``: an ImageField that a vendor operation on another field fills.

::

    class Product(models.Model):
        photo = models.ImageField(upload_to="products/")
        cutout = DerivedImageField(
            source="photo", operation="remove_background", params={"mode": "auto"}, auto=True
        )

The field stores its file on the ``imageops`` storage. A succeeded job whose ``target_field``
is the field's name fills it (``jobs.apply_result``). With ``auto=True`` a job is queued after
the transaction commits whenever the source file's *content* changes (SHA-256 of the bytes), so
re-saving the object or uploading the same bytes again queues nothing.
"""

from __future__ import annotations

from django import forms
from django.contrib.contenttypes.models import ContentType
from django.core import checks
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

from .conf import get_storage
from .models import ImageJob
from .operations import OPERATIONS
from .providers import find_provider, get_provider, providers_for


def derived_upload_to(instance, filename: str) -> str:
    """``imageops/derived/<app_label>/<model>/<filename>``."""
    opts = instance._meta
    return f"imageops/derived/{opts.app_label}/{opts.model_name}/{filename}"


class DerivedImageState:
    """The states a ``DerivedImageField`` shows in the admin."""

    EMPTY = "empty"
    QUEUED = "queued"
    READY = "ready"
    FAILED = "failed"

    LABELS = {
        EMPTY: _("Empty"),
        QUEUED: _("Queued"),
        READY: _("Ready"),
        FAILED: _("Failed"),
    }

    @classmethod
    def of(cls, has_file: bool, job_status: str | None) -> str:
        """The state of a derived field, from whether it holds a file and the status of the
        newest job targeting it (``None`` when no job did).

        ``"queued"`` while that job is unfinished, else ``"ready"`` with a file, ``"failed"``
        when that job failed, else ``"empty"``. The one rule behind the admin widget
        (``DerivedImageField.get_state``) and the API (``api.fields.ImageJobResultField``).
        """
        if job_status is not None and job_status not in ImageJob.FINISHED_STATUSES:
            return cls.QUEUED
        if has_file:
            return cls.READY
        if job_status == ImageJob.Status.FAILED:
            return cls.FAILED
        return cls.EMPTY


class DerivedImageWidget(forms.Widget):
    """Read-only display of a derived image: its state badge, a thumbnail and the latest job.

    The value is the model's ``FieldFile``, which knows its instance and field; the state comes
    from ``DerivedImageField.get_state`` (one query for the latest job).
    """

    template_name = "django_imageops/admin/derived_image_widget.html"

    def get_context(self, name, value, attrs):
        """Add ``state``, ``state_label``, ``url`` and ``job`` (latest job or ``None``)."""
        context = super().get_context(name, value, attrs)
        instance = getattr(value, "instance", None)
        field = getattr(value, "field", None)
        state, job = DerivedImageState.EMPTY, None
        if isinstance(field, DerivedImageField) and instance is not None:
            state, job = field.get_state(instance, with_job=True)
        context["state"] = state
        context["state_label"] = DerivedImageState.LABELS[state]
        context["url"] = value.url if value else ""
        context["job"] = job
        return context

    def value_from_datadict(self, data, files, name):
        """Never changes the file: the form field is disabled and keeps the initial value."""
        return None


class DerivedImageFormField(forms.Field):
    """Form field of a ``DerivedImageField``: disabled, so the form keeps the initial
    ``FieldFile`` as it is (no upload, no decoding, no storage read)."""

    widget = DerivedImageWidget

    def __init__(self, **kwargs):
        kwargs["required"] = False
        kwargs["disabled"] = True
        super().__init__(**kwargs)


class DerivedImageField(models.ImageField):
    """An ImageField filled by a vendor operation run on ``source``.

    Args:
        source: name of the ImageField on the same model the operation reads.
        operation: ``"remove_background"``, ``"uncrop"``, ``"reimagine"`` or ``"crop"``.
        provider: provider name (``None``: the operation's default provider when the job is
            created). A provider the registry does not have for the operation is reported by
            check ``django_imageops.E007`` (providers may come from ``IMAGEOPS["PROVIDERS"]``,
            so they are not looked up while models are defined).
        params: the operation's params (validated by the provider when a job is created).
        auto: queue a job (on commit) whenever the source file's content changes
            (``signal_handlers``).

    Other keyword arguments are ImageField's; ``storage`` defaults to the ``imageops`` storage,
    ``blank`` to ``True`` and ``upload_to`` to ``imageops/derived/<app>/<model>/``.

    Raises:
        ValueError: for an unknown operation.
    """

    description = _("Image derived by a vendor operation")

    def __init__(
        self,
        verbose_name=None,
        name=None,
        *,
        source: str,
        operation: str,
        provider: str | None = None,
        params: dict | None = None,
        auto: bool = False,
        **kwargs,
    ):
        if operation not in OPERATIONS:
            raise ValueError(f"Unknown operation {operation!r}")
        self.source = source
        self.operation = operation
        self.provider = provider
        self.params = dict(params or {})
        self.auto = auto
        kwargs.setdefault("storage", get_storage)
        kwargs.setdefault("blank", True)
        kwargs.setdefault("upload_to", derived_upload_to)
        kwargs.setdefault("max_length", 500)
        super().__init__(verbose_name, name, **kwargs)

    def deconstruct(self):
        """Keep ``source``, ``operation``, ``provider``, ``params``, ``auto``; drop defaults."""
        name, path, args, kwargs = super().deconstruct()
        kwargs["source"] = self.source
        kwargs["operation"] = self.operation
        if self.provider is not None:
            kwargs["provider"] = self.provider
        if self.params:
            kwargs["params"] = self.params
        if self.auto:
            kwargs["auto"] = True
        if kwargs.get("storage") is get_storage:
            del kwargs["storage"]
        if kwargs.get("blank") is True:
            del kwargs["blank"]
        if kwargs.get("upload_to") is derived_upload_to:
            del kwargs["upload_to"]
        if kwargs.get("max_length") == 500:
            del kwargs["max_length"]
        return name, path, args, kwargs

    def check(self, **kwargs):
        """ImageField's checks, plus ``django_imageops.E007`` when ``provider`` is not a
        registered provider of ``operation``, or when that provider (the operation's default
        one for ``None``) refuses ``params`` (``Provider.clean_params``: an unknown name, a
        value out of range, a required one missing): every job of the field would be refused."""
        errors = super().check(**kwargs)
        if self.provider is not None and find_provider(self.operation, self.provider) is None:
            choices = ", ".join(p.name for p in providers_for(self.operation)) or "-"
            errors.append(
                checks.Error(
                    f"{self.model._meta.label}.{self.name}: provider {self.provider!r} cannot run "
                    f"{self.operation!r}.",
                    hint=f"Use one of {choices}, None (the default), or register it in "
                    "IMAGEOPS['PROVIDERS'].",
                    obj=self,
                    id="django_imageops.E007",
                )
            )
            return errors
        try:
            get_provider(self.operation, self.provider).clean_params(self.params)
        except ValidationError as exc:
            if not hasattr(exc, "error_dict"):
                raise
            refused = "; ".join(
                f"{name}: {' '.join(messages)}" for name, messages in exc.message_dict.items()
            )
            errors.append(
                checks.Error(
                    f"{self.model._meta.label}.{self.name}: params {self.params!r} are refused "
                    f"({refused}).",
                    hint="Give only the parameters the provider takes, in their ranges.",
                    obj=self,
                    id="django_imageops.E007",
                )
            )
        return errors

    def formfield(self, **kwargs):
        """A disabled, read-only form field (``DerivedImageWidget``): the admin shows the
        state, and the file only ever changes through a job. Saving the form reads nothing
        from storage."""
        kwargs["widget"] = DerivedImageWidget
        kwargs["form_class"] = DerivedImageFormField
        kwargs.pop("max_length", None)
        return models.Field.formfield(self, **kwargs)

    def latest_job(self, instance):
        """The newest ``ImageJob`` targeting this field of ``instance``, or ``None`` (1 query)."""
        if instance.pk is None:
            return None
        content_type = ContentType.objects.get_for_model(instance)
        return (
            ImageJob.objects.filter(
                source_content_type=content_type,
                source_object_id=str(instance.pk),
                target_field=self.name,
            )
            .order_by("-created_at", "-id")
            .first()
        )

    def get_state(self, instance, *, with_job: bool = False):
        """The field's ``DerivedImageState`` for ``instance`` (``DerivedImageState.of``: queued
        while the newest targeting job is unfinished, else ready with a file, failed when that
        job failed, else empty). One query.

        Returns the state, or ``(state, job)`` with ``with_job=True``.
        """
        job = self.latest_job(instance)
        has_file = bool(getattr(instance, self.attname))
        state = DerivedImageState.of(has_file, job.status if job is not None else None)
        return (state, job) if with_job else state


def derived_fields(model) -> list[DerivedImageField]:
    """The ``DerivedImageField``s of ``model`` (a class or an instance)."""
    return [f for f in model._meta.get_fields() if isinstance(f, DerivedImageField)]
