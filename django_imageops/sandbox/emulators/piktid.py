"""PiktID's Magic Expand API (``vendor-docs/piktid-magic-expand.txt`` and NOTES.md) under
``/piktid/api``.

Token pairs from ``POST /tokens`` (Basic auth, e-mail and password) answered as
``{"access_token", "access_expiration", "refresh_token", "refresh_expiration"}``; ``PUT
/tokens`` refreshes a pair (the refresh token from the JSON body or a ``refresh_token``
cookie): the old pair stays valid ``piktid_refresh_grace`` (5) seconds, and a refresh token used
after that revokes every token. Bearer auth elsewhere; upload with ``/expand/target``;
``/edit/generate`` queues a result that appears as a notification named
``piktid_notification_name`` (``expand_generate`` or ``edit_generate``) ``piktid_delay``
seconds later. Errors: ``{"code": status, "message": reason phrase, "description": the
reason}`` (the shape of the Flask API template PiktID follows).
"""

from __future__ import annotations

import secrets
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from PIL import Image
from werkzeug.http import HTTP_STATUS_CODES
from werkzeug.wrappers import Request, Response

from ..imaging import BadImage, encode, extend, open_image
from .base import Emulator, Route, int_field, json_response

MIN_SIDE = 64
MAX_SIDE = 4096
FORMATS = ("WEBP", "JPEG", "PNG")
#: Generation seeds are drawn from the task id, in 0..100000.
_SEEDS = 100_001


def _iso(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, UTC).isoformat()


#: ``WWW-Authenticate`` of a refused bearer token.
_BEARER_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="Authentication Required"'}


@dataclass
class _Token:
    access_token: str
    refresh_token: str
    access_expires: float
    refresh_expires: float


