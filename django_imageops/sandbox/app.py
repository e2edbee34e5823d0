"""The sandbox WSGI application: routing, the four vendors' emulations and the test controls.

One ``SandboxApp`` serves every vendor under its path prefix so that a client's ``base_url`` is
the sandbox URL plus ``/clipdrop``, ``/clippingmagic``, ``/piktid/api`` or ``/pixlab``; test
controls live under ``/_sandbox/``. All shared state sits in ``SandboxApp`` behind one lock;
pixel work (``imaging``) runs outside it. No Django imports here.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import ipaddress
import json
import logging
import secrets
import socket
import struct
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import resources
from typing import Any

from PIL import Image, ImageFilter
from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from . import imaging
from .faults import VENDORS, Counters, FaultError, FaultQueue

logger = logging.getLogger("django_imageops.sandbox")

CLIPDROP_MAX_PIXELS = 10_000_000
CLIPDROP_MAX_BYTES = 30 * 1024 * 1024
CLIPDROP_MAX_OFFSET = 2000
CLIPDROP_MAX_SEED = 100_000
REIMAGINE_MAX_SIDE = 1024
CLIPPINGMAGIC_MAX_PIXELS = 16_777_216
CLIPPINGMAGIC_SHRINK_PIXELS = 4_194_404
PIKTID_MIN_SIDE = 64
PIKTID_MAX_SIDE = 4096

_CLIPDROP_FORMATS = ("JPEG", "PNG", "WEBP")
_CLIPPINGMAGIC_FORMATS = ("BMP", "GIF", "JPEG", "PNG", "TIFF")
_PIKTID_FORMATS = ("WEBP", "JPEG", "PNG")
_PIXLAB_FORMATS = ("JPEG", "PNG", "WEBP", "GIF", "BMP")

_TRUE = ("1", "true", "yes", "on")


@dataclass
class SandboxConfig:
    """How the sandbox behaves; the command line options, snake_case.

    Attributes:
        host, port: where ``python -m django_imageops.sandbox`` listens (``run_in_thread``
            takes its own).
        api_key: the Clipdrop, ClippingMagic and PixLab API key accepted.
        api_id: the ClippingMagic API Id accepted (Basic auth user name).
        piktid_email, piktid_password: the PiktID account (Basic auth on ``POST /tokens``).
        credits: credits each vendor starts with: an int for all, or ``{vendor: int}``.
        clipdrop_rpm: Clipdrop requests allowed per API key per rolling minute (then 429).
        piktid_delay: seconds from ``/edit/generate`` until its notification appears.
        latency_ms: delay added to every vendor request (milliseconds).
        piktid_token_ttl: seconds an access token lives (PiktID: 30 days).
        piktid_refresh_ttl: seconds a refresh token lives.
        piktid_notification_ttl: seconds a notification lives after it appears (600).
        fault_timeout_seconds: how long a ``timeout`` fault holds a request by default.
        pixlab_fetch_timeout: seconds PixLab waits for an ``img`` URL.
    """

    host: str = "127.0.0.1"
    port: int = 8765
    api_key: str = "sandbox"
    api_id: str = "1"
    piktid_email: str = "sandbox@example.com"
    piktid_password: str = "sandbox"
    credits: int | dict[str, int] = 100
    clipdrop_rpm: int = 60
    piktid_delay: float = 5.0
    latency_ms: int = 0
    piktid_token_ttl: float = 30 * 24 * 3600.0
    piktid_refresh_ttl: float = 30 * 24 * 3600.0
    piktid_notification_ttl: float = 600.0
    fault_timeout_seconds: float = 10.0
    pixlab_fetch_timeout: float = 10.0

    def with_overrides(self, overrides: dict[str, Any]) -> SandboxConfig:
        """A copy with ``overrides`` applied (values coerced to each field's type).

        Raises ``ValueError`` for an unknown name or a value of the wrong type.
        """
        names = {f.name: f for f in dataclasses.fields(self)}
        changes: dict[str, Any] = {}
        for name, value in (overrides or {}).items():
            if name not in names:
                raise ValueError(f"unknown sandbox option {name!r}")
            default = getattr(SandboxConfig, name)
            if name == "credits":
                if isinstance(value, dict):
                    unknown = set(value) - set(VENDORS)
                    if unknown:
                        raise ValueError(f"unknown vendor(s) in credits: {sorted(unknown)}")
                    value = {vendor: int(amount) for vendor, amount in value.items()}
                else:
                    value = int(value)
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

    def initial_credits(self) -> dict[str, int]:
        """Credits per vendor at (re)start: ``{vendor: credits}``."""
        if isinstance(self.credits, dict):
            base = SandboxConfig.credits
            return {vendor: int(self.credits.get(vendor, base)) for vendor in VENDORS}
        return dict.fromkeys(VENDORS, int(self.credits))


class _Request(Request):
    # Large uploads are the point; keep non-file fields (PixLab base64 ``img``) parseable too.
    max_content_length = 128 * 1024 * 1024
    max_form_memory_size = 64 * 1024 * 1024


class _InjectedReset(ConnectionResetError):
    """Raised after the socket was shut down for a ``reset`` fault: Werkzeug drops it quietly."""


def _json(data: Any, status: int = 200, headers: dict | None = None) -> Response:
    return Response(
        json.dumps(data), status=status, headers=headers, content_type="application/json"
    )


def _iso(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, UTC).isoformat()


def _int_field(value: Any, name: str, default: int | None = None) -> int | None:
    """Parse an integer form/JSON field; accepts ``"120"`` and ``'"120"'`` (curl -F quoting).

    Raises ``ValueError`` with a message naming the field.
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


@dataclass
class _CMImage:
    id: int
    secret: str
    original: Image.Image
    filename: str
    test: bool
    result_revision: int = 0
    result: bytes | None = None
    mask: Image.Image | None = None
    charged: bool = False

    def as_json(self) -> dict:
        """The ``image`` object of ClippingMagic's JSON answers (upload, ``format=json``, list)."""
        return {
            "id": self.id,
            "secret": self.secret,
            "resultRevision": self.result_revision,
            "originalFilename": self.filename,
            "test": self.test,
        }


@dataclass
class _PiktidToken:
    access_token: str
    refresh_token: str
    access_expires: float
    refresh_expires: float
    revoked: bool = False
    refreshed: bool = False


@dataclass
class _StoredFile:
    content: bytes
    content_type: str
    headers: dict[str, str] = field(default_factory=dict)


def _rule(path: str, endpoint: str, vendor: str, methods: list[str]) -> Rule:
    return Rule(path, endpoint=(vendor, endpoint), methods=methods)


_URLS = Map(
    [
        # Clipdrop
        _rule("/clipdrop/uncrop/v1", "uncrop", "clipdrop", ["POST"]),
        _rule("/clipdrop/reimagine/v1/reimagine", "reimagine", "clipdrop", ["POST"]),
        # ClippingMagic
        _rule("/clippingmagic/api/v1/images", "images", "clippingmagic", ["GET", "POST"]),
        _rule("/clippingmagic/api/v1/images/<int:image_id>", "image", "clippingmagic", ["GET"]),
        _rule(
            "/clippingmagic/api/v1/images/<int:image_id>/delete",
            "delete",
            "clippingmagic",
            ["POST"],
        ),
        _rule("/clippingmagic/api/v1/account", "account", "clippingmagic", ["GET"]),
        _rule("/clippingmagic/api/v1/ClippingMagic.js", "js", "static", ["GET"]),
        # PiktID
        _rule("/piktid/api/tokens", "tokens", "piktid", ["POST", "PUT"]),
        _rule("/piktid/api/expand/target", "target", "piktid", ["POST"]),
        _rule("/piktid/api/edit/generate", "generate", "piktid", ["POST"]),
        _rule("/piktid/api/notification_by_name_json", "notifications", "piktid", ["POST"]),
        _rule("/piktid/api/notification/delete_json", "delete_notification", "piktid", ["DELETE"]),
        # PixLab
        _rule("/pixlab/crop", "crop", "pixlab", ["GET", "POST"]),
        _rule("/pixlab/store", "store", "pixlab", ["POST"]),
        # Test controls
        _rule("/_sandbox/", "index", "control", ["GET"]),
        _rule("/_sandbox/reset", "reset", "control", ["POST"]),
        _rule("/_sandbox/config", "config", "control", ["GET", "POST"]),
        _rule("/_sandbox/counters", "counters", "control", ["GET"]),
        _rule("/_sandbox/faults", "faults", "control", ["GET", "POST", "DELETE"]),
        _rule("/_sandbox/clippingmagic/<int:image_id>/edit", "cm_edit", "control", ["POST"]),
        _rule("/_sandbox/files/<path:name>", "file", "control", ["GET", "PUT"]),
        _rule("/_sandbox/files", "files", "control", ["POST"]),
    ]
)

_PREFIXES = (
    ("/clipdrop/", "clipdrop"),
    ("/clippingmagic/api/v1/ClippingMagic.js", "static"),
    ("/clippingmagic/", "clippingmagic"),
    ("/piktid/", "piktid"),
    ("/pixlab/", "pixlab"),
    ("/_sandbox", "control"),
)

_CORS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Methods": "GET, POST, PUT, DELETE, OPTIONS",
    "Access-Control-Allow-Headers": "Content-Type, Authorization",
    "Access-Control-Max-Age": "600",
}


