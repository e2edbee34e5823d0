"""ClippingMagic's API (``vendor-docs/clippingmagic.md``) under ``/clippingmagic``, its
ClippingMagic.js stand-in and the editor-save control.

HTTP Basic auth (API Id, API Key); upload of an ``image`` file or an ``image.url`` (loopback
URLs only: the sandbox never fetches from the network) with ``format`` json / result /
clipping_path_svg / alpha_mask_png, ``test=true`` results free and watermarked, production
results charge one credit on first download, downloads by id answer 302 to the stored result
(and, with ``clippingmagic_result_redirect``, so does an upload with a result format: 303).
Errors: ``{"error": {"status", "code", "message"}}`` with ClippingMagic's codes.
"""

from __future__ import annotations

import secrets
import urllib.parse
from dataclasses import dataclass
from importlib import resources

from PIL import Image, ImageFilter
from werkzeug.wrappers import Request, Response

from ..imaging import BadImage, clipping_path_svg, encode, open_image, remove_background, watermark
from .base import TRUE_VALUES, Emulator, Route, fetch_loopback, int_field, json_response

MAX_PIXELS = 16_777_216
SHRINK_PIXELS = 4_194_404
FORMATS = ("BMP", "GIF", "JPEG", "PNG", "TIFF")
RESULT_FORMATS = ("result", "clipping_path_svg", "alpha_mask_png")

#: Seconds the sandbox waits for an ``image.url``.
FETCH_TIMEOUT = 10.0

# ClippingMagic's error codes: 1001 (invalid credentials) and 1006 (unreadable image) are seen in
# public integration code, which also reads 1008 as "trial expired"; no public source gives the
# others, so they are the sandbox's own (and "no result yet" stays clear of 1008).
BAD_AUTH, BAD_PARAMETER, NOT_FOUND, NO_CREDITS = 1001, 1002, 1003, 1004
UNREADABLE, TOO_LARGE, NO_RESULT = 1006, 1007, 1010


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


