"""Serializers of the REST API: jobs as clients see them, the job-creation request, credits.

Reading a job never touches storage: the result URL comes from ``storage.url()`` (a presigned
URL on a private S3 bucket, computed locally) and the sizes from the job's own columns.
"""

from __future__ import annotations

from typing import Any

from django.apps import apps
from django.core.exceptions import NON_FIELD_ERRORS, FieldDoesNotExist
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import models
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions, serializers
from rest_framework.fields import empty
from rest_framework.settings import api_settings

from ..conf import get_setting
from ..jobs.usage import vendor_usage
from ..models import ImageJob
from ..operations import BOOL, CHOICE, OPERATIONS, Param, param_union
from ..permissions import can_change, change_permission
from ..providers import (
    all_providers,
    default_provider,
    find_provider,
    get_provider,
    param_bounds,
    provider_choices,
    vendor_choices,
)
from ..sources import source_images
from .fields import ImageJobResultField  # noqa: F401  (public: ``api.serializers.ImageJobResultField``)
from .openapi import OpenApiTypes, extend_schema_field


def drf_errors(exc: DjangoValidationError) -> dict[str, list]:
    """A Django ``ValidationError`` as a DRF error body keyed by field name.

    Django's ``NON_FIELD_ERRORS`` (``"__all__"``) becomes DRF's ``non_field_errors`` key; an
    error without field names goes under ``non_field_errors`` too.
    """
    detail = serializers.as_serializer_error(exc)
    if NON_FIELD_ERRORS in detail:
        detail.setdefault(api_settings.NON_FIELD_ERRORS_KEY, [])
        detail[api_settings.NON_FIELD_ERRORS_KEY] += detail.pop(NON_FIELD_ERRORS)
    return detail


def job_api_url(request, job: ImageJob, view_name: str = "imagejob-detail") -> str | None:
    """Absolute URL of one of ``job``'s API endpoints, in the URL namespace of ``request``."""
    if request is None:
        return None
    namespace = getattr(request.resolver_match, "namespace", "") or ""
    name = f"{namespace}:{view_name}" if namespace else view_name
    try:
        path = reverse(name, kwargs={"uuid": job.uuid})
    except NoReverseMatch:
        return None
    return request.build_absolute_uri(path)


class ImageJobResultSerializer(serializers.Serializer):
    """Schema of a stored result: ``{url, thumbnail_url, width, height, content_type,
    bytes}``."""

    url = serializers.URLField(help_text=_("storage.url() of the result (presigned on S3)."))
    thumbnail_url = serializers.URLField(
        allow_null=True,
        help_text=_(
            "storage.url() of its thumbnail, a small WebP stored beside it; null when the "
            "result is small enough to be its own."
        ),
    )
    width = serializers.IntegerField(allow_null=True, help_text=_("Pixels."))
    height = serializers.IntegerField(allow_null=True, help_text=_("Pixels."))
    content_type = serializers.CharField(help_text=_("MIME type, e.g. image/png."))
    bytes = serializers.IntegerField(allow_null=True, help_text=_("File size in bytes."))


class ImageJobSourceSerializer(serializers.Serializer):
    """Schema of a job's source object reference: ``{model, pk, field}``."""

    model = serializers.CharField(help_text=_("app_label.model_name"))
    pk = serializers.CharField()
    field = serializers.CharField(help_text=_("Name of the ImageField."))


class ImageJobErrorSerializer(serializers.Serializer):
    """Schema of a failed job's error: ``{code, message}``."""

    code = serializers.CharField()
    message = serializers.CharField()


