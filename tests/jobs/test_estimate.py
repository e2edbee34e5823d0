"""The price before it runs (``jobs.estimate``): N jobs, credits per vendor, minus what reuse
and test mode make free, against the known balance; validated like ``create_jobs``, and
nothing written, called or read from storage."""

from __future__ import annotations

import hashlib
import json
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile

from django_imageops import jobs
from django_imageops.models import ImageJob, VendorCredits
from tests.jobs.support import CROP, make_image, photo, total_calls, vendor_setting

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_servers")]


def test_a_crop_estimate_counts_jobs_reuse_and_credits(run, sandbox):
    done, other, new = photo(make_image(color=(1, 2, 3))), photo(), photo()
    [first] = run(jobs.create_jobs, "crop", objects=[done], field="image", params=CROP)
    assert ImageJob.objects.get(pk=first.pk).status == "succeeded"
    calls_before = total_calls(sandbox)
    count = ImageJob.objects.count()

    estimate = jobs.estimate("crop", objects=[done, other, new], field="image", params=CROP)

    assert (estimate.jobs, estimate.reused, estimate.free, estimate.paid) == (3, 1, 0, 2)
    assert estimate.credits == Decimal(2)
    [pixlab] = estimate.vendors
    assert (pixlab.vendor, pixlab.jobs, pixlab.price, pixlab.credits) == ("pixlab", 2, 1, 2)
    assert pixlab.budgets == () and pixlab.budget_remaining is None
    assert estimate.credits_by_vendor == {"pixlab": Decimal(2)}
    # Nothing created, nothing called.
    assert ImageJob.objects.count() == count
    assert total_calls(sandbox) == calls_before
    # Other parameters: no identical result to reuse.
    changed = jobs.estimate("crop", objects=[done], field="image", params={**CROP, "x": 5})
    assert (changed.reused, changed.paid) == (0, 1)


def test_uploads_are_hashed_and_known_bytes_count_as_reused(run, sandbox):
    data = make_image(color=(5, 6, 7))
    [first] = run(jobs.create_jobs, "crop", uploads=[ContentFile(data, name="a.png")], params=CROP)
    assert ImageJob.objects.get(pk=first.pk).source_hash == hashlib.sha256(data).hexdigest()
    estimate = jobs.estimate(
        "crop",
        uploads=[ContentFile(data, name="b.png"), ContentFile(make_image(), name="c.png")],
        params=CROP,
    )
    assert (estimate.jobs, estimate.reused, estimate.paid, estimate.credits) == (2, 1, 1, 1)


def test_object_hashes_given_by_the_caller_predict_reuse(run, sandbox):
    data = make_image(color=(40, 50, 60))
    run(jobs.create_jobs, "crop", uploads=[ContentFile(data, name="a.png")], params=CROP)
    other_name = photo(data, name="renamed.png")
    estimate = jobs.estimate(
        "crop",
        objects=[other_name],
        field="image",
        params=CROP,
        source_hashes=[hashlib.sha256(data).hexdigest()],
    )
    assert estimate.reused == 1 and estimate.credits == 0


def test_unseeded_uncrop_is_never_reused_and_the_balance_is_the_last_known(run, sandbox):
    obj = photo()
    [first] = run(jobs.create_jobs, "uncrop", objects=[obj], field="image", params={"left": 8})
    assert ImageJob.objects.get(pk=first.pk).status == "succeeded"
    balance = VendorCredits.objects.get(vendor="clipdrop").remaining
    estimate = jobs.estimate("uncrop", objects=[obj, obj], field="image", params={"left": 8})
    assert (estimate.reused, estimate.paid, estimate.credits) == (0, 2, 2)
    [clipdrop] = estimate.vendors
    assert clipdrop.balance == balance and clipdrop.balance_updated_at is not None
    assert estimate.fits
    summary = estimate.summary()
    assert summary.startswith("2 jobs · 2 Clipdrop credits · known balance ")
    # A seeded one is.
    run(jobs.create_jobs, "uncrop", objects=[obj], field="image", params={"left": 8, "seed": 3})
    seeded = jobs.estimate("uncrop", objects=[obj], field="image", params={"left": 8, "seed": 3})
    assert (seeded.reused, seeded.credits) == (1, 0)


def test_more_than_the_known_balance_does_not_fit():
    VendorCredits.objects.create(vendor="pixlab", remaining=Decimal(1))
    estimate = jobs.estimate("crop", objects=[photo(), photo()], field="image", params=CROP)
    [pixlab] = estimate.vendors
    assert not pixlab.enough_balance and not estimate.fits
    assert "more than the known balance" in estimate.summary()


def test_test_mode_is_free_and_the_price_setting_is_used(settings):
    free = jobs.estimate(
        "remove_background", objects=[photo()], field="image", params={"test": True}
    )
    assert (free.jobs, free.free, free.paid, free.credits) == (1, 1, 0, 0)
    paid = jobs.estimate(
        "remove_background", objects=[photo()], field="image", params={"test": False}
    )
    assert (paid.paid, paid.credits) == (1, 1)
    vendor_setting(settings, "pixlab", PRICE={"crop": "0.25"})
    priced = jobs.estimate("crop", objects=[photo(), photo(), photo()], field="image", params=CROP)
    assert priced.credits == Decimal("0.75")
    assert priced.as_dict()["credits"] == "0.75"
    vendor_setting(settings, "clipdrop", PRICE=2)
    assert jobs.estimate("reimagine", objects=[photo()], field="image").credits == 2


def test_the_estimate_validates_like_create_jobs_and_writes_nothing(sandbox):
    good = photo()
    with pytest.raises(ValidationError) as exc:
        jobs.estimate("crop", objects=[good], field="image", params={"x": -1})
    assert {"x", "width", "height"} <= set(exc.value.message_dict)
    with pytest.raises(ValidationError) as exc:
        jobs.estimate("crop", uploads=[ContentFile(b"not an image", name="x.png")], params=CROP)
    assert "image" in exc.value.message_dict
    with pytest.raises(ValueError):
        jobs.estimate("crop", params=CROP)
    assert ImageJob.objects.count() == 0 and total_calls(sandbox) == 0


def test_the_estimate_needs_a_constant_number_of_queries(django_assert_num_queries):
    from django.contrib.contenttypes.models import ContentType

    from tests.testapp.models import Photo

    ContentType.objects.get_for_model(Photo)
    one, many = [photo()], [photo() for _ in range(8)]
    with django_assert_num_queries(2) as captured:
        jobs.estimate("crop", objects=one, field="image", params=CROP)
    with django_assert_num_queries(len(captured.captured_queries)):
        jobs.estimate("crop", objects=many, field="image", params=CROP)


def test_as_dict_is_json_ready():
    VendorCredits.objects.create(vendor="pixlab", remaining=Decimal("92.000"))
    data = jobs.estimate("crop", objects=[photo()], field="image", params=CROP).as_dict()
    assert json.loads(json.dumps(data)) == data
    assert data["credits"] == "1" and data["paid"] == 1 and data["fits"] is True
    [vendor] = data["vendors"]
    assert vendor["balance"] == "92" and vendor["budgets"] == []
    assert data["summary"] == "1 job · 1 PixLab credit · known balance 92"
