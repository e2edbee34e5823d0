"""Images before a vendor sees them (``images`` and ``Provider.prepare``): a bad-input corpus
made here with Pillow.

Each bad input gets a clear ``ValidationError`` with no vendor call (the sandbox's counters
prove it), or is processed correctly (converted, rotated, fitted) with the job succeeding.
"""

from __future__ import annotations

import io

import pytest
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from PIL import Image

from django_imageops import jobs
from django_imageops.images import validate_image
from django_imageops.providers import get_provider
from tests.jobs.support import (
    encode,
    imageops_settings,
    make_image,
    noisy_image,
    photo,
    refused,
    total_calls,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_servers")]


def truncated_png() -> bytes:
    data = noisy_image(200, 200)
    return data[: len(data) // 2]


def truncated_jpeg() -> bytes:
    data = noisy_image(200, 200, "JPEG")
    return data[: len(data) // 2]


@pytest.mark.parametrize(
    ("name", "make", "code"),
    [
        ("not-an-image.png", lambda: b"%PDF-1.4 this is not an image at all", "not_an_image"),
        ("empty.png", lambda: b"", "empty"),
        ("truncated.png", truncated_png, "truncated"),
        ("truncated.jpg", truncated_jpeg, "truncated"),
        ("html.jpg", lambda: b"<html><body>hello</body></html>", "not_an_image"),
    ],
)
def test_broken_files_are_refused_without_a_vendor_call(run, sandbox, name, make, code):
    data = make()
    with pytest.raises(ValidationError) as exc:
        validate_image(data)
    assert exc.value.code == code
    errors, job = refused(run, sandbox, "reimagine", data, name)
    assert "image" in errors
    assert str(exc.value.messages[0]) in job.error_message


@pytest.mark.parametrize("size", [(1500, 1000), (3000, 1000)])  # over 1x and over 2x the limit
def test_decompression_bombs_are_refused(sandbox, settings, size):
    imageops_settings(settings, MAX_IMAGE_PIXELS=1_000_000)
    bomb = encode(Image.new("1", size), "PNG")  # a few hundred bytes, millions of pixels
    assert len(bomb) < 5000
    with pytest.raises(ValidationError) as exc:
        validate_image(bomb)
    assert exc.value.code == "too_many_pixels"
    with pytest.raises(ValidationError):
        jobs.create_jobs("reimagine", uploads=[ContentFile(bomb, name="bomb.png")])
    assert total_calls(sandbox) == 0


def test_files_over_the_upload_limit_are_refused_before_decoding(run, sandbox, settings):
    imageops_settings(settings, MAX_UPLOAD_BYTES=10_000)
    data = noisy_image(100, 100)
    assert len(data) > 10_000
    with pytest.raises(ValidationError) as exc:
        validate_image(io.BytesIO(data))
    assert exc.value.code == "too_big"
    _errors, job = refused(
        run, sandbox, "crop", data, params={"x": 0, "y": 0, "width": 5, "height": 5}
    )
    assert "the largest accepted is 10000 bytes" in job.error_message


def test_offsets_that_crop_everything_away_are_refused(run, sandbox):
    errors, job = refused(
        run, sandbox, "uncrop", make_image(64, 48), params={"left": -40, "right": -30}
    )
    assert "whole 64-pixel width" in errors["left"][0]
    assert "whole 64-pixel width" in job.error_message


def test_animated_gif_uses_the_first_frame(run, sandbox):
    frames = [Image.new("RGB", (60, 40), color) for color in ("red", "green", "blue")]
    buffer = io.BytesIO()
    frames[0].save(buffer, "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)
    info = validate_image(buffer.getvalue())
    assert info.frames == 3
    [job] = run(
        jobs.create_jobs,
        "uncrop",
        objects=[photo(buffer.getvalue(), name="anim.gif")],
        field="image",
        params={"right": 20},
    )
    job.refresh_from_db()
    assert job.status == "succeeded", job.error_message
    assert (job.result_width, job.result_height) == (80, 40)
    assert any("first frame" in e.message for e in job.events.all())
    # Clipdrop takes no GIF: the first frame went as PNG, and its colour is the first frame's.
    prepared = get_provider("uncrop", "clipdrop").prepare(job.params, buffer.getvalue(), "anim.gif")
    assert prepared.upload.content_type == "image/png"
    sent = Image.open(io.BytesIO(prepared.upload.content)).convert("RGB")
    assert sent.getpixel((0, 0)) == (255, 0, 0)


def test_cmyk_jpeg_is_converted_to_rgb(run, sandbox):
    data = encode(Image.new("CMYK", (64, 48), (0, 255, 255, 0)), "JPEG")
    assert validate_image(data).mode == "CMYK"
    prepared = get_provider("reimagine", "clipdrop").prepare({}, data, "cmyk.jpg")
    sent = Image.open(io.BytesIO(prepared.upload.content))
    assert (sent.format, sent.mode) == ("JPEG", "RGB")
    [job] = run(
        jobs.create_jobs, "reimagine", objects=[photo(data, name="cmyk.jpg")], field="image"
    )
    job.refresh_from_db()
    assert job.status == "succeeded", job.error_message


def test_16_bit_png_is_converted_to_8_bit(run, sandbox):
    image = Image.new("I;16", (64, 48))
    image.putpixel((0, 0), 65535)
    data = encode(image, "PNG")
    assert validate_image(data).mode.startswith("I")
    prepared = get_provider("uncrop", "clipdrop").prepare(
        {"left": 5, "right": 0, "top": 0, "bottom": 0}, data, "deep.png"
    )
    sent = Image.open(io.BytesIO(prepared.upload.content))
    assert sent.mode == "L"
    assert sent.getpixel((0, 0)) == 255
    [job] = run(
        jobs.create_jobs,
        "uncrop",
        objects=[photo(data, name="deep.png")],
        field="image",
        params={"left": 5},
    )
    job.refresh_from_db()
    assert job.status == "succeeded", job.error_message
    assert (job.result_width, job.result_height) == (69, 48)


def test_exif_orientation_is_applied_before_checks_and_sending(run, sandbox):
    stored = Image.new("RGB", (60, 40), "white")  # stored landscape, displayed portrait
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to display
    data = encode(stored, "JPEG", exif=exif.tobytes())
    info = validate_image(data)
    assert (info.width, info.height, info.orientation) == (40, 60, 6)
    # A crop box inside the displayed 40x60 image (outside the stored 60x40 one).
    [job] = run(
        jobs.create_jobs,
        "crop",
        objects=[photo(data, name="rotated.jpg")],
        field="image",
        params={"x": 0, "y": 10, "width": 40, "height": 50},
    )
    job.refresh_from_db()
    assert job.status == "succeeded", job.error_message
    assert (job.result_width, job.result_height) == (40, 50)
    calls_before = total_calls(sandbox)
    with pytest.raises(ValidationError) as exc:
        jobs.create_jobs(
            "crop",
            uploads=[ContentFile(data, name="rotated.jpg")],
            params={"x": 0, "y": 0, "width": 60, "height": 40},
        )
    assert "width" in exc.value.message_dict
    [job] = run(
        jobs.create_jobs,
        "crop",
        objects=[photo(data, name="rotated.jpg")],
        field="image",
        params={"x": 0, "y": 0, "width": 60, "height": 40},
    )
    job.refresh_from_db()
    assert job.error_code == "invalid_input" and "width of 40 pixels" in job.error_message
    assert total_calls(sandbox) == calls_before


@pytest.mark.parametrize(
    "name",
    ["holiday photo (1) ñ.PNG", "../../etc/passwd.png", "no-extension", "x.jpeg.exe", "😀.png"],
)
def test_odd_filenames(run, sandbox, name):
    [job] = run(
        jobs.create_jobs,
        "crop",
        uploads=[ContentFile(make_image(64, 48), name=name)],
        params={"x": 0, "y": 0, "width": 10, "height": 10},
    )
    job.refresh_from_db()
    assert job.status == "succeeded", job.error_message
    assert job.source_file.name.startswith(f"imageops/sources/{job.uuid}/")
    assert ".." not in job.source_file.name
    assert job.result.name == f"imageops/results/crop/{job.uuid}.png"


def test_untouched_images_are_sent_as_they_are():
    data = make_image(64, 48, "JPEG")
    prepared = get_provider("uncrop", "clipdrop").prepare(
        {"left": 5, "right": 0, "top": 0, "bottom": 0}, data, "photos/a.jpg"
    )
    assert prepared.upload.content is data  # no decode, no copy
    assert prepared.upload.filename == "a.jpg"
    assert prepared.scale == 1.0