class ImageJobSerializer(serializers.ModelSerializer):
    """One job as the API shows it (read only).

    ``result`` is ``null`` until a result is stored; ``editor_url`` is set for background
    removals in ``review`` mode (the page that embeds the ClippingMagic editor); ``error`` is
    ``null`` unless the job failed or is retrying after an error. Vendor secrets and API keys
    are never part of it.
    """

    url = serializers.SerializerMethodField(help_text=_("This job in the API."))
    params = serializers.DictField(
        read_only=True, help_text=_("The operation's parameters, defaults filled in.")
    )
    # (DRF's serializer metaclass takes declared fields off the class: no clash with the
    # ``Field.source`` attribute the stubs see.)
    source = serializers.SerializerMethodField()  # type: ignore[assignment]
    result = serializers.SerializerMethodField()
    error = serializers.SerializerMethodField()
    editor_url = serializers.SerializerMethodField(
        help_text=_("The vendor's editor page of a review job, else null.")
    )

    class Meta:
        model = ImageJob
        fields = [
            "uuid",
            "url",
            "operation",
            "provider",
            "status",
            "params",
            "source",
            "batch",
            "result",
            "credits_consumed",
            "credits_estimated",
            "credits_remaining",
            "error",
            "attempts",
            "next_attempt_at",
            "editor_url",
            "created_at",
            "started_at",
            "finished_at",
        ]
        read_only_fields = fields
        extra_kwargs = {
            "attempts": {
                "help_text": _(
                    "Tries at the job so far: one per run that starts it (however many vendor "
                    "calls that takes) and one per retry after an error; polls and waits count "
                    "none."
                )
            }
        }

    @extend_schema_field(OpenApiTypes.URI)
    def get_url(self, job: ImageJob) -> str | None:
        """Absolute URL of the job in the API (``job_api_url``), or None without a request."""
        return job_api_url(self.context.get("request"), job)

    @extend_schema_field(ImageJobSourceSerializer(allow_null=True))
    def get_source(self, job: ImageJob) -> dict | None:
        """``{model: "app_label.model", pk, field}`` of the source object, or None for an upload."""
        content_type = job.source_content_type
        if content_type is None:
            return None
        return {
            "model": f"{content_type.app_label}.{content_type.model}",
            "pk": job.source_object_id,
            "field": job.source_field,
        }

    @extend_schema_field(ImageJobResultSerializer(allow_null=True))
    def get_result(self, job: ImageJob) -> dict | None:
        """``ImageJob.result_summary``: ``{url, thumbnail_url, width, height, content_type,
        bytes}`` or None."""
        return job.result_summary()

    @extend_schema_field(ImageJobErrorSerializer(allow_null=True))
    def get_error(self, job: ImageJob) -> dict | None:
        """``ImageJob.error_summary``: ``{code, message}`` or None."""
        return job.error_summary()

    @extend_schema_field(serializers.URLField(allow_null=True))
    def get_editor_url(self, job: ImageJob) -> str | None:
        """Absolute URL of the editor page of a review job (``Provider.editor_view``), else None
        (also when the editor URLs are not installed)."""
        provider = find_provider(job.operation, job.provider)
        if provider is None or not provider.is_review(job.params or {}):
            return None
        try:
            path = reverse(provider.editor_view, kwargs={"job_uuid": job.uuid})
        except NoReverseMatch:
            return None
        request = self.context.get("request")
        return request.build_absolute_uri(path) if request is not None else path


@extend_schema_field({"type": "string", "format": "binary"})
class UploadField(serializers.FileField):
    """A ``FileField`` documented as a binary multipart part (``format: binary``)."""


class OptionalBooleanField(serializers.BooleanField):
    """A ``BooleanField`` that stays absent when a form (multipart) request leaves it out.

    DRF's ``BooleanField`` reads a missing checkbox as ``False``; a job parameter left out must
    instead get the operation's default.
    """

    default_empty_html = empty


class OptionalIntegerField(serializers.IntegerField):
    """An ``IntegerField`` for which ``null`` and ``""`` mean "not given" (like a form's empty
    field): the value becomes ``None`` and the provider applies the parameter's default."""

    def validate_empty_values(self, data):
        """``""`` is read as ``None`` (JSON clients send it for an empty input)."""
        if isinstance(data, str) and data == "":
            data = None
        return super().validate_empty_values(data)


def param_field(
    param: Param, help_text: str, bounds: tuple[int | None, int | None] = (None, None)
) -> serializers.Field:
    """The API field of a parameter: it parses the type and, for a number, checks ``bounds``
    (``(min, max)``, the widest of the providers declaring it: the schema shows them); the
    chosen provider checks the rest.

    Every parameter field is optional and nullable: ``null`` or ``""`` means "not given" (the
    parameter's default; "This field is required." for a required one, from the provider)."""
    options: dict[str, Any] = {"required": False, "allow_null": True, "help_text": help_text}
    if param.type == BOOL:
        return OptionalBooleanField(**options)
    if param.type == CHOICE:
        return serializers.ChoiceField(choices=list(param.choices), allow_blank=True, **options)
    return OptionalIntegerField(min_value=bounds[0], max_value=bounds[1], **options)


