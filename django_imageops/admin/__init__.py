"""The admin: operation actions for any ModelAdmin, the job admin, the credits page.

- ``ImageOpsAdminMixin`` (``actions``): add it to a site's ``ModelAdmin`` to get one action per
  operation (Remove background, Uncrop, Reimagine, Crop) over the model's ImageFields, each with
  an intermediate page like ``delete_selected``. Submitting queues one job per object through
  ``jobs.create_jobs`` (one call, one batch) and links to the batch in the job admin.
- ``ImageJobAdmin`` (``jobs``, its actions in ``job_actions``, its credits page in ``credits``):
  the job list (status, thumbnails, credits, batch progress) and change page (before/after,
  params, vendor references, attempt history); registered on the default site here (when
  ``django.contrib.admin`` is installed).
- ``ImageJobInline`` (``inlines``): a generic inline listing the jobs run on an object.
- ``display``: the rendering helpers they share (thumbnails, badges, URLs, redaction).

Rendering never asks storage whether a file exists: URLs come from ``storage.url()`` and sizes
from the stored width/height.

No vendor is named here: what the admin offers for a job follows its provider's capability
flags (``supports_review``, ``supports_balance``, ``supports_vendor_copy_delete``), and the
operation forms are generated from the parameter declarations (``django_imageops.forms``).

Every name this package held as the single module ``admin.py`` is still importable from it.
"""

from __future__ import annotations

from django.apps import apps
from django.contrib import admin

from ..models import ImageJob

# Every name the single module ``admin.py`` held stays importable from here (hence the noqa).
# The parts import each other, never this package; ``__all__`` is unchanged.
from .actions import (  # noqa: F401
    OPERATION_ACTION_LABELS,
    ImageOpsAdminMixin,
)
from .display import (  # noqa: F401
    CSS,
    SENSITIVE_WORDS,
    THUMB_SIZE,
    batch_changelist_url,
    editor_url,
    format_duration,
    job_provider,
    job_result_url,
    job_source_url,
    labels_of,
    redact,
    result_thumbnail,
    source_admin_url,
    status_badge,
    thumbnail,
)
from .inlines import ImageJobInline
from .jobs import (  # noqa: F401
    PROGRESS_GROUPS,
    BatchFilter,
    ImageJobAdmin,
    ImageJobEventInline,
    batch_progress,
)

# A site without Django's admin (e.g. a Wagtail site) may still import these parts (the in-place
# panel's widget, the display helpers): the default site exists only with the admin installed.
if apps.is_installed("django.contrib.admin"):
    admin.site.register(ImageJob, ImageJobAdmin)

__all__ = [
    "ImageJobAdmin",
    "ImageJobInline",
    "ImageOpsAdminMixin",
    "batch_progress",
]
