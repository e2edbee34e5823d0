"""Each provider's image limits: fitted (and the pixel parameters scaled to match) or refused
before anything is paid for, per the vendor docs."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from PIL import Image

from django_imageops import jobs
from django_imageops.images import validate_image
from django_imageops.providers import clipdrop, clippingmagic, get_provider
from tests.jobs.support import (
    calls,
    encode,
    imageops_settings,
    make_image,
    photo,
    refused,
    run_due_job,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_servers")]


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
    prepared = get_provider("remove_background", "clippingmagic").prepare(
        {"mode": "auto", "test": True}, data, "big.jpg"
    )
    assert prepared.width * prepared.height <= clippingmagic.TARGET_PIXELS
    [job] = run(
        jobs.create_jobs,
        "remove_background",
        objects=[photo(data, name="big.jpg")],
        field="image",
        params={"test": True},
    )
    job.refresh_from_db()
    assert job.status == "succeeded", job.error_message
    assert job.result_width * job.result_height <= clippingmagic.TARGET_PIXELS


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


@pytest.mark.slow
def test_clipdrop_uncrop_over_30_mb_is_downscaled_or_refused(settings):
    import os

    width, height = 2900, 2800  # 8.1 MP (under 10 MP) of RGBA noise: a ~32 MB PNG
    image = Image.frombytes("RGBA", (width, height), os.urandom(width * height * 4))
    data = encode(image, "PNG", compress_level=1)
    del image
    assert len(data) > clipdrop.UNCROP_MAX_BYTES
    params = {"left": 1000, "right": 0, "top": -100, "bottom": 0}
    prepared = get_provider("uncrop", "clipdrop").prepare(params, data, "huge.png")
    assert len(prepared.upload.content) <= clipdrop.UNCROP_MAX_BYTES
    assert prepared.scale < 1
    assert prepared.params["left"] == round(1000 * prepared.scale)
    assert prepared.params["top"] == round(-100 * prepared.scale)
    assert (prepared.width, prepared.height) == (
        int(width * prepared.scale),
        int(height * prepared.scale),
    )
    imageops_settings(settings, UNCROP_OVERSIZE="refuse")
    with pytest.raises(ValidationError) as exc:
        get_provider("uncrop", "clipdrop").check_image(params, validate_image(data))
    assert "30 MB" in exc.value.message_dict["image"][0]
