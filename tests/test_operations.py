"""Operation specs: parameter validation, and a bad-input corpus made here with Pillow.

Each bad input gets a clear ``ValidationError`` with no vendor call (the sandbox's counters
prove it), or is processed correctly (converted, rotated, fitted) with the job succeeding.
"""

from __future__ import annotations

import io

import pytest
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from PIL import Image

from django_imageops import jobs, operations
from django_imageops.operations import get_operation, validate_image
from tests.test_jobs_support import (
    calls,
    fresh_limits,
    imageops_settings,
    make_image,
    noisy_image,
    photo,
    run_due_job,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _servers(sandbox, s3, settings):
    fresh_limits(settings)
    return sandbox


@pytest.fixture
def run(django_capture_on_commit_callbacks):
    def call(fn, *args, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return fn(*args, **kwargs)

    return call


def total_calls(sandbox) -> int:
    return sum(v["calls"] for v in sandbox.counters().values())


def refused(run, sandbox, operation: str, data: bytes, name: str = "photo.png", **kwargs):
    """Check both ways ``data`` is refused before any vendor call.

    An upload is refused by ``create_jobs`` (nothing is created); an object's image is only
    read when its job runs, which then fails with ``invalid_input``, no call and no credit.

    Returns:
        ``(message_dict, failed_job)``: the upload's ``ValidationError`` messages and the job.
    """
    with pytest.raises(ValidationError) as exc:
        jobs.create_jobs(operation, uploads=[ContentFile(data, name=name)], **kwargs)
    assert jobs.ImageJob.objects.count() == 0
    [job] = run(
        jobs.create_jobs, operation, objects=[photo(data, name=name)], field="image", **kwargs
    )
    job.refresh_from_db()
    assert (job.status, job.error_code) == ("failed", "invalid_input"), job.error_message
    assert job.credits_consumed == 0
    assert total_calls(sandbox) == 0
    return exc.value.message_dict, job


def encode(image: Image.Image, fmt: str, **save) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **save)
    return buffer.getvalue()


# -- parameters ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("operation", "provider", "params", "field", "words"),
    [
        ("uncrop", "clipdrop", {"left": 2001}, "left", "less than or equal to 2000"),
        ("uncrop", "clipdrop", {"bottom": -2001}, "bottom", "greater than or equal to -2000"),
        ("uncrop", "clipdrop", {"left": "ten"}, "left", "whole number"),
        ("uncrop", "clipdrop", {"left": 1.5}, "left", "whole number"),
        ("uncrop", "clipdrop", {}, "left", "at least one of"),
        ("uncrop", "clipdrop", {"left": 5, "seed": 100_001}, "seed", "100000"),
        ("uncrop", "clipdrop", {"left": 5, "seed": -1}, "seed", "greater than or equal to 0"),
        ("uncrop", "piktid", {"left": 5, "seed": 3}, "seed", "Only Clipdrop"),
        ("crop", "pixlab", {"x": 0, "y": 0, "width": 0, "height": 5}, "width", "greater than"),
        ("crop", "pixlab", {"y": 0, "width": 5, "height": 5}, "x", "required"),
        ("remove_background", "clippingmagic", {"mode": "manual"}, "mode", "auto or review"),
        ("crop", "clipdrop", {}, "provider", "cannot run crop"),
    ],
)
def test_clean_params_names_the_field(operation, provider, params, field, words):
    with pytest.raises(ValidationError) as exc:
        get_operation(operation).clean_params(provider, params)
    messages = exc.value.message_dict[field]
    assert any(words in m for m in messages), messages


def test_clean_params_normalises():
    assert get_operation("uncrop").clean_params("clipdrop", {"left": "12", "seed": "7"}) == {
        "left": 12,
        "right": 0,
        "top": 0,
        "bottom": 0,
        "seed": 7,
    }
    assert get_operation("remove_background").clean_params("clippingmagic", {}) == {
        "mode": "auto",
        "test": False,
    }
    assert get_operation("remove_background").clean_params(
        "clippingmagic", {"mode": "review", "test": "true"}
    ) == {"mode": "review", "test": True}
    with pytest.raises(ValidationError) as exc:
        get_operation("blur")
    assert "operation" in exc.value.message_dict


# -- the bad-input corpus: refused before any vendor call ----------------------------------


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


# -- processed correctly -------------------------------------------------------------------


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
    prepared = get_operation("uncrop").prepare(
        "clipdrop", job.params, buffer.getvalue(), "anim.gif"
    )
    assert prepared.upload.content_type == "image/png"
    sent = Image.open(io.BytesIO(prepared.upload.content)).convert("RGB")
    assert sent.getpixel((0, 0)) == (255, 0, 0)


