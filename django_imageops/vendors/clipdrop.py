"""Clipdrop: Uncrop (``POST /uncrop/v1``) and Reimagine (``POST /reimagine/v1/reimagine``).

Authentication is the ``x-api-key`` header. A success answers the image (JPEG) with the
``x-remaining-credits`` and ``x-credits-consumed`` headers; an error answers
``{"error": "..."}`` with the meaning in the status: 400 malformed / invalid / too big image,
401 missing key, 402 no credits, 403 invalid or revoked key, 422 image not acceptable,
429 rate limited (60 requests per minute per key), 500. Public client code also handles an
undocumented 406 from uncrop: it is read as a refused image (``InvalidImage``).
"""

from __future__ import annotations

import requests

from .base import (
    DEFAULT_TIMEOUT,
    BaseClient,
    ImageUpload,
    VendorResult,
    parse_decimal,
    require_int,
    response_json,
)
from .errors import InvalidImage, VendorError

#: Largest offset Clipdrop Uncrop accepts on one side, in pixels ("maximum of 2k").
MAX_EXTEND = 2000
#: Range of Clipdrop Uncrop's ``seed``.
SEED_RANGE = (0, 100_000)
#: An undocumented status public client code handles: the image was not acceptable.
NOT_ACCEPTABLE = 406


class ClipdropClient(BaseClient):
    """Client for the Clipdrop APIs (https://clipdrop-api.co).

    Args:
        api_key: the Clipdrop API key, sent as ``x-api-key``.
        base_url: the API root (default ``https://clipdrop-api.co``; the sandbox's
            ``<url>/clipdrop`` in tests).
        timeout: ``(connect, read)`` seconds per request.
        session: a ``requests.Session`` to reuse.

    Every method returns a ``VendorResult`` whose ``content`` is the result image and raises
    ``InvalidRequest`` (nothing sent) for out-of-range arguments, ``InvalidImage`` (400/422,
    and the undocumented 406),
    ``AuthenticationError`` (401/403), ``InsufficientCredits`` (402), ``RateLimited``
    (429, ``retry_after`` from ``Retry-After`` when sent) or ``VendorUnavailable`` (5xx,
    timeouts, connection errors, a non-image success body).
    """

    vendor = "clipdrop"

    def __init__(
        self,
        api_key: str,
        base_url: str = "https://clipdrop-api.co",
        *,
        timeout: tuple[float, float] | float = DEFAULT_TIMEOUT,
        session: requests.Session | None = None,
    ):
        super().__init__(base_url, timeout=timeout, session=session)
        self.api_key = api_key

    def error_class(self, status, code, payload) -> type[VendorError]:
        """By HTTP status, and the undocumented 406 is a refused image (``InvalidImage``)."""
        if status == NOT_ACCEPTABLE:
            return InvalidImage
        return super().error_class(status, code, payload)

    def error_from_response(self, response: requests.Response) -> VendorError:
        """The typed error; a 406 without Clipdrop's ``{"error"}`` body says in plain words
        that the image was not accepted."""
        error = super().error_from_response(response)
        if (
            response.status_code == NOT_ACCEPTABLE
            and self.error_details(response_json(response)) is None
        ):
            error.message = (
                "the image was not accepted (HTTP 406 Not Acceptable, a status Clipdrop does "
                f"not document); the answer was a {error.message}"
            )
        return error

    def _post_image(
        self, path: str, image: ImageUpload | bytes, data: dict[str, str]
    ) -> VendorResult:
        upload = ImageUpload.coerce(image)
        response = self.send(
            "POST",
            self.url(path),
            # An empty key is not sent at all: the vendor answers 401 "missing key".
            headers={"x-api-key": self.api_key} if self.api_key else {},
            files={"image_file": upload.as_multipart()},
            data=data,
        )
        self.expect_image(self.check(response))
        return VendorResult(
            content=response.content,
            content_type=response.headers.get("Content-Type", "").split(";")[0].strip(),
            credits_consumed=parse_decimal(response.headers.get("x-credits-consumed")),
            credits_remaining=parse_decimal(response.headers.get("x-remaining-credits")),
            status_code=response.status_code,
            headers=dict(response.headers),
        )

    def uncrop(
        self,
        image: ImageUpload | bytes,
        left: int = 0,
        right: int = 0,
        top: int = 0,
        bottom: int = 0,
        seed: int | None = None,
    ) -> VendorResult:
        """Extend (positive) or crop (negative) each side of ``image`` by that many pixels.

        Endpoint: ``POST {base_url}/uncrop/v1``, multipart ``image_file`` plus ``extend_left``,
        ``extend_right``, ``extend_up`` (our ``top``), ``extend_down`` (our ``bottom``) and the
        optional ``seed`` (same seed, same output). Sides of 0 are not sent (the vendor's default).

        Args:
            image: JPG, PNG or WebP bytes, at most 10 megapixels and 30 MB (checked by the vendor:
                400 -> ``InvalidImage``).
            left, right, top, bottom: pixels, each at most 2000.
            seed: ``0..100000`` or ``None``.

        Returns:
            ``VendorResult`` with the JPEG bytes and ``credits_consumed`` / ``credits_remaining``.
        """
        data: dict[str, str] = {}
        for ours, theirs, value in (
            ("left", "extend_left", left),
            ("right", "extend_right", right),
            ("top", "extend_up", top),
            ("bottom", "extend_down", bottom),
        ):
            if require_int(ours, value, maximum=MAX_EXTEND):
                data[theirs] = str(value)
        if seed is not None:
            data["seed"] = str(
                require_int("seed", seed, minimum=SEED_RANGE[0], maximum=SEED_RANGE[1])
            )
        return self._post_image("uncrop/v1", image, data)

    def reimagine(self, image: ImageUpload | bytes) -> VendorResult:
        """A similar-but-different variation of ``image``, the same size.

        Endpoint: ``POST {base_url}/reimagine/v1/reimagine``, multipart ``image_file``.

        Args:
            image: PNG, JPEG or WebP bytes at most 1024x1024 pixels (checked by the vendor:
                400 -> ``InvalidImage``; the operations layer downscales first).

        Returns:
            ``VendorResult`` with the JPEG bytes and ``credits_consumed`` / ``credits_remaining``.
        """
        return self._post_image("reimagine/v1/reimagine", image, {})
