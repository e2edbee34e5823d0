"""The sandbox's WSGI core: routing, latency, counters, fault serving, file hosting and the
``/_sandbox/`` test controls. It knows no vendor.

Each vendor is an ``Emulator`` (``emulators/``) mounted under its ``base_path``, so that a
client's ``base_url`` is the sandbox URL plus ``/clipdrop``, ``/clippingmagic``, ``/piktid/api``
or ``/pixlab``; test controls live under ``/_sandbox/``. All shared state (credits, hosted
files, every emulator's state) sits behind one re-entrant lock; pixel work runs outside it.
No Django imports here.
"""

from __future__ import annotations

import dataclasses
import logging
import socket
import struct
import threading
import time
import urllib.parse
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from .config import SandboxConfig
from .emulators import EMULATORS
from .emulators.base import Emulator, json_response
from .faults import CORE_FAULT_KINDS, Counters, Fault, FaultError, FaultQueue

logger = logging.getLogger("django_imageops.sandbox")

__all__ = ["SandboxApp", "SandboxConfig", "make_app"]

#: Where the controls live; every path starting so gets CORS headers.
CONTROLS_PREFIX = "/_sandbox"

_CORS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Methods": "GET, POST, PUT, DELETE, OPTIONS",
    "Access-Control-Allow-Headers": "Content-Type, Authorization",
    "Access-Control-Max-Age": "600",
}

# The core's controls (endpoint -> ``SandboxApp._control_<endpoint>``), before and after the
# emulators' own in the index's list.
_STATE_CONTROLS = (
    ("/", "index", ("GET",)),
    ("/reset", "reset", ("POST",)),
    ("/config", "config", ("GET", "POST")),
    ("/counters", "counters", ("GET",)),
    ("/faults", "faults", ("GET", "POST", "DELETE")),
)
_FILE_CONTROLS = (
    ("/files/<path:name>", "file", ("GET", "PUT")),
    ("/files", "files", ("POST",)),
)


class _Request(Request):
    # Large uploads are the point; keep non-file fields (PixLab base64 ``img``) parseable too.
    max_content_length = 128 * 1024 * 1024
    max_form_memory_size = 64 * 1024 * 1024


class _InjectedReset(ConnectionResetError):
    """Raised after the socket was shut down for a ``reset`` fault: Werkzeug drops it quietly."""


@dataclass
class _StoredFile:
    content: bytes
    content_type: str
    headers: dict[str, str] = field(default_factory=dict)


