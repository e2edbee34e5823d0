"""Operation specs: validate parameters, check and fit an image to a provider's limits, call
the provider's client.

One ``OperationSpec`` per operation (``uncrop``, ``reimagine``, ``remove_background``,
``crop``); ``get_operation(name)`` returns it. Nothing here touches the database: ``jobs.py``
owns job state and passes bytes in and ``VendorResult`` objects out.

Image handling decisions (also in the README):

- Every image is checked with Pillow before anything is created or paid for: empty files,
  non-images, truncated files, decompression bombs (``IMAGEOPS["MAX_IMAGE_PIXELS"]``) and files
  over ``IMAGEOPS["MAX_UPLOAD_BYTES"]`` are refused with a ``ValidationError``.
- Animated GIFs (and other multi-frame files) are processed from their **first frame**.
- CMYK JPEGs are converted to RGB, 16-bit images to 8-bit; the EXIF orientation is applied
  (``ImageOps.exif_transpose``) so coordinates and offsets refer to the image as displayed.
- When nothing needs changing, the original bytes are sent as they are (no decode, no copy).
"""

from __future__ import annotations

import contextlib
import io
import math
import threading
import warnings
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _
from PIL import Image, ImageOps

from .conf import OPERATION_PROVIDERS, get_setting, vendor_settings
from .vendors import ImageUpload, VendorResult, get_client_class
from .vendors.base import sniff_image_type

#: Clipdrop Uncrop input limits (pixels, bytes) and the largest offset per side (pixels).
CLIPDROP_UNCROP_MAX_PIXELS = 10_000_000
CLIPDROP_UNCROP_MAX_BYTES = 30_000_000
CLIPDROP_MAX_OFFSET = 2000
#: Clipdrop Reimagine: largest width and height (pixels).
CLIPDROP_REIMAGINE_MAX_SIDE = 1024
#: ClippingMagic: largest accepted upload, and the size it shrinks to (pixels).
CLIPPINGMAGIC_MAX_PIXELS = 16_777_216
CLIPPINGMAGIC_TARGET_PIXELS = 4_194_404
#: PiktID Magic Expand: smallest and largest side (pixels).
PIKTID_MIN_SIDE = 64
PIKTID_MAX_SIDE = 4096
#: Uncrop seed range (Clipdrop).
SEED_MAX = 100_000

#: Pillow format names each provider accepts as they are; anything else is re-encoded.
PROVIDER_FORMATS = {
    "clipdrop": {"JPEG", "PNG", "WEBP"},
    "piktid": {"JPEG", "PNG", "WEBP"},
    "clippingmagic": {"JPEG", "PNG", "GIF", "BMP", "TIFF"},
    "pixlab": {"JPEG", "PNG", "WEBP", "GIF", "BMP"},
}

_EXIF_ORIENTATION = 0x0112


@dataclass(frozen=True)
class ImageInfo:
    """What ``validate_image`` learned about an image, without keeping its pixels.

    Attributes:
        width, height: size in pixels as displayed (after the EXIF orientation).
        format: Pillow's format name (``"JPEG"``, ``"PNG"``, ...).
        mode: Pillow's mode (``"RGB"``, ``"CMYK"``, ``"I;16"``, ...).
        frames: number of frames (> 1 for animated GIF/WebP/PNG).
        orientation: the EXIF orientation tag (1 = upright).
        size: the file size in bytes.
    """

    width: int
    height: int
    format: str
    mode: str
    frames: int = 1
    orientation: int = 1
    size: int = 0

    @property
    def pixels(self) -> int:
        """``width * height``."""
        return self.width * self.height


@dataclass
class Prepared:
    """An image ready for one provider, and the parameters to send with it.

    Attributes:
        upload: the bytes to send (the original bytes when nothing had to change).
        params: the vendor call's parameters (offsets scaled when the image was resized).
        width, height: the size of ``upload`` in pixels.
        scale: the resize factor applied (1.0 = unchanged).
        notes: plain-words notes on what was changed (recorded in the job's history).
    """

    upload: ImageUpload
    params: dict[str, Any]
    width: int
    height: int
    scale: float = 1.0
    notes: list[str] = field(default_factory=list)


