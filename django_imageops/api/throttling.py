"""Throttling of the requests that can spend vendor credits (creating and retrying jobs).

The rate is per user, read from ``REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]["imageops_jobs"]``
(DRF's usual ``"<number>/<second|minute|hour|day>"`` form; ``None`` switches the throttle off),
and is ``DEFAULT_JOB_RATE`` when the site sets none::

    REST_FRAMEWORK = {"DEFAULT_THROTTLE_RATES": {"imageops_jobs": "500/day"}}
"""

from __future__ import annotations

from rest_framework.settings import api_settings
from rest_framework.throttling import UserRateThrottle

#: Scope name of the job-creation throttle in ``DEFAULT_THROTTLE_RATES``.
JOB_THROTTLE_SCOPE = "imageops_jobs"

#: Rate used when the site does not set ``DEFAULT_THROTTLE_RATES["imageops_jobs"]``.
DEFAULT_JOB_RATE = "100/hour"


class ImageJobCreateThrottle(UserRateThrottle):
    """Per-user limit on requests that queue vendor work: ``POST jobs/`` and ``jobs/{uuid}/retry/``.

    Authenticated users are counted by primary key (anonymous requests never get this far: the
    API requires authentication, but they would be counted by client IP). The history is kept
    in Django's default cache, like every DRF throttle.
    """

    scope = JOB_THROTTLE_SCOPE

    def get_rate(self) -> str | None:
        """The configured rate, read at request time so ``override_settings`` takes effect."""
        rates = api_settings.DEFAULT_THROTTLE_RATES or {}
        # djangorestframework-stubs types the rates as numbers; DRF's are "N/period" strings.
        return rates.get(self.scope, DEFAULT_JOB_RATE)  # type: ignore[return-value]