def test_cmyk_jpeg_is_converted_to_rgb(run, sandbox):
    data = encode(Image.new("CMYK", (64, 48), (0, 255, 255, 0)), "JPEG")
    assert validate_image(data).mode == "CMYK"
    prepared = get_operation("reimagine").prepare("clipdrop", {}, data, "cmyk.jpg")
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
    prepared = get_operation("uncrop").prepare(
        "clipdrop", {"left": 5, "right": 0, "top": 0, "bottom": 0}, data, "deep.png"
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


def test_clipdrop_uncrop_over_10_megapixels_is_downscaled_with_offsets(run, sandbox):
    data = encode(Image.new("RGB", (4000, 3000), "gray"), "PNG")  # 12 MP, a small file
    [job] = run(
        jobs.create_jobs,
        "uncrop",
        objects=[photo(data, name="big.png")],
        field="image",
        params={"left": 400, "top": -300},
    )
    job.refresh_from_db()
    assert job.status == "succeeded", job.error_message
    assert sandbox.counters()["clipdrop"]["errors"] == 0
    scale = (10_000_000 / 12_000_000) ** 0.5
    assert abs(job.result_width - (4000 + 400) * scale) < 10
    assert abs(job.result_height - (3000 - 300) * scale) < 10
    assert any("offsets scaled" in e.message for e in job.events.all())


def test_clipdrop_uncrop_oversize_can_be_refused(run, sandbox, settings):
    imageops_settings(settings, UNCROP_OVERSIZE="refuse")
    data = encode(Image.new("RGB", (4000, 3000), "gray"), "PNG")
    errors, job = refused(run, sandbox, "uncrop", data, params={"left": 10})
    assert "10 megapixels" in errors["image"][0]
    assert "10 megapixels" in job.error_message


def test_clippingmagic_images_are_pre_shrunk(run, sandbox):
    data = encode(Image.new("RGB", (3000, 2000), "gray"), "JPEG")  # 6 MP
    prepared = get_operation("remove_background").prepare(
        "clippingmagic", {"mode": "auto", "test": True}, data, "big.jpg"
    )
    assert prepared.width * prepared.height <= operations.CLIPPINGMAGIC_TARGET_PIXELS
    [job] = run(
        jobs.create_jobs,
        "remove_background",
        objects=[photo(data, name="big.jpg")],
        field="image",
        params={"test": True},
    )
    job.refresh_from_db()
    assert job.status == "succeeded", job.error_message
    assert job.result_width * job.result_height <= operations.CLIPPINGMAGIC_TARGET_PIXELS


def test_piktid_out_of_range_is_fitted_or_refused(run, sandbox, settings):
    sandbox.configure(piktid_delay=0)
    [job] = run(
        jobs.create_jobs,
        "uncrop",
        provider="piktid",
        objects=[photo(make_image(40, 50), name="tiny.png")],
        field="image",
        params={"left": 10},
    )
    job = run(run_due_job, job)
    assert job.status == "succeeded", job.error_message
    # 40x50 enlarged x1.6 to 64x80; 10 px of offset became 16.
    assert (job.result_width, job.result_height) == (80, 80)
    # Too narrow to fit: refused (uploads at once, objects when their job runs).
    for data, message in (
        (make_image(5000, 20), "cannot be fitted"),
        (make_image(40, 50), "64x64 to 4096x4096"),
    ):
        if message.startswith("64x64"):
            imageops_settings(settings, PIKTID_OUT_OF_RANGE="refuse")
        with pytest.raises(ValidationError) as exc:
            jobs.create_jobs(
                "uncrop",
                provider="piktid",
                uploads=[ContentFile(data, name="narrow.png")],
                params={"left": 10},
            )
        assert message in exc.value.message_dict["image"][0]
        [failed] = run(
            jobs.create_jobs,
            "uncrop",
            provider="piktid",
            objects=[photo(data)],
            field="image",
            params={"left": 10},
        )
        failed.refresh_from_db()
        assert failed.error_code == "invalid_input" and message in failed.error_message
    assert calls(sandbox, "piktid", "target") == 1


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
    prepared = get_operation("uncrop").prepare(
        "clipdrop", {"left": 5, "right": 0, "top": 0, "bottom": 0}, data, "photos/a.jpg"
    )
    assert prepared.upload.content is data  # no decode, no copy
    assert prepared.upload.filename == "a.jpg"
    assert prepared.scale == 1.0


@pytest.mark.slow
def test_clipdrop_uncrop_over_30_mb_is_downscaled_or_refused(settings):
    import os

    width, height = 2900, 2800  # 8.1 MP (under 10 MP) of RGBA noise: a ~32 MB PNG
    image = Image.frombytes("RGBA", (width, height), os.urandom(width * height * 4))
    data = encode(image, "PNG", compress_level=1)
    del image
    assert len(data) > operations.CLIPDROP_UNCROP_MAX_BYTES
    params = {"left": 1000, "right": 0, "top": -100, "bottom": 0}
    prepared = get_operation("uncrop").prepare("clipdrop", params, data, "huge.png")
    assert len(prepared.upload.content) <= operations.CLIPDROP_UNCROP_MAX_BYTES
    assert prepared.scale < 1
    assert prepared.params["left"] == round(1000 * prepared.scale)
    assert prepared.params["top"] == round(-100 * prepared.scale)
    assert (prepared.width, prepared.height) == (
        int(width * prepared.scale),
        int(height * prepared.scale),
    )
    imageops_settings(settings, UNCROP_OVERSIZE="refuse")
    with pytest.raises(ValidationError) as exc:
        get_operation("uncrop").check_image("clipdrop", params, validate_image(data))
    assert "30 MB" in exc.value.message_dict["image"][0]
