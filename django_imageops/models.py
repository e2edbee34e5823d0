"""Database records: ``ImageJob`` (one vendor operation on one image), its event history, the
content hashes of source images (``SourceImageHash``), the per-vendor credit balance, the
credits spent per vendor and day (``CreditUsage``), the budget counters and vendor API tokens.

State changes happen only in ``django_imageops.jobs``; these classes hold data and small
derived properties.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import FieldDoesNotExist
from django.db import models
from django.utils.translation import gettext_lazy as _

from .conf import get_storage
from .operations import OperationName
from .providers import provider_choices, vendor_choices
from .redaction import job_redactor


def source_upload_to(instance: ImageJob, filename: str) -> str:
    """``imageops/sources/<uuid>/<filename>`` for files uploaded straight to a job."""
    return f"imageops/sources/{instance.uuid}/{filename}"


def result_upload_to(instance: ImageJob, filename: str) -> str:
    """``imageops/results/<operation>/<uuid>.<ext>`` (the extension of ``filename`` is kept)."""
    ext = filename.rsplit(".", 1)[-1].lower() if "." in filename else "bin"
    return f"imageops/results/{instance.operation}/{instance.uuid}.{ext}"


class ImageJob(models.Model):
    """One vendor operation on one image, from queueing to a stored, paid-for result.

    The source is either a model instance's ImageField (``source_object`` +
    ``source_field``) or a file uploaded to the job (``source_file``). The result file lives on
    the ``imageops`` storage with its size recorded, so listing jobs never touches storage.
    """

    #: What a job does to the image (our vocabulary, the same for every vendor):
    #: ``operations.OperationName``.
    Operation = OperationName

    class Status(models.TextChoices):
        """Where a job is; only ``django_imageops.jobs`` changes it."""

        PENDING = "pending", _("Pending")
        RUNNING = "running", _("Running")
        WAITING_FOR_EDITOR = "waiting_for_editor", _("Waiting for editor")
        SUCCEEDED = "succeeded", _("Succeeded")
        FAILED = "failed", _("Failed")
        CANCELED = "canceled", _("Canceled")

    #: Statuses a job never leaves on its own.
    FINISHED_STATUSES = (Status.SUCCEEDED, Status.FAILED, Status.CANCELED)

    uuid = models.UUIDField(_("UUID"), default=uuid.uuid4, unique=True, editable=False)
    batch = models.UUIDField(
        _("batch"),
        null=True,
        blank=True,
        db_index=True,
        help_text=_("Jobs queued together (one admin action, one batch command) share a batch."),
    )
    operation = models.CharField(_("operation"), max_length=32, choices=Operation.choices)
    # The registry's providers (``providers.provider_choices``): a new one needs no migration.
    provider = models.CharField(_("provider"), max_length=32, choices=provider_choices)
    params = models.JSONField(_("parameters"), default=dict, blank=True)

    # Source: a model instance's ImageField, or an uploaded file.
    source_content_type = models.ForeignKey(
        ContentType,
        verbose_name=_("source type"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    source_object_id = models.CharField(_("source id"), max_length=64, blank=True)
    source_object = GenericForeignKey("source_content_type", "source_object_id")
    source_field = models.CharField(_("source field"), max_length=100, blank=True)
    source_file = models.FileField(
        _("uploaded source"),
        upload_to=source_upload_to,
        storage=get_storage,
        max_length=500,
        blank=True,
    )
    source_name = models.CharField(
        _("source file name"),
        max_length=500,
        blank=True,
        help_text=_("Name of the source file on its storage when the job was created."),
    )
    target_field = models.CharField(
        _("target field"),
        max_length=100,
        blank=True,
        help_text=_("DerivedImageField on the source object that the result fills on success."),
    )
    source_hash = models.CharField(
        _("source SHA-256"),
        max_length=64,
        blank=True,
        db_index=True,
        help_text=_(
            "Content hash of the source bytes; with operation, provider and params it "
            "keys result reuse."
        ),
    )

    status = models.CharField(
        _("status"), max_length=32, choices=Status.choices, default=Status.PENDING, db_index=True
    )
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt"), null=True, blank=True, db_index=True)

    # What the vendor told us about its side of the job.
    vendor_image_id = models.CharField(
        _("vendor image id"),
        max_length=128,
        blank=True,
        help_text=_("The vendor's id of the image (for its editor, or an asynchronous result)."),
    )
    vendor_secret = models.CharField(
        _("vendor image secret"),
        max_length=128,
        blank=True,
        help_text=_("The vendor's secret of the image (lets the vendor's editor open it)."),
    )
    vendor_result_revision = models.PositiveIntegerField(_("vendor result revision"), default=0)
    vendor_state = models.JSONField(
        _("vendor state"),
        default=dict,
        blank=True,
        help_text=_("Where an asynchronous vendor flow stands (e.g. when the generation started)."),
    )

    credits_consumed = models.DecimalField(
        _("credits consumed"), max_digits=12, decimal_places=3, default=0
    )
    credits_remaining = models.DecimalField(
        _("credits remaining"), max_digits=14, decimal_places=3, null=True, blank=True
    )
    credits_estimated = models.BooleanField(
        _("credits estimated"),
        default=False,
        help_text=_(
            "The vendor did not say what a call cost: the vendor's price setting was recorded."
        ),
    )

    result = models.FileField(
        _("result"), upload_to=result_upload_to, storage=get_storage, max_length=500, blank=True
    )
    result_thumbnail = models.FileField(
        _("result thumbnail"),
        storage=get_storage,
        max_length=500,
        blank=True,
        help_text=_("A small WebP of the result, stored beside it (what lists and widgets show)."),
    )
    result_width = models.PositiveIntegerField(_("result width"), null=True, blank=True)
    result_height = models.PositiveIntegerField(_("result height"), null=True, blank=True)
    result_bytes = models.PositiveBigIntegerField(_("result size in bytes"), null=True, blank=True)
    result_content_type = models.CharField(_("result content type"), max_length=100, blank=True)
    reused_from = models.ForeignKey(
        "self",
        verbose_name=_("reused result of"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    work_key = models.CharField(
        _("identical work key"),
        max_length=64,
        blank=True,
        editable=False,
        help_text=_(
            "Set while this job does deterministic work (a digest of its source, operation, "
            "provider and parameters) that identical jobs wait for and reuse; unique among "
            "such jobs, cleared when it finishes."
        ),
    )
    spool_path = models.CharField(
        _("spooled result"),
        max_length=500,
        blank=True,
        help_text=_(
            "Local copy of a vendor result whose storing failed; stored on the next attempt."
        ),
    )
    applied_at = models.DateTimeField(_("applied"), null=True, blank=True)

    error_code = models.CharField(_("error code"), max_length=64, blank=True)
    error_message = models.TextField(_("error"), blank=True)

    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="imageops_jobs",
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)
    started_at = models.DateTimeField(_("started"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True, db_index=True)

    class Meta:
        verbose_name = _("image job")
        verbose_name_plural = _("image jobs")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(
                fields=["source_content_type", "source_object_id"], name="imageops_job_source_idx"
            ),
            models.Index(fields=["status", "next_attempt_at"], name="imageops_job_due_idx"),
        ]
        constraints = [
            # One job at a time does a given piece of deterministic work: its identical twins
            # wait for it and reuse its result (``jobs.twins``).
            models.UniqueConstraint(
                fields=["work_key"],
                condition=~models.Q(work_key=""),
                name="imageops_job_one_work_in_flight",
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_operation_display()} ({self.get_provider_display()}) {self.uuid}"

    @property
    def is_finished(self) -> bool:
        """True for succeeded, failed and canceled jobs."""
        return self.status in self.FINISHED_STATUSES

    @property
    def duration(self):
        """``finished_at - started_at`` as a ``timedelta``, or ``None`` while unfinished."""
        if self.started_at and self.finished_at:
            return self.finished_at - self.started_at
        return None

    def result_summary(self) -> dict | None:
        """The stored result as clients see it, or ``None`` without one:
        ``{"url", "thumbnail_url", "width", "height", "content_type", "bytes"}`` (pixels,
        bytes). The URLs are ``storage.url()`` (presigned on a private bucket;
        ``thumbnail_url`` is None when no thumbnail was made); no storage request is made.
        """
        if not self.result:
            return None
        return {
            "url": self.result.url,
            "thumbnail_url": self.result_thumbnail.url if self.result_thumbnail else None,
            "width": self.result_width,
            "height": self.result_height,
            "content_type": self.result_content_type,
            "bytes": self.result_bytes,
        }

    def status_summary(self) -> dict:
        """What a page polling the job needs: ``{"status", "status_display", "finished",
        "result": result_summary(), "error": error_summary()}``. No storage request."""
        return {
            "status": self.status,
            "status_display": str(self.get_status_display()),
            "finished": self.is_finished,
            "result": self.result_summary(),
            "error": self.error_summary(),
        }

    def error_summary(self) -> dict | None:
        """``{"code", "message"}`` of the last error, or ``None`` when there is none. The
        message is shown without any secret a vendor echoed (``redaction.job_redactor``)."""
        if not (self.error_code or self.error_message):
            return None
        return {"code": self.error_code, "message": job_redactor(self).text(self.error_message)}

    @property
    def source_storage_file(self):
        """The source ``FieldFile``: the uploaded file, or the source object's ImageField file.

        Returns ``None`` when the source object or its file is gone.
        """
        if self.source_file:
            return self.source_file
        obj = self.source_object
        if obj is None or not self.source_field:
            return None
        file = getattr(obj, self.source_field, None)
        return file or None

    def source_url(self) -> str:
        """URL of the source as it was when the job was created: ``source_name`` on the source
        field's storage, or the uploaded ``source_file``; "" when unknown. No I/O, no query
        beyond the content type (``select_related`` it for lists)."""
        if self.source_file:
            return self.source_file.url
        if not (self.source_name and self.source_content_type_id and self.source_field):
            return ""
        content_type = self.source_content_type
        model = content_type.model_class() if content_type is not None else None
        if model is None:
            return ""
        try:
            field = model._meta.get_field(self.source_field)
        except FieldDoesNotExist:  # the field was removed since the job ran
            return ""
        storage = getattr(field, "storage", None)
        return storage.url(self.source_name) if storage is not None else ""


class ImageJobEvent(models.Model):
    """One entry of a job's history: an attempt, an error, a stored result, a retry."""

    class Kind(models.TextChoices):
        """What the history entry records."""

        CREATED = "created", _("Created")
        ATTEMPT = "attempt", _("Attempt")
        VENDOR_CALL = "vendor_call", _("Vendor call")
        RETRY_SCHEDULED = "retry_scheduled", _("Retry scheduled")
        ERROR = "error", _("Error")
        RESULT_STORED = "result_stored", _("Result stored")
        RESULT_REPLACED = "result_replaced", _("Result replaced")
        STORE_FAILED = "store_failed", _("Storing failed")
        EDITOR = "editor", _("Editor")
        APPLIED = "applied", _("Applied")
        CANCELED = "canceled", _("Canceled")

    job = models.ForeignKey(
        ImageJob, verbose_name=_("job"), on_delete=models.CASCADE, related_name="events"
    )
    created_at = models.DateTimeField(_("time"), auto_now_add=True)
    kind = models.CharField(_("kind"), max_length=32, choices=Kind.choices)
    message = models.TextField(_("message"), blank=True)
    data = models.JSONField(_("data"), default=dict, blank=True)

    class Meta:
        verbose_name = _("job event")
        verbose_name_plural = _("job events")
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        # Shown by the admin (the history inline): without secrets a vendor echoed.
        return f"{self.get_kind_display()}: {job_redactor(self.job).text(self.message)[:60]}"