def param_fields() -> dict[str, serializers.Field]:
    """The parameters of every registered provider as API fields, keyed by name. Each help
    text says which operations take the parameter and, when not all of an operation's
    providers do, which providers (e.g. "uncrop: Pixels; positive extends, negative crops.")."""
    providers = all_providers()
    fields = {}
    for name, param in param_union(p.params() for p in providers).items():
        takers = [p for p in providers if any(q.name == name for q in p.params())]
        where = []
        for operation in OPERATIONS:
            runs = [p for p in providers if p.operation == operation]
            takes = [p for p in takers if p.operation == operation]
            if not takes:
                continue
            if len(takes) == len(runs):
                where.append(operation)
            else:
                where.append(
                    _("%(operation)s on %(providers)s")
                    % {"operation": operation, "providers": ", ".join(p.name for p in takes)}
                )
        help_text = f"{', '.join(str(w) for w in where)}: {param.help_text or param.label}"
        low, high, note = param_bounds(name, takers)
        if note:
            help_text = f"{help_text} {note}"
        fields[name] = param_field(param, help_text, (low, high))
    return fields


#: Request keys that are neither fields nor parameters: Django's CSRF form field (sent by the
#: browsable API's HTML forms).
IGNORED_REQUEST_KEYS = frozenset({"csrfmiddlewaretoken"})


