"""Source images as the forms see them: which object, which file, and its size when it can be
known without downloading the file.

The operation forms (``forms.OperationForm``) check values that only fail against an image's
size (a crop box leaving the image, offsets cropping it away) before a job exists, and draw
their previews (the crop box, the uncrop canvas) over the sources. They get both from
``source_images``:

- the size stored on the model by the ImageField's ``width_field``/``height_field`` (no I/O at
  all; Django records the file's own size, before any EXIF rotation), else
- for a small selection (``HEADER_READ_LIMIT`` objects at most), the size read from the first
  ``HEADER_BYTES`` bytes of the file: a ranged HTTP GET of ``storage.url()`` when the storage
  serves absolute URLs (S3 and other object stores), else the start of ``storage.open()``
  (local files), ``HEADER_READ_THREADS`` of them at once. The EXIF orientation is applied, so
  the size is the image as displayed.
- Otherwise the size stays unknown (``None``) and the job checks the image when it runs, before
  any vendor call.

Nothing here names a vendor or touches the database beyond the objects given.
"""

from __future__ import annotations

import contextlib
import io
import logging
import warnings
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import requests
from django.db import models
from PIL import Image

from .images import ImageInfo

logger = logging.getLogger(__name__)

#: Largest selection whose sizes are read from the files' headers (a ranged read each).
HEADER_READ_LIMIT = 20
#: Header reads at once: each is a round trip to the object store (20 one after the other made
#: the admin's action page on 20 objects take ~0.35 s, ``benchmarks/request_latency.py``).
HEADER_READ_THREADS = 8
#: Bytes read from the start of a file to find its size (JPEG EXIF segments fit in 64 KiB).
HEADER_BYTES = 64 * 1024
#: (connect, read) timeouts in seconds of a ranged GET.
HEADER_TIMEOUT = (3.0, 10.0)

_EXIF_ORIENTATION = 0x0112


@dataclass(frozen=True)
class SourceImage:
    """One object's source image, as an operation form shows and checks it.

    Attributes:
        object: the model instance (or ``None`` for an uploaded file).
        field: the ImageField's name.
        name: the file's name on its storage.
        url: ``storage.url(name)`` (no I/O), "" without a file.
        width, height: pixels as displayed, or ``None`` when not known without downloading.
        label: how messages name the object (``str(object)``, e.g. "Coffee").
    """

    object: Any
    field: str
    name: str
    url: str
    width: int | None = None
    height: int | None = None
    label: str = ""

    @property
    def size_known(self) -> bool:
        """True when ``width`` and ``height`` are known."""
        return bool(self.width and self.height)

    def info(self) -> ImageInfo | None:
        """An ``ImageInfo`` of the known size (format and mode unknown), or ``None``."""
        if not (self.width and self.height):
            return None
        return ImageInfo(self.width, self.height, format="", mode="")


def stored_size(field_file) -> tuple[int, int] | None:
    """The size the ImageField's ``width_field``/``height_field`` recorded on the instance, or
    ``None`` (no such fields, or empty). No I/O."""
    field = getattr(field_file, "field", None)
    instance = getattr(field_file, "instance", None)
    if field is None or instance is None:
        return None
    width_field = getattr(field, "width_field", None)
    height_field = getattr(field, "height_field", None)
    if not (width_field and height_field):
        return None
    width, height = getattr(instance, width_field, None), getattr(instance, height_field, None)
    if width and height:
        return int(width), int(height)
    return None


def size_from_header(head: bytes) -> tuple[int, int] | None:
    """The displayed size of an image from the first bytes of its file, or ``None`` when they do
    not say (not an image, a format whose size comes later, a truncated header).

    The EXIF orientation is applied: a portrait photo stored sideways reports its upright size.
    """
    # Image.open reads the header only (no pixels are decoded or allocated).
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(head))
    except Exception:  # Pillow raises many types for bytes that are not (all) there
        return None
    width, height = image.size
    orientation = 1
    with contextlib.suppress(Exception):
        orientation = int(image.getexif().get(_EXIF_ORIENTATION, 1) or 1)
    if orientation in (5, 6, 7, 8):
        width, height = height, width
    return (width, height) if width and height else None


def read_head(field_file, limit: int = HEADER_BYTES) -> bytes:
    """At most ``limit`` bytes from the start of ``field_file``'s file.

    An absolute ``storage.url()`` (S3 and other object stores) is fetched with an HTTP
    ``Range`` request (a streamed GET, closed after ``limit`` bytes when the server ignores the
    range); otherwise ``storage.open()`` is read up to ``limit``.

    Raises:
        OSError: the file cannot be read (``requests`` errors become ``OSError``).
    """
    storage, name = field_file.storage, field_file.name
    url = ""
    with contextlib.suppress(NotImplementedError, ValueError):
        url = storage.url(name)
    if url.startswith(("http://", "https://")):
        try:
            with requests.get(
                url,
                headers={"Range": f"bytes=0-{limit - 1}"},
                stream=True,
                timeout=HEADER_TIMEOUT,
            ) as response:
                response.raise_for_status()
                head = b""
                for chunk in response.iter_content(16 * 1024):
                    head += chunk
                    if len(head) >= limit:
                        break
                return head[:limit]
        except requests.RequestException as exc:
            raise OSError(str(exc)) from exc
    with storage.open(name, "rb") as file:
        return file.read(limit)


def header_size(field_file) -> tuple[int, int] | None:
    """The displayed size read from the start of ``field_file`` (``read_head``), or ``None``
    when it cannot be read or does not say."""
    try:
        head = read_head(field_file)
    except OSError as exc:
        logger.info("could not read the header of %s: %s", field_file.name, exc)
        return None
    return size_from_header(head)


def source_images(
    objects: Iterable[models.Model],
    field: str,
    *,
    read_headers: bool | None = None,
) -> list[SourceImage]:
    """A ``SourceImage`` per object, for its ImageField ``field``.

    Args:
        objects: model instances (a list or a queryset; evaluated once).
        field: the ImageField's name on them.
        read_headers: read the sizes ``width_field``/``height_field`` do not give from the
            files' headers. ``None``: only when there are at most ``HEADER_READ_LIMIT`` objects.

    Returns:
        One ``SourceImage`` per object, in order; ``url`` "" and the size unknown for an
        object without a file; the size unknown when it cannot be had cheaply.
    """
    objects = list(objects)
    if read_headers is None:
        read_headers = len(objects) <= HEADER_READ_LIMIT
    files = [getattr(obj, field, None) for obj in objects]
    sizes = [
        stored_size(field_file) if field_file and getattr(field_file, "name", "") else None
        for field_file in files
    ]
    unread = [
        index
        for index, field_file in enumerate(files)
        if read_headers and sizes[index] is None and field_file and field_file.name
    ]
    if unread:
        # Storage URLs and HTTP only (no database): safe in threads.
        with ThreadPoolExecutor(max_workers=min(HEADER_READ_THREADS, len(unread))) as pool:
            for index, size in zip(
                unread, pool.map(header_size, [files[i] for i in unread]), strict=True
            ):
                sizes[index] = size
    sources = []
    for obj, field_file, size in zip(objects, files, sizes, strict=True):
        if not field_file or not getattr(field_file, "name", ""):
            sources.append(SourceImage(obj, field, "", "", label=str(obj)))
            continue
        width, height = size or (None, None)
        sources.append(
            SourceImage(
                obj,
                field,
                field_file.name,
                field_file.url,
                width,
                height,
                label=str(obj),
            )
        )
    return sources