class PiktidEmulator(Emulator):
    """Tokens, upload (``/expand/target``), ``/edit/generate``, notifications (read, delete).

    Options: ``piktid_email``, ``piktid_password``, ``piktid_delay``, ``piktid_token_ttl``,
    ``piktid_refresh_ttl``, ``piktid_refresh_grace``, ``piktid_notification_ttl``,
    ``piktid_notification_name``. State: tokens, uploaded images, notifications. Extra fault
    kind: ``notification_error`` (the next generation ends in an ``error`` notification).
    """

    name = "piktid"
    label = "PiktID"
    base_path = "/piktid/api"
    routes = (
        Route("/tokens", "tokens", ("POST", "PUT")),
        Route("/expand/target", "target", ("POST",)),
        Route("/edit/generate", "generate", ("POST",)),
        Route("/notification_by_name_json", "notifications", ("POST",)),
        Route("/notification/delete_json", "delete_notification", ("DELETE",)),
    )
    fault_kinds = ("notification_error",)

    def reset(self) -> None:
        """Drop the tokens, images and notifications."""
        self._tokens: dict[str, _Token] = {}
        self._images: dict[str, Image.Image] = {}
        self._notes: list[dict] = []
        self._next_note = 1

    def error_body(self, status: int, message: str, code: int) -> dict:
        """``{"code", "message", "description"}``: the status, its reason phrase, the reason."""
        return {
            "code": status,
            "message": HTTP_STATUS_CODES.get(status, "Unknown Error"),
            "description": message,
        }

    def _guard(self, request: Request) -> Response | None:
        auth = request.headers.get("Authorization", "")
        scheme, _, token = auth.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return self.error(401, "Missing bearer token", headers=_BEARER_CHALLENGE)
        with self.lock:
            record = self._tokens.get(token.strip())
        if record is None:
            return self.error(401, "Invalid access token", headers=_BEARER_CHALLENGE)
        if time.time() >= record.access_expires:
            return self.error(401, "Access token expired", headers=_BEARER_CHALLENGE)
        return None

    def _issue(self) -> dict:
        now = time.time()
        record = _Token(
            access_token=secrets.token_urlsafe(24),
            refresh_token=secrets.token_urlsafe(24),
            access_expires=now + self.config.piktid_token_ttl,
            refresh_expires=now + self.config.piktid_refresh_ttl,
        )
        with self.lock:
            self._tokens[record.access_token] = record
        return {
            "access_token": record.access_token,
            "access_expiration": _iso(record.access_expires),
            "refresh_token": record.refresh_token,
            "refresh_expiration": _iso(record.refresh_expires),
        }

    def on_tokens(self, request: Request) -> Response:
        """``POST``: a token pair for the account; ``PUT``: refresh a pair (JSON
        ``{"access_token", "refresh_token"}``, the refresh token possibly in a ``refresh_token``
        cookie instead). After a refresh the old pair stays valid ``piktid_refresh_grace``
        seconds; a refresh token used after its expiry revokes all of the user's tokens."""
        if request.method == "POST":
            auth = request.authorization
            if auth is None or auth.type != "basic":
                return self.error(
                    401,
                    "Basic authentication (e-mail, password) required",
                    headers={"WWW-Authenticate": 'Basic realm="PiktID"'},
                )
            if (
                auth.username != self.config.piktid_email
                or auth.password != self.config.piktid_password
            ):
                return self.error(401, "Invalid e-mail or password")
            return json_response(self._issue())
        payload = request.get_json(silent=True)
        payload = payload if isinstance(payload, dict) else {}
        access = payload.get("access_token")
        refresh = payload.get("refresh_token") or request.cookies.get("refresh_token")
        if not access or not refresh:
            return self.error(401, "access_token and refresh_token are required")
        now = time.time()
        with self.lock:
            record = self._tokens.get(access)
            if record is None or record.refresh_token != refresh:
                return self.error(401, "Invalid access or refresh token")
            if now >= record.refresh_expires:
                # A refresh token used after its expiry (a refresh's grace included): someone
                # may have stolen it, so every token of the user is revoked.
                self._tokens.clear()
                return self.error(401, "Refresh token expired: all tokens revoked")
            # The old pair stays valid a few seconds, for requests already under way.
            grace = now + self.config.piktid_refresh_grace
            record.access_expires = min(record.access_expires, grace)
            record.refresh_expires = min(record.refresh_expires, grace)
        return json_response(self._issue())

    def on_target(self, request: Request) -> Response:
        """Upload (multipart ``file``, 64..4096 px a side); answers the image id."""
        denied = self._guard(request)
        if denied is not None:
            return denied
        upload = request.files.get("file")
        if upload is None:
            return self.error(400, "Missing file (multipart form field 'file')")
        try:
            image = open_image(upload.read(), formats=FORMATS, max_side=MAX_SIDE, min_side=MIN_SIDE)
        except BadImage as exc:
            return self.error(400, str(exc))
        image_id = uuid.uuid4().hex
        with self.lock:
            self._images[image_id] = image
        return json_response({"image_id": image_id, "id_image": image_id})

    def on_generate(self, request: Request) -> Response:
        """Queue an expansion (``top/bottom/left/right``) of an uploaded image; its
        ``piktid_notification_name`` (or ``error``) notification appears ``piktid_delay`` s
        later."""
        denied = self._guard(request)
        if denied is not None:
            return denied
        payload = request.get_json(silent=True)
        if not isinstance(payload, dict):
            return self.error(400, "JSON body required")
        image_id = str(payload.get("id_image") or payload.get("image_id") or "")
        try:
            offsets = {
                side: int_field(payload.get(side), side, 0)
                for side in ("top", "bottom", "left", "right")
            }
        except ValueError as exc:
            return self.error(400, str(exc))
        with self.lock:
            image = self._images.get(image_id)
            credits = self.credits
        if image is None:
            return self.error(404, f"Image {image_id!r} not found")
        new_w = image.width + offsets["left"] + offsets["right"]
        new_h = image.height + offsets["top"] + offsets["bottom"]
        if not (MIN_SIDE <= new_w <= MAX_SIDE) or not (MIN_SIDE <= new_h <= MAX_SIDE):
            return self.error(
                400,
                f"Result would be {new_w}x{new_h}: each side must be within {MIN_SIDE}..{MAX_SIDE}",
            )
        if credits <= 0:
            return self.error(402, "Not enough credits")
        task_id = uuid.uuid4().hex
        now = time.time()
        data: dict[str, Any] = {"id_image": image_id, "address": image_id, "id_task": task_id}
        if self.take_fault("notification_error", endpoint="generate") is not None:
            name = "error"
            data["msg"] = "Generation failed (sandbox fault)"
        else:
            name = self.config.piktid_notification_name
            result = extend(
                image,
                offsets["left"],
                offsets["right"],
                offsets["top"],
                offsets["bottom"],
                seed=int(task_id[:8], 16) % _SEEDS,
            )
            file_name = self.store_file(f"piktid/{task_id}.png", encode(result, "PNG"), "image/png")
            data["links"] = [
                {"l": self.file_url(request, file_name), "w": result.width, "h": result.height}
            ]
            self.charge()
        visible_at = now + self.config.piktid_delay
        with self.lock:
            notification = {
                "id": self._next_note,
                "name": name,
                "timestamp": visible_at,
                "data": data,
                "_visible_at": visible_at,
                "_expires_at": visible_at + self.config.piktid_notification_ttl,
            }
            self._next_note += 1
            self._notes.append(notification)
        return json_response({"id_task": task_id, "id_image": image_id, "status": "queued"})

    def on_notifications(self, request: Request) -> Response:
        """Visible, unexpired notifications filtered by ``name_list``, ``id_image``, ``id_task``."""
        denied = self._guard(request)
        if denied is not None:
            return denied
        payload = request.get_json(silent=True) or {}
        names = payload.get("name_list") or [self.config.piktid_notification_name, "error"]
        if isinstance(names, str):
            names = [name.strip() for name in names.split(",") if name.strip()]
        image_id = payload.get("id_image")
        task_ids = payload.get("id_task")
        if isinstance(task_ids, str):
            task_ids = [task_ids]
        now = time.time()
        with self.lock:
            self._notes = [n for n in self._notes if n["_expires_at"] > now]
            found = [
                {k: v for k, v in n.items() if not k.startswith("_")}
                for n in self._notes
                if n["_visible_at"] <= now
                and n["name"] in names
                and (image_id is None or n["data"]["id_image"] == str(image_id))
                and (not task_ids or n["data"]["id_task"] in task_ids)
            ]
        return json_response({"notifications_list": found})

    def on_delete_notification(self, request: Request) -> Response:
        """Delete notification ``id`` (404 when there is none)."""
        denied = self._guard(request)
        if denied is not None:
            return denied
        payload = request.get_json(silent=True) or {}
        try:
            notification_id = int_field(payload.get("id"), "id")
        except ValueError as exc:
            return self.error(400, str(exc))
        with self.lock:
            before = len(self._notes)
            self._notes = [n for n in self._notes if n["id"] != notification_id]
            deleted = before != len(self._notes)
        if not deleted:
            return self.error(404, f"Notification {notification_id!r} not found")
        return json_response({"deleted": notification_id})