class ImageJobCreateSerializer(serializers.Serializer):
    """The ``POST jobs/`` request: an operation on an uploaded image or on an object's image.

    Exactly one source: ``image`` (multipart file upload), or ``model`` + ``pk`` + ``field``
    naming an ImageField of an object the user may change. Parameters sit at the top level;
    only those the chosen provider takes may be sent (with the built-in providers):

    - ``uncrop``: ``left``, ``right``, ``top``, ``bottom`` (pixels; positive extends, negative
      crops), ``seed`` (0..100000, optional; Clipdrop)
    - ``crop``: ``x``, ``y``, ``width``, ``height`` (pixels)
    - ``remove_background``: ``mode`` (``auto`` or ``review``), ``test`` (free watermarked result)
    - ``reimagine``: none

    The parameter fields and the ``provider`` choices are generated from the registered
    providers' declarations (``param_fields``), so a site's own provider and its parameters are
    accepted with no change here. Ranges and defaults are checked by the provider's
    ``clean_params``; errors name the field. A key that is neither a field nor a parameter of
    the chosen provider is refused (400, keyed by that name), never ignored.
    """

    operation = serializers.ChoiceField(choices=ImageJob.Operation.choices)
    image = UploadField(required=False, help_text=_("The image to process (multipart upload)."))
    model = serializers.CharField(
        required=False, help_text=_("Source object's model as app_label.model_name.")
    )
    pk = serializers.CharField(required=False, help_text=_("Source object's primary key."))
    field = serializers.CharField(
        required=False, help_text=_("Name of the source object's ImageField.")
    )
    dry_run = OptionalBooleanField(
        required=False,
        help_text=_(
            "Check and price the job without creating it: answers 200 with what it would cost "
            "(reused results and free modes count 0). Nothing is created, no vendor is called."
        ),
    )

    def get_fields(self):
        """The declared fields, ``provider`` (the registered providers) and the parameters of
        every registered provider (``param_fields``)."""
        fields = super().get_fields()
        fields["provider"] = serializers.ChoiceField(
            choices=provider_choices(),
            required=False,
            help_text=_(
                "Vendor that runs the operation; the operation's default provider if left out."
            ),
        )
        fields.update(param_fields())
        return fields

    def validate(self, attrs: dict) -> dict:
        """Check the source, the provider and the parameters; nothing is created.

        The image itself (not an image, truncated, too big, a decompression bomb, or too small
        for a crop) is checked by ``jobs.create_jobs`` before it creates anything, with
        ``images.validate_image`` and the provider's ``check_image``.

        Returns ``validated_data``: ``operation``, ``provider`` (the default one if none was
        sent), ``params`` (cleaned by the operation), ``dry_run`` and either ``upload`` (the
        uploaded file) or ``obj`` + ``field`` (the source object and its image field name;
        ``upload`` is None).

        Raises:
            rest_framework.exceptions.ValidationError: keyed by field name (HTTP 400).
            rest_framework.exceptions.PermissionDenied: a source object the user may not change
                (HTTP 403).
        """
        operation = attrs["operation"]
        source_keys = [key for key in ("model", "pk", "field") if key in attrs]
        upload = attrs.get("image")
        if upload is not None and source_keys:
            raise serializers.ValidationError(
                {
                    api_settings.NON_FIELD_ERRORS_KEY: [
                        _("Send either an image or a source object (model, pk, field), not both.")
                    ]
                }
            )
        if upload is None:
            if not source_keys:
                raise serializers.ValidationError(
                    {"image": [_("Send an image, or a source object (model, pk, field).")]}
                )
            missing = {key: [_("This field is required.")] for key in ("model", "pk", "field")}
            for key in source_keys:
                missing.pop(key)
            if missing:
                raise serializers.ValidationError(missing)

        if upload is not None and upload.size > int(get_setting("MAX_UPLOAD_BYTES")):
            # Refused before the file is read into memory (create_jobs reads it whole).
            raise serializers.ValidationError(
                {
                    "image": [
                        _("The file is %(size)s bytes; the largest accepted is %(max)s bytes.")
                        % {"size": upload.size, "max": get_setting("MAX_UPLOAD_BYTES")}
                    ]
                }
            )

        try:
            runner = get_provider(operation, attrs.get("provider") or default_provider(operation))
        except DjangoValidationError as exc:
            raise serializers.ValidationError(drf_errors(exc)) from exc
        provider = runner.name

        obj = field = None
        if upload is None:
            obj, field = self._resolve_source(attrs["model"], attrs["pk"], attrs["field"])

        # Every parameter the client sent goes to the provider, which refuses the ones it does
        # not take ("Not a parameter of uncrop on piktid.") rather than ignore them: those
        # some provider declares (parsed by their fields) and any other key of the request.
        raw_params = self._unknown_keys()
        raw_params.update({key: attrs[key] for key in param_fields() if key in attrs})
        try:
            params = runner.clean_params(raw_params)
        except DjangoValidationError as exc:
            raise serializers.ValidationError(drf_errors(exc)) from exc
        if obj is not None and field:
            self._check_size(runner, params, obj, field)

        return {
            "operation": operation,
            "provider": provider,
            "params": params,
            "upload": upload,
            "obj": obj,
            "field": field,
            "dry_run": bool(attrs.get("dry_run")),
        }

    def _check_size(self, runner, params: dict, obj, field: str) -> None:
        """Refuse values that fail against the object's image size when that size is known
        without downloading the file (``sources.source_images``: ``width_field``/
        ``height_field`` or a header read), as the admin's forms do; otherwise the job checks
        them before any vendor call."""
        [source] = source_images([obj], field)
        info = source.info()
        if info is None:
            return
        try:
            runner.check_image(params, info)
        except DjangoValidationError as exc:
            errors = drf_errors(exc)
            if "image" in errors:
                errors.setdefault("field", []).extend(errors.pop("image"))
            raise serializers.ValidationError(errors) from exc

    def _unknown_keys(self) -> dict:
        """The keys of the request that are not fields of this serializer (nor Django's CSRF
        form field), with their values as sent: parameters no provider declares, which the
        chosen provider's ``clean_params`` refuses by name, so that nothing a client sends is
        silently dropped."""
        data = self.initial_data
        return {
            key: data[key]
            for key in data
            if key not in self.fields and key not in IGNORED_REQUEST_KEYS
        }

    def _resolve_source(self, model_label: str, pk: str, field_name: str):
        """The source object and its image field name, checking the change permission.

        An object that does not exist and one the user may not change look the same (403) to a
        user without the model-level change permission, so the API does not reveal which objects
        exist.
        """
        try:
            model = apps.get_model(model_label)
        except (LookupError, ValueError) as exc:
            raise serializers.ValidationError(
                {"model": [_("Unknown model; use app_label.model_name.")]}
            ) from exc
        try:
            model_field = model._meta.get_field(field_name)
        except FieldDoesNotExist as exc:
            raise serializers.ValidationError(
                {"field": [_("%(model)s has no such field.") % {"model": model_label}]}
            ) from exc
        if not isinstance(model_field, models.FileField):
            raise serializers.ValidationError({"field": [_("Not an image field.")]})

        request = self.context.get("request")
        user = getattr(request, "user", None)
        try:
            obj = model._default_manager.get(pk=model._meta.pk.to_python(pk))
        except (model.DoesNotExist, ValueError, TypeError, DjangoValidationError):
            obj = None
        if obj is None:
            if user is not None and user.has_perm(change_permission(model)):
                raise serializers.ValidationError({"pk": [_("No such object.")]})
            raise exceptions.PermissionDenied(_("You may not change this object."))
        if not can_change(user, obj):
            raise exceptions.PermissionDenied(_("You may not change this object."))
        if not getattr(obj, field_name):
            raise serializers.ValidationError({"field": [_("This object has no image here.")]})
        return obj, field_name