class SandboxApp:
    """The WSGI application. ``SandboxApp(config)`` is callable as ``app(environ, start_response)``.

    Attributes:
        base_config: the configuration a ``reset`` returns to (before its overrides).
        config: the configuration in effect.
        counters: per-vendor ``Counters``; faults: the ``FaultQueue``.
    """

    def __init__(self, config: SandboxConfig | None = None):
        self.base_config = config or SandboxConfig()
        self.config = self.base_config
        self._lock = threading.RLock()
        self.counters = Counters()
        self.faults = FaultQueue()
        self._wake = threading.Event()
        self._reset_state()

    # ----------------------------------------------------------------- state

    def _reset_state(self) -> None:
        with self._lock:
            self.credits = self.config.initial_credits()
            self._clipdrop_hits: dict[str, deque] = {}
            self._cm_images: dict[int, _CMImage] = {}
            self._cm_next_id = 1001
            self._pk_tokens: dict[str, _PiktidToken] = {}
            self._pk_images: dict[str, Image.Image] = {}
            self._pk_notes: list[dict] = []
            self._pk_next_note = 1
            self._files: dict[str, _StoredFile] = {}
            self.counters.clear()
            self.faults.clear()
            # Release requests held by ``timeout`` faults of the previous test.
            self._wake.set()
            self._wake = threading.Event()

    def reset(self, overrides: dict | None = None) -> None:
        """Back to ``base_config`` plus ``overrides``; clear every vendor's state, counters and
        faults. Raises ``ValueError`` for an unknown option."""
        config = self.base_config.with_overrides(overrides or {})
        with self._lock:
            self.config = config
            self._reset_state()

    def configure(self, overrides: dict) -> None:
        """Change options in place; ``credits`` also resets the balances."""
        config = self.config.with_overrides(overrides)
        with self._lock:
            self.config = config
            if "credits" in overrides:
                self.credits = config.initial_credits()

    def wake_all(self) -> None:
        """Release every request held by a ``timeout`` fault (used on shutdown)."""
        self._wake.set()

    def _charge(self, vendor: str, amount: int = 1) -> int:
        """Take ``amount`` credits; returns what remains (caller checked the balance)."""
        with self._lock:
            self.credits[vendor] -= amount
            remaining = self.credits[vendor]
        self.counters.bump(vendor, "credits_consumed", amount)
        return remaining

    def _store_file(self, name: str, content: bytes, content_type: str, **headers) -> str:
        with self._lock:
            self._files[name] = _StoredFile(content, content_type, headers)
        return name

    @staticmethod
    def _file_url(request: Request, name: str) -> str:
        return f"{request.host_url}_sandbox/files/{urllib.parse.quote(name)}"

    # ----------------------------------------------------------------- WSGI

    def __call__(self, environ, start_response):
        request = _Request(environ)
        response = self.handle(request)
        return response(environ, start_response)

    def handle(self, request: Request) -> Response:
        """Route ``request``; vendor requests get latency, counters and faults."""
        path = request.path
        vendor = next((name for prefix, name in _PREFIXES if path.startswith(prefix)), None)
        if request.method == "OPTIONS" and vendor == "control":
            return Response(status=204, headers=_CORS)
        adapter = _URLS.bind_to_environ(request.environ)
        try:
            (kind, endpoint), args = adapter.match()
        except (NotFound, MethodNotAllowed) as exc:
            if vendor in VENDORS:
                self._read_body(request)
                return self._error(vendor, exc.code, exc.description or exc.name, code=1000)
            response = exc.get_response(request.environ)
            if vendor == "control":
                response.headers.extend(_CORS)
            return response
        except HTTPException as exc:  # e.g. a redirect to add a trailing slash
            return exc.get_response(request.environ)
        if kind == "control":
            response = self._control(request, endpoint, args)
            response.headers.extend(_CORS)
            return response
        if kind == "static":
            return self._clippingmagic_js()
        return self._vendor(request, kind, endpoint, args)

    @staticmethod
    def _read_body(request: Request) -> None:
        """Consume the body so a kept-alive connection stays in step."""
        try:
            request.get_data(parse_form_data=True)
        except Exception:
            logger.debug("unparseable request body", exc_info=True)

    def _vendor(self, request: Request, vendor: str, endpoint: str, args: dict) -> Response:
        if self.config.latency_ms:
            time.sleep(self.config.latency_ms / 1000)
        self.counters.call(vendor, endpoint)
        self._read_body(request)
        fault = self.faults.take(vendor, ("status", "timeout", "reset", "non_json"))
        if fault is not None:
            self.counters.bump(vendor, "faults_injected")
            response = self._serve_fault(request, vendor, fault)
        else:
            handler = getattr(self, f"_{vendor}_{endpoint}")
            try:
                response = handler(request, **args)
            except Exception:
                logger.exception("sandbox %s %s failed", vendor, endpoint)
                response = self._error(vendor, 500, "Internal sandbox error", code=9999)
        self.counters.outcome(vendor, response.status_code)
        return response

    def _serve_fault(self, request: Request, vendor: str, fault) -> Response:
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
            seconds = (
                fault.seconds if fault.seconds is not None else self.config.fault_timeout_seconds
            )
            self._wake.wait(seconds)
            return self._error(vendor, 504, "Gateway timeout (sandbox fault)", code=9998)
        if fault.kind == "non_json":
            status = fault.status or 502
            body = f"<html><body><h1>{status} Bad Gateway</h1></body></html>"
            return Response(body, status=status, content_type="text/html; charset=utf-8")
        status = fault.status or 503
        headers = {}
        if fault.retry_after is not None:
            headers["Retry-After"] = str(fault.retry_after)
        return self._error(vendor, status, fault.message, code=9997, headers=headers)

    @staticmethod
    def _error(
        vendor: str, status: int, message: str, *, code: int = 0, headers: dict | None = None
    ) -> Response:
        """An error in ``vendor``'s body shape."""
        if vendor == "clippingmagic":
            body = {"error": {"status": status, "code": code, "message": message}}
        elif vendor == "pixlab":
            body = {"status": status, "error": message}
        else:
            body = {"error": message}
        return _json(body, status, headers)

    # ----------------------------------------------------------------- Clipdrop

    def _clipdrop_guard(self, request: Request) -> Response | None:
        """Key (401/403), rate limit (429) and credits (402), in that order."""
        key = request.headers.get("x-api-key")
        if not key:
            return self._error("clipdrop", 401, "No api key provided")
        if key != self.config.api_key:
            return self._error("clipdrop", 403, "Invalid or revoked api key")
        now = time.monotonic()
        with self._lock:
            hits = self._clipdrop_hits.setdefault(key, deque())
            while hits and now - hits[0] >= 60:
                hits.popleft()
            if len(hits) >= self.config.clipdrop_rpm:
                limited = True
            else:
                limited = False
                hits.append(now)
            credits = self.credits["clipdrop"]
        if limited:
            self.counters.bump("clipdrop", "rate_limited")
            return self._error("clipdrop", 429, "Too many requests, blocked by the rate limiter")
        if credits <= 0:
            return self._error("clipdrop", 402, "Your account has no remaining credits")
        return None

    def _clipdrop_image(self, request: Request, **limits) -> Image.Image | Response:
        upload = request.files.get("image_file")
        if upload is None:
            return self._error("clipdrop", 400, "Missing image_file in request")
        data = upload.read()
        if len(data) > CLIPDROP_MAX_BYTES:
            return self._error("clipdrop", 400, "Image file too big: maximum 30 MB")
        try:
            return imaging.open_image(data, formats=_CLIPDROP_FORMATS, **limits)
        except imaging.BadImage as exc:
            return self._error("clipdrop", 400, str(exc))

    def _clipdrop_success(self, image: Image.Image) -> Response:
        remaining = self._charge("clipdrop")
        return Response(
            imaging.encode(image, "JPEG"),
            content_type="image/jpeg",
            headers={"x-remaining-credits": str(remaining), "x-credits-consumed": "1"},
        )

    def _clipdrop_uncrop(self, request: Request) -> Response:
        denied = self._clipdrop_guard(request)
        if denied is not None:
            return denied
        form = request.form
        try:
            offsets = {
                side: _int_field(form.get(f"extend_{side}"), f"extend_{side}", 0)
                for side in ("left", "right", "up", "down")
            }
            seed = _int_field(form.get("seed"), "seed")
        except ValueError as exc:
            return self._error("clipdrop", 400, str(exc))
        for side, value in offsets.items():
            if value > CLIPDROP_MAX_OFFSET:
                return self._error(
                    "clipdrop", 400, f"extend_{side} must be at most {CLIPDROP_MAX_OFFSET}"
                )
        if seed is not None and not 0 <= seed <= CLIPDROP_MAX_SEED:
            return self._error("clipdrop", 400, f"seed must be between 0 and {CLIPDROP_MAX_SEED}")
        image = self._clipdrop_image(request, max_pixels=CLIPDROP_MAX_PIXELS)
        if isinstance(image, Response):
            return image
        if seed is None:
            seed = secrets.randbelow(CLIPDROP_MAX_SEED + 1)
        try:
            result = imaging.extend(
                image,
                offsets["left"],
                offsets["right"],
                offsets["up"],
                offsets["down"],
                seed,
            )
        except ValueError as exc:
            return self._error("clipdrop", 422, f"Input image is not acceptable: {exc}")
        return self._clipdrop_success(result)

    def _clipdrop_reimagine(self, request: Request) -> Response:
        denied = self._clipdrop_guard(request)
        if denied is not None:
            return denied
        image = self._clipdrop_image(request, max_side=REIMAGINE_MAX_SIDE)
        if isinstance(image, Response):
            return image
        return self._clipdrop_success(imaging.reimagine(image, secrets.randbelow(2**31)))

    # ----------------------------------------------------------------- ClippingMagic

    def _cm_error(self, status: int, code: int, message: str, **headers) -> Response:
        return self._error("clippingmagic", status, message, code=code, headers=headers or None)

    def _cm_guard(self, request: Request) -> Response | None:
        auth = request.authorization
        if auth is None or auth.type != "basic":
            return self._cm_error(
                401,
                1001,
                "Invalid API credentials: use HTTP Basic auth (API Id, API Key)",
                **{"WWW-Authenticate": 'Basic realm="ClippingMagic API"'},
            )
        if auth.username != self.config.api_id or auth.password != self.config.api_key:
            return self._cm_error(403, 1001, "Invalid API credentials")
        return None

    def _cm_lookup(self, image_id: int) -> _CMImage | Response:
        with self._lock:
            image = self._cm_images.get(image_id)
        if image is None:
            return self._cm_error(404, 1003, f"Image {image_id} not found")
        return image

    def _cm_generate(self, image: _CMImage, *, touched_up: bool = False) -> None:
        """Auto-Clip (or an editor save when ``touched_up``): a new result and revision."""
        cutout, mask = imaging.remove_background(image.original)
        if touched_up:
            # A "person" tidies the edges: a slightly grown mask gives a distinct result.
            mask = mask.filter(ImageFilter.MaxFilter(3))
            cutout.putalpha(mask)
        if image.test:
            cutout = imaging.watermark(cutout)
        content = imaging.encode(cutout, "PNG")
        with self._lock:
            image.result = content
            image.mask = mask
            image.result_revision += 1

    def _cm_deliver(self, request: Request, image: _CMImage, fmt: str | None) -> Response | None:
        """Charge a production image's first download; None when the credits are missing."""
        with self._lock:
            if not image.test and not image.charged:
                if self.credits["clippingmagic"] <= 0:
                    return None
                image.charged = True
                charge = True
            else:
                charge = False
        if charge:
            self._charge("clippingmagic")
        return self._cm_payload(image, fmt)

    def _cm_payload(self, image: _CMImage, fmt: str | None) -> Response:
        stem = (image.filename.rsplit(".", 1)[0] or "image").replace('"', "")
        headers = {
            "x-amz-meta-id": str(image.id),
            "x-amz-meta-secret": image.secret,
            "x-amz-meta-resultrevision": str(image.result_revision),
        }
        assert image.result is not None and image.mask is not None
        if fmt == "clipping_path_svg":
            content, content_type, ext = (
                imaging.clipping_path_svg(image.mask),
                "image/svg+xml",
                "svg",
            )
        elif fmt == "alpha_mask_png":
            content, content_type, ext = imaging.encode(image.mask, "PNG"), "image/png", "png"
        else:
            content, content_type, ext = image.result, "image/png", "png"
        headers["Content-Disposition"] = f'attachment; filename="{stem}.{ext}"'
        return Response(content, content_type=content_type, headers=headers)

    def _clippingmagic_images(self, request: Request) -> Response:
        denied = self._cm_guard(request)
        if denied is not None:
            return denied
        if request.method == "GET":
            try:
                limit = _int_field(request.args.get("limit"), "limit", 20)
                offset = _int_field(request.args.get("offset"), "offset", 0)
            except ValueError as exc:
                return self._cm_error(400, 1002, str(exc))
            limit = max(1, min(100, limit))
            offset = max(0, offset)
            with self._lock:
                images = [self._cm_images[k].as_json() for k in sorted(self._cm_images)]
            return _json(
                {"images": images[offset : offset + limit], "limit": limit, "offset": offset}
            )
        return self._clippingmagic_upload(request)

    def _clippingmagic_upload(self, request: Request) -> Response:
        fmt = request.form.get("format", "json")
        if fmt not in ("json", "result", "clipping_path_svg", "alpha_mask_png"):
            return self._cm_error(400, 1002, f"Unknown format {fmt!r}")
        test = request.form.get("test", "").lower() in _TRUE
        upload = request.files.get("image")
        if upload is None:
            return self._cm_error(400, 1002, "Missing parameter: image (multipart file upload)")
        if not test and self.credits["clippingmagic"] <= 0:
            return self._cm_error(
                402, 1004, "No credits left: production images need an active subscription"
            )
        try:
            original = imaging.open_image(
                upload.read(), formats=_CLIPPINGMAGIC_FORMATS, max_pixels=CLIPPINGMAGIC_MAX_PIXELS
            )
        except imaging.BadImage as exc:
            if exc.reason == "too_large":
                return self._cm_error(400, 1007, str(exc))
            return self._cm_error(400, 1006, f"Failed to read the supplied image. {exc}")
        pixels = original.width * original.height
        if pixels > CLIPPINGMAGIC_SHRINK_PIXELS:
            scale = (CLIPPINGMAGIC_SHRINK_PIXELS / pixels) ** 0.5
            original = original.resize(
                (max(1, int(original.width * scale)), max(1, int(original.height * scale))),
                Image.Resampling.LANCZOS,
            )
        with self._lock:
            image_id = self._cm_next_id
            self._cm_next_id += 1
            image = _CMImage(
                id=image_id,
                secret=secrets.token_urlsafe(12),
                original=original,
                filename=upload.filename or "image",
                test=test,
            )
            self._cm_images[image_id] = image
        if fmt == "json":
            return _json({"image": image.as_json()})
        self._cm_generate(image)
        response = self._cm_deliver(request, image, fmt)
        if response is None:
            return self._cm_error(402, 1004, "No credits left")
        return response

    def _clippingmagic_image(self, request: Request, image_id: int) -> Response:
        denied = self._cm_guard(request)
        if denied is not None:
            return denied
        image = self._cm_lookup(image_id)
        if isinstance(image, Response):
            return image
        fmt = request.args.get("format") or None
        if fmt == "json":
            return _json({"image": image.as_json()})
        if fmt not in (None, "result", "clipping_path_svg", "alpha_mask_png"):
            return self._cm_error(400, 1002, f"Unknown format {fmt!r}")
        if image.result_revision == 0 or image.result is None:
            return self._cm_error(400, 1008, "No result available for this image yet")
        response = self._cm_deliver(request, image, fmt)
        if response is None:
            return self._cm_error(402, 1004, "No credits left")
        # Results are "stored on S3": answer with a redirect to the stored object.
        name = f"clippingmagic/{image.id}/{image.result_revision}/{secrets.token_urlsafe(8)}"
        headers = {k: v for k, v in response.headers.items() if k.lower() != "content-length"}
        self._store_file(name, response.get_data(), response.content_type, **headers)
        redirect = Response(status=302, headers=headers)
        redirect.headers["Location"] = self._file_url(request, name)
        redirect.headers["Content-Type"] = "text/plain"
        return redirect

    def _clippingmagic_delete(self, request: Request, image_id: int) -> Response:
        denied = self._cm_guard(request)
        if denied is not None:
            return denied
        with self._lock:
            image = self._cm_images.pop(image_id, None)
        if image is None:
            return self._cm_error(404, 1003, f"Image {image_id} not found")
        return _json({"image": image.as_json()})

    def _clippingmagic_account(self, request: Request) -> Response:
        denied = self._cm_guard(request)
        if denied is not None:
            return denied
        credits = self.credits["clippingmagic"]
        active = credits > 0
        return _json(
            {
                "subscriptionPlan": "sandbox" if active else "none",
                "subscriptionState": "active" if active else "ended",
                "credits": max(0, credits),
            }
        )

    @staticmethod
    def _clippingmagic_js() -> Response:
        script = resources.files(__package__).joinpath("ClippingMagic.js").read_bytes()
        return Response(
            script,
            content_type="application/javascript; charset=utf-8",
            headers={"Access-Control-Allow-Origin": "*", "Cache-Control": "no-cache"},
        )

    # ----------------------------------------------------------------- PiktID

    def _piktid_guard(self, request: Request) -> Response | None:
        auth = request.headers.get("Authorization", "")
        scheme, _, token = auth.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return self._error("piktid", 401, "Missing bearer token")
        with self._lock:
            record = self._pk_tokens.get(token.strip())
        if record is None or record.revoked:
            return self._error("piktid", 401, "Invalid access token")
        if time.time() >= record.access_expires:
            return self._error("piktid", 401, "Access token expired")
        return None

    def _piktid_issue(self) -> dict:
        now = time.time()
        record = _PiktidToken(
            access_token=secrets.token_urlsafe(24),
            refresh_token=secrets.token_urlsafe(24),
            access_expires=now + self.config.piktid_token_ttl,
            refresh_expires=now + self.config.piktid_refresh_ttl,
        )
        with self._lock:
            self._pk_tokens[record.access_token] = record
        return {
            "access_token": record.access_token,
            "refresh_token": record.refresh_token,
            "access_token_expiration": _iso(record.access_expires),
            "refresh_token_expiration": _iso(record.refresh_expires),
            "expires_in": int(self.config.piktid_token_ttl),
        }

    def _piktid_tokens(self, request: Request) -> Response:
        if request.method == "POST":
            auth = request.authorization
            if auth is None or auth.type != "basic":
                return self._error(
                    "piktid",
                    401,
                    "Basic authentication (e-mail, password) required",
                    headers={"WWW-Authenticate": 'Basic realm="PiktID"'},
                )
            if (
                auth.username != self.config.piktid_email
                or auth.password != self.config.piktid_password
            ):
                return self._error("piktid", 401, "Invalid e-mail or password")
            return _json(self._piktid_issue())
        payload = request.get_json(silent=True) or {}
        access, refresh = payload.get("access_token"), payload.get("refresh_token")
        if not access or not refresh:
            return self._error("piktid", 400, "access_token and refresh_token are required")
        with self._lock:
            record = self._pk_tokens.get(access)
            if record is None or record.refresh_token != refresh:
                return self._error("piktid", 401, "Invalid refresh token")
            if record.refreshed or time.time() >= record.refresh_expires:
                # Reusing a refresh token revokes every token of the user.
                for other in self._pk_tokens.values():
                    other.revoked = True
                return self._error(
                    "piktid", 401, "Refresh token already used or expired: all tokens revoked"
                )
            if record.revoked:
                return self._error("piktid", 401, "Invalid refresh token")
            record.refreshed = True
            record.revoked = True
        return _json(self._piktid_issue())

    def _piktid_target(self, request: Request) -> Response:
        denied = self._piktid_guard(request)
        if denied is not None:
            return denied
        upload = request.files.get("file")
        if upload is None:
            return self._error("piktid", 400, "Missing file (multipart form field 'file')")
        try:
            image = imaging.open_image(
                upload.read(),
                formats=_PIKTID_FORMATS,
                max_side=PIKTID_MAX_SIDE,
                min_side=PIKTID_MIN_SIDE,
            )
        except imaging.BadImage as exc:
            return self._error("piktid", 400, str(exc))
        image_id = uuid.uuid4().hex
        with self._lock:
            self._pk_images[image_id] = image
        return _json({"image_id": image_id, "id_image": image_id})

    def _piktid_generate(self, request: Request) -> Response:
        denied = self._piktid_guard(request)
        if denied is not None:
            return denied
        payload = request.get_json(silent=True)
        if not isinstance(payload, dict):
            return self._error("piktid", 400, "JSON body required")
        image_id = str(payload.get("id_image") or payload.get("image_id") or "")
        try:
            offsets = {
                side: _int_field(payload.get(side), side, 0)
                for side in ("top", "bottom", "left", "right")
            }
        except ValueError as exc:
            return self._error("piktid", 400, str(exc))
        with self._lock:
            image = self._pk_images.get(image_id)
            credits = self.credits["piktid"]
        if image is None:
            return self._error("piktid", 404, f"Image {image_id!r} not found")
        new_w = image.width + offsets["left"] + offsets["right"]
        new_h = image.height + offsets["top"] + offsets["bottom"]
        if not (PIKTID_MIN_SIDE <= new_w <= PIKTID_MAX_SIDE) or not (
            PIKTID_MIN_SIDE <= new_h <= PIKTID_MAX_SIDE
        ):
            return self._error(
                "piktid",
                400,
                f"Result would be {new_w}x{new_h}: each side must be within "
                f"{PIKTID_MIN_SIDE}..{PIKTID_MAX_SIDE}",
            )
        if credits <= 0:
            return self._error("piktid", 402, "Not enough credits")
        task_id = uuid.uuid4().hex
        now = time.time()
        data: dict[str, Any] = {"id_image": image_id, "address": image_id, "id_task": task_id}
        if self.faults.take("piktid", ("notification_error",)) is not None:
            self.counters.bump("piktid", "faults_injected")
            name = "error"
            data["msg"] = "Generation failed (sandbox fault)"
        else:
            name = "expand_generate"
            result = imaging.extend(
                image,
                offsets["left"],
                offsets["right"],
                offsets["top"],
                offsets["bottom"],
                seed=int(task_id[:8], 16) % (CLIPDROP_MAX_SEED + 1),
            )
            file_name = self._store_file(
                f"piktid/{task_id}.png", imaging.encode(result, "PNG"), "image/png"
            )
            data["links"] = [
                {"l": self._file_url(request, file_name), "w": result.width, "h": result.height}
            ]
            self._charge("piktid")
        visible_at = now + self.config.piktid_delay
        with self._lock:
            notification = {
                "id": self._pk_next_note,
                "name": name,
                "timestamp": visible_at,
                "data": data,
                "_visible_at": visible_at,
                "_expires_at": visible_at + self.config.piktid_notification_ttl,
            }
            self._pk_next_note += 1
            self._pk_notes.append(notification)
        return _json({"id_task": task_id, "id_image": image_id, "status": "queued"})

    def _piktid_notifications(self, request: Request) -> Response:
        denied = self._piktid_guard(request)
        if denied is not None:
            return denied
        payload = request.get_json(silent=True) or {}
        names = payload.get("name_list") or ["expand_generate", "error"]
        if isinstance(names, str):
            names = [name.strip() for name in names.split(",") if name.strip()]
        image_id = payload.get("id_image")
        task_ids = payload.get("id_task")
        if isinstance(task_ids, str):
            task_ids = [task_ids]
        now = time.time()
        with self._lock:
            self._pk_notes = [n for n in self._pk_notes if n["_expires_at"] > now]
            found = [
                {k: v for k, v in n.items() if not k.startswith("_")}
                for n in self._pk_notes
                if n["_visible_at"] <= now
                and n["name"] in names
                and (image_id is None or n["data"]["id_image"] == str(image_id))
                and (not task_ids or n["data"]["id_task"] in task_ids)
            ]
        return _json({"notifications_list": found})

    def _piktid_delete_notification(self, request: Request) -> Response:
        denied = self._piktid_guard(request)
        if denied is not None:
            return denied
        payload = request.get_json(silent=True) or {}
        try:
            notification_id = _int_field(payload.get("id"), "id")
        except ValueError as exc:
            return self._error("piktid", 400, str(exc))
        with self._lock:
            before = len(self._pk_notes)
            self._pk_notes = [n for n in self._pk_notes if n["id"] != notification_id]
            deleted = before != len(self._pk_notes)
        if not deleted:
            return self._error("piktid", 404, f"Notification {notification_id!r} not found")
        return _json({"deleted": notification_id})

    # ----------------------------------------------------------------- PixLab

    def _pixlab_params(self, request: Request) -> dict:
        params: dict[str, Any] = dict(request.args.items())
        params.update(request.form.items())
        if request.is_json:
            payload = request.get_json(silent=True)
            if isinstance(payload, dict):
                params.update(payload)
        return params

    def _pixlab_guard(self, request: Request, params: dict) -> Response | None:
        key = params.get("key")
        if not key:
            header = request.headers.get("WWW-Authenticate", "").strip()
            key = header.split()[-1] if header else ""
        if not key:
            return self._error("pixlab", 401, "Missing API key: pass key or WWW-Authenticate")
        if key != self.config.api_key:
            return self._error("pixlab", 403, "Invalid API key")
        return None

    def _pixlab_source(self, request: Request, params: dict) -> bytes | Response:
        upload = next(iter(request.files.values()), None)
        if upload is not None:
            return upload.read()
        img = params.get("img")
        if not img:
            return self._error("pixlab", 400, "Missing img: a URL or a multipart upload")
        img = str(img)
        if img.startswith(("http://", "https://")):
            return self._pixlab_fetch(img)
        if img.startswith("data:"):
            img = img.partition(",")[2]
        try:
            return base64.b64decode(img, validate=True)
        except (binascii.Error, ValueError):
            return self._error("pixlab", 400, "img is neither a URL nor base64 image data")

    def _pixlab_fetch(self, url: str) -> bytes | Response:
        host = urllib.parse.urlsplit(url).hostname or ""
        try:
            loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
        except ValueError:
            loopback = False
        if not loopback:
            return self._error(
                "pixlab", 400, f"The sandbox only fetches loopback img URLs, not {host!r}"
            )
        try:
            with urllib.request.urlopen(url, timeout=self.config.pixlab_fetch_timeout) as reply:  # noqa: S310 - loopback http(s) only
                return reply.read(CLIPDROP_MAX_BYTES + 1)
        except (urllib.error.URLError, OSError, ValueError) as exc:
            return self._error("pixlab", 400, f"Could not fetch img URL: {exc}")

    def _pixlab_crop(self, request: Request) -> Response:
        params = self._pixlab_params(request)
        denied = self._pixlab_guard(request, params)
        if denied is not None:
            return denied
        try:
            x = _int_field(params.get("x"), "x", 0)
            y = _int_field(params.get("y"), "y", 0)
            width = _int_field(params.get("width"), "width")
            height = _int_field(params.get("height"), "height")
        except ValueError as exc:
            return self._error("pixlab", 400, str(exc))
        if width is None and height is None:
            return self._error("pixlab", 400, "Missing width and height (give at least one)")
        width = width if width is not None else height
        height = height if height is not None else width
        if self.credits["pixlab"] <= 0:
            return self._error("pixlab", 402, "Out of API credits")
        data = self._pixlab_source(request, params)
        if isinstance(data, Response):
            return data
        try:
            image = imaging.open_image(data, formats=_PIXLAB_FORMATS, max_pixels=50_000_000)
        except imaging.BadImage as exc:
            return self._error("pixlab", 400, str(exc))
        if x < 0 or y < 0 or width <= 0 or height <= 0:
            return self._error("pixlab", 400, "x, y must be >= 0 and width, height > 0")
        if x + width > image.width or y + height > image.height:
            return self._error(
                "pixlab",
                400,
                f"Crop region {x},{y} {width}x{height} exceeds the "
                f"{image.width}x{image.height} image",
            )
        fmt = "JPEG" if data[:3] == b"\xff\xd8\xff" and image.mode == "RGB" else "PNG"
        content = imaging.encode(imaging.crop(image, x, y, width, height), fmt)
        content_type = "image/jpeg" if fmt == "JPEG" else "image/png"
        self._charge("pixlab")
        if str(params.get("blob", "")).lower() in _TRUE:
            return Response(content, content_type=content_type)
        media_id = uuid.uuid4().hex
        name = self._store_file(
            f"pixlab/{media_id}.{'jpg' if fmt == 'JPEG' else 'png'}", content, content_type
        )
        return _json({"status": 200, "link": self._file_url(request, name), "id": media_id})

    def _pixlab_store(self, request: Request) -> Response:
        params = self._pixlab_params(request)
        denied = self._pixlab_guard(request, params)
        if denied is not None:
            return denied
        upload = request.files.get("file") or next(iter(request.files.values()), None)
        if upload is None:
            return self._error("pixlab", 400, "Missing file (multipart upload)")
        data = upload.read()
        try:
            imaging.open_image(data, formats=_PIXLAB_FORMATS, max_pixels=50_000_000)
        except imaging.BadImage as exc:
            return self._error("pixlab", 400, str(exc))
        media_id = uuid.uuid4().hex
        content_type = upload.mimetype or "application/octet-stream"
        name = self._store_file(
            f"pixlab/{media_id}-{upload.filename or 'file'}", data, content_type
        )
        return _json({"status": 200, "link": self._file_url(request, name), "id": media_id})

    # ----------------------------------------------------------------- controls

    def _control(self, request: Request, endpoint: str, args: dict) -> Response:
        try:
            return getattr(self, f"_control_{endpoint}")(request, **args)
        except (ValueError, TypeError, FaultError) as exc:
            return _json({"error": str(exc)}, 400)

    def _control_index(self, request: Request) -> Response:
        return _json(
            {
                "sandbox": "django_imageops.sandbox",
                "prefixes": {
                    "clipdrop": "/clipdrop",
                    "clippingmagic": "/clippingmagic",
                    "piktid": "/piktid/api",
                    "pixlab": "/pixlab",
                },
                "controls": [
                    str(rule) for rule in _URLS.iter_rules() if rule.rule.startswith("/_")
                ],
                "config": dataclasses.asdict(self.config),
            }
        )

    def _control_reset(self, request: Request) -> Response:
        self.reset(request.get_json(silent=True) or {})
        return _json({"config": dataclasses.asdict(self.config)})

    def _control_config(self, request: Request) -> Response:
        if request.method == "POST":
            self.configure(request.get_json(silent=True) or {})
        return _json({"config": dataclasses.asdict(self.config)})

    def _control_counters(self, request: Request) -> Response:
        with self._lock:
            credits = dict(self.credits)
        return _json(self.counters.snapshot(credits))

    def _control_faults(self, request: Request) -> Response:
        if request.method == "POST":
            payload = request.get_json(silent=True)
            if not isinstance(payload, dict):
                return _json({"error": "JSON object required"}, 400)
            self.faults.add(payload)
        elif request.method == "DELETE":
            self.faults.clear()
        return _json(self.faults.pending())

    def _control_cm_edit(self, request: Request, image_id: int) -> Response:
        payload = request.get_json(silent=True) or {}
        secret = payload.get("secret") or request.form.get("secret")
        with self._lock:
            image = self._cm_images.get(image_id)
        if image is None:
            return _json({"error": f"Image {image_id} not found"}, 404)
        if secret and secret != image.secret:
            return _json({"error": "Wrong secret for this image"}, 403)
        self._cm_generate(image, touched_up=True)
        return _json({"image": image.as_json()})

    def _control_file(self, request: Request, name: str) -> Response:
        if request.method == "PUT":
            self._store_file(
                name, request.get_data(), request.mimetype or "application/octet-stream"
            )
            return _json({"url": self._file_url(request, name)}, 201)
        with self._lock:
            stored = self._files.get(name)
        if stored is None:
            return _json({"error": "No such file"}, 404)
        return Response(stored.content, content_type=stored.content_type, headers=stored.headers)

    def _control_files(self, request: Request) -> Response:
        upload = request.files.get("file")
        if upload is None:
            return _json({"error": "multipart field 'file' required"}, 400)
        name = f"uploads/{uuid.uuid4().hex}-{upload.filename or 'file'}"
        self._store_file(name, upload.read(), upload.mimetype or "application/octet-stream")
        return _json({"url": self._file_url(request, name)}, 201)


def make_app(config: SandboxConfig | None = None) -> SandboxApp:
    """Build the sandbox WSGI application for ``config`` (defaults: ``SandboxConfig()``)."""
    return SandboxApp(config)