class ClippingMagicEmulator(Emulator):
    """Images (upload, list, download, delete), the account, ClippingMagic.js, and
    ``POST /_sandbox/clippingmagic/{id}/edit`` standing in for a person saving in the editor.

    Options: ``api_id``, ``api_key``, ``clippingmagic_result_redirect``. State: the uploaded
    images and their results.
    """

    name = "clippingmagic"
    label = "ClippingMagic"
    routes = (
        Route("/api/v1/images", "images", ("GET", "POST")),
        Route("/api/v1/images/<int:image_id>", "image", ("GET",)),
        Route("/api/v1/images/<int:image_id>/delete", "delete", ("POST",)),
        Route("/api/v1/account", "account", ("GET",)),
        Route("/api/v1/ClippingMagic.js", "js", ("GET",), metered=False),
    )
    controls = (Route("/clippingmagic/<int:image_id>/edit", "edit", ("POST",)),)

    def reset(self) -> None:
        """Drop the images; ids start again at 1001."""
        self._images: dict[int, _CMImage] = {}
        self._next_id = 1001

    def error_body(self, status: int, message: str, code: int) -> dict:
        """ClippingMagic's shape: ``{"error": {"status", "code", "message"}}``."""
        return {"error": {"status": status, "code": code, "message": message}}

    def _error(self, status: int, code: int, message: str, **headers) -> Response:
        return self.error(status, message, code=code, headers=headers or None)

    def _guard(self, request: Request) -> Response | None:
        auth = request.authorization
        if auth is None or auth.type != "basic":
            return self._error(
                401,
                BAD_AUTH,
                "Invalid API credentials: use HTTP Basic auth (API Id, API Key)",
                **{"WWW-Authenticate": 'Basic realm="ClippingMagic API"'},
            )
        if auth.username != self.config.api_id or auth.password != self.config.api_key:
            return self._error(403, BAD_AUTH, "Invalid API credentials")
        return None

    def _generate(self, image: _CMImage, *, touched_up: bool = False) -> None:
        """Auto-Clip (or an editor save when ``touched_up``): a new result and revision."""
        cutout, mask = remove_background(image.original)
        if touched_up:
            # A "person" tidies the edges: a slightly grown mask gives a distinct result.
            mask = mask.filter(ImageFilter.MaxFilter(3))
            cutout.putalpha(mask)
        if image.test:
            cutout = watermark(cutout)
        content = encode(cutout, "PNG")
        with self.lock:
            image.result = content
            image.mask = mask
            image.result_revision += 1

    def _deliver(self, image: _CMImage, fmt: str | None) -> Response | None:
        """Charge a production image's first download; None when the credits are missing."""
        with self.lock:
            if not image.test and not image.charged:
                if self.credits <= 0:
                    return None
                image.charged = True
                charge = True
            else:
                charge = False
        if charge:
            self.charge()
        return self._payload(image, fmt)

    @staticmethod
    def _payload(image: _CMImage, fmt: str | None) -> Response:
        stem = (image.filename.rsplit(".", 1)[0] or "image").replace('"', "")
        headers = {
            "x-amz-meta-id": str(image.id),
            "x-amz-meta-secret": image.secret,
            "x-amz-meta-resultrevision": str(image.result_revision),
        }
        assert image.result is not None and image.mask is not None
        if fmt == "clipping_path_svg":
            content, content_type, ext = clipping_path_svg(image.mask), "image/svg+xml", "svg"
        elif fmt == "alpha_mask_png":
            content, content_type, ext = encode(image.mask, "PNG"), "image/png", "png"
        else:
            content, content_type, ext = image.result, "image/png", "png"
        headers["Content-Disposition"] = f'attachment; filename="{stem}.{ext}"'
        return Response(content, content_type=content_type, headers=headers)

    def on_images(self, request: Request) -> Response:
        """``GET``: the list (``limit`` 1..100, ``offset``); ``POST``: an upload."""
        denied = self._guard(request)
        if denied is not None:
            return denied
        if request.method == "GET":
            try:
                limit = int_field(request.args.get("limit"), "limit", 20)
                offset = int_field(request.args.get("offset"), "offset", 0)
            except ValueError as exc:
                return self._error(400, BAD_PARAMETER, str(exc))
            limit = max(1, min(100, limit))
            offset = max(0, offset)
            with self.lock:
                images = [self._images[k].as_json() for k in sorted(self._images)]
            return json_response(
                {"images": images[offset : offset + limit], "limit": limit, "offset": offset}
            )
        return self._upload(request)

    def _upload(self, request: Request) -> Response:
        fmt = request.form.get("format", "json")
        if fmt not in ("json", *RESULT_FORMATS):
            return self._error(400, BAD_PARAMETER, f"Unknown format {fmt!r}")
        test = request.form.get("test", "").lower() in TRUE_VALUES
        source = self._source(request)
        if isinstance(source, Response):
            return source
        content, filename = source
        if not test and self.credits <= 0:
            return self._error(
                402, NO_CREDITS, "No credits left: production images need an active subscription"
            )
        try:
            original = open_image(content, formats=FORMATS, max_pixels=MAX_PIXELS)
        except BadImage as exc:
            if exc.reason == "too_large":
                return self._error(400, TOO_LARGE, str(exc))
            return self._error(400, UNREADABLE, f"Failed to read the supplied image. {exc}")
        pixels = original.width * original.height
        if pixels > SHRINK_PIXELS:
            scale = (SHRINK_PIXELS / pixels) ** 0.5
            original = original.resize(
                (max(1, int(original.width * scale)), max(1, int(original.height * scale))),
                Image.Resampling.LANCZOS,
            )
        with self.lock:
            image_id = self._next_id
            self._next_id += 1
            image = _CMImage(
                id=image_id,
                secret=secrets.token_urlsafe(12),
                original=original,
                filename=filename,
                test=test,
            )
            self._images[image_id] = image
        if fmt == "json":
            return json_response({"image": image.as_json()})
        self._generate(image)
        response = self._deliver(image, fmt)
        if response is None:
            return self._error(402, NO_CREDITS, "No credits left")
        if self.config.clippingmagic_result_redirect:
            # The result as an object on "S3" (the x-amz-meta-* headers are its metadata): the
            # answer to the POST is a redirect to it.
            return self._redirect_to_stored(request, image, response, status=303)
        return response

    def _source(self, request: Request) -> tuple[bytes, str] | Response:
        """The uploaded bytes and file name: the ``image`` file, or the ``image.url`` fetched."""
        upload = request.files.get("image")
        if upload is not None:
            return upload.read(), upload.filename or "image"
        url = request.form.get("image.url", "").strip()
        if not url:
            return self._error(
                400,
                BAD_PARAMETER,
                "Missing parameter: image (multipart file upload) or image.url",
            )
        try:
            content = fetch_loopback(url, "image.url", FETCH_TIMEOUT)
        except ValueError as exc:
            return self._error(400, BAD_PARAMETER, str(exc))
        name = urllib.parse.unquote(urllib.parse.urlsplit(url).path.rsplit("/", 1)[-1])
        return content, name or "image"

    def _redirect_to_stored(
        self, request: Request, image: _CMImage, response: Response, status: int = 302
    ) -> Response:
        """Store ``response`` (a result file) as a hosted file with its headers, and answer a
        redirect (``status``) to it, as ClippingMagic does with results stored on S3."""
        name = f"clippingmagic/{image.id}/{image.result_revision}/{secrets.token_urlsafe(8)}"
        headers = {k: v for k, v in response.headers.items() if k.lower() != "content-length"}
        self.store_file(name, response.get_data(), response.content_type, **headers)
        redirect = Response(status=status, headers=headers)
        redirect.headers["Location"] = self.file_url(request, name)
        redirect.headers["Content-Type"] = "text/plain"
        return redirect

    def _lookup(self, image_id: int) -> _CMImage | Response:
        with self.lock:
            image = self._images.get(image_id)
        if image is None:
            return self._error(404, NOT_FOUND, f"Image {image_id} not found")
        return image

    def on_image(self, request: Request, image_id: int) -> Response:
        """``format=json``: the image object; otherwise a 302 to the stored result."""
        denied = self._guard(request)
        if denied is not None:
            return denied
        image = self._lookup(image_id)
        if isinstance(image, Response):
            return image
        fmt = request.args.get("format") or None
        if fmt == "json":
            return json_response({"image": image.as_json()})
        if fmt not in (None, *RESULT_FORMATS):
            return self._error(400, BAD_PARAMETER, f"Unknown format {fmt!r}")
        if image.result_revision == 0 or image.result is None:
            return self._error(400, NO_RESULT, "No result available for this image yet")
        response = self._deliver(image, fmt)
        if response is None:
            return self._error(402, NO_CREDITS, "No credits left")
        # Results are "stored on S3": answer with a redirect to the stored object.
        return self._redirect_to_stored(request, image, response)

    def on_delete(self, request: Request, image_id: int) -> Response:
        """Forget the image; answers its last image object."""
        denied = self._guard(request)
        if denied is not None:
            return denied
        with self.lock:
            image = self._images.pop(image_id, None)
        if image is None:
            return self._error(404, NOT_FOUND, f"Image {image_id} not found")
        return json_response({"image": image.as_json()})

    def on_account(self, request: Request) -> Response:
        """The subscription and the credits left."""
        denied = self._guard(request)
        if denied is not None:
            return denied
        credits = self.credits
        active = credits > 0
        return json_response(
            {
                "subscriptionPlan": "sandbox" if active else "none",
                "subscriptionState": "active" if active else "ended",
                "credits": max(0, credits),
            }
        )

    def on_js(self, request: Request) -> Response:
        """The ClippingMagic.js stand-in (``ClippingMagic.js`` next to this module)."""
        script = resources.files(__package__).joinpath("ClippingMagic.js").read_bytes()
        return Response(
            script,
            content_type="application/javascript; charset=utf-8",
            headers={"Access-Control-Allow-Origin": "*", "Cache-Control": "no-cache"},
        )

    def on_edit(self, request: Request, image_id: int) -> Response:
        """Control: a person saved in the editor (new result, ``resultRevision`` + 1). Checks
        ``secret`` when given (JSON or form)."""
        payload = request.get_json(silent=True) or {}
        secret = payload.get("secret") or request.form.get("secret")
        with self.lock:
            image = self._images.get(image_id)
        if image is None:
            return json_response({"error": f"Image {image_id} not found"}, 404)
        if secret and secret != image.secret:
            return json_response({"error": "Wrong secret for this image"}, 403)
        self._generate(image, touched_up=True)
        return json_response({"image": image.as_json()})
