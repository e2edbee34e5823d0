"""Where the result of a job queued from Wagtail's admin goes: ``ImageJobDestination``.

A job knows its source (a Wagtail image's ``file``); what becomes of its result in the image
library is chosen per action, when the job is queued: a new image beside the source, or the
source's file replaced (the previous file kept, the change logged). ``destinations`` carries it
out, when the job succeeds (bulk actions) or when a person applies it (the edit page).
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from ...models import ImageJob


class ImageJobDestination(models.Model):
    """What becomes of one job's result in Wagtail's image library.

    Attributes:
        job: the ``ImageJob`` (its source is a Wagtail image's ``file``).
        destination: ``new_image`` (an image beside the source: same collection, tags copied, a
            title such as "Coffee (background removed)") or ``replace`` (the source's file
            replaced; the previous file stays on storage and the change is logged).
        apply_on_success: put the result there as soon as the job succeeds (bulk actions);
            otherwise a person applies it after seeing it (the edit page).
        image_id: primary key of the image holding the result (the new image, or the source
            for ``replace``); "" until applied.
        applied_result: storage name of the result last applied (a later editor revision of
            the same job is applied again, to the same image).
        applied_at: when the result was last applied.
    """

    class Destination(models.TextChoices):
        """Where the result goes."""

        NEW_IMAGE = "new_image", _("Save as a new image")
        REPLACE = "replace", _("Replace the image's file (the current file is kept)")

    job = models.OneToOneField(
        ImageJob,
        verbose_name=_("job"),
        on_delete=models.CASCADE,
        related_name="wagtail_destination",
    )
    destination = models.CharField(
        _("destination"),
        max_length=16,
        choices=Destination.choices,
        default=Destination.NEW_IMAGE,
    )
    apply_on_success = models.BooleanField(
        _("apply on success"),
        default=True,
        help_text=_("Put the result in the image library as soon as the job succeeds."),
    )
    image_id = models.CharField(_("image id"), max_length=64, blank=True)
    applied_result = models.CharField(_("applied result"), max_length=500, blank=True)
    applied_at = models.DateTimeField(_("applied"), null=True, blank=True)

    class Meta:
        verbose_name = _("image job destination")
        verbose_name_plural = _("image job destinations")

    def __str__(self) -> str:
        return f"{self.job_id}: {self.get_destination_display()}"