class ImageJobUploadRequestSerializer(ImageJobCreateSerializer):
    """``POST jobs/`` as ``multipart/form-data``: an uploaded ``image`` and the parameters."""

    image = UploadField(help_text=_("The image to process."))
    # DRF removes an inherited declared field set to None (the stubs do not know).
    model = None  # type: ignore[assignment]
    pk = None  # type: ignore[assignment]
    field = None  # type: ignore[assignment]


class ImageJobSourceRequestSerializer(ImageJobCreateSerializer):
    """``POST jobs/`` as JSON: a source object (``model``, ``pk``, ``field``) and the parameters."""

    image = None  # type: ignore[assignment]  # DRF: removes the inherited field
    model = serializers.CharField(help_text=_("Source object's model as app_label.model_name."))
    pk = serializers.CharField(help_text=_("Source object's primary key."))
    field = serializers.CharField(help_text=_("Name of the source object's ImageField."))


class SpendSerializer(serializers.Serializer):
    """Credits spent in a period (UTC), by how we know them."""

    reported = serializers.DecimalField(
        max_digits=16, decimal_places=3, help_text=_("As the vendor reported them.")
    )
    estimated = serializers.DecimalField(
        max_digits=16,
        decimal_places=3,
        help_text=_("From the vendor's PRICE setting (it reports no cost)."),
    )
    unrecorded = serializers.DecimalField(
        max_digits=16,
        decimal_places=3,
        help_text=_("Found by reconciling the vendor's balance; recorded by no job."),
    )
    total = serializers.DecimalField(max_digits=16, decimal_places=3)


class BudgetSerializer(serializers.Serializer):
    """One budget as it stands (``jobs.BudgetStatus``)."""

    scope = serializers.ChoiceField(choices=["vendor", "user", "batch"])
    period = serializers.ChoiceField(choices=["day", "month", "batch"])
    limit = serializers.DecimalField(max_digits=16, decimal_places=3, help_text=_("Credits."))
    spent = serializers.DecimalField(max_digits=16, decimal_places=3)
    remaining = serializers.DecimalField(max_digits=16, decimal_places=3)
    resets_at = serializers.DateTimeField(
        allow_null=True, help_text=_("When the period rolls over (UTC); null for a batch.")
    )

    def get_fields(self):
        """The declared fields and ``label`` (a class attribute of that name would shadow the
        serializer's own ``label``)."""
        return {
            **super().get_fields(),
            "label": serializers.CharField(help_text=_('Plain words: "Clipdrop daily budget".')),
        }


class VendorCreditsSerializer(serializers.Serializer):
    """One vendor's credits: its latest known balance (``remaining`` is null until first
    seen), what was spent today and this month, and its budgets (``jobs.usage``)."""

    name = serializers.CharField(help_text=_("The vendor's display name."))
    remaining = serializers.DecimalField(
        max_digits=14, decimal_places=3, allow_null=True, help_text=_("Credits.")
    )
    updated_at = serializers.DateTimeField(allow_null=True)
    low = serializers.BooleanField(help_text=_("The balance is below low_balance."))
    low_balance = serializers.DecimalField(
        max_digits=14,
        decimal_places=3,
        allow_null=True,
        help_text=_("The vendor's LOW_BALANCE setting, or null."),
    )
    today = SpendSerializer()
    month = SpendSerializer()
    budgets = BudgetSerializer(many=True, help_text=_("The vendor's daily and monthly caps."))

    def get_fields(self):
        """The declared fields and ``provider``: one of the registered vendors."""
        return {
            "provider": serializers.ChoiceField(
                choices=vendor_choices(),
                help_text=_("The vendor (its key in IMAGEOPS['VENDORS'])."),
            ),
            **super().get_fields(),
        }

    @classmethod
    def rows(cls) -> list[dict]:
        """One row per vendor, in registry order (``jobs.usage.vendor_usage``)."""
        return [
            {
                **usage.as_dict(),
                "today": vars(usage.today) | {"total": usage.today.total},
                "month": vars(usage.month) | {"total": usage.month.total},
                "budgets": [
                    {**vars(budget), "remaining": budget.remaining} for budget in usage.budgets
                ],
            }
            for usage in vendor_usage(days=1)
        ]
