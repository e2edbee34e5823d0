"""ClippingMagic background removal (https://clippingmagic.com/api).

HTTP basic authentication with the API Id as user and the API Key as password. Errors come as
``{"error": {"status": 400, "code": 1006, "message": "..."}}`` (but a non-JSON error body is
possible). Downloads answer a redirect (301-303) to the stored result on another host; the
basic-auth credentials must not follow it there (``requests`` drops the ``Authorization``
header whenever a redirect changes host, port or scheme).

Rate limiting: on 429 the vendor asks for a linear back-off per thread: 5 s after the first
consecutive 429, 10 s after the second, ... reset by a success. ``RateLimited.retry_after``
carries that value, counted per client instance (use one instance per thread).
"""

from __future__ import annotations

import re
import threading
from decimal import Decimal
from typing import Any
from urllib.parse import unquote

import requests

from .base import (
    DEFAULT_TIMEOUT,
    BaseClient,
    ImageUpload,
    VendorResult,
    parse_decimal,
    parse_retry_after,
    require_int,
)
from .errors import AuthenticationError, InvalidRequest, RateLimited, VendorError

#: Seconds of back-off per consecutive 429 (the vendor's documented linear back-off step).
BACKOFF_STEP = 5.0
#: Upload ``format`` values: ``json`` (no Auto-Clip, the Image JSON) or an Auto-Clip output.
UPLOAD_FORMATS = ("json", "result", "clipping_path_svg", "alpha_mask_png")
#: Download ``format`` values (``None`` = the result image).
DOWNLOAD_FORMATS = (None, "result", "clipping_path_svg", "alpha_mask_png", "json")
#: Vendor error code for invalid API credentials (seen in public integration code).
CODE_INVALID_CREDENTIALS = 1001


def _image_ids(image: dict[str, Any]) -> dict[str, str]:
    ids = {}
    for ours, theirs in (("id", "id"), ("secret", "secret"), ("result_revision", "resultRevision")):
        if image.get(theirs) is not None:
            ids[ours] = str(image[theirs])
    return ids


def content_disposition_filename(value: str | None) -> str:
    """The file name in a ``Content-Disposition`` header (``filename*=`` or ``filename=``)."""
    if not value:
        return ""
    match = re.search(r"filename\*\s*=\s*[^']*'[^']*'([^;]+)", value, re.I)
    if match:
        return unquote(match.group(1).strip().strip('"'))
    match = re.search(r'filename\s*=\s*"([^"]*)"', value, re.I) or re.search(
        r"filename\s*=\s*([^;]+)", value, re.I
    )
    return match.group(1).strip() if match else ""