def read_bytes(file_or_bytes) -> bytes:
    """All bytes of ``file_or_bytes`` (bytes, or a file object read from its start)."""
    if isinstance(file_or_bytes, bytes | bytearray | memoryview):
        return bytes(file_or_bytes)
    if hasattr(file_or_bytes, "seek"):
        with contextlib.suppress(OSError, ValueError):
            file_or_bytes.seek(0)
    data = file_or_bytes.read()
    return data if isinstance(data, bytes) else bytes(data)


def _open(data: bytes) -> Image.Image:
    """``Image.open`` with our pixel limit as the decompression-bomb guard."""
    limit = int(get_setting("MAX_IMAGE_PIXELS"))
    previous = Image.MAX_IMAGE_PIXELS
    try:
        # Pillow raises DecompressionBombError above 2x the limit and only warns above 1x:
        # we check the size ourselves below, so the warning is silenced.
        Image.MAX_IMAGE_PIXELS = limit
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            return Image.open(io.BytesIO(data))
    finally:
        Image.MAX_IMAGE_PIXELS = previous


def validate_image(file_or_bytes) -> ImageInfo:
    """Check that ``file_or_bytes`` (bytes or a file object) is an image we can send.

    Decodes as little as it can: PNGs are checked chunk by chunk (``verify``), JPEGs are decoded
    at 1/8 scale, other formats are decoded once.

    Returns:
        ``ImageInfo`` (size in pixels as displayed, format, mode, frames, bytes).

    Raises:
        ValidationError: for an empty file, a file over ``IMAGEOPS["MAX_UPLOAD_BYTES"]``, a
            non-image, a truncated image, or one over ``IMAGEOPS["MAX_IMAGE_PIXELS"]`` pixels.
    """
    data = read_bytes(file_or_bytes)
    return inspect_image(data)


