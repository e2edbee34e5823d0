"""Settings for django_imageops: one dict, ``settings.IMAGEOPS``, merged over ``DEFAULTS``.

Example (each vendor's settings under its name; ``README.md`` lists them)::

    IMAGEOPS = {
        "VENDORS": {"<vendor>": {"API_KEY": env("VENDOR_API_KEY")}},
        "MAX_ATTEMPTS": 5,
    }

This module knows no vendor. Each provider owns its defaults (django-storages style): its
vendor's settings (``Provider.default_settings``, merged under ``IMAGEOPS["VENDORS"][vendor]`` by
``providers.vendor_settings``) and the top-level keys it reads (``Provider.option_defaults``:
``TEST_MODE``, ``UNCROP_OVERSIZE``, ``PIKTID_OUT_OF_RANGE``). The default provider of each
operation comes from ``providers.default_provider``.
"""

from __future__ import annotations

import copy
from typing import Any

from django.conf import settings
from django.core.files.storage import storages
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.utils.functional import LazyObject, empty

DEFAULTS: dict[str, Any] = {
    # STORAGES alias that results (and uploaded sources) are written to.
    "STORAGE": "imageops",
    # TASKS alias the job tasks are enqueued on.
    "TASK_BACKEND": "default",
    # CACHES alias holding the vendor rate limiter's state (django_imageops.ratelimit). Every
    # worker on every machine must share it: Redis or Memcached (LocMemCache limits one process).
    "RATE_LIMIT_CACHE": "default",
    # Tries per job (one attempt: one run that starts it, however many vendor calls) before a
    # retryable error becomes a failure.
    "MAX_ATTEMPTS": 5,
    # Base of the exponential back-off in seconds (jittered), used when the vendor gives none.
    "RETRY_BACKOFF": 2.0,
    "RETRY_BACKOFF_MAX": 300.0,
    # Operation -> provider used when a job names none (else the first registered provider).
    "DEFAULT_PROVIDERS": {},
    # Dotted paths of the site's own Provider classes, added to the built-in ones.
    "PROVIDERS": [],
    # Local directory that keeps vendor results whose storing failed (None: a dir under MEDIA_ROOT
    # or the system temp dir).
    "SPOOL_DIR": None,
    # Longer side in pixels of the thumbnails made when a result is stored (WebP, beside the
    # result; the admin's lists and widgets show them). None or 0: no thumbnails.
    "THUMBNAIL_SIZE": 320,
    # Largest upload accepted, in bytes, before any decoding.
    "MAX_UPLOAD_BYTES": 50 * 1024 * 1024,
    # Largest decoded image accepted, in pixels (decompression-bomb guard).
    "MAX_IMAGE_PIXELS": 40_000_000,
    # (connect, read) timeouts in seconds for vendor requests.
    "TIMEOUT": (5.0, 120.0),
    # Vendor name -> its settings, merged over the defaults of the vendor's providers.
    "VENDORS": {},
}


def _merged() -> dict[str, Any]:
    user = getattr(settings, "IMAGEOPS", {}) or {}
    merged = copy.deepcopy(DEFAULTS)
    for key, value in user.items():
        if key in ("VENDORS", "DEFAULT_PROVIDERS") and isinstance(value, dict):
            for name, sub in value.items():
                if isinstance(sub, dict) and isinstance(merged[key].get(name), dict):
                    merged[key][name].update(sub)
                else:
                    merged[key][name] = sub
        else:
            merged[key] = value
    return merged


_cache: dict[str, Any] | None = None


def get_settings() -> dict[str, Any]:
    """The full ``IMAGEOPS`` settings: the site's values merged over ``DEFAULTS`` (the dicts
    ``VENDORS`` and ``DEFAULT_PROVIDERS`` key by key). Keys the app does not define (e.g. a
    provider's options) are kept as the site gave them."""
    global _cache
    if _cache is None:
        _cache = _merged()
    return _cache


def get_setting(name: str) -> Any:
    """One ``IMAGEOPS`` setting (e.g. ``get_setting("MAX_ATTEMPTS")``).

    Raises:
        KeyError: for a name that is not a known setting.
    """
    return get_settings()[name]


class ImageOpsStorage(LazyObject):
    """The storage of ``STORAGES[IMAGEOPS["STORAGE"]]`` (alias ``"imageops"``), resolved lazily.

    Model fields use it so that the alias is looked up when first used, and again after the
    settings change in tests.
    """

    #: The storage once set up; ``django.utils.functional.empty`` before, and after a reset.
    _wrapped: object

    def _setup(self):
        self._wrapped = storages[get_setting("STORAGE")]


imageops_storage = ImageOpsStorage()


def get_storage():
    """The storage results are written to (callable form for ``FileField(storage=...)``)."""
    return imageops_storage


@receiver(setting_changed)
def _reset(*, setting, **kwargs):
    global _cache
    if setting in ("IMAGEOPS", "STORAGES"):
        _cache = None
        imageops_storage._wrapped = empty
