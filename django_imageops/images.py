"""Images before a vendor sees them: inspect, refuse, and fit them, vendor-neutrally.

What every provider shares (``providers.base.Provider.prepare`` uses it with its own limits):

- ``validate_image`` / ``inspect_image`` check an image with Pillow before anything is created or
  paid for: empty files, non-images, truncated files, decompression bombs
  (``IMAGEOPS["MAX_IMAGE_PIXELS"]``) and files over ``IMAGEOPS["MAX_UPLOAD_BYTES"]`` are refused
  with a ``ValidationError``; they return an ``ImageInfo``.
- ``fit_image`` turns the bytes into an upload a vendor accepts: animated images are sent as
  their **first frame**, CMYK JPEGs become RGB, 16-bit images 8-bit, the EXIF orientation is
  applied (``ImageOps.exif_transpose``, so coordinates and offsets refer to the image as
  displayed), and the image is resized by the scale the provider asks for. When nothing needs
  changing the original bytes are sent as they are (no decode, no copy).

No vendor is named here: formats and limits come from the provider that calls these functions.
"""

from __future__ import annotations

import contextlib
import io
import math
import warnings
from collections.abc import Collection
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _
from PIL import Image, ImageOps

from .conf import get_setting
from .vendors.base import ImageUpload, sniff_image_type

_EXIF_ORIENTATION = 0x0112


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


#: ``(content type, extension)`` of Pillow formats whose MIME type or first registered
#: extension is not the usual one (an MPO is a JPEG with extra frames).
_FILE_TYPES = {"JPEG": ("image/jpeg", "jpg"), "MPO": ("image/jpeg", "jpg")}


def file_type(info: ImageInfo) -> tuple[str, str]:
    """``(content_type, extension)`` of an image from the format Pillow read in its bytes,
    never from a file name or a client's ``Content-Type``: ``("image/png", "png")``. A format
    Pillow knows no MIME type of gives ``application/octet-stream`` (served as a download).
    """
    known = _FILE_TYPES.get(info.format)
    if known:
        return known
    Image.init()
    extensions = [ext for ext, fmt in Image.registered_extensions().items() if fmt == info.format]
    extension = extensions[0].lstrip(".") if extensions else "bin"
    return Image.MIME.get(info.format) or "application/octet-stream", extension


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


def _needs_conversion(info: ImageInfo, formats) -> bool:
    return (
        info.format not in formats
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
    formats: Collection[str],
    *,
    scale: float = 1.0,
    min_scale: float | None = None,
    filename: str = "",
    max_bytes: int | None = None,
    label: str = "",
) -> tuple[ImageUpload, int, int, float]:
    """Return ``data`` as an upload in one of ``formats``, resized by ``scale``.

    The original bytes are returned as they are (no decode) when the format (one of
    ``formats``, Pillow's names such as ``"JPEG"``), mode and orientation are acceptable and
    ``scale`` is 1. Otherwise the first frame is decoded upright, converted to 8 bits, resized
    and encoded as JPEG (opaque JPEG sources) or PNG.

    Args:
        scale: resize factor (< 1 shrinks, > 1 enlarges).
        min_scale: the smallest acceptable scale when shrinking to fit ``max_bytes``.
        max_bytes: when the encoded file is larger (bytes), it is shrunk again until it fits.
        label: who the image is for, named in the error (e.g. the provider's label).

    Returns:
        ``(upload, width, height, scale)`` (pixels; the scale actually applied).

    Raises:
        ValidationError: the image cannot be made smaller than ``max_bytes``.
    """
    unchanged = scale == 1.0 and not _needs_conversion(info, formats)
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
        params={"provider": label or _("the vendor")},
    )