class SandboxApp:
    """The WSGI application. ``SandboxApp(config)`` is callable as ``app(environ, start_response)``.

    ``emulators``: the ``Emulator`` classes to serve (default ``emulators.EMULATORS``). Raises
    ``ValueError`` when two share a name or a ``base_path`` lies outside ``/<name>``.

    Attributes:
        base_config: the configuration a ``reset`` returns to (before its overrides).
        config: the configuration in effect.
        emulators: ``{vendor name: Emulator}``, in registry order.
        credits: credits left per vendor; lock: the re-entrant lock over all shared state.
        counters: per-vendor ``Counters``; faults: the ``FaultQueue``.
    """

    def __init__(
        self,
        config: SandboxConfig | None = None,
        emulators: Iterable[type[Emulator]] | None = None,
    ):
        classes = tuple(EMULATORS if emulators is None else emulators)
        names = [cls.name for cls in classes]
        if len(set(names)) != len(names):
            raise ValueError(f"emulator names must be unique, got {names}")
        for cls in classes:
            if not f"{cls.mount_path()}/".startswith(f"/{cls.name}/"):
                raise ValueError(f"{cls.__name__}.base_path must lie under /{cls.name}")
        self.base_config = config or SandboxConfig()
        self.config = self.base_config
        self.lock = threading.RLock()
        self.counters = Counters(names)
        self.faults = FaultQueue({cls.name: cls.fault_kinds for cls in classes})
        self._wake = threading.Event()
        self.emulators: dict[str, Emulator] = {cls.name: cls(self) for cls in classes}
        self._reset_state()
        self._urls = Map(self._rules())

    def _rules(self) -> list[Rule]:
        """Werkzeug rules; each endpoint is ``(vendor name or None, kind, endpoint)`` with kind
        ``"api"`` (metered), ``"asset"`` or ``"control"``."""
        rules = [
            Rule(
                emulator.mount_path() + route.path,
                endpoint=(name, "api" if route.metered else "asset", route.endpoint),
                methods=route.methods,
            )
            for name, emulator in self.emulators.items()
            for route in emulator.routes
        ]
        controls = [(None, *control) for control in _STATE_CONTROLS]
        for name, emulator in self.emulators.items():
            controls += [(name, r.path, r.endpoint, r.methods) for r in emulator.controls]
        controls += [(None, *control) for control in _FILE_CONTROLS]
        rules += [
            Rule(CONTROLS_PREFIX + path, endpoint=(name, "control", endpoint), methods=methods)
            for name, path, endpoint, methods in controls
        ]
        return rules

    # ----------------------------------------------------------------- state

    def _reset_state(self) -> None:
        with self.lock:
            self.credits = self.config.initial_credits(self.emulators)
            self._files: dict[str, _StoredFile] = {}
            for emulator in self.emulators.values():
                emulator.reset()
            self.counters.clear()
            self.faults.clear()
            # Release requests held by ``timeout`` faults of the previous test.
            self._wake.set()
            self._wake = threading.Event()

    def reset(self, overrides: dict | None = None) -> None:
        """Back to ``base_config`` plus ``overrides``; clear every vendor's state, counters and
        faults. Raises ``ValueError`` for an unknown option."""
        config = self.base_config.with_overrides(overrides or {}, self.emulators)
        with self.lock:
            self.config = config
            self._reset_state()

    def configure(self, overrides: dict) -> None:
        """Change options in place; ``credits`` also resets the balances."""
        config = self.config.with_overrides(overrides, self.emulators)
        with self.lock:
            self.config = config
            if "credits" in overrides:
                self.credits = config.initial_credits(self.emulators)

    def wake_all(self) -> None:
        """Release every request held by a ``timeout`` fault (used on shutdown)."""
        self._wake.set()

    def charge(self, vendor: str, amount: int = 1) -> int:
        """Take ``amount`` credits from ``vendor``; returns what remains (caller checked the
        balance)."""
        with self.lock:
            self.credits[vendor] -= amount
            remaining = self.credits[vendor]
        self.counters.bump(vendor, "credits_consumed", amount)
        return remaining

    def store_file(self, name: str, content: bytes, content_type: str, **headers: str) -> str:
        """Host ``content`` at ``/_sandbox/files/<name>`` (served with ``headers``); returns
        ``name``."""
        with self.lock:
            self._files[name] = _StoredFile(content, content_type, headers)
        return name

    @staticmethod
    def file_url(request: Request, name: str) -> str:
        """The absolute URL of hosted file ``name``, as seen by the client of ``request``."""
        return f"{request.host_url}_sandbox/files/{urllib.parse.quote(name)}"

    # ----------------------------------------------------------------- WSGI

    def __call__(self, environ, start_response):
        request = _Request(environ)
        response = self.handle(request)
        return response(environ, start_response)

    def _owner(self, path: str) -> Emulator | None:
        """The emulator whose ``/<name>/`` holds ``path`` (its assets aside), or None."""
        for emulator in self.emulators.values():
            if path.startswith(f"/{emulator.name}/"):
                assets = {emulator.mount_path() + r.path for r in emulator.routes if not r.metered}
                return None if path in assets else emulator
        return None

    def handle(self, request: Request) -> Response:
        """Route ``request``; vendor requests get latency, counters and faults."""
        path = request.path
        is_control = path.startswith(CONTROLS_PREFIX)
        if request.method == "OPTIONS" and is_control:
            return Response(status=204, headers=_CORS)
        adapter = self._urls.bind_to_environ(request.environ)
        try:
            (name, kind, endpoint), args = adapter.match()
        except (NotFound, MethodNotAllowed) as exc:
            emulator = None if is_control else self._owner(path)
            if emulator is not None:
                self._read_body(request)
                return emulator.error(exc.code, exc.description or exc.name, code=1000)
            response = exc.get_response(request.environ)
            if is_control:
                response.headers.extend(_CORS)
            return response
        except HTTPException as exc:  # e.g. a redirect to add a trailing slash
            return exc.get_response(request.environ)
        if kind == "control":
            emulator = self.emulators.get(name)
            if emulator is None:
                handler = getattr(self, f"_control_{endpoint}")
            else:
                handler = getattr(emulator, f"on_{endpoint}")
            response = self._control(request, handler, args)
            response.headers.extend(_CORS)
            return response
        emulator = self.emulators[name]  # vendor routes and assets belong to an emulator
        if kind == "asset":
            return getattr(emulator, f"on_{endpoint}")(request, **args)
        return self._vendor(request, emulator, endpoint, args)

    @staticmethod
    def _read_body(request: Request) -> None:
        """Consume the body so a kept-alive connection stays in step."""
        try:
            request.get_data(parse_form_data=True)
        except Exception:
            logger.debug("unparseable request body", exc_info=True)

    def _vendor(
        self, request: Request, emulator: Emulator, endpoint: str, args: Mapping[str, Any]
    ) -> Response:
        vendor = emulator.name
        delay = self.config.latency_seconds(vendor)
        if delay:
            time.sleep(delay)
        self.counters.call(vendor, endpoint)
        self._read_body(request)
        fault = self.faults.take(vendor, CORE_FAULT_KINDS, endpoint)
        if fault is not None:
            self.counters.bump(vendor, "faults_injected")
        if fault is not None and fault.kind != "late":
            response = self._serve_fault(request, emulator, fault)
        else:
            try:
                response = getattr(emulator, f"on_{endpoint}")(request, **args)
            except Exception:
                logger.exception("sandbox %s %s failed", vendor, endpoint)
                response = emulator.error(500, "Internal sandbox error", code=9999)
            if fault is not None:  # "late": the work is done (and charged); the answer waits
                self._wake.wait(self._fault_seconds(fault))
        self.counters.outcome(vendor, response.status_code)
        return response

    def _fault_seconds(self, fault: Fault) -> float:
        """How long a ``timeout`` fault holds a request or a ``late`` one its answer."""
        return fault.seconds if fault.seconds is not None else self.config.fault_timeout_seconds

    def _serve_fault(self, request: Request, emulator: Emulator, fault: Fault) -> Response:
        if fault.kind == "reset":
            sock = request.environ.get("werkzeug.socket")
            if sock is not None:
                try:
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
            raise _InjectedReset("sandbox: injected connection reset")
        if fault.kind == "timeout":
            self._wake.wait(self._fault_seconds(fault))
            return emulator.error(504, "Gateway timeout (sandbox fault)", code=9998)
        if fault.kind == "non_json":
            status = fault.status or 502
            body = f"<html><body><h1>{status} Bad Gateway</h1></body></html>"
            return Response(body, status=status, content_type="text/html; charset=utf-8")
        status = fault.status or 503
        headers = {}
        if fault.retry_after is not None:
            headers["Retry-After"] = str(fault.retry_after)
        return emulator.error(status, fault.message, code=9997, headers=headers)

    # ----------------------------------------------------------------- controls

    @staticmethod
    def _control(
        request: Request, handler: Callable[..., Response], args: Mapping[str, Any]
    ) -> Response:
        try:
            return handler(request, **args)
        except (ValueError, TypeError, FaultError) as exc:
            return json_response({"error": str(exc)}, 400)

    def _control_index(self, request: Request) -> Response:
        return json_response(
            {
                "sandbox": "django_imageops.sandbox",
                "prefixes": {name: e.mount_path() for name, e in self.emulators.items()},
                "controls": [
                    str(rule)
                    for rule in self._urls.iter_rules()
                    if rule.rule.startswith(CONTROLS_PREFIX)
                ],
                "config": dataclasses.asdict(self.config),
            }
        )

    def _control_reset(self, request: Request) -> Response:
        self.reset(request.get_json(silent=True) or {})
        return json_response({"config": dataclasses.asdict(self.config)})

    def _control_config(self, request: Request) -> Response:
        if request.method == "POST":
            self.configure(request.get_json(silent=True) or {})
        return json_response({"config": dataclasses.asdict(self.config)})

    def _control_counters(self, request: Request) -> Response:
        with self.lock:
            credits = dict(self.credits)
        return json_response(self.counters.snapshot(credits))

    def _control_faults(self, request: Request) -> Response:
        if request.method == "POST":
            payload = request.get_json(silent=True)
            if not isinstance(payload, dict):
                return json_response({"error": "JSON object required"}, 400)
            self.faults.add(payload)
        elif request.method == "DELETE":
            self.faults.clear()
        return json_response(self.faults.pending())

    def _control_file(self, request: Request, name: str) -> Response:
        if request.method == "PUT":
            self.store_file(
                name, request.get_data(), request.mimetype or "application/octet-stream"
            )
            return json_response({"url": self.file_url(request, name)}, 201)
        with self.lock:
            stored = self._files.get(name)
        if stored is None:
            return json_response({"error": "No such file"}, 404)
        return Response(stored.content, content_type=stored.content_type, headers=stored.headers)

    def _control_files(self, request: Request) -> Response:
        upload = request.files.get("file")
        if upload is None:
            return json_response({"error": "multipart field 'file' required"}, 400)
        name = f"uploads/{uuid.uuid4().hex}-{upload.filename or 'file'}"
        self.store_file(name, upload.read(), upload.mimetype or "application/octet-stream")
        return json_response({"url": self.file_url(request, name)}, 201)


def make_app(
    config: SandboxConfig | None = None, emulators: Iterable[type[Emulator]] | None = None
) -> SandboxApp:
    """Build the sandbox WSGI application for ``config`` (defaults: ``SandboxConfig()``),
    serving ``emulators`` (default: ``emulators.EMULATORS``, the four vendors)."""
    return SandboxApp(config, emulators)