class ClippingMagicClient(BaseClient):
    """Client for the ClippingMagic API.

    Args:
        api_id: the API Id (basic-auth user; also the only value ClippingMagic.js gets).
        api_key: the API Key (basic-auth password; never leaves the server).
        base_url: the site root (default ``https://clippingmagic.com``; the sandbox's
            ``<url>/clippingmagic`` in tests); paths are under ``/api/v1/``.
        timeout: ``(connect, read)`` seconds per request.
        session: a ``requests.Session`` to reuse.

    Results carry ``vendor_ids`` ``{"id", "secret", "result_revision"}`` (as far as the answer
    tells them). Errors: ``InvalidImage`` (400, e.g. code 1006 unreadable image),
    ``AuthenticationError`` (401/403 or code 1001), ``InsufficientCredits`` (402), ``NotFound``
    (404), ``RateLimited`` (429, linear back-off in ``retry_after``), ``VendorUnavailable``
    (5xx, timeouts, connection errors, a body that is not what the call returns).
    """

    vendor = "clippingmagic"

    def __init__(
        self,
        api_id: str,
        api_key: str,
        base_url: str = "https://clippingmagic.com",
        *,
        timeout: tuple[float, float] | float = DEFAULT_TIMEOUT,
        session: requests.Session | None = None,
    ):
        super().__init__(base_url, timeout=timeout, session=session)
        self.api_id = str(api_id)
        self.api_key = api_key
        self._lock = threading.Lock()
        #: consecutive 429 answers seen by this client (reset by any success)
        self.consecutive_429 = 0

    # -- plumbing ---------------------------------------------------------------------------

    def _request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        response = self.send(method, self.url(path), auth=(self.api_id, self.api_key), **kwargs)
        if 200 <= response.status_code < 300:
            with self._lock:
                self.consecutive_429 = 0
            return response
        raise self.error_from_response(response)

    def error_details(self, payload: Any) -> tuple[str, str | int | None] | None:
        """ClippingMagic's error body is ``{"error": {"status", "code", "message"}}``."""
        if isinstance(payload, dict) and isinstance(payload.get("error"), dict):
            error = payload["error"]
            return str(error.get("message") or "").strip(), error.get("code")
        return super().error_details(payload)

    def error_class(self, status: int, code: str | int | None, payload: Any) -> type[VendorError]:
        """By HTTP status, except code 1001 (invalid API credentials) is always authentication."""
        if str(code) == str(CODE_INVALID_CREDENTIALS):
            return AuthenticationError
        return super().error_class(status, code, payload)

    def error_from_response(self, response: requests.Response) -> VendorError:
        """The typed error; a 429 gets ``retry_after`` = 5 s x consecutive 429s (at least the
        ``Retry-After`` header when one is sent)."""
        error = super().error_from_response(response)
        if isinstance(error, RateLimited):
            with self._lock:
                self.consecutive_429 += 1
                backoff = BACKOFF_STEP * self.consecutive_429
            header = parse_retry_after(response.headers.get("Retry-After"))
            error.retry_after = max(backoff, header or 0.0)
        return error

    def _json_result(self, response: requests.Response, key: str | None = "image") -> VendorResult:
        payload = self.expect_json(response)
        data = payload
        if key is not None:
            nested = payload.get(key)
            if not isinstance(nested, dict):
                raise VendorError(
                    f"answer has no {key!r} object: {str(payload)[:200]}",
                    vendor=self.vendor,
                    status_code=response.status_code,
                )
            data = nested
        return VendorResult(
            content=b"",
            content_type="application/json",
            credits_consumed=Decimal(0),
            vendor_ids=_image_ids(data),
            data=data,
            status_code=response.status_code,
            headers=dict(response.headers),
        )

    def _file_result(
        self,
        response: requests.Response,
        credits_consumed: Decimal | None,
        image_id: str | int | None = None,
    ) -> VendorResult:
        self.expect_image(response)
        # The x-amz-meta-* and Content-Disposition headers may come on the redirect or on the
        # stored result: the final answer wins.
        answers = [*response.history, response]
        headers: dict[str, str] = {}
        for answer in answers:
            headers.update(answer.headers)

        def header(name: str) -> str | None:
            """The header's stripped value on the last answer that has it, or None."""
            for answer in reversed(answers):
                if answer.headers.get(name):
                    return answer.headers[name].strip()
            return None

        ids = {"id": str(image_id)} if image_id is not None else {}
        for ours, name in (
            ("id", "x-amz-meta-id"),
            ("secret", "x-amz-meta-secret"),
            ("result_revision", "x-amz-meta-resultrevision"),
        ):
            value = header(name)
            if value is not None:
                ids[ours] = value
        return VendorResult(
            content=response.content,
            content_type=response.headers.get("Content-Type", "").split(";")[0].strip(),
            credits_consumed=credits_consumed,
            vendor_ids=ids,
            data={"filename": content_disposition_filename(header("Content-Disposition"))},
            status_code=response.status_code,
            headers=headers,
        )

    # -- API actions ------------------------------------------------------------------------

    def upload(
        self, image: ImageUpload | bytes, test: bool = False, format: str = "json"
    ) -> VendorResult:
        """Upload an image; optionally Auto-Clip it at once.

        Endpoint: ``POST {base_url}/api/v1/images``, multipart ``image`` plus ``test=true`` and
        ``format`` when not ``"json"``.

        Args:
            image: BMP, GIF, JPEG, PNG or TIFF bytes, at most 16,777,216 pixels (the vendor
                shrinks to 4,194,404; pre-shrink to that).
            test: a free, watermarked test image.
            format: ``"json"`` (no Auto-Clip: ``data`` is the Image JSON object, for review in
                ClippingMagic.js), ``"result"`` (the Auto-Clip image), ``"clipping_path_svg"`` or
                ``"alpha_mask_png"``.

        Returns:
            ``VendorResult``: for ``json``, ``data`` = ``{"id", "secret", "resultRevision",
            "originalFilename", "test"}`` and no credit; otherwise ``content`` = the file,
            ``vendor_ids`` id/secret from ``x-amz-meta-id``/``x-amz-meta-secret`` and
            ``credits_consumed`` 1 for a production result, 0 for a test one.
        """
        if format not in UPLOAD_FORMATS:
            raise InvalidRequest(
                f"format must be one of {', '.join(UPLOAD_FORMATS)}, not {format!r}"
            )
        upload = ImageUpload.coerce(image)
        data = {}
        if test:
            data["test"] = "true"
        if format != "json":
            data["format"] = format
        response = self._request(
            "POST", "api/v1/images", files={"image": upload.as_multipart()}, data=data
        )
        if format == "json":
            return self._json_result(response)
        return self._file_result(response, Decimal(0) if test else Decimal(1))

    def download(self, image_id: str | int, format: str | None = None) -> VendorResult:
        """Download an image's result (following the redirect to where it is stored).

        Endpoint: ``GET {base_url}/api/v1/images/{image_id}`` (``format`` as a query parameter).
        Production results cost one credit the first time they are downloaded; the vendor does
        not say which download was the first, so ``credits_consumed`` is ``None`` for files.

        Args:
            image_id: the id from ``upload``.
            format: ``None``/``"result"`` (the image), ``"clipping_path_svg"``,
                ``"alpha_mask_png"`` or ``"json"`` (the Image JSON object, free; see ``get``).

        Returns:
            ``VendorResult`` with ``content`` = the file, ``vendor_ids["result_revision"]`` from
            ``x-amz-meta-resultrevision`` and ``data["filename"]`` from ``Content-Disposition``
            (``.png`` transparent, ``.jpeg`` opaque); for ``json`` like ``get``.

        Raises:
            NotFound / InvalidImage: no such image or no result yet (the vendor's error).
        """
        if format not in DOWNLOAD_FORMATS:
            raise InvalidRequest(f"format must be one of {DOWNLOAD_FORMATS}, not {format!r}")
        # "result" is the default download (the docs list no format=result for downloads).
        params = {"format": format} if format not in (None, "result") else None
        response = self._request(
            "GET", f"api/v1/images/{_path_id(image_id)}", params=params, allow_redirects=True
        )
        if format == "json":
            return self._json_result(response)
        return self._file_result(response, None, image_id=image_id)

    def get(self, image_id: str | int) -> VendorResult:
        """The Image JSON object (free): ``data`` = ``{"id", "secret", "resultRevision", ...}``.

        Endpoint: ``GET {base_url}/api/v1/images/{image_id}?format=json``. Use it to check
        ``resultRevision`` before downloading a newer result.
        """
        return self.download(image_id, format="json")

    def list(self, limit: int = 20, offset: int = 0) -> VendorResult:
        """A page of this account's images.

        Endpoint: ``GET {base_url}/api/v1/images?limit=&offset=``.

        Args:
            limit: 1..100 records.
            offset: records to skip.

        Returns:
            ``VendorResult`` with ``data`` = ``{"images": [Image JSON...], "limit", "offset"}``.
        """
        require_int("limit", limit, minimum=1, maximum=100)
        require_int("offset", offset, minimum=0)
        response = self._request("GET", "api/v1/images", params={"limit": limit, "offset": offset})
        return self._json_result(response, key=None)

    def delete(self, image_id: str | int) -> VendorResult:
        """Delete an image (test images reportedly cannot be deleted).

        Endpoint: ``POST {base_url}/api/v1/images/{image_id}/delete``.

        Returns:
            ``VendorResult`` with ``data`` = the deleted Image JSON object.
        """
        response = self._request("POST", f"api/v1/images/{_path_id(image_id)}/delete")
        return self._json_result(response)

    def account(self) -> VendorResult:
        """Subscription state and credits left.

        Endpoint: ``GET {base_url}/api/v1/account``.

        Returns:
            ``VendorResult`` with ``data`` = ``{"subscriptionPlan", "subscriptionState",
            "credits"}`` and ``credits_remaining`` = ``credits``.
        """
        response = self._request("GET", "api/v1/account")
        result = self._json_result(response, key=None)
        return VendorResult(
            content_type=result.content_type,
            credits_consumed=Decimal(0),
            credits_remaining=parse_decimal(result.data.get("credits")),
            data=result.data,
            status_code=result.status_code,
            headers=result.headers,
        )


def _path_id(image_id: str | int) -> str:
    value = str(image_id).strip()
    if not value or not re.fullmatch(r"[A-Za-z0-9_-]+", value):
        raise InvalidRequest(f"not a ClippingMagic image id: {image_id!r}")
    return value


__all__ = ["ClippingMagicClient", "content_disposition_filename"]
