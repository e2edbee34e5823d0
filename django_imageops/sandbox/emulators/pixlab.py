"""PixLab's ``crop`` and ``store`` endpoints (``vendor-docs/pixlab.md``) under ``/pixlab``.

The key as ``key`` (query, form or JSON) or ``WWW-Authenticate``; the image as a multipart
upload, base64 or an ``img`` URL (loopback only: the sandbox never fetches from the network).
Errors: ``{"status": code, "error": message}``.
"""

from __future__ import annotations

import base64
import binascii
import uuid
from typing import Any

from werkzeug.wrappers import Request, Response

from ..imaging import BadImage, crop, encode, open_image
from .base import TRUE_VALUES, Emulator, Route, fetch_loopback, int_field, json_response

FORMATS = ("JPEG", "PNG", "WEBP", "GIF", "BMP")
MAX_PIXELS = 50_000_000


class PixlabEmulator(Emulator):
    """``GET``/``POST /crop`` (x, y, width, height; ``blob`` for the bytes, else a JSON link)
    and ``POST /store`` (host an upload).

    Options: ``api_key``, ``pixlab_fetch_timeout``. State: none (results are hosted files).
    """

    name = "pixlab"
    label = "PixLab"
    routes = (
        Route("/crop", "crop", ("GET", "POST")),
        Route("/store", "store", ("POST",)),
    )

    def error_body(self, status: int, message: str, code: int) -> dict:
        """PixLab's shape: ``{"status", "error"}`` (the HTTP status, the reason)."""
        return {"status": status, "error": message}

    @staticmethod
    def _params(request: Request) -> dict:
        params: dict[str, Any] = dict(request.args.items())
        params.update(request.form.items())
        if request.is_json:
            payload = request.get_json(silent=True)
            if isinstance(payload, dict):
                params.update(payload)
        return params

    def _guard(self, request: Request, params: dict) -> Response | None:
        key = params.get("key")
        if not key:
            header = request.headers.get("WWW-Authenticate", "").strip()
            key = header.split()[-1] if header else ""
        if not key:
            return self.error(401, "Missing API key: pass key or WWW-Authenticate")
        if key != self.config.api_key:
            return self.error(403, "Invalid API key")
        return None

    def _source(self, request: Request, params: dict) -> bytes | Response:
        upload = next(iter(request.files.values()), None)
        if upload is not None:
            return upload.read()
        img = params.get("img")
        if not img:
            return self.error(400, "Missing img: a URL or a multipart upload")
        img = str(img)
        if img.startswith(("http://", "https://")):
            return self._fetch(img)
        if img.startswith("data:"):
            img = img.partition(",")[2]
        try:
            return base64.b64decode(img, validate=True)
        except (binascii.Error, ValueError):
            return self.error(400, "img is neither a URL nor base64 image data")

    def _fetch(self, url: str) -> bytes | Response:
        try:
            return fetch_loopback(url, "img", self.config.pixlab_fetch_timeout)
        except ValueError as exc:
            return self.error(400, str(exc))

    def on_crop(self, request: Request) -> Response:
        """Crop region ``x``, ``y``, ``width``, ``height`` (one of the two sizes may be left
        out: square); JPEG in, JPEG out, otherwise PNG."""
        params = self._params(request)
        denied = self._guard(request, params)
        if denied is not None:
            return denied
        try:
            x = int_field(params.get("x"), "x", 0)
            y = int_field(params.get("y"), "y", 0)
            width = int_field(params.get("width"), "width")
            height = int_field(params.get("height"), "height")
        except ValueError as exc:
            return self.error(400, str(exc))
        if width is None:
            if height is None:
                return self.error(400, "Missing width and height (give at least one)")
            width = height
        elif height is None:
            height = width
        if self.credits <= 0:
            return self.error(402, "Out of API credits")
        data = self._source(request, params)
        if isinstance(data, Response):
            return data
        try:
            image = open_image(data, formats=FORMATS, max_pixels=MAX_PIXELS)
        except BadImage as exc:
            return self.error(400, str(exc))
        if x < 0 or y < 0 or width <= 0 or height <= 0:
            return self.error(400, "x, y must be >= 0 and width, height > 0")
        if x + width > image.width or y + height > image.height:
            return self.error(
                400,
                f"Crop region {x},{y} {width}x{height} exceeds the "
                f"{image.width}x{image.height} image",
            )
        fmt = "JPEG" if data[:3] == b"\xff\xd8\xff" and image.mode == "RGB" else "PNG"
        content = encode(crop(image, x, y, width, height), fmt)
        content_type = "image/jpeg" if fmt == "JPEG" else "image/png"
        self.charge()
        if str(params.get("blob", "")).lower() in TRUE_VALUES:
            return Response(content, content_type=content_type)
        media_id = uuid.uuid4().hex
        name = self.store_file(
            f"pixlab/{media_id}.{'jpg' if fmt == 'JPEG' else 'png'}", content, content_type
        )
        return json_response({"status": 200, "link": self.file_url(request, name), "id": media_id})

    def on_store(self, request: Request) -> Response:
        """Host a multipart upload (any field; ``file`` first); answers its link."""
        params = self._params(request)
        denied = self._guard(request, params)
        if denied is not None:
            return denied
        upload = request.files.get("file") or next(iter(request.files.values()), None)
        if upload is None:
            return self.error(400, "Missing file (multipart upload)")
        data = upload.read()
        try:
            open_image(data, formats=FORMATS, max_pixels=MAX_PIXELS)
        except BadImage as exc:
            return self.error(400, str(exc))
        media_id = uuid.uuid4().hex
        content_type = upload.mimetype or "application/octet-stream"
        name = self.store_file(f"pixlab/{media_id}-{upload.filename or 'file'}", data, content_type)
        return json_response({"status": 200, "link": self.file_url(request, name), "id": media_id})
