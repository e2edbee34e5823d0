"""``DerivedImageField``: an ImageField that a vendor operation on another field fills.

::

    class Product(models.Model):
        photo = models.ImageField(upload_to="products/")
        cutout = DerivedImageField(
            source="photo", operation="remove_background", params={"mode": "auto"}, auto=True
        )

The field stores its file on the ``imageops`` storage. A succeeded job whose ``target_field``
is the field's name fills it (``jobs.apply_result``); only a job whose operation, provider and
parameters match the field's declaration gets that target (``DerivedImageField.declares``,
``target_for``), and a person may apply any other job's result explicitly. The field knows the
source content its image was made from and shows it *stale* once the source changes
(``derived``). With ``auto=True`` a job is queued after the transaction commits whenever the
source file's *content* changes (SHA-256 of the bytes), so re-saving the object or uploading the
same bytes again queues nothing.
"""

from __future__ import annotations

from django import forms
from django.core import checks
from django.core.exceptions import ValidationError
from django.db import models
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext_lazy as _

from .conf import get_storage
from .derived import DerivedImage, DerivedImageState, derived_state
from .operations import OPERATIONS
from .providers import find_provider, get_provider, providers_for

__all__ = [
    "DerivedImageField",
    "DerivedImageFormField",
    "DerivedImageState",
    "DerivedImageWidget",
    "derived_fields",
    "target_for",
]


def derived_upload_to(instance, filename: str) -> str:
    """``imageops/derived/<app_label>/<model>/<filename>``."""
    opts = instance._meta
    return f"imageops/derived/{opts.app_label}/{opts.model_name}/{filename}"


class DerivedImageWidget(forms.Widget):
    """Read-only display of a derived image: its state badge (``derived.DerivedImageState``:
    ready, stale, queued, running, failed...), its stored thumbnail linked to the image, and
    the latest job; while that job is unfinished the admin's script polls the job's status
    and refreshes the widget in place (``data-status-url``).

    The value is the model's ``FieldFile``, which knows its instance and field; the state comes
    from ``derived.derived_state`` (two queries, no storage request).
    """

    template_name = "django_imageops/admin/derived_image_widget.html"

    class Media:
        css = {"all": ("django_imageops/admin/imageops.css",)}
        js = ("django_imageops/admin/imageops.js",)

    def get_context(self, name, value, attrs):
        """Add ``derived`` (``derived.DerivedImage``), ``state``, ``state_label``,
        ``state_help``, ``url``, ``thumbnail_url``, ``job`` (latest job or ``None``),
        ``job_url`` and ``status_url`` (its admin page and status JSON; "" when the job admin
        is not installed)."""
        context = super().get_context(name, value, attrs)
        instance = getattr(value, "instance", None)
        field = getattr(value, "field", None)
        derived = DerivedImage(DerivedImageState.EMPTY)
        if isinstance(field, DerivedImageField) and instance is not None:
            derived = derived_state(instance, field)
        job = derived.latest
        context.update(
            derived=derived,
            state=derived.state,
            state_label=derived.label,
            state_help=DerivedImageState.HELP[derived.state],
            url=value.url if value else "",
            thumbnail_url=(derived.thumbnail_url() or value.url) if value else "",
            job=job,
            job_url=_admin_url("change", job),
            status_url=_admin_url("status", job) if job and not job.is_finished else "",
        )
        return context

    def value_from_datadict(self, data, files, name):
        """Never changes the file: the form field is disabled and keeps the initial value."""
        return None


def _admin_url(page: str, job) -> str:
    """The job admin's ``change`` or ``status`` URL of ``job``, "" without one."""
    if job is None:
        return ""
    try:
        return reverse(f"admin:django_imageops_imagejob_{page}", args=[job.pk])
    except NoReverseMatch:
        return ""


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

    def get_state(self, instance, *, with_job: bool = False):
        """The field's ``DerivedImageState`` for ``instance`` (``derived.derived_state``: two
        queries).

        Returns the state, or ``(state, latest job)`` with ``with_job=True``.
        """
        derived = derived_state(instance, self)
        return (derived.state, derived.latest) if with_job else derived.state

    def declares(self, operation: str, source: str, provider: str | None, params) -> bool:
        """Whether a job running ``operation`` with ``provider`` (None: the operation's default)
        and ``params`` on image field ``source`` is the one this field declares, so that its
        result may fill the field on its own: the same operation, source, provider and
        parameters (both cleaned by the provider, so defaults compare equal). A person may
        still apply any job's result explicitly (``jobs.apply_result(job, field=...)``)."""
        if operation != self.operation or source != self.source:
            return False
        try:
            mine = get_provider(self.operation, self.provider)
            if get_provider(operation, provider).name != mine.name:
                return False
            return mine.clean_params(self.params) == mine.clean_params(params)
        except ValidationError:
            return False


def derived_fields(model) -> list[DerivedImageField]:
    """The ``DerivedImageField``s of ``model`` (a class or an instance)."""
    return [f for f in model._meta.get_fields() if isinstance(f, DerivedImageField)]


def target_for(model, operation: str, source: str, provider: str | None, params) -> str:
    """The name of the one ``DerivedImageField`` of ``model`` that a job running ``operation``
    with ``provider`` and ``params`` on image field ``source`` fills on success
    (``DerivedImageField.declares``), or "" (the result then stays on the job until a person
    applies it)."""
    matches = [
        f.name for f in derived_fields(model) if f.declares(operation, source, provider, params)
    ]
    return matches[0] if len(matches) == 1 else ""
