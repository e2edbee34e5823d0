"""The emulator contract: what one vendor's emulation gives the sandbox core, and what it gets.

A vendor's emulation is one ``Emulator`` subclass in one module of this package, named after
the vendor, plus one line in the registry (``emulators/__init__.py``). The core (``app.py``)
knows no vendor: it mounts each emulator's routes, and gives every metered route latency,
counters, queued faults, an error body in the vendor's shape for unknown paths and crashes, and
file hosting. No Django imports here.
"""

from __future__ import annotations

import ipaddress
import json
import threading
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol, overload

from werkzeug.wrappers import Request, Response

#: Form values that mean "true" (``test=true``, ``blob=1``...).
TRUE_VALUES = ("1", "true", "yes", "on")
#: Bytes read from a fetched URL at most (more is cut off, then refused as unreadable).
FETCH_MAX_BYTES = 30 * 1024 * 1024


def fetch_loopback(url: str, field: str, timeout: float) -> bytes:
    """The body at ``url``, an http(s) URL whose host is a loopback address (the sandbox never
    fetches from the network), for an image a vendor takes by URL (``field``: the request
    field that named it, for the messages). At most ``FETCH_MAX_BYTES`` + 1 bytes are read.

    Raises:
        ValueError: ``url`` is not loopback http(s), or fetching it failed (the message says
            which, for the vendor's 400).
    """
    parts = urllib.parse.urlsplit(url)
    host = parts.hostname or ""
    try:
        loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if parts.scheme not in ("http", "https") or not loopback:
        raise ValueError(f"The sandbox only fetches loopback {field} URLs, not {host!r}")
    try:
        with urllib.request.urlopen(url, timeout=timeout) as reply:  # noqa: S310 - loopback http(s) only
            return reply.read(FETCH_MAX_BYTES + 1)
    except (urllib.error.URLError, OSError, ValueError) as exc:
        raise ValueError(f"Could not fetch {field} URL: {exc}") from exc


def json_response(data: Any, status: int = 200, headers: dict | None = None) -> Response:
    """``data`` as an ``application/json`` response with HTTP ``status``."""
    return Response(
        json.dumps(data), status=status, headers=headers, content_type="application/json"
    )


@overload
def int_field(value: Any, name: str, default: int) -> int: ...
@overload
def int_field(value: Any, name: str, default: None = None) -> int | None: ...
def int_field(value: Any, name: str, default: int | None = None) -> int | None:
    """Parse an integer form/JSON field; accepts ``"120"`` and ``'"120"'`` (curl -F quoting).

    Returns ``default`` for a missing or empty value. Raises ``ValueError`` with a message
    naming the field.
    """
    if value is None or value == "":
        return default
    if isinstance(value, bool):
        raise ValueError(f"{name} must be an integer")
    if isinstance(value, int):
        return value
    text = str(value).strip().strip('"').strip("'").strip()
    try:
        return int(text)
    except ValueError:
        raise ValueError(f"{name} must be an integer, got {value!r}") from None


@dataclass(frozen=True)
class Route:
    """One URL rule of an emulator.

    Attributes:
        path: a Werkzeug rule (``"/images/<int:image_id>"``) relative to the emulator's
            ``base_path`` (for ``Emulator.routes``) or to ``/_sandbox`` (``Emulator.controls``).
        endpoint: the handler is the emulator's method ``on_<endpoint>(request, **args)``; the
            name is also the key in the ``endpoints`` counter.
        methods: HTTP methods accepted (others: 405 in the vendor's error shape).
        metered: True for a vendor API call (latency, counters, faults); False for an asset
            served as is (e.g. ClippingMagic.js). An unmetered ``path`` must be static.
    """

    path: str
    endpoint: str
    methods: tuple[str, ...] = ("GET",)
    metered: bool = True


class SandboxHost(Protocol):
    """What the core offers an emulator (``SandboxApp`` implements it).

    Attributes:
        config: the ``SandboxConfig`` in effect (read it on every request: controls change it).
        credits: credits left per vendor name (change them through ``charge`` only).
        lock: the re-entrant lock guarding every emulator's state and the credits.
        counters: the ``faults.Counters``; faults: the ``faults.FaultQueue``.
    """

    config: Any
    credits: dict[str, int]
    lock: threading.RLock
    counters: Any
    faults: Any

    def charge(self, vendor: str, amount: int = 1) -> int:
        """Take ``amount`` credits from ``vendor``; returns what remains."""

    def store_file(self, name: str, content: bytes, content_type: str, **headers: str) -> str:
        """Host ``content`` at ``/_sandbox/files/<name>`` (with ``headers``); returns ``name``."""

    def file_url(self, request: Request, name: str) -> str:
        """The absolute URL of hosted file ``name``, as seen by the client of ``request``."""


