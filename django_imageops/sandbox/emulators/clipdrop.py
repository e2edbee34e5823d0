"""Clipdrop's Uncrop and Reimagine APIs (``vendor-docs/clipdrop.md``), under ``/clipdrop``.

``x-api-key`` auth (401 missing, 403 wrong), ``clipdrop_rpm`` requests per key per rolling
minute (then 429), 402 without credits; answers are JPEG with ``x-remaining-credits`` and
``x-credits-consumed``. Errors: ``{"error": message}``.
"""

from __future__ import annotations

import secrets
import time
from collections import deque

from PIL import Image
from werkzeug.wrappers import Request, Response

from ..imaging import BadImage, encode, extend, open_image, reimagine
from .base import Emulator, Route, int_field

MAX_PIXELS = 10_000_000
MAX_BYTES = 30 * 1024 * 1024
MAX_OFFSET = 2000
MAX_SEED = 100_000
REIMAGINE_MAX_SIDE = 1024
FORMATS = ("JPEG", "PNG", "WEBP")


class ClipdropEmulator(Emulator):
    """Uncrop (``POST /uncrop/v1``) and Reimagine (``POST /reimagine/v1/reimagine``).

    Options: ``api_key``, ``clipdrop_rpm``. State: the request times per API key (rate limit).
    """

    name = "clipdrop"
    label = "Clipdrop"
    routes = (
        Route("/uncrop/v1", "uncrop", ("POST",)),
        Route("/reimagine/v1/reimagine", "reimagine", ("POST",)),
    )

    def reset(self) -> None:
        self._hits: dict[str, deque] = {}

    def _guard(self, request: Request) -> Response | None:
        """Key (401/403), rate limit (429) and credits (402), in that order."""
        key = request.headers.get("x-api-key")
        if not key:
            return self.error(401, "No api key provided")
        if key != self.config.api_key:
            return self.error(403, "Invalid or revoked api key")
        now = time.monotonic()
        with self.lock:
            hits = self._hits.setdefault(key, deque())
            while hits and now - hits[0] >= 60:
                hits.popleft()
            if len(hits) >= self.config.clipdrop_rpm:
                limited = True
            else:
                limited = False
                hits.append(now)
            credits = self.credits
        if limited:
            self.count("rate_limited")
            return self.error(429, "Too many requests, blocked by the rate limiter")
        if credits <= 0:
            return self.error(402, "Your account has no remaining credits")
        return None

    def _image(self, request: Request, **limits) -> Image.Image | Response:
        upload = request.files.get("image_file")
        if upload is None:
            return self.error(400, "Missing image_file in request")
        data = upload.read()
        if len(data) > MAX_BYTES:
            return self.error(400, "Image file too big: maximum 30 MB")
        try:
            return open_image(data, formats=FORMATS, **limits)
        except BadImage as exc:
            return self.error(400, str(exc))

    def _success(self, image: Image.Image) -> Response:
        remaining = self.charge()
        return Response(
            encode(image, "JPEG"),
            content_type="image/jpeg",
            headers={"x-remaining-credits": str(remaining), "x-credits-consumed": "1"},
        )

    def on_uncrop(self, request: Request) -> Response:
        """``extend_left/right/up/down`` (<= 2000, negative crops) and ``seed`` (0..100000)."""
        denied = self._guard(request)
        if denied is not None:
            return denied
        form = request.form
        try:
            offsets = {
                side: int_field(form.get(f"extend_{side}"), f"extend_{side}", 0)
                for side in ("left", "right", "up", "down")
            }
            seed = int_field(form.get("seed"), "seed")
        except ValueError as exc:
            return self.error(400, str(exc))
        for side, value in offsets.items():
            if value > MAX_OFFSET:
                return self.error(400, f"extend_{side} must be at most {MAX_OFFSET}")
        if seed is not None and not 0 <= seed <= MAX_SEED:
            return self.error(400, f"seed must be between 0 and {MAX_SEED}")
        image = self._image(request, max_pixels=MAX_PIXELS)
        if isinstance(image, Response):
            return image
        if seed is None:
            seed = secrets.randbelow(MAX_SEED + 1)
        try:
            result = extend(
                image, offsets["left"], offsets["right"], offsets["up"], offsets["down"], seed
            )
        except ValueError as exc:
            return self.error(422, f"Input image is not acceptable: {exc}")
        return self._success(result)

    def on_reimagine(self, request: Request) -> Response:
        """A variation of the same size; images over 1024 px a side are refused."""
        denied = self._guard(request)
        if denied is not None:
            return denied
        image = self._image(request, max_side=REIMAGINE_MAX_SIDE)
        if isinstance(image, Response):
            return image
        return self._success(reimagine(image, secrets.randbelow(2**31)))