class SourceImageHash(models.Model):
    """The SHA-256 of the file an object's image field holds now, as Wagtail keeps an image's
    ``file_hash``: recorded when the file changes (from the bytes in hand when they are), so
    that the images derived from it tell they are stale without reading it
    (``django_imageops.derived``). One row per object and field."""

    content_type = models.ForeignKey(
        ContentType, verbose_name=_("object type"), on_delete=models.CASCADE, related_name="+"
    )
    object_id = models.CharField(_("object id"), max_length=64)
    field = models.CharField(_("image field"), max_length=100)
    name = models.CharField(_("file name"), max_length=500)
    sha256 = models.CharField(_("SHA-256"), max_length=64)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("source image hash")
        verbose_name_plural = _("source image hashes")
        constraints = [
            models.UniqueConstraint(
                fields=["content_type", "object_id", "field"], name="imageops_source_hash_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.name}: {self.sha256[:12]}"

    @classmethod
    def record(cls, obj: models.Model, field: str, name: str, sha256: str) -> None:
        """Record that ``obj``'s image field ``field`` holds file ``name`` of content hash
        ``sha256`` (hex), replacing what was recorded for it."""
        cls.objects.update_or_create(
            content_type=ContentType.objects.get_for_model(obj, for_concrete_model=False),
            object_id=str(obj.pk),
            field=field,
            defaults={"name": name, "sha256": sha256},
        )

    @classmethod
    def current(cls, content_type: ContentType, object_ids, field: str) -> dict:
        """``{object_id: (file name, sha256)}`` recorded for ``field`` of the objects (one
        query); objects with nothing recorded are absent. A hash counts only while its
        ``name`` is still the field's file."""
        rows = cls.objects.filter(
            content_type=content_type, object_id__in=list(object_ids), field=field
        ).values_list("object_id", "name", "sha256")
        return {object_id: (name, sha256) for object_id, name, sha256 in rows}


class VendorCredits(models.Model):
    """The latest known credit balance of one vendor account (from headers or account calls),
    and what reconciling it with the credits the jobs recorded needs (``jobs.credits``)."""

    vendor = models.CharField(_("vendor"), max_length=32, choices=vendor_choices, unique=True)
    remaining = models.DecimalField(
        _("credits remaining"), max_digits=14, decimal_places=3, null=True, blank=True
    )
    details = models.JSONField(_("details"), default=dict, blank=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)
    low = models.BooleanField(
        _("low balance"),
        default=False,
        help_text=_("The balance is below the vendor's LOW_BALANCE (credits_low was sent)."),
    )
    # Reconciling (jobs.credits): every credit recorded for the vendor, the last balance the
    # vendor reported while no other paid call was under way, and the recorded total then.
    recorded = models.DecimalField(
        _("credits recorded"), max_digits=16, decimal_places=3, default=0
    )
    checkpoint_remaining = models.DecimalField(
        _("checkpoint balance"), max_digits=14, decimal_places=3, null=True, blank=True
    )
    checkpoint_recorded = models.DecimalField(
        _("credits recorded at the checkpoint"), max_digits=16, decimal_places=3, default=0
    )
    in_flight = models.PositiveIntegerField(_("paid calls under way"), default=0)
    overlapped = models.BooleanField(_("paid calls overlapped"), default=False)
    in_flight_at = models.DateTimeField(_("last paid call started"), null=True, blank=True)

    class Meta:
        verbose_name = _("vendor credits")
        verbose_name_plural = _("vendor credits")
        ordering = ["vendor"]

    def __str__(self) -> str:
        return f"{self.get_vendor_display()}: {self.remaining}"

    @classmethod
    def balances(cls) -> list[dict]:
        """One row per vendor, in registry order (``providers.vendor_choices``), from a single
        query: ``{"provider" (the vendor name), "name" (display label), "remaining" (credits,
        ``Decimal`` or ``None`` until the vendor has reported one), "updated_at" (datetime or
        ``None``), "low" (below the vendor's ``LOW_BALANCE``)}``.

        Read by the admin's credits page and the API's ``credits/``; never asks a vendor.
        """
        known = {row.vendor: row for row in cls.objects.all()}
        return [
            {
                "provider": value,
                "name": label,
                "remaining": known[value].remaining if value in known else None,
                "updated_at": known[value].updated_at if value in known else None,
                "low": known[value].low if value in known else False,
            }
            for value, label in vendor_choices()
        ]


class CreditUsage(models.Model):
    """Credits spent on one vendor on one day (UTC): as the vendor reported them, as estimated
    from its price setting, and as found by reconciling its balance (spent, but recorded by
    no job). Feeds the credits page (today, this month, the 30-day chart)."""

    vendor = models.CharField(_("vendor"), max_length=32, choices=vendor_choices)
    day = models.DateField(_("day (UTC)"))
    reported = models.DecimalField(
        _("reported credits"), max_digits=14, decimal_places=3, default=0
    )
    estimated = models.DecimalField(
        _("estimated credits"), max_digits=14, decimal_places=3, default=0
    )
    unrecorded = models.DecimalField(
        _("unrecorded credits"),
        max_digits=14,
        decimal_places=3,
        default=0,
        help_text=_("Spent according to the vendor's balance, but recorded by no job."),
    )

    class Meta:
        verbose_name = _("credit usage")
        verbose_name_plural = _("credit usage")
        ordering = ["-day", "vendor"]
        constraints = [
            models.UniqueConstraint(fields=["vendor", "day"], name="imageops_usage_unique")
        ]

    def __str__(self) -> str:
        return f"{self.vendor} {self.day}: {self.reported + self.estimated + self.unrecorded}"


class BudgetCounter(models.Model):
    """Credits spent (or being spent) against one budget in one period: a vendor's day or
    month, one user's day or month, one batch. Written only with conditional ``UPDATE``s by
    ``jobs.budgets`` (a paid call reserves its price only while it fits under the cap)."""

    vendor = models.CharField(_("vendor"), max_length=32, choices=vendor_choices)
    scope = models.CharField(_("scope"), max_length=8)  # "vendor", "user" or "batch"
    key = models.CharField(_("key"), max_length=64, blank=True)  # user pk, batch UUID or ""
    period = models.CharField(_("period"), max_length=8)  # "day", "month" or "batch"
    start = models.DateField(_("period start (UTC)"))
    spent = models.DecimalField(_("credits spent"), max_digits=16, decimal_places=3, default=0)

    class Meta:
        verbose_name = _("budget counter")
        verbose_name_plural = _("budget counters")
        constraints = [
            models.UniqueConstraint(
                fields=["vendor", "scope", "key", "period", "start"], name="imageops_budget_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.vendor} {self.scope}:{self.key} {self.period} {self.start}: {self.spent}"


class VendorToken(models.Model):
    """Persisted API tokens of a vendor account (e.g. PiktID's access/refresh pair), refreshed
    in place."""

    vendor = models.CharField(_("vendor"), max_length=32, choices=vendor_choices)
    account = models.CharField(_("account"), max_length=254)
    access_token = models.TextField(_("access token"))
    refresh_token = models.TextField(_("refresh token"), blank=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("vendor token")
        verbose_name_plural = _("vendor tokens")
        constraints = [
            models.UniqueConstraint(fields=["vendor", "account"], name="imageops_token_unique")
        ]

    def __str__(self) -> str:
        return f"{self.vendor}:{self.account}"
