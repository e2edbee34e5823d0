"""Thumbnails of results: made once, from the bytes in hand when a result is stored, and stored
beside it, so that pages listing jobs and derived images never download full-size files.

- ``make_thumbnail(content)``: a WebP (alpha kept) whose longer side is at most
  ``IMAGEOPS["THUMBNAIL_SIZE"]`` pixels (default 320: sharp in the admin's 80- and 160-pixel
  boxes on a high-density screen), with the EXIF orientation applied; ``None`` when thumbnails
  are off (``THUMBNAIL_SIZE`` ``None`` or 0) or the bytes are not an image Pillow reads.
- ``wants_thumbnail(width, height, bytes)``: a result no larger than its thumbnail would be is
  its own thumbnail (none is made).
- ``thumbnail_name(result_name)``: ``<result name without extension>.thumb.webp``.

JPEG results are decoded at a reduced scale (``Image.draft``), so a thumbnail of a large photo
costs little memory; other formats are decoded once.
"""

from __future__ import annotations

import io
import logging

from PIL import Image, ImageOps

from .conf import get_setting

logger = logging.getLogger(__name__)

#: The thumbnails' file format and its content type.
FORMAT = "WEBP"
CONTENT_TYPE = "image/webp"
EXTENSION = "thumb.webp"


def thumbnail_size() -> int:
    """``IMAGEOPS["THUMBNAIL_SIZE"]`` (pixels, the longer side), 0 when thumbnails are off."""
    return int(get_setting("THUMBNAIL_SIZE") or 0)


def thumbnail_name(result_name: str) -> str:
    """The storage name of a result's thumbnail: ``imageops/results/crop/<uuid>.thumb.webp``
    for ``imageops/results/crop/<uuid>.png`` (beside it)."""
    stem = result_name.rsplit(".", 1)[0] if "." in result_name.rsplit("/", 1)[-1] else result_name
    return f"{stem}.{EXTENSION}"


#: Results this small (bytes) are their own thumbnail: a WebP would save the browser little.
SMALL_RESULT_BYTES = 48 * 1024


def wants_thumbnail(width: int | None, height: int | None, size_bytes: int) -> bool:
    """Whether a result of ``width`` x ``height`` pixels and ``size_bytes`` bytes gets a
    thumbnail: thumbnails are on, and the result is larger than one would be (its longer side
    over ``thumbnail_size()`` and over ``SMALL_RESULT_BYTES``). A result of unknown size does."""
    size = thumbnail_size()
    if size <= 0 or size_bytes <= SMALL_RESULT_BYTES:
        return False
    return not (width and height and max(width, height) <= size)


def make_thumbnail(content: bytes) -> bytes | None:
    """A WebP thumbnail of image bytes ``content``, at most ``thumbnail_size()`` pixels on its
    longer side (never enlarged), its transparency kept, its EXIF orientation applied; the
    first frame of an animation.

    Returns:
        The WebP bytes, or None when thumbnails are off or ``content`` is not an image Pillow
        can decode (logged; a result is never refused for want of a thumbnail).
    """
    size = thumbnail_size()
    if size <= 0:
        return None
    try:
        with Image.open(io.BytesIO(content)) as opened:
            opened.draft(None, (size, size))  # JPEG: decode at a reduced scale
            image: Image.Image = ImageOps.exif_transpose(opened)
            if image.mode not in ("RGB", "RGBA", "L", "LA"):
                has_alpha = image.mode in ("P", "PA") and "transparency" in image.info
                image = image.convert("RGBA" if has_alpha or "A" in image.mode else "RGB")
            image.thumbnail((size, size), Image.Resampling.LANCZOS, reducing_gap=2.0)
            out = io.BytesIO()
            image.save(out, FORMAT, quality=80, method=4)
    except (OSError, ValueError, Image.DecompressionBombError) as exc:
        logger.info("no thumbnail: %s", exc)
        return None
    return out.getvalue()
