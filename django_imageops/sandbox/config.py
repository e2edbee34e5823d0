"""``SandboxConfig``: how the sandbox behaves (the command line options, snake_case).

Options shared by the core (``latency_ms``, ``credits``...) and each emulator's own, prefixed
with its vendor name (``clipdrop_rpm``, ``piktid_delay``...). No Django imports here.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from .emulators import VENDORS

#: The names a finished PiktID generation's notification may have (``piktid_notification_name``).
PIKTID_NOTIFICATION_NAMES = ("expand_generate", "edit_generate")


#: Credits each vendor starts with unless ``credits`` says otherwise.
DEFAULT_CREDITS = 100


@dataclass
class SandboxConfig:
    """How the sandbox behaves; the command line options, snake_case.

    Attributes:
        host, port: where ``python -m django_imageops.sandbox`` listens (``run_in_thread``
            takes its own).
        api_key: the Clipdrop, ClippingMagic and PixLab API key accepted.
        api_id: the ClippingMagic API Id accepted (Basic auth user name).
        clippingmagic_result_redirect: answer an upload with a result ``format`` by a redirect
            (303) to the stored result, which carries the ``x-amz-meta-*`` headers, instead of
            the result itself (public evidence suggests ClippingMagic does; clients follow).
        piktid_email, piktid_password: the PiktID account (Basic auth on ``POST /tokens``).
        piktid_notification_name: the name of a finished generation's notification:
            ``"expand_generate"`` (PiktID's expand page) or ``"edit_generate"`` (what its
            official samples that call ``/edit/generate`` poll for).
        credits: credits each vendor starts with: an int for all, or ``{vendor: int}``.
        clipdrop_rpm: Clipdrop requests allowed per API key per rolling minute (then 429).
        piktid_delay: seconds from ``/edit/generate`` until its notification appears.
        latency_ms: delay added to every vendor request (milliseconds): an int for all, or
            ``{vendor: ms}`` (vendors not named: none), e.g. ``{"clipdrop": 8000}``.
        piktid_token_ttl: seconds an access token lives (PiktID: 30 days).
        piktid_refresh_ttl: seconds a refresh token lives.
        piktid_refresh_grace: seconds the old pair stays valid after a refresh (PiktID: 5);
            a refresh token used again after that revokes every token.
        piktid_notification_ttl: seconds a notification lives after it appears (600).
        fault_timeout_seconds: how long a ``timeout`` fault holds a request by default.
        pixlab_fetch_timeout: seconds PixLab waits for an ``img`` URL.
    """

    host: str = "127.0.0.1"
    port: int = 8765
    api_key: str = "sandbox"
    api_id: str = "1"
    clippingmagic_result_redirect: bool = False
    piktid_email: str = "sandbox@example.com"
    piktid_password: str = "sandbox"
    piktid_notification_name: str = "expand_generate"
    credits: int | dict[str, int] = DEFAULT_CREDITS
    clipdrop_rpm: int = 60
    piktid_delay: float = 5.0
    latency_ms: int | dict[str, int] = 0
    piktid_token_ttl: float = 30 * 24 * 3600.0
    piktid_refresh_ttl: float = 30 * 24 * 3600.0
    piktid_refresh_grace: float = 5.0
    piktid_notification_ttl: float = 600.0
    fault_timeout_seconds: float = 10.0
    pixlab_fetch_timeout: float = 10.0

    def __post_init__(self):
        if self.piktid_notification_name not in PIKTID_NOTIFICATION_NAMES:
            raise ValueError(
                f"piktid_notification_name must be one of {', '.join(PIKTID_NOTIFICATION_NAMES)}"
            )

    def with_overrides(
        self, overrides: dict[str, Any], vendors: Iterable[str] = VENDORS
    ) -> SandboxConfig:
        """A copy with ``overrides`` applied (values coerced to each field's type).

        ``vendors``: the names ``credits`` may give a balance to (default: the built-in
        emulators'). Raises ``ValueError`` for an unknown name, an unknown vendor in
        ``credits`` or a value of the wrong type.
        """
        names = {f.name: f for f in dataclasses.fields(self)}
        changes: dict[str, Any] = {}
        for name, value in (overrides or {}).items():
            if name not in names:
                raise ValueError(f"unknown sandbox option {name!r}")
            default = getattr(SandboxConfig, name)
            if name in PER_VENDOR:
                value = per_vendor(name, value, vendors)
            elif isinstance(default, bool):
                value = bool(value)
            elif isinstance(default, int):
                value = int(value)
            elif isinstance(default, float):
                value = float(value)
            elif isinstance(default, str):
                value = str(value)
            changes[name] = value
        return dataclasses.replace(self, **changes)

    def latency_seconds(self, vendor: str) -> float:
        """The delay added to each request to ``vendor``, in seconds."""
        if isinstance(self.latency_ms, dict):
            return self.latency_ms.get(vendor, 0) / 1000
        return self.latency_ms / 1000

    def initial_credits(self, vendors: Iterable[str] = VENDORS) -> dict[str, int]:
        """Credits per vendor at (re)start: ``{vendor: credits}`` for each of ``vendors``
        (default: the built-in emulators')."""
        if isinstance(self.credits, dict):
            return {vendor: int(self.credits.get(vendor, DEFAULT_CREDITS)) for vendor in vendors}
        return dict.fromkeys(vendors, int(self.credits))


#: Options that take one int for every vendor or ``{vendor: int}``.
PER_VENDOR = ("credits", "latency_ms")


def per_vendor(name: str, value: Any, vendors: Iterable[str] = VENDORS) -> int | dict[str, int]:
    """``value`` of the per-vendor option ``name`` as an int or ``{vendor: int}``.

    Accepts an int, a dict, or the command line's text: ``"8000"`` or
    ``"clipdrop=8000,clippingmagic=3000"``.

    Raises:
        ValueError: an unknown vendor, a value that is not an integer, or a negative latency.
    """
    if isinstance(value, str) and "=" in value:
        pairs = [item.split("=", 1) for item in value.split(",") if item.strip()]
        if any(len(pair) != 2 for pair in pairs):
            raise ValueError(f"{name}: expected vendor=number pairs, got {value!r}")
        value = {vendor.strip(): amount.strip() for vendor, amount in pairs}
    if isinstance(value, dict):
        unknown = set(value) - set(vendors)
        if unknown:
            raise ValueError(f"unknown vendor(s) in {name}: {sorted(unknown)}")
        amounts = {vendor: int(amount) for vendor, amount in value.items()}
    else:
        amounts = {"": int(value)}
    if name == "latency_ms" and any(amount < 0 for amount in amounts.values()):
        raise ValueError(f"{name} cannot be negative")
    return amounts if isinstance(value, dict) else amounts[""]