class Emulator:
    """Base class of one vendor's emulation; subclass it once per vendor.

    Declare (class attributes):
        name: the vendor's name (``"clipdrop"``): its key in counters, faults, credits and the
            ``vendor`` of ``POST /_sandbox/faults``. Every path under ``/<name>/`` is the
            emulator's: an unknown one gets a 404 (a wrong method 405) in its error shape.
        label: the vendor's name for people (``"Clipdrop"``), used by the command line.
        base_path: what a client adds to the sandbox URL for its ``base_url``, under
            ``/<name>`` (default ``/<name>``; PiktID's is ``/piktid/api``); ``routes`` are
            relative to it.
        routes: the vendor's API (``Route`` s); each is served by ``on_<endpoint>``.
        controls: test controls of this vendor only, mounted under ``/_sandbox`` (CORS and a
            400 for ``ValueError`` come from the core), e.g. ClippingMagic's editor save.
        fault_kinds: fault kinds this emulator serves itself, on top of the core's ``status``,
            ``timeout``, ``reset`` and ``non_json`` (which the core serves before the handler
            runs) and ``late`` (the core runs the handler, then holds its answer): take them
            with ``take_fault(kind)`` (e.g. PiktID's ``notification_error``).

    Implement:
        reset(): set up empty state: images, tokens, notifications... (called by the core
            after construction and on each ``POST /_sandbox/reset``, under ``lock``).
        error_body(status, message, code): the vendor's error JSON (default
            ``{"error": message}``). The core calls it too, with ``code`` 1000 (unknown path,
            wrong method), 9997 (injected status), 9998 (injected timeout), 9999 (a crash).
        on_<endpoint>(request, **args) -> Response for each route and control: check the
            credentials first, refuse bad input with the vendor's 400 before charging, charge
            with ``charge()`` only for what the vendor bills, answer what the vendor's docs say.

    Options: an emulator reads ``self.config``; its own options are ``SandboxConfig`` fields
    prefixed with its name (``clipdrop_rpm``), added to ``config.py`` with their defaults
    (and to ``__main__.py`` when the command line should offer them). Credits come from
    ``SandboxConfig.credits`` for every registered emulator.

    Use (provided): ``config``, ``credits``, ``lock``, ``charge``, ``error``, ``count``,
    ``take_fault``, ``store_file``, ``file_url``.
    """

    name: ClassVar[str] = ""
    label: ClassVar[str] = ""
    base_path: ClassVar[str] = ""
    routes: ClassVar[tuple[Route, ...]] = ()
    controls: ClassVar[tuple[Route, ...]] = ()
    fault_kinds: ClassVar[tuple[str, ...]] = ()

    def __init__(self, sandbox: SandboxHost):
        if not self.name:
            raise TypeError(f"{type(self).__name__} must set a name")
        self.sandbox = sandbox

    @classmethod
    def mount_path(cls) -> str:
        """The URL prefix of the vendor's API: ``base_path`` or ``/<name>``."""
        return cls.base_path or f"/{cls.name}"

    # ----------------------------------------------------------------- to implement

    def reset(self) -> None:
        """Drop all state (images, tokens, notifications...). Called under ``lock``."""

    def error_body(self, status: int, message: str, code: int) -> dict:
        """The vendor's JSON error body (``code``: the vendor's own error code, if it has any)."""
        return {"error": message}

    # ----------------------------------------------------------------- provided

    @property
    def config(self):
        """The ``SandboxConfig`` in effect."""
        return self.sandbox.config

    @property
    def lock(self) -> threading.RLock:
        """The sandbox's re-entrant lock: hold it while reading or changing state."""
        return self.sandbox.lock

    @property
    def credits(self) -> int:
        """Credits this vendor has left."""
        return self.sandbox.credits[self.name]

    def charge(self, amount: int = 1) -> int:
        """Take ``amount`` credits (the caller checked the balance); returns what remains."""
        return self.sandbox.charge(self.name, amount)

    def error(
        self, status: int, message: str, *, code: int = 0, headers: dict | None = None
    ) -> Response:
        """An error response in the vendor's shape (``error_body``) with HTTP ``status``."""
        return json_response(self.error_body(status, message, code), status, headers)

    def count(self, counter: str, amount: int = 1) -> None:
        """Add ``amount`` to this vendor's counter ``counter`` (e.g. ``"rate_limited"``)."""
        self.sandbox.counters.bump(self.name, counter, amount)

    def take_fault(self, *kinds: str, endpoint: str | None = None):
        """One use of the first queued fault of ``kinds`` for this vendor that applies to a
        call to ``endpoint`` (counted as injected), or None."""
        fault = self.sandbox.faults.take(self.name, kinds, endpoint)
        if fault is not None:
            self.count("faults_injected")
        return fault

    def store_file(self, name: str, content: bytes, content_type: str, **headers: str) -> str:
        """Host ``content`` at ``/_sandbox/files/<name>`` (with ``headers``); returns ``name``."""
        return self.sandbox.store_file(name, content, content_type, **headers)

    def file_url(self, request: Request, name: str) -> str:
        """The absolute URL of hosted file ``name``, as seen by the client of ``request``."""
        return self.sandbox.file_url(request, name)
