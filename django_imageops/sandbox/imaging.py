"""The sandbox's pixel work, with Pillow only: decode with limits, crop, uncrop/expand,
reimagine, background removal, watermark, encode.

Every function takes and returns Pillow images except ``open_image`` (bytes in) and ``encode``
(bytes out). Sizes are pixels. Nothing here knows about HTTP.
"""

from __future__ import annotations

import io
import random

from PIL import Image, ImageChops, ImageDraw, ImageFilter, ImageOps, UnidentifiedImageError

#: Formats Pillow reports, by the names the vendors use.
FORMAT_NAMES = {"JPEG": "jpeg", "PNG": "png", "WEBP": "webp", "GIF": "gif", "BMP": "bmp"}
FORMAT_NAMES["TIFF"] = "tiff"

#: Side of the working copy background removal segments (pixels).
_MASK_WORK_SIDE = 192


class BadImage(ValueError):
    """Bytes that are not an acceptable image: ``reason`` is ``"unreadable"``, ``"format"``,
    ``"too_large"`` or ``"too_small"``; ``str(error)`` is a message for the error body."""

    def __init__(self, message: str, reason: str = "unreadable"):
        super().__init__(message)
        self.reason = reason


def open_image(
    data: bytes,
    *,
    formats: tuple[str, ...],
    max_pixels: int | None = None,
    max_side: int | None = None,
    min_side: int | None = None,
) -> Image.Image:
    """Decode ``data`` fully and return an RGB or RGBA image.

    ``formats``: accepted Pillow format names (``"JPEG"``, ``"PNG"``, ...). The size limits are
    checked from the header, before any pixel is decoded, so a decompression bomb costs nothing.

    Raises ``BadImage`` for zero-byte, garbage, truncated, wrong-format, too large (``max_pixels``
    total or ``max_side`` either side) or too small (``min_side``) images; never anything else.
    """
    if not data:
        raise BadImage("Empty image file")
    try:
        image: Image.Image = Image.open(io.BytesIO(data))
        if image.format not in formats:
            names = ", ".join(FORMAT_NAMES.get(f, f.lower()) for f in formats)
            raise BadImage(f"Unsupported image format {image.format!r}; expected {names}", "format")
        width, height = image.size
        if max_pixels is not None and width * height > max_pixels:
            raise BadImage(
                f"Image resolution too big: {width}x{height} = {width * height} pixels, "
                f"maximum {max_pixels}",
                "too_large",
            )
        if max_side is not None and max(width, height) > max_side:
            raise BadImage(
                f"Image resolution too big: {width}x{height}, maximum {max_side}x{max_side}",
                "too_large",
            )
        if min_side is not None and min(width, height) < min_side:
            raise BadImage(
                f"Image too small: {width}x{height}, minimum {min_side}x{min_side}", "too_small"
            )
        image.load()
        image = ImageOps.exif_transpose(image)
    except BadImage:
        raise
    except (Image.DecompressionBombError, UnidentifiedImageError) as exc:
        raise BadImage(f"Invalid image: {exc}") from exc
    except (OSError, ValueError, SyntaxError, EOFError, MemoryError) as exc:
        raise BadImage(f"Invalid image (truncated or corrupt): {exc}") from exc
    if image.mode in ("RGBA", "LA") or (image.mode == "P" and "transparency" in image.info):
        return image.convert("RGBA")
    return image.convert("RGB")


def encode(image: Image.Image, fmt: str = "PNG", quality: int = 92) -> bytes:
    """Encode ``image`` as ``fmt`` (``"PNG"``, ``"JPEG"`` (RGB only: alpha dropped), ``"WEBP"``)."""
    buffer = io.BytesIO()
    if fmt == "JPEG":
        image.convert("RGB").save(buffer, "JPEG", quality=quality)
    else:
        image.save(buffer, fmt)
    return buffer.getvalue()


def crop(image: Image.Image, x: int, y: int, width: int, height: int) -> Image.Image:
    """The exact region ``(x, y)``..``(x + width, y + height)``; the caller checks bounds."""
    return image.crop((x, y, x + width, y + height))