def inspect_image(data: bytes, *, verify: bool = True) -> ImageInfo:
    """``validate_image`` for bytes already read (no copy). Same errors.

    ``verify=False`` reads the header only (for bytes already verified, e.g. by
    ``create_jobs``: their SHA-256 matched)."""
    size = len(data)
    if size == 0:
        raise ValidationError(_("The file is empty."), code="empty")
    max_bytes = int(get_setting("MAX_UPLOAD_BYTES"))
    if size > max_bytes:
        raise ValidationError(
            _("The file is %(size)s bytes; the largest accepted is %(max)s bytes."),
            code="too_big",
            params={"size": size, "max": max_bytes},
        )
    limit = int(get_setting("MAX_IMAGE_PIXELS"))
    try:
        image = _open(data)
    except Image.DecompressionBombError as exc:
        raise ValidationError(
            _("The image has too many pixels (the largest accepted is %(max)s pixels)."),
            code="too_many_pixels",
            params={"max": limit},
        ) from exc
    except (OSError, SyntaxError, ValueError) as exc:
        raise ValidationError(
            _("The file is not an image we can read (JPEG, PNG, WebP, GIF, BMP or TIFF)."),
            code="not_an_image",
        ) from exc
    with image:
        width, height = image.size
        if width * height > limit:
            raise ValidationError(
                _(
                    "The image is %(width)sx%(height)s pixels; the largest accepted is "
                    "%(max)s pixels."
                ),
                code="too_many_pixels",
                params={"width": width, "height": height, "max": limit},
            )
        fmt = image.format or ""
        mode = image.mode
        frames = getattr(image, "n_frames", 1) or 1
        orientation = 1
        try:
            orientation = int(image.getexif().get(_EXIF_ORIENTATION, 1) or 1)
        except (OSError, ValueError, TypeError, SyntaxError):
            orientation = 1
        try:
            if verify and fmt == "PNG":
                with _open(data) as fresh:
                    fresh.verify()
            elif verify:
                if fmt == "JPEG":
                    image.draft(image.mode, (max(1, width // 8), max(1, height // 8)))
                image.load()
        except (OSError, SyntaxError, ValueError, EOFError) as exc:
            raise ValidationError(
                _("The image file is truncated or damaged."), code="truncated"
            ) from exc
    if orientation in (5, 6, 7, 8):
        width, height = height, width
    return ImageInfo(width, height, fmt, mode, frames, orientation, size)


def _needs_conversion(info: ImageInfo, provider: str) -> bool:
    return (
        info.format not in PROVIDER_FORMATS[provider]
        or info.orientation != 1
        or info.frames > 1
        or info.mode not in ("RGB", "RGBA", "L", "LA", "P")
    )


def _decode(data: bytes, info: ImageInfo, reduce_to: tuple[int, int] | None = None) -> Image.Image:
    """Decode the first frame, upright, in an 8-bit mode (RGB, RGBA, L or LA)."""
    image = _open(data)
    if reduce_to and image.format == "JPEG":
        # Let libjpeg decode at a reduced scale (stored orientation).
        w, h = reduce_to
        if info.orientation in (5, 6, 7, 8):
            w, h = h, w
        image.draft(image.mode, (w, h))
    image.seek(0)
    image = ImageOps.exif_transpose(image) or image
    mode = image.mode
    if mode in ("I;16", "I;16B", "I;16L", "I;16N", "I"):
        image = image.convert("I").point(lambda v: v * (1 / 256)).convert("L")
    elif mode == "F":
        image = image.convert("L")
    elif mode == "CMYK" or mode == "YCbCr":
        image = image.convert("RGB")
    elif mode == "P" or mode == "PA" or mode == "1":
        has_alpha = "transparency" in image.info or mode == "PA"
        image = image.convert("RGBA" if has_alpha else "RGB")
    elif mode not in ("RGB", "RGBA", "L", "LA"):
        image = image.convert("RGBA")
    return image


def _encode(image: Image.Image, prefer_jpeg: bool) -> ImageUpload:
    buffer = io.BytesIO()
    if prefer_jpeg and image.mode in ("RGB", "L"):
        image.save(buffer, "JPEG", quality=92)
        return ImageUpload(buffer.getvalue(), "image.jpg", "image/jpeg")
    image.save(buffer, "PNG", compress_level=3)
    return ImageUpload(buffer.getvalue(), "image.png", "image/png")


def fit_image(
    data: bytes,
    info: ImageInfo,
    provider: str,
    *,
    scale: float = 1.0,
    min_scale: float | None = None,
    filename: str = "",
    max_bytes: int | None = None,
) -> tuple[ImageUpload, int, int, float]:
    """Return ``data`` as an upload ``provider`` accepts, resized by ``scale``.

    The original bytes are returned as they are (no decode) when the format, mode and
    orientation are acceptable and ``scale`` is 1. Otherwise the first frame is decoded upright,
    converted to 8 bits, resized and encoded as JPEG (opaque JPEG sources) or PNG.

    Args:
        scale: resize factor (< 1 shrinks, > 1 enlarges).
        max_bytes: when the encoded file is larger, it is shrunk again until it fits.

    Returns:
        ``(upload, width, height, scale)`` (pixels; the scale actually applied).
    """
    unchanged = scale == 1.0 and not _needs_conversion(info, provider)
    if unchanged and (max_bytes is None or len(data) <= max_bytes):
        ext = sniff_image_type(data)[1]
        name = filename.rsplit("/", 1)[-1] or f"image.{ext}"
        return ImageUpload.coerce(ImageUpload(data, name)), info.width, info.height, 1.0
    for _attempt in range(4):
        width = max(1, int(info.width * scale))
        height = max(1, int(info.height * scale))
        image = _decode(data, info, reduce_to=(width, height) if scale < 1 else None)
        if image.size != (width, height):
            image = image.resize((width, height), Image.Resampling.LANCZOS, reducing_gap=3.0)
        upload = _encode(image, prefer_jpeg=info.format == "JPEG")
        del image
        if max_bytes is None or len(upload.content) <= max_bytes:
            return upload, width, height, scale
        scale *= math.sqrt(max_bytes / len(upload.content)) * 0.9
        if min_scale is not None and scale < min_scale:
            break
    raise ValidationError(
        _("The image cannot be made small enough for %(provider)s."),
        code="too_big",
        params={"provider": provider},
    )


def _int_param(params: dict, name: str, errors: dict, *, default=None, lo=None, hi=None):
    value = params.get(name, default)
    if value is None or value == "":
        if default is None:
            errors.setdefault(name, []).append(_("This field is required."))
        return default
    try:
        if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
            raise ValueError
        value = int(value)
    except (TypeError, ValueError):
        errors.setdefault(name, []).append(_("Enter a whole number of pixels."))
        return None
    if lo is not None and value < lo:
        errors.setdefault(name, []).append(
            _("Ensure this value is greater than or equal to %(min)s.") % {"min": lo}
        )
    if hi is not None and value > hi:
        errors.setdefault(name, []).append(
            _("Ensure this value is less than or equal to %(max)s.") % {"max": hi}
        )
    return value


def _bool_param(value) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "on")
    return bool(value)


class OperationSpec:
    """One operation: its parameters, the image limits of its providers and the vendor call.

    Attributes:
        name: our operation name (``"uncrop"``, ...).
        label: a translatable label.
        providers: the providers that run it (the first is the default).
    """

    name = ""
    label = ""

    @property
    def providers(self) -> tuple[str, ...]:
        """The provider names that run this operation; the first is the default."""
        return OPERATION_PROVIDERS[self.name]

    def clean_params(self, provider: str, params: dict | None) -> dict:
        """Validate and normalise ``params`` for ``provider``.

        Returns:
            The cleaned parameters (JSON-serialisable, unknown keys dropped).

        Raises:
            ValidationError: keyed by parameter name (e.g. ``{"left": [...]}``), or by
                ``"provider"`` for a provider that does not run this operation.
        """
        if provider not in self.providers:
            raise ValidationError(
                {
                    "provider": _(
                        "%(provider)s cannot run %(operation)s (choose from %(choices)s)."
                    )
                    % {
                        "provider": provider,
                        "operation": self.name,
                        "choices": ", ".join(self.providers),
                    }
                }
            )
        errors: dict[str, list] = {}
        cleaned = self._clean(provider, dict(params or {}), errors)
        if errors:
            raise ValidationError(errors)
        return cleaned

    def _clean(self, provider: str, params: dict, errors: dict) -> dict:
        return {}

    def check_image(self, provider: str, params: dict, info: ImageInfo) -> None:
        """Refuse an image/parameter combination the vendor would reject (before paying).

        Raises:
            ValidationError: keyed by the parameter at fault, or ``"image"`` for the image.
        """

    def is_deterministic(self, provider: str, params: dict) -> bool:
        """Whether the same input gives the same output (its result may then be reused)."""
        return False

    def prepare(
        self, provider: str, params: dict, data: bytes, filename: str = "", *, verified=False
    ) -> Prepared:
        """Fit ``data`` to ``provider``'s limits and scale the parameters to match.

        ``verified=True``: the bytes were fully checked before (only the header is read).

        Raises:
            ValidationError: when the image cannot be fitted (nothing is sent).
        """
        info = inspect_image(data, verify=not verified)
        self.check_image(provider, params, info)
        upload, width, height, _scale = fit_image(data, info, provider, filename=filename)
        return Prepared(upload, dict(params), width, height)

    def call(self, client, provider: str, prepared: Prepared) -> VendorResult:
        """Make the (synchronous) vendor call for ``prepared``; each spec implements it.

        Raises:
            VendorError: whatever the vendor client raises.
        """
        raise NotImplementedError  # abstract: every spec in OPERATIONS overrides it


class UncropSpec(OperationSpec):
    """``uncrop``: extend (positive) or crop (negative) each side by ``left/right/top/bottom``
    pixels. Clipdrop Uncrop (``POST /uncrop/v1``) or PiktID Magic Expand (asynchronous)."""

    name = "uncrop"
    label = _("Uncrop")
    SIDES = ("left", "right", "top", "bottom")

    def _clean(self, provider, params, errors):
        cleaned = {}
        bound = CLIPDROP_MAX_OFFSET if provider == "clipdrop" else None
        for side in self.SIDES:
            cleaned[side] = _int_param(
                params,
                side,
                errors,
                default=0,
                lo=-bound if bound else None,
                hi=bound,
            )
        if not errors and not any(cleaned[s] for s in self.SIDES):
            errors.setdefault("left", []).append(
                _("Give at least one of left, right, top or bottom (pixels).")
            )
        seed = params.get("seed")
        if seed not in (None, ""):
            if provider != "clipdrop":
                errors.setdefault("seed", []).append(_("Only Clipdrop takes a seed."))
            else:
                cleaned["seed"] = _int_param(params, "seed", errors, lo=0, hi=SEED_MAX)
        return cleaned

    def is_deterministic(self, provider, params):
        """Only a seeded Clipdrop uncrop gives the same bytes again."""
        return provider == "clipdrop" and params.get("seed") is not None

    def _fit_scale(self, provider: str, info: ImageInfo) -> tuple[float, float | None]:
        """The scale needed for the provider's size limits (1.0 = none) and the smallest
        acceptable one."""
        if provider == "clipdrop":
            scale = 1.0
            if info.pixels > CLIPDROP_UNCROP_MAX_PIXELS:
                scale = math.sqrt(CLIPDROP_UNCROP_MAX_PIXELS / info.pixels) * 0.999
            return scale, None
        # piktid
        small, large = min(info.width, info.height), max(info.width, info.height)
        if large > PIKTID_MAX_SIDE:
            scale = PIKTID_MAX_SIDE / large
        elif small < PIKTID_MIN_SIDE:
            scale = PIKTID_MIN_SIDE / small
        else:
            return 1.0, None
        return scale, None

    def check_image(self, provider, params, info):
        """Refuse what Clipdrop (10 MP / 30 MB when ``UNCROP_OVERSIZE="refuse"``) or PiktID
        (sides of 64..4096 pixels, in and out) would reject, and offsets cropping everything.

        Raises:
            ValidationError: keyed by ``"image"``, ``"left"`` or ``"top"``.
        """
        scale, _min = self._fit_scale(provider, info)
        errors: dict[str, list] = {}
        if provider == "clipdrop":
            oversize = scale < 1.0 or info.size > CLIPDROP_UNCROP_MAX_BYTES
            if oversize and get_setting("UNCROP_OVERSIZE") == "refuse":
                raise ValidationError(
                    {
                        "image": _(
                            "Clipdrop Uncrop takes at most 10 megapixels and 30 MB; this image "
                            "is %(width)sx%(height)s pixels, %(size)s bytes."
                        )
                        % {"width": info.width, "height": info.height, "size": info.size}
                    }
                )
        else:
            small, large = min(info.width, info.height), max(info.width, info.height)
            if scale != 1.0 and get_setting("PIKTID_OUT_OF_RANGE") == "refuse":
                raise ValidationError(
                    {
                        "image": _(
                            "PiktID takes images from 64x64 to 4096x4096 pixels; this one is "
                            "%(width)sx%(height)s."
                        )
                        % {"width": info.width, "height": info.height}
                    }
                )
            if large * PIKTID_MIN_SIDE / small > PIKTID_MAX_SIDE:
                raise ValidationError(
                    {
                        "image": _(
                            "A %(width)sx%(height)s image cannot be fitted to PiktID's 64..4096 "
                            "pixel sides."
                        )
                        % {"width": info.width, "height": info.height}
                    }
                )
        width, height = info.width * scale, info.height * scale
        left, right = round(params["left"] * scale), round(params["right"] * scale)
        top, bottom = round(params["top"] * scale), round(params["bottom"] * scale)
        new_width, new_height = int(width) + left + right, int(height) + top + bottom
        if new_width < 1:
            errors["left"] = [
                _("left + right crop away the whole %(width)s-pixel width.") % {"width": info.width}
            ]
        if new_height < 1:
            errors["top"] = [
                _("top + bottom crop away the whole %(height)s-pixel height.")
                % {"height": info.height}
            ]
        out_of_range = not (
            PIKTID_MIN_SIDE <= new_width <= PIKTID_MAX_SIDE
            and PIKTID_MIN_SIDE <= new_height <= PIKTID_MAX_SIDE
        )
        if provider == "piktid" and not errors and out_of_range:
            errors["left"] = [
                _(
                    "The result would be %(w)sx%(h)s pixels; PiktID makes sides of "
                    "%(min)s..%(max)s pixels."
                )
                % {"w": new_width, "h": new_height, "min": PIKTID_MIN_SIDE, "max": PIKTID_MAX_SIDE}
            ]
        if errors:
            raise ValidationError(errors)

    def prepare(self, provider, params, data, filename="", *, verified=False):
        """Downscale to Clipdrop's 10 MP / 30 MB or fit PiktID's 64..4096 pixel sides, scaling
        the offsets by the same factor (notes say so)."""
        info = inspect_image(data, verify=not verified)
        self.check_image(provider, params, info)
        scale, min_scale = self._fit_scale(provider, info)
        max_bytes = CLIPDROP_UNCROP_MAX_BYTES if provider == "clipdrop" else None
        upload, width, height, scale = fit_image(
            data,
            info,
            provider,
            scale=scale,
            min_scale=min_scale,
            filename=filename,
            max_bytes=max_bytes,
        )
        vendor_params = dict(params)
        notes = []
        if scale != 1.0:
            for side in self.SIDES:
                vendor_params[side] = round(params[side] * scale)
            notes.append(
                f"resized from {info.width}x{info.height} to {width}x{height} "
                f"(x{scale:.3f}) to fit {provider}'s limits; offsets scaled to match"
            )
        if info.frames > 1:
            notes.append(f"animated image ({info.frames} frames): the first frame was sent")
        return Prepared(upload, vendor_params, width, height, scale, notes)

    def call(self, client, provider, prepared):
        """Clipdrop ``POST /uncrop/v1`` (``ClipdropClient.uncrop``): the JPEG result. PiktID's
        asynchronous upload/generate/poll flow is driven by ``jobs``, not by this call."""
        p = prepared.params
        return client.uncrop(
            prepared.upload,
            left=p["left"],
            right=p["right"],
            top=p["top"],
            bottom=p["bottom"],
            seed=p.get("seed"),
        )


class ReimagineSpec(OperationSpec):
    """``reimagine``: a similar-but-different variation. Clipdrop Reimagine
    (``POST /reimagine/v1/reimagine``); images are downscaled to fit 1024x1024 first."""

    name = "reimagine"
    label = _("Reimagine")

    def prepare(self, provider, params, data, filename="", *, verified=False):
        """Downscale to fit 1024x1024 pixels (Clipdrop Reimagine's limit)."""
        info = inspect_image(data, verify=not verified)
        scale = min(1.0, CLIPDROP_REIMAGINE_MAX_SIDE / max(info.width, info.height))
        upload, width, height, scale = fit_image(
            data, info, provider, scale=scale, filename=filename
        )
        notes = []
        if scale != 1.0:
            notes.append(f"resized from {info.width}x{info.height} to {width}x{height}")
        if info.frames > 1:
            notes.append(f"animated image ({info.frames} frames): the first frame was sent")
        return Prepared(upload, {}, width, height, scale, notes)

    def call(self, client, provider, prepared):
        """Clipdrop ``POST /reimagine/v1/reimagine``: the JPEG variation, same size."""
        return client.reimagine(prepared.upload)


class RemoveBackgroundSpec(OperationSpec):
    """``remove_background`` on ClippingMagic: ``mode="auto"`` (Auto-Clip: upload with
    ``format=result``) or ``"review"`` (upload, then a person reviews in ClippingMagic.js).
    ``test`` (free, watermarked) defaults to ``IMAGEOPS["TEST_MODE"]``. Images are pre-shrunk to
    at most 4,194,404 pixels."""

    name = "remove_background"
    label = _("Remove background")
    MODES = ("auto", "review")

    def _clean(self, provider, params, errors):
        mode = params.get("mode") or "auto"
        if mode not in self.MODES:
            errors["mode"] = [_("Choose auto or review.")]
        test = params.get("test")
        test = bool(get_setting("TEST_MODE")) if test in (None, "") else _bool_param(test)
        return {"mode": mode, "test": test}

    def is_deterministic(self, provider, params):
        """Auto-Clip results may be reused; a person's review may not."""
        return params.get("mode") == "auto"

    def prepare(self, provider, params, data, filename="", *, verified=False):
        """Pre-shrink to at most 4,194,404 pixels, as ClippingMagic asks."""
        info = inspect_image(data, verify=not verified)
        scale = 1.0
        if info.pixels > CLIPPINGMAGIC_TARGET_PIXELS:
            scale = math.sqrt(CLIPPINGMAGIC_TARGET_PIXELS / info.pixels) * 0.999
        upload, width, height, scale = fit_image(
            data, info, provider, scale=scale, filename=filename
        )
        notes = []
        if scale != 1.0:
            notes.append(
                f"pre-shrunk from {info.width}x{info.height} to {width}x{height} "
                f"(ClippingMagic works on at most {CLIPPINGMAGIC_TARGET_PIXELS} pixels)"
            )
        if info.frames > 1:
            notes.append(f"animated image ({info.frames} frames): the first frame was sent")
        return Prepared(upload, dict(params), width, height, scale, notes)

    def call(self, client, provider, prepared):
        """ClippingMagic ``POST /api/v1/images``: ``format=result`` (Auto-Clip bytes, id and
        secret in headers) for auto, the Image JSON object for review."""
        review = prepared.params.get("mode") == "review"
        return client.upload(
            prepared.upload,
            test=bool(prepared.params.get("test")),
            format="json" if review else "result",
        )


class CropSpec(OperationSpec):
    """``crop``: the exact sub-region ``x, y, width, height`` (pixels, of the image as displayed).
    PixLab Crop (``POST /crop``, multipart upload)."""

    name = "crop"
    label = _("Crop")

    def _clean(self, provider, params, errors):
        return {
            "x": _int_param(params, "x", errors, lo=0),
            "y": _int_param(params, "y", errors, lo=0),
            "width": _int_param(params, "width", errors, lo=1),
            "height": _int_param(params, "height", errors, lo=1),
        }

    def is_deterministic(self, provider, params):
        """A crop is the same pixels every time."""
        return True

    def check_image(self, provider, params, info):
        """Refuse a box that does not lie inside the image.

        Raises:
            ValidationError: keyed by ``"width"`` and/or ``"height"``.
        """
        errors = {}
        if params["x"] + params["width"] > info.width:
            errors["width"] = [
                _("x + width (%(right)s) is beyond the image's width of %(width)s pixels.")
                % {"right": params["x"] + params["width"], "width": info.width}
            ]
        if params["y"] + params["height"] > info.height:
            errors["height"] = [
                _("y + height (%(bottom)s) is beyond the image's height of %(height)s pixels.")
                % {"bottom": params["y"] + params["height"], "height": info.height}
            ]
        if errors:
            raise ValidationError(errors)

    def call(self, client, provider, prepared):
        """PixLab ``POST /crop`` (multipart, ``blob=true``): the region's bytes."""
        p = prepared.params
        return client.crop(prepared.upload, p["x"], p["y"], p["width"], p["height"])


OPERATIONS: dict[str, OperationSpec] = {
    spec.name: spec for spec in (UncropSpec(), ReimagineSpec(), RemoveBackgroundSpec(), CropSpec())
}


def get_operation(name: str) -> OperationSpec:
    """The spec of operation ``name``.

    Raises:
        ValidationError: ``{"operation": [...]}`` for an unknown name.
    """
    try:
        return OPERATIONS[name]
    except KeyError:
        raise ValidationError(
            {
                "operation": _("Unknown operation %(name)s (choose from %(choices)s).")
                % {"name": name, "choices": ", ".join(OPERATIONS)}
            }
        ) from None


# -- clients -------------------------------------------------------------------------------

_sessions = threading.local()


def _session(provider: str):
    import requests

    cache = getattr(_sessions, "by_provider", None)
    if cache is None:
        cache = _sessions.by_provider = {}
    if provider not in cache:
        cache[provider] = requests.Session()
    return cache[provider]


def credential(provider: str) -> str:
    """The account identifier rate limits are kept per (API key, API Id or e-mail)."""
    conf = vendor_settings(provider)
    return str(conf.get("API_KEY") or conf.get("API_ID") or conf.get("EMAIL") or "")


def build_client(provider: str, *, tokens: dict | None = None, on_tokens=None):
    """A vendor client for ``provider`` configured from ``IMAGEOPS["VENDORS"][provider]``.

    ``tokens``/``on_tokens`` are PiktID's stored token pair and the callback that persists a new
    pair (a new PiktID client is built each time, from the stored tokens). Other clients are
    kept per thread.
    """
    conf = vendor_settings(provider)
    if provider != "piktid":
        # One client per thread and configuration: connections are reused, and ClippingMagic's
        # client counts consecutive 429s per thread for its linear back-off, as the vendor asks.
        key = (provider, repr(sorted(conf.items())), repr(get_setting("TIMEOUT")))
        clients = getattr(_sessions, "clients", None)
        if clients is None:
            clients = _sessions.clients = {}
        if key not in clients:
            clients[key] = _new_client(provider, conf)
        return clients[key]
    return _new_client(provider, conf, tokens=tokens, on_tokens=on_tokens)


def _new_client(provider: str, conf: dict, *, tokens=None, on_tokens=None):
    cls = get_client_class(provider)
    common = {"base_url": conf["BASE_URL"], "session": _session(provider)}
    timeout = get_setting("TIMEOUT")
    if timeout:
        common["timeout"] = tuple(timeout) if isinstance(timeout, list) else timeout
    if provider == "clipdrop":
        return cls(conf["API_KEY"], **common)
    if provider == "clippingmagic":
        return cls(conf["API_ID"], conf["API_KEY"], **common)
    if provider == "piktid":
        return cls(conf["EMAIL"], conf["PASSWORD"], tokens=tokens, on_tokens=on_tokens, **common)
    if provider == "pixlab":
        return cls(conf["API_KEY"], **common)
    raise KeyError(provider)
