"""Settings for django_imageops: one dict, ``settings.IMAGEOPS``, merged over ``DEFAULTS``.

Example::

    IMAGEOPS = {
        "VENDORS": {
            "clipdrop": {"API_KEY": env("CLIPDROP_API_KEY")},
            "clippingmagic": {"API_ID": "123", "API_KEY": env("CLIPPINGMAGIC_API_KEY")},
        },
        "MAX_ATTEMPTS": 5,
    }

``get_setting("VENDORS")["clipdrop"]["BASE_URL"]`` etc. always return a full value: the
per-vendor dicts are merged key by key over the defaults, so a site only names what it changes.
"""

from __future__ import annotations

import copy
from typing import Any

from django.conf import settings
from django.core.files.storage import storages
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.utils.functional import LazyObject, empty

#: Operation name -> provider names that can run it (the first is the default).
OPERATION_PROVIDERS: dict[str, tuple[str, ...]] = {
    "uncrop": ("clipdrop", "piktid"),
    "reimagine": ("clipdrop",),
    "remove_background": ("clippingmagic",),
    "crop": ("pixlab",),
}

DEFAULTS: dict[str, Any] = {
    # STORAGES alias that results (and uploaded sources) are written to.
    "STORAGE": "imageops",
    # TASKS alias the job tasks are enqueued on.
    "TASK_BACKEND": "default",
    # CACHES alias holding the vendor rate limiter's state (django_imageops.ratelimit). Every
    # worker on every machine must share it: Redis or Memcached (LocMemCache limits one process).
    "RATE_LIMIT_CACHE": "default",
    # Attempts per job before a retryable error becomes a failure.
    "MAX_ATTEMPTS": 5,
    # Base of the exponential back-off in seconds (jittered), used when the vendor gives none.
    "RETRY_BACKOFF": 2.0,
    "RETRY_BACKOFF_MAX": 300.0,
    # ClippingMagic test mode: free, watermarked results.
    "TEST_MODE": False,
    # Operation -> provider used when a job names none.
    "DEFAULT_PROVIDERS": {op: providers[0] for op, providers in OPERATION_PROVIDERS.items()},
    # Uncrop on Clipdrop over 10 MP / 30 MB: "downscale" (default) or "refuse".
    "UNCROP_OVERSIZE": "downscale",
    # PiktID outside 64..4096 px: "fit" (default) or "refuse".
    "PIKTID_OUT_OF_RANGE": "fit",
    # Local directory that keeps vendor results whose storing failed (None: a dir under MEDIA_ROOT
    # or the system temp dir).
    "SPOOL_DIR": None,
    # Largest upload accepted, in bytes, before any decoding.
    "MAX_UPLOAD_BYTES": 50 * 1024 * 1024,
    # Largest decoded image accepted, in pixels (decompression-bomb guard).
    "MAX_IMAGE_PIXELS": 40_000_000,
    # (connect, read) timeouts in seconds for vendor requests.
    "TIMEOUT": (5.0, 120.0),
    "VENDORS": {
        "clipdrop": {
            "API_KEY": "",
            "BASE_URL": "https://clipdrop-api.co",
            "REQUESTS_PER_MINUTE": 60,
        },
        "clippingmagic": {
            "API_ID": "",
            "API_KEY": "",
            "BASE_URL": "https://clippingmagic.com",
            "JS_URL": "https://clippingmagic.com/api/v1/ClippingMagic.js",
            "CONCURRENCY": 5,
        },
        "piktid": {
            "EMAIL": "",
            "PASSWORD": "",
            "BASE_URL": "https://api.piktid.com/api",
            # Seconds between polls of one image (the vendor asks for >= 3).
            "POLL_INTERVAL": 3.0,
            # Seconds after generate before the job fails (notifications vanish after 600 s).
            "TIMEOUT": 600.0,
        },
        "pixlab": {
            "API_KEY": "",
            "BASE_URL": "https://api.pixlab.io",
        },
    },
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
    """The full ``IMAGEOPS`` settings: the site's values merged over ``DEFAULTS``."""
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


def vendor_settings(provider: str) -> dict[str, Any]:
    """The settings dict of one vendor.

    ``provider`` is ``"clipdrop"``, ``"clippingmagic"``, ``"piktid"`` or ``"pixlab"``.
    """
    return get_settings()["VENDORS"][provider]


def default_provider(operation: str) -> str:
    """The provider that runs ``operation`` when a job names none."""
    return get_settings()["DEFAULT_PROVIDERS"][operation]


class ImageOpsStorage(LazyObject):
    """The storage of ``STORAGES[IMAGEOPS["STORAGE"]]`` (alias ``"imageops"``), resolved lazily.

    Model fields use it so that the alias is looked up when first used, and again after the
    settings change in tests.
    """

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