def extend(
    image: Image.Image, left: int, right: int, top: int, bottom: int, seed: int
) -> Image.Image:
    """Uncrop / Magic Expand: crop the sides with negative offsets, then grow the sides with
    positive ones, filling new pixels with stretched edges, a blur and seeded noise.

    Returns an image of exactly ``(width + left + right, height + top + bottom)`` with the kept
    original pixels unchanged at ``(max(left, 0), max(top, 0))``. Same inputs and seed give
    the same pixels. Raises ``ValueError`` when the result would be empty.
    """
    width, height = image.size
    box = (max(0, -left), max(0, -top), width - max(0, -right), height - max(0, -bottom))
    if box[2] <= box[0] or box[3] <= box[1]:
        raise ValueError("the offsets crop the whole image away")
    kept = image.crop(box)
    kw, kh = kept.size
    add_l, add_r, add_t, add_b = max(0, left), max(0, right), max(0, top), max(0, bottom)
    out_w, out_h = kw + add_l + add_r, kh + add_t + add_b
    if (add_l, add_r, add_t, add_b) == (0, 0, 0, 0):
        return kept.copy()
    mode = kept.mode
    canvas = kept.resize((out_w, out_h), Image.Resampling.BILINEAR)
    # Edge extension: each new side is its adjacent edge row/column stretched outwards.
    if add_l:
        canvas.paste(kept.crop((0, 0, 1, kh)).resize((add_l, kh)), (0, add_t))
    if add_r:
        canvas.paste(kept.crop((kw - 1, 0, kw, kh)).resize((add_r, kh)), (add_l + kw, add_t))
    if add_t:
        canvas.paste(kept.crop((0, 0, kw, 1)).resize((kw, add_t)), (add_l, 0))
    if add_b:
        canvas.paste(kept.crop((0, kh - 1, kw, kh)).resize((kw, add_b)), (add_l, add_t + kh))
    canvas = canvas.filter(ImageFilter.GaussianBlur(radius=max(3, min(out_w, out_h) // 40)))
    rng = random.Random(seed)
    # Grain at a quarter of the resolution, scaled up: plausible texture at a fraction of the cost.
    grain_w, grain_h = max(1, out_w // 4), max(1, out_h // 4)
    noise = Image.frombytes("L", (grain_w, grain_h), rng.randbytes(grain_w * grain_h))
    noise = noise.resize((out_w, out_h), Image.Resampling.BILINEAR).convert(mode)
    if mode == "RGBA":
        noise.putalpha(255)
    canvas = Image.blend(canvas, noise, 0.08)
    canvas.paste(kept, (add_l, add_t))
    return canvas


def reimagine(image: Image.Image, seed: int) -> Image.Image:
    """A "similar but different" variation of the same size: mirrored, hue-rotated by a seeded
    amount and painterly-smoothed."""
    rng = random.Random(seed)
    rgb = image.convert("RGB").transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    hue, saturation, value = rgb.convert("HSV").split()
    shift = rng.randint(40, 215)
    hue = hue.point(lambda h: (h + shift) % 256)
    varied = Image.merge("HSV", (hue, saturation, value)).convert("RGB")
    varied = varied.filter(ImageFilter.ModeFilter(5)).filter(ImageFilter.SMOOTH_MORE)
    return varied


def _fill_enclosed(mask: Image.Image) -> Image.Image:
    """Turn background regions of a binary ``L`` mask that do not touch the border into
    subject (the crema inside a cup stays with the cup)."""
    w, h = mask.size
    padded = Image.new("L", (w + 2, h + 2), 0)
    padded.paste(mask, (1, 1))
    # One flood from the padding reaches every background pixel connected to the border.
    ImageDraw.floodfill(padded, (0, 0), 128)
    return padded.crop((1, 1, w + 1, h + 1)).point(lambda v: 0 if v == 128 else 255)


def background_mask(image: Image.Image, iterations: int = 3) -> Image.Image:
    """An ``L`` mask of ``image``'s size: 255 subject, 0 background, soft edges.

    A small GrabCut-like loop on a copy at most ``_MASK_WORK_SIDE`` pixels a side: colours are
    quantised to a 48-colour median-cut palette; the border ring seeds the background
    colour model and a central ellipse the subject's (an image too narrow for an inner area
    is all border ring); each pass scores every pixel by the two
    colour histograms blended with a centre-weighted spatial prior, thresholds and smooths,
    and re-learns both models from the result. Enclosed background is filled; the mask is
    scaled back up.
    """
    small = image.convert("RGB")
    small.thumbnail((_MASK_WORK_SIDE, _MASK_WORK_SIDE), Image.Resampling.BILINEAR)
    small = small.filter(ImageFilter.GaussianBlur(1))
    w, h = small.size
    palette = small.quantize(colors=48, method=Image.Quantize.MEDIANCUT)
    index = Image.frombytes("L", (w, h), palette.tobytes())
    prior = ImageChops.invert(Image.radial_gradient("L").resize((w, h), Image.Resampling.BILINEAR))
    ring = max(2, min(w, h) // 25)
    border = Image.new("L", (w, h), 255)
    if w - 1 - ring >= ring and h - 1 - ring >= ring:
        ImageDraw.Draw(border).rectangle((ring, ring, w - 1 - ring, h - 1 - ring), fill=0)
    # else: an image a few pixels wide or tall is all border (it keeps only the centre prior).
    subject = prior.point(lambda v: 255 if v > 150 else 0)
    background = border
    for _ in range(iterations):
        hist_fg, hist_bg = index.histogram(subject), index.histogram(background)
        n_fg, n_bg = max(1, sum(hist_fg)), max(1, sum(hist_bg))
        lut = []
        for i in range(256):
            p_fg, p_bg = hist_fg[i] / n_fg, hist_bg[i] / n_bg
            lut.append(int(255 * (p_fg + 1e-4) / (p_fg + p_bg + 2e-4)))
        score = Image.blend(index.point(lut), prior, 0.45).filter(ImageFilter.GaussianBlur(2))
        subject = score.point(lambda v: 255 if v >= 128 else 0).filter(ImageFilter.MedianFilter(5))
        background = ImageChops.lighter(ImageChops.invert(subject), border)
    mask = _fill_enclosed(subject)
    mask = mask.resize(image.size, Image.Resampling.BILINEAR)
    return mask.filter(ImageFilter.GaussianBlur(1))


def remove_background(image: Image.Image) -> tuple[Image.Image, Image.Image]:
    """Return ``(cutout, mask)``: an RGBA cut-out (background transparent) and its ``L`` alpha
    mask, both of ``image``'s size."""
    mask = background_mask(image)
    cutout = image.convert("RGB").convert("RGBA")
    cutout.putalpha(mask)
    return cutout, mask


def watermark(image: Image.Image) -> Image.Image:
    """Return a copy with a visible diagonal ``SANDBOX TEST`` watermark (alpha kept)."""
    marked = image.copy()
    overlay = Image.new("RGBA", marked.size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(overlay)
    step = max(24, min(marked.size) // 6)
    for offset in range(-marked.height, marked.width, step):
        draw.line([(offset, 0), (offset + marked.height, marked.height)], fill=(255, 255, 255, 140))
        draw.text((offset + step // 2, step // 3), "SANDBOX TEST", fill=(255, 0, 0, 200))
    base = marked.convert("RGBA")
    alpha = base.getchannel("A")
    base = Image.alpha_composite(base, overlay)
    base.putalpha(alpha)
    return base if image.mode == "RGBA" else base.convert(image.mode)


def clipping_path_svg(mask: Image.Image) -> bytes:
    """An SVG clipping path of ``mask`` (a grayscale alpha mask: row runs of a down-scaled copy
    as rectangles)."""
    width, height = mask.size
    small = mask.convert("L")
    small.thumbnail((128, 128), Image.Resampling.BILINEAR)
    sw, sh = small.size
    sx, sy = width / sw, height / sh
    levels = small.tobytes()  # one byte per pixel, row after row
    parts = []
    for y in range(sh):
        row = levels[y * sw : (y + 1) * sw]
        x = 0
        while x < sw:
            if row[x] >= 128:
                start = x
                while x < sw and row[x] >= 128:
                    x += 1
                parts.append(
                    f"M{start * sx:.1f} {y * sy:.1f}H{x * sx:.1f}V{(y + 1) * sy:.1f}"
                    f"H{start * sx:.1f}Z"
                )
            x += 1
    path = "".join(parts)
    svg = (
        f'<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}"><path id="clipping-path" d="{path}"/></svg>\n'
    )
    return svg.encode()
