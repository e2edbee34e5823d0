"""Helpers for the sandbox's own tests: raw ``requests`` against the session sandbox (never our
vendor clients), images with known pixels and the bad-upload corpus."""

from __future__ import annotations

import io
import random
import struct
import zlib

import pytest
from django.conf import settings
from PIL import Image

URL = settings.SANDBOX_URL
KEY = "sandbox"
CM_AUTH = ("1", "sandbox")
PIKTID_LOGIN = ("sandbox@example.com", "sandbox")


def noise_image(width: int, height: int, seed: int = 1, mode: str = "RGB") -> Image.Image:
    """An image of seeded random pixels: any misplaced pixel shows."""
    rng = random.Random(seed)
    channels = len(mode)
    return Image.frombytes(mode, (width, height), rng.randbytes(width * height * channels))


def encode(image: Image.Image, fmt: str = "PNG") -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt)
    return buffer.getvalue()


def decode(content: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(content))
    image.load()
    return image


def mean_abs_diff(a: Image.Image, b: Image.Image) -> float:
    """Mean absolute per-channel difference of two same-size images (0..255)."""
    assert a.size == b.size
    from PIL import ImageChops, ImageStat

    diff = ImageChops.difference(a.convert("RGB"), b.convert("RGB"))
    return sum(ImageStat.Stat(diff).mean) / 3


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_header_bomb(width: int = 50_000, height: int = 50_000) -> bytes:
    """A tiny PNG whose header claims ``width`` x ``height`` pixels (a decompression bomb)."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 64)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", ihdr)
        + _png_chunk(b"IDAT", idat)
        + _png_chunk(b"IEND", b"")
    )


def bad_uploads() -> dict[str, bytes]:
    """Name -> bytes of uploads every vendor must refuse with its 400."""
    png = encode(noise_image(120, 90))
    jpeg = encode(noise_image(120, 90), "JPEG")
    return {
        "zero_bytes": b"",
        "garbage": b"this is not an image at all" * 10,
        "truncated_png": png[: len(png) // 2],
        "truncated_jpeg": jpeg[: len(jpeg) // 2],
        "png_magic_only": b"\x89PNG\r\n\x1a\n",
        "decompression_bomb": png_header_bomb(),
        "html": b"<html><body>hello</body></html>",
    }


BAD_UPLOADS = bad_uploads()


@pytest.fixture
def piktid_token(sandbox) -> str:
    """A fresh PiktID access token from the sandbox."""
    import requests

    response = requests.post(f"{URL}/piktid/api/tokens", auth=PIKTID_LOGIN, timeout=10)
    response.raise_for_status()
    return response.json()["access_token"]
