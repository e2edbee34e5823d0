"""What the operation forms know about a source image's size without downloading it
(``django_imageops.sources``): the model's ``width_field``/``height_field``, else a header read
(a ranged GET on S3, moto here), EXIF orientation applied; nothing beyond the read limit."""

from __future__ import annotations

import io
import os

import pytest
from django.core.files.base import ContentFile
from PIL import Image

from django_imageops import sources
from django_imageops.sources import (
    HEADER_BYTES,
    HEADER_READ_LIMIT,
    header_size,
    read_head,
    size_from_header,
    source_images,
    stored_size,
)
from tests.conftest import make_image
from tests.testapp.models import Photo, Picture


def noisy_png(width: int, height: int) -> bytes:
    """A PNG that does not compress (random pixels): far bigger than the header read."""
    image = Image.frombytes("RGB", (width, height), os.urandom(width * height * 3))
    buffer = io.BytesIO()
    image.save(buffer, "PNG", compress_level=0)
    return buffer.getvalue()


def rotated_jpeg(width: int, height: int, orientation: int) -> bytes:
    """A JPEG stored ``width`` x ``height`` with an EXIF orientation tag."""
    image = Image.new("RGB", (width, height), (10, 120, 200))
    exif = Image.Exif()
    exif[0x0112] = orientation
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", exif=exif)
    return buffer.getvalue()


@pytest.mark.django_db
def test_stored_size_comes_from_width_and_height_fields_without_any_read(s3):
    picture = Picture(name="Coffee", image="pictures/not-on-storage.png", width=512, height=384)
    assert stored_size(picture.image) == (512, 384)
    # The file does not exist: only the model's columns were read.
    [source] = source_images([picture], "image")
    assert (source.width, source.height, source.label) == (512, 384, "Coffee")
    assert source.info().width == 512


def test_size_from_header_applies_the_exif_orientation():
    assert size_from_header(make_image(30, 20)) == (30, 20)
    assert size_from_header(rotated_jpeg(300, 200, orientation=6)) == (200, 300)
    assert size_from_header(rotated_jpeg(300, 200, orientation=1)) == (300, 200)
    assert size_from_header(b"not an image") is None
    assert size_from_header(b"") is None


@pytest.mark.django_db
def test_a_file_on_s3_is_read_with_a_ranged_get_of_its_first_bytes_only(s3, monkeypatch):
    data = noisy_png(400, 300)
    assert len(data) > 4 * HEADER_BYTES
    picture = Picture(name="Noise")
    picture.image.save("noise.png", ContentFile(data), save=False)
    answers = []
    real_get = sources.requests.get

    def get(*args, **kwargs):
        response = real_get(*args, **kwargs)
        answers.append((response.status_code, response.headers.get("Content-Length")))
        return response

    monkeypatch.setattr(sources.requests, "get", get)
    head = read_head(picture.image)
    assert head == data[:HEADER_BYTES]
    # S3 answered the range: 206 with only the bytes asked for.
    assert answers == [(206, str(HEADER_BYTES))]
    assert header_size(picture.image) == (400, 300)


@pytest.mark.django_db
def test_a_local_file_is_read_from_its_start(db):
    photo = Photo(title="Local")
    photo.image.save("local.png", ContentFile(noisy_png(300, 200)), save=False)
    assert len(read_head(photo.image)) == HEADER_BYTES
    assert header_size(photo.image) == (300, 200)


@pytest.mark.django_db
def test_headers_are_read_only_for_small_selections(db, monkeypatch):
    photo = Photo(title="Shared")
    photo.image.save("shared.png", ContentFile(make_image(64, 48)), save=False)
    photos = [Photo(title=f"P{i}", image=photo.image.name) for i in range(HEADER_READ_LIMIT + 1)]
    reads = []
    real = sources.read_head
    monkeypatch.setattr(sources, "read_head", lambda f, *a: reads.append(f.name) or real(f, *a))

    small = source_images(photos[:HEADER_READ_LIMIT], "image")
    assert all((s.width, s.height) == (64, 48) for s in small)
    assert len(reads) == HEADER_READ_LIMIT

    reads.clear()
    large = source_images(photos, "image")
    assert not any(s.size_known for s in large)
    assert reads == []
    # An object without a file has no URL and no size.
    [empty] = source_images([Photo(title="Empty")], "image")
    assert (empty.url, empty.size_known) == ("", False)


@pytest.mark.django_db
def test_an_unreadable_file_leaves_the_size_unknown(db):
    photo = Photo(title="Gone", image="photos/missing.png")
    [source] = source_images([photo], "image")
    assert source.url and not source.size_known
