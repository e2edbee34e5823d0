"""PiktID Magic Expand (https://api.piktid.com/api): asynchronous expand / crop of an image.

Flow: ``upload_target`` (``POST /expand/target``) -> ``generate_expand`` (``POST /edit/generate``)
-> ``poll`` (``POST /notification_by_name_json``, no faster than every 3 s; notifications vanish
600 s after creation) -> ``download`` the result link -> ``delete_notification``.

Authentication: ``POST /tokens`` with HTTP basic (account e-mail, password) gives an
``access_token`` / ``refresh_token`` pair (with ``access_expiration`` / ``refresh_expiration``,
not needed here); requests carry ``Authorization: Bearer <access>``. On a 401 the client
refreshes once with ``PUT /tokens`` JSON ``{"access_token", "refresh_token"}`` and retries the
request once. After a refresh the old pair stays valid for 5 s, and a refresh token used after
that revokes all of the user's tokens, so the new pair replaces the old one at once and is handed
to ``on_tokens`` to be persisted. If the refresh is refused it logs in again with basic auth,
once. Several workers share one account: a renewal (login or refresh) holds ``tokens_lock()``
and first reads the stored pair again (``load_tokens()``); when another worker has stored a new
pair meanwhile, that pair is used and the old refresh token is not spent twice. A token answer
without a ``refresh_token`` in its body may carry it in a ``refresh_token`` cookie: it is read
from there.

Errors: ``{"code", "message", "description"}``, where ``message`` is only the HTTP reason
phrase ("Bad Request") and ``description`` the reason a person needs (validation errors may
add ``errors``); the client shows ``description``.

Notifications: the expand page names a finished generation ``expand_generate``; PiktID's
official samples that call ``/edit/generate`` poll for ``edit_generate``. The client polls for
both (``NOTIFICATION_NAMES``) and accepts either.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

import requests

from .base import (
    DEFAULT_TIMEOUT,
    BaseClient,
    ImageUpload,
    VendorResult,
    require_int,
)
from .errors import AuthenticationError, VendorError

logger = logging.getLogger(__name__)

#: Names of a finished generation's notification: the expand page's and the samples'.
RESULT_NOTIFICATIONS = ("expand_generate", "edit_generate")
#: Notification names this client asks for (a result under either name, and errors).
NOTIFICATION_NAMES = ",".join((*RESULT_NOTIFICATIONS, "error"))


def _notification_data(notification: dict[str, Any]) -> dict[str, Any]:
    data = notification.get("data")
    if isinstance(data, str):  # some PiktID notifications carry their data JSON-encoded
        try:
            data = json.loads(data)
        except ValueError:
            return {"msg": data}
    return data if isinstance(data, dict) else {}


def _pair(tokens: dict[str, str] | None) -> dict[str, str] | None:
    """``{"access_token", "refresh_token"}`` from a stored pair, or None without an access token."""
    if not tokens or not tokens.get("access_token"):
        return None
    return {
        "access_token": tokens["access_token"],
        "refresh_token": tokens.get("refresh_token", ""),
    }


def _error_text(data: dict[str, Any]) -> str:
    for key in ("msg", "message", "error", "detail", "description"):
        value = data.get(key)
        if value:
            return str(value)
    return json.dumps(data, default=str)[:500] or "error"


class PiktidClient(BaseClient):
    """Client for PiktID Magic Expand.

    Args:
        email: the PiktID account e-mail (basic-auth user for ``POST /tokens``).
        password: the account password.
        base_url: the API root (default ``https://api.piktid.com/api``; the sandbox's
            ``<url>/piktid/api`` in tests).
        tokens: a stored ``{"access_token", "refresh_token"}`` pair to start with (a login
            happens on the first call when omitted).
        on_tokens: called with ``{"access_token", "refresh_token"}`` whenever a new pair is
            obtained (login or refresh) so the caller can persist it.
        load_tokens: returns the pair stored now (what ``on_tokens`` last persisted, by any
            worker), or None; read again before each renewal.
        tokens_lock: returns a context manager held around each renewal (e.g. a lock shared
            by every worker of the account), so that one renews and the others reuse its pair.
        timeout: ``(connect, read)`` seconds per request.
        session: a ``requests.Session`` to reuse.

    Errors: ``AuthenticationError`` (401/403 after the refresh and re-login; wrong e-mail or
    password), ``InvalidImage`` (400/422, e.g. outside 64..4096 px), ``InsufficientCredits``
    (402), ``NotFound`` (404), ``RateLimited`` (429), ``VendorUnavailable`` (5xx, timeouts,
    connection errors, a body that is not what the call returns).
    """

    vendor = "piktid"

    def __init__(
        self,
        email: str,
        password: str,
        base_url: str = "https://api.piktid.com/api",
        tokens: dict[str, str] | None = None,
        on_tokens: Callable[[dict[str, str]], Any] | None = None,
        *,
        load_tokens: Callable[[], dict[str, str] | None] | None = None,
        tokens_lock: Callable[[], AbstractContextManager] = nullcontext,
        timeout: tuple[float, float] | float = DEFAULT_TIMEOUT,
        session: requests.Session | None = None,
    ):
        super().__init__(base_url, timeout=timeout, session=session)
        self.email = email
        self.password = password
        self.on_tokens = on_tokens
        self.load_tokens = load_tokens
        self.tokens_lock = tokens_lock
        self.tokens = _pair(tokens)
        self._lock = threading.Lock()

    # -- tokens -----------------------------------------------------------------------------

    def error_details(self, payload: Any) -> tuple[str, str | int | None] | None:
        """PiktID errors: ``{"code", "message", "description"}``: the reason is
        ``description`` (``message`` is only the reason phrase; ``code`` the HTTP status), with
        a validation error's ``errors`` appended. Other shapes: ``{"error"}``, ``{"message"}``,
        ``{"msg"}``, ``{"detail"}``."""
        if isinstance(payload, dict):
            description = payload.get("description")
            if isinstance(description, str) and description.strip():
                text = description.strip()
                if payload.get("errors"):
                    text = f"{text.rstrip('.')}: {json.dumps(payload['errors'], default=str)}"
                return text[:1000], None
            for key in ("error", "message", "msg", "detail"):
                value = payload.get(key)
                if isinstance(value, str) and value:
                    return value, payload.get("code")
                if isinstance(value, dict) and value.get("message"):
                    return str(value["message"]), value.get("code")
        return None

    def _store_tokens(self, payload: dict[str, Any], response: requests.Response) -> None:
        access = payload.get("access_token")
        if not access:
            raise AuthenticationError(
                f"no access_token in the token answer: {str(payload)[:200]}",
                vendor=self.vendor,
                status_code=response.status_code,
            )
        refresh = payload.get("refresh_token") or response.cookies.get("refresh_token") or ""
        pair = {"access_token": str(access), "refresh_token": str(refresh)}
        self.tokens = pair
        if self.on_tokens is not None:
            self.on_tokens(dict(pair))

    def login(self) -> dict[str, str]:
        """Obtain a new token pair with the account e-mail and password.

        Endpoint: ``POST {base_url}/tokens`` with HTTP basic auth.

        Returns:
            the new ``{"access_token", "refresh_token"}`` (also passed to ``on_tokens``).

        Raises:
            AuthenticationError: wrong e-mail or password (401/403).
        """
        response = self.check(
            self.send("POST", self.url("tokens"), auth=(self.email, self.password))
        )
        self._store_tokens(self.expect_json(response), response)
        return dict(self.tokens or {})

    def refresh(self) -> dict[str, str]:
        """Exchange the current pair for a new one (the old refresh token is then spent).

        Endpoint: ``PUT {base_url}/tokens`` with JSON ``{"access_token", "refresh_token"}``.

        Returns:
            the new ``{"access_token", "refresh_token"}`` (also passed to ``on_tokens``).

        Raises:
            AuthenticationError: no pair to refresh or the refresh was refused.
        """
        if not self.tokens or not self.tokens.get("refresh_token"):
            raise AuthenticationError("no refresh token to refresh with", vendor=self.vendor)
        response = self.check(
            self.send(
                "PUT",
                self.url("tokens"),
                json={
                    "access_token": self.tokens["access_token"],
                    "refresh_token": self.tokens["refresh_token"],
                },
            )
        )
        self._store_tokens(self.expect_json(response), response)
        return dict(self.tokens or {})

    def _renew(self, refused: str | None) -> bool:
        """Get a pair to replace the access token ``refused`` (None: there is no pair yet),
        holding ``tokens_lock()``: the stored pair when another worker has renewed meanwhile,
        else a refresh (a login when there is nothing to refresh or the refresh is refused).

        Returns:
            True when the pair is the stored one (not obtained here, so not known to work)."""
        with self.tokens_lock():
            stored = _pair(self.load_tokens() if self.load_tokens is not None else None)
            if stored is not None and stored["access_token"] != refused:
                self.tokens = stored
                return True
            if not self.tokens or not self.tokens.get("refresh_token"):
                self.login()
                return False
            try:
                self.refresh()
            except (AuthenticationError, VendorError) as exc:
                if exc.retryable:
                    raise
                logger.info("PiktID token refresh refused (%s); logging in again", exc)
                self.login()
            return False

    def _request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        """Send an authenticated request; on a 401 renew the tokens and retry: once, and once
        more when the first renewal only took a pair another worker had stored."""
        with self._lock:
            if self.tokens is None:
                self._renew(None)
            access = self.tokens["access_token"]  # type: ignore[index]
        response = self._send_bearer(method, path, access, **kwargs)
        untried = True  # the pair in use may be one this client has not seen work
        while response.status_code == 401 and untried:
            with self._lock:
                # Another thread may have renewed the pair meanwhile: only renew a stale one.
                untried = False
                if self.tokens is None or self.tokens["access_token"] == access:
                    untried = self._renew(access)
                access = self.tokens["access_token"]  # type: ignore[index]
            response = self._send_bearer(method, path, access, **kwargs)
        return self.check(response)

    def _send_bearer(self, method: str, path: str, access: str, **kwargs: Any):
        headers = {**kwargs.pop("headers", {}), "Authorization": f"Bearer {access}"}
        return self.send(method, self.url(path), headers=headers, **kwargs)

    # -- API actions ------------------------------------------------------------------------

    def upload_target(self, image: ImageUpload | bytes) -> VendorResult:
        """Upload the image to expand (PiktID deletes it after 24 hours).

        Endpoint: ``POST {base_url}/expand/target``, multipart ``file``.

        Args:
            image: WEBP, JPEG or PNG bytes, 64x64 .. 4096x4096 pixels.

        Returns:
            ``VendorResult`` with ``vendor_ids["image_id"]`` (read from ``image_id`` or
            ``id_image``) and ``data`` = the answer.
        """
        upload = ImageUpload.coerce(image)
        response = self._request("POST", "expand/target", files={"file": upload.as_multipart()})
        payload = self.expect_json(response)
        image_id = payload.get("image_id") or payload.get("id_image")
        if not image_id:
            raise VendorError(
                f"no image_id in the upload answer: {str(payload)[:200]}",
                vendor=self.vendor,
                status_code=response.status_code,
            )
        return VendorResult(
            content_type="application/json",
            vendor_ids={"image_id": str(image_id)},
            data=payload,
            status_code=response.status_code,
            headers=dict(response.headers),
        )

    def generate_expand(
        self, image_id: str, left: int = 0, right: int = 0, top: int = 0, bottom: int = 0
    ) -> VendorResult:
        """Start expanding (positive) or cropping (negative) each side by that many pixels.

        Endpoint: ``POST {base_url}/edit/generate`` JSON ``{"id_image", "top", "bottom", "left",
        "right"}``. The result arrives later as a notification: see ``poll``.

        Returns:
            ``VendorResult`` with ``vendor_ids["image_id"]`` (and ``"task_id"`` when the answer
            names one) and ``data`` = the answer.
        """
        offsets = {
            "top": require_int("top", top),
            "bottom": require_int("bottom", bottom),
            "left": require_int("left", left),
            "right": require_int("right", right),
        }
        response = self._request(
            "POST", "edit/generate", json={"id_image": str(image_id), **offsets}
        )
        payload = self.expect_json(response) if response.content else {}
        ids = {"image_id": str(image_id)}
        task_id = payload.get("id_task") or payload.get("task_id")
        if task_id:
            ids["task_id"] = str(task_id)
        return VendorResult(
            content_type="application/json",
            vendor_ids=ids,
            data=payload,
            status_code=response.status_code,
            headers=dict(response.headers),
        )

    def poll(self, image_id: str) -> VendorResult:
        """One look at the notifications for ``image_id`` (call no faster than every 3 s).

        Endpoint: ``POST {base_url}/notification_by_name_json`` JSON
        ``{"name_list": "expand_generate,edit_generate,error", "id_image": image_id}``: a
        result is accepted under either name. Only notifications whose ``data`` names this
        image (as ``address`` or ``id_image``) count.

        Returns:
            ``VendorResult`` whose ``data`` is ``{"state": "pending"|"succeeded"|"failed",
            "link": str|None, "notification_id": str|None, "error": str|None}``; a result wins
            over an error notification. ``vendor_ids`` has ``image_id`` and, when one was found,
            ``notification_id``.
        """
        response = self._request(
            "POST",
            "notification_by_name_json",
            json={"name_list": NOTIFICATION_NAMES, "id_image": str(image_id)},
        )
        payload = self.expect_json(response)
        notifications = payload.get("notifications_list") or []
        state: dict[str, Any] = {
            "state": "pending",
            "link": None,
            "notification_id": None,
            "error": None,
        }
        for notification in notifications if isinstance(notifications, list) else []:
            if not isinstance(notification, dict):
                continue
            data = _notification_data(notification)
            named = data.get("address", data.get("id_image"))
            if named is None or str(named) != str(image_id):
                continue
            notification_id = notification.get("id")
            notification_id = None if notification_id is None else str(notification_id)
            name = notification.get("name")
            if name in RESULT_NOTIFICATIONS:
                links = data.get("links") or []
                link = links[0].get("l") if links and isinstance(links[0], dict) else None
                if link:
                    state = {
                        "state": "succeeded",
                        "link": str(link),
                        "notification_id": notification_id,
                        "error": None,
                    }
                    break
                state = {
                    "state": "failed",
                    "link": None,
                    "notification_id": notification_id,
                    "error": f"{name} notification without a result link",
                }
            elif name == "error" and state["state"] == "pending":
                state = {
                    "state": "failed",
                    "link": None,
                    "notification_id": notification_id,
                    "error": _error_text(data),
                }
        ids = {"image_id": str(image_id)}
        if state["notification_id"]:
            ids["notification_id"] = state["notification_id"]
        return VendorResult(
            content_type="application/json",
            vendor_ids=ids,
            data=state,
            status_code=response.status_code,
            headers=dict(response.headers),
        )

    def delete_notification(self, notification_id: str | int) -> VendorResult:
        """Delete a handled notification so it is not read again.

        Endpoint: ``DELETE {base_url}/notification/delete_json`` JSON ``{"id": notification_id}``
        (a numeric id is sent as a number, as PiktID issues them).
        """
        value: str | int = notification_id
        if isinstance(value, str) and value.isdigit():
            value = int(value)
        response = self._request("DELETE", "notification/delete_json", json={"id": value})
        payload: Any = {}
        if response.content:
            payload = self.expect_json(response)
        return VendorResult(
            content_type=response.headers.get("Content-Type", ""),
            vendor_ids={"notification_id": str(notification_id)},
            data=payload,
            status_code=response.status_code,
            headers=dict(response.headers),
        )

    def download(self, link: str) -> VendorResult:
        """Download a result from a notification's ``links[0]["l"]`` URL.

        Endpoint: ``GET link`` (a static link, usually on another host): sent without the bearer
        token or any credential. Costs nothing more (the generation was charged).

        Returns:
            ``VendorResult`` with the image bytes and content type.
        """
        scheme = urlsplit(link).scheme
        if scheme not in ("http", "https"):
            raise VendorError(f"not an http(s) result link: {link!r}", vendor=self.vendor)
        response = self.check(self.send("GET", link, allow_redirects=True))
        self.expect_image(response)
        return VendorResult(
            content=response.content,
            content_type=response.headers.get("Content-Type", "").split(";")[0].strip(),
            credits_consumed=Decimal(0),
            status_code=response.status_code,
            headers=dict(response.headers),
        )
