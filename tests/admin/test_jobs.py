"""The job admin: changelist columns and filters, 100 jobs without S3 requests in a constant
number of queries, batch progress JSON, the change page, the job actions, the credits page and
the generic inline on the source model."""

from __future__ import annotations

import copy
import uuid
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from django_imageops.conf import get_storage
from django_imageops.models import ImageJob, ImageJobEvent, VendorCredits
from tests.admin.support import act, make_jobs
from tests.conftest import make_image
from tests.testapp.models import Photo

CHANGELIST = "admin:django_imageops_imagejob_changelist"


class S3RequestCounter:
    """Counts HTTP requests boto3 sends through the imageops storage's client."""

    def __init__(self):
        self.count = 0
        self.events = get_storage().connection.meta.client.meta.events

    def __call__(self, **kwargs):
        self.count += 1

    def __enter__(self):
        self.events.register("before-send.s3", self)
        return self

    def __exit__(self, *exc):
        self.events.unregister("before-send.s3", self)


@pytest.mark.django_db
def test_changelist_columns(admin_client, photo):
    job = make_jobs(
        photo, 1, error_message="Vendor said no " * 10, result_width=160, result_height=120
    )[0]
    html = admin_client.get(reverse(CHANGELIST)).content.decode()
    assert 'class="imageops-badge imageops-succeeded"' in html
    assert reverse("admin:testapp_photo_change", args=[photo.pk]) in html
    # before: the source on its storage; after: a presigned S3 URL sized from width/height.
    assert f'src="/media/{photo.image.name}"' in html
    assert f"/imageops-test/{job.result.name}?" in html
    assert 'width="80" height="60"' in html  # 160x120 scaled to the 80-pixel box
    assert "3.0 s" in html
    assert 'class="imageops-error"' in html
    for param in ("status__exact", "operation__exact", "provider__exact", "created_at__gte"):
        assert param in html  # the filters
    assert "Vendor credits" in html


@pytest.mark.django_db
def test_changelist_search_and_batch_filter(admin_client, photo):
    batch = uuid.uuid4()
    in_batch = make_jobs(photo, 2, batch=batch)
    make_jobs(photo, 3, error_message="boom")
    response = admin_client.get(reverse(CHANGELIST), {"batch": str(batch)})
    assert response.context["cl"].result_count == 2
    assert {j.pk for j in response.context["cl"].result_list} == {j.pk for j in in_batch}
    response = admin_client.get(reverse(CHANGELIST), {"q": "boom"})
    assert response.context["cl"].result_count == 3
    response = admin_client.get(reverse(CHANGELIST), {"batch": "not-a-uuid"})
    assert response.status_code == 200
    assert response.context["cl"].result_count == 0


@pytest.mark.django_db
def test_search_finds_the_8_character_ids_the_lists_show(admin_client, photo):
    batch = uuid.uuid4()
    in_batch = make_jobs(photo, 2, batch=batch)
    other = make_jobs(photo, 3)
    html = admin_client.get(reverse(CHANGELIST)).content.decode()
    short = str(other[0].uuid)[:8]
    assert f">{short}</a>" in html  # the list shows it...

    def found(term):
        response = admin_client.get(reverse(CHANGELIST), {"q": term})
        return {job.pk for job in response.context["cl"].result_list}

    assert found(short) == {other[0].pk}  # ...and the search finds it
    assert found(short.upper()) == {other[0].pk}
    assert found(str(batch)[:8]) == {job.pk for job in in_batch}
    assert found(str(other[1].uuid)) == {other[1].pk}  # the whole UUID, hyphens and all
    assert found("zzzzzzzz") == set()


def _render(client) -> tuple[int, int]:
    with CaptureQueriesContext(connection) as queries, S3RequestCounter() as s3:
        response = client.get(reverse(CHANGELIST))
        assert response.status_code == 200
    return len(queries), s3.count


@pytest.mark.django_db
def test_100_jobs_render_without_s3_requests_in_constant_queries(admin_client, photo, s3_server):
    make_jobs(photo, 5)
    small_queries, small_s3 = _render(admin_client)
    make_jobs(photo, 95)
    large_queries, large_s3 = _render(admin_client)
    html = admin_client.get(reverse(CHANGELIST)).content.decode()
    assert html.count('class="imageops-thumb"') == 200  # before + after for 100 jobs
    assert small_queries == large_queries
    assert small_s3 == large_s3 == 0
    # The counter does see real requests (so the zero above means something).
    with S3RequestCounter() as s3:
        get_storage().exists("anything.png")
    assert s3.count == 1


@pytest.mark.django_db
def test_batch_progress_panel_and_json(admin_client, photo):
    batch = uuid.uuid4()
    make_jobs(photo, 2, batch=batch)
    make_jobs(photo, 1, batch=batch, status=ImageJob.Status.PENDING, result="")
    make_jobs(photo, 1, batch=batch, status=ImageJob.Status.FAILED, result="")
    html = admin_client.get(reverse(CHANGELIST), {"batch": str(batch)}).content.decode()
    assert 'id="imageops-progress"' in html
    assert '<b data-count="succeeded">2</b>' in html
    assert '<b data-count="queued">1</b>' in html
    url = reverse("admin:django_imageops_imagejob_batch_progress", args=[batch])
    assert f'data-url="{url}"' in html
    data = admin_client.get(url).json()
    assert data["total"] == 4
    assert data["counts"]["succeeded"] == 2
    assert data["counts"]["queued"] == 1
    assert data["counts"]["failed"] == 1
    assert data["done"] is False
    assert data["percent"]["succeeded"] == 50
    assert len(data["jobs"]) == 4
    ImageJob.objects.filter(status=ImageJob.Status.PENDING).update(status="canceled")
    assert admin_client.get(url).json()["done"] is True


@pytest.mark.django_db
@pytest.mark.usefixtures("fresh_servers")
def test_batch_progress_counts_jobs_waiting_for_a_budget_apart(admin_client, run, settings):
    """Jobs a spent budget holds back are not "queued": no worker runs them until the budget
    has room. The panel and its JSON count them apart, say why, and call the batch done."""
    from django_imageops import jobs
    from tests.jobs.support import CROP, photo, vendor_setting

    vendor_setting(settings, "pixlab", DAILY_BUDGET=2)
    batch = uuid.uuid4()
    photos = [photo(make_image(40 + i, 30)) for i in range(5)]
    run(jobs.create_jobs, "crop", objects=photos, field="image", params=CROP, batch=batch)
    assert ImageJob.objects.filter(status="succeeded").count() == 2
    url = reverse("admin:django_imageops_imagejob_batch_progress", args=[batch])
    data = admin_client.get(url).json()
    assert data["counts"]["waiting_for_budget"] == 3
    assert data["counts"]["queued"] == 0
    assert data["counts"]["succeeded"] == 2
    assert data["percent"]["waiting_for_budget"] == 60
    assert data["budget_reasons"] == [
        "PixLab's daily budget of 2 credits is spent; resumes at 00:00 UTC. (3 jobs)"
    ]
    assert data["done"] is True
    html = admin_client.get(reverse(CHANGELIST), {"batch": str(batch)}).content.decode()
    assert '<b data-count="waiting_for_budget">3</b>' in html
    assert '<b data-count="queued">0</b>' in html
    assert "resumes at 00:00 UTC. (3 jobs)" in html
    # Raised cap, resumed: due again, so queued (a worker takes them), no longer waiting.
    vendor_setting(settings, "pixlab", DAILY_BUDGET=10)
    assert jobs.resume_waiting(enqueue=False) == 3
    data = admin_client.get(url).json()
    assert (data["counts"]["waiting_for_budget"], data["counts"]["queued"]) == (0, 3)
    assert data["budget_reasons"] == [] and data["done"] is False


@pytest.mark.django_db
def test_batch_progress_needs_admin_login(client, photo):
    url = reverse("admin:django_imageops_imagejob_batch_progress", args=[uuid.uuid4()])
    assert client.get(url).status_code == 302  # to the login page


@pytest.mark.django_db
def test_change_page_before_after_params_history_and_no_api_key(admin_client, photo, settings):
    secret_key = "cm-secret-key-do-not-leak"
    settings.IMAGEOPS = {
        **settings.IMAGEOPS,
        "VENDORS": {
            **settings.IMAGEOPS["VENDORS"],
            "clippingmagic": {
                **settings.IMAGEOPS["VENDORS"]["clippingmagic"],
                "API_KEY": secret_key,
            },
        },
    }
    job = make_jobs(
        photo,
        1,
        params={"mode": "review", "test": True},
        vendor_image_id="4242",
        vendor_secret="image-secret-xyz",
        vendor_state={"api_key": secret_key, "note": "kept"},
        error_code="invalid_image",
        error_message="ClippingMagic could not read the image",
    )[0]
    ImageJobEvent.objects.create(job=job, kind="attempt", message="attempt 1")
    ImageJobEvent.objects.create(job=job, kind="error", message="vendor 503")
    ImageJobEvent.objects.create(
        job=job,
        kind="vendor_call",
        message="ClippingMagic answered HTTP 200",
        data={"vendor_ids": {"id": "4242", "secret": "image-secret-xyz"}},
    )
    response = admin_client.get(reverse("admin:django_imageops_imagejob_change", args=[job.pk]))
    html = response.content.decode()
    assert 'class="imageops-same-scale"' in html
    assert f'src="/media/{photo.image.name}"' in html
    assert f"/imageops-test/{job.result.name}?" in html
    assert "&quot;mode&quot;: &quot;review&quot;" in html
    assert "4242" in html and "kept" in html
    assert "attempt 1" in html and "vendor 503" in html
    assert "ClippingMagic could not read the image" in html
    assert reverse("django_imageops:clippingmagic-editor", args=[job.uuid]) in html
    assert secret_key not in html
    assert "image-secret-xyz" not in html
    assert 'name="_save"' not in html  # read-only


@pytest.mark.django_db
def test_jobs_cannot_be_added_by_hand(admin_client):
    response = admin_client.get(reverse("admin:django_imageops_imagejob_add"))
    assert response.status_code == 403


@pytest.mark.django_db
def test_retry_and_cancel_actions(admin_client, photo):
    failed = make_jobs(photo, 1, status=ImageJob.Status.FAILED, result="")[0]
    succeeded = make_jobs(photo, 1)[0]
    response = act(admin_client, "retry_jobs", [failed, succeeded])
    text = response.content.decode()
    assert "1 job queued again." in text
    assert "1 job skipped. Only failed or canceled jobs can be retried." in text
    failed.refresh_from_db()
    assert failed.status == ImageJob.Status.PENDING
    act(admin_client, "cancel_jobs", [failed])
    failed.refresh_from_db()
    assert failed.status == ImageJob.Status.CANCELED


@pytest.mark.django_db
def test_apply_result_action_fills_the_derived_field(admin_client, photo):
    job = make_jobs(photo, 1, target_field="cutout")[0]
    response = act(admin_client, "apply_results", [job])
    assert "1 result applied." in response.content.decode()
    photo.refresh_from_db()
    assert photo.cutout.name == job.result.name
    job.refresh_from_db()
    assert job.applied_at is not None


@pytest.mark.django_db
def test_open_in_editor_action(admin_client, photo):
    plain = make_jobs(photo, 1, provider="clipdrop", operation="reimagine")[0]
    response = act(admin_client, "open_in_editor", [plain])
    assert "None of the selected jobs" in response.content.decode()
    review = make_jobs(photo, 1, vendor_image_id="77", params={"mode": "review"})[0]
    response = act(admin_client, "open_in_editor", [plain, review], follow=False)
    assert response.status_code == 302
    assert response["Location"] == reverse(
        "django_imageops:clippingmagic-editor", args=[review.uuid]
    )


def _review_job(photo, sandbox_image) -> ImageJob:
    return make_jobs(
        photo,
        1,
        status=ImageJob.Status.WAITING_FOR_EDITOR,
        result="",
        params={"mode": "review", "test": False},
        vendor_image_id=str(sandbox_image["id"]),
        vendor_secret=sandbox_image["secret"],
    )[0]


def _upload_to_sandbox(sandbox) -> dict:
    import requests
    from django.conf import settings

    response = requests.post(
        f"{settings.SANDBOX_URL}/clippingmagic/api/v1/images",
        auth=("1", "sandbox"),
        files={"image": ("p.png", make_image(64, 48), "image/png")},
        data={"format": "json"},
        timeout=30,
    )
    response.raise_for_status()
    return response.json()["image"]


@pytest.mark.django_db
def test_fetch_editor_results_action(admin_client, photo, sandbox, s3):
    job = _review_job(photo, _upload_to_sandbox(sandbox))
    sandbox.clippingmagic_edit(job.vendor_image_id)
    response = act(admin_client, "fetch_editor_results", [job])
    assert "Fetched the editor results of 1 job." in response.content.decode()
    job.refresh_from_db()
    assert job.result
    assert job.status == ImageJob.Status.SUCCEEDED


@pytest.mark.django_db
def test_delete_vendor_copy_action(admin_client, photo, sandbox):
    image = _upload_to_sandbox(sandbox)
    job = _review_job(photo, image)
    response = act(admin_client, "delete_vendor_copies", [job])
    assert "Deleted 1 vendor-side copy." in response.content.decode()
    job.refresh_from_db()
    assert job.vendor_image_id == "" and job.vendor_secret == ""
    assert job.events.filter(message__contains=f"{image['id']} deleted").exists()
    counters = sandbox.counters()["clippingmagic"]
    assert counters["calls"] >= 2  # upload + delete


@pytest.mark.django_db
def test_delete_vendor_copy_action_reports_a_vendor_error(admin_client, photo, sandbox):
    image = _upload_to_sandbox(sandbox)
    job = _review_job(photo, image)
    sandbox.fail_next("clippingmagic", kind="status", status=401)
    response = act(admin_client, "delete_vendor_copies", [job])
    assert response.status_code == 200
    assert "1 job skipped: no ClippingMagic image to delete." in response.content.decode()
    job.refresh_from_db()
    assert job.vendor_image_id == str(image["id"])  # nothing cleared: the vendor kept it


@pytest.mark.django_db
def test_credits_page_and_refresh(admin_client, photo, sandbox, settings):
    """Per vendor: balance, spend today and this month (reported, estimated, unrecorded),
    budgets, a 30-day chart, and the refresh button; the spend comes from what the jobs
    recorded (``CreditUsage``), the days are UTC."""
    from django_imageops.jobs.credits import record_call, today
    from django_imageops.models import CreditUsage

    conf = copy.deepcopy(settings.IMAGEOPS)
    conf["VENDORS"]["clipdrop"].update(DAILY_BUDGET=10, MONTHLY_BUDGET=100)
    settings.IMAGEOPS = conf
    VendorCredits.objects.create(vendor="clipdrop", remaining=Decimal("97"))
    for _ in range(2):
        record_call(None, "clipdrop", consumed=2)
    record_call(None, "pixlab", consumed=1, estimated=True)
    CreditUsage.objects.create(vendor="clipdrop", day=today() - timedelta(days=40), reported=5)
    CreditUsage.objects.filter(vendor="clipdrop", day=today()).update(unrecorded=1)
    url = reverse("admin:django_imageops_imagejob_credits")
    response = admin_client.get(url)
    rows = {row["usage"].vendor: row for row in response.context["vendors"]}
    clipdrop = rows["clipdrop"]["usage"]
    assert clipdrop.remaining == Decimal("93")  # 97 minus what was recorded
    assert (clipdrop.today.reported, clipdrop.today.unrecorded, clipdrop.today.total) == (4, 1, 5)
    assert clipdrop.month.total == 5  # the 40-day-old spend is not this month's
    assert [(b.period, b.remaining) for b in clipdrop.budgets] == [("day", 6), ("month", 96)]
    assert rows["pixlab"]["usage"].today.estimated == 1
    assert rows["clippingmagic"]["usage"].remaining is None
    chart = rows["clipdrop"]["chart"]
    assert len(chart["bars"]) == 30 and chart["peak"] == "5"
    assert [seg["css"] for seg in chart["bars"][-1]["segments"]] == [
        "imageops-spend-reported",
        "imageops-spend-unrecorded",
    ]
    html = response.content.decode()
    assert 'name="refresh" value="clippingmagic"' in html
    assert html.count("imageops-spend-chart") == 4 and "imageops-spend-estimated" in html
    assert "Clipdrop daily budget: 6 of 10 left" in html
    response = admin_client.post(url, {"refresh": "clippingmagic"}, follow=True)
    assert "Balance refreshed." in response.content.decode()
    balance = VendorCredits.objects.get(vendor="clippingmagic")
    assert balance.remaining is not None
    assert sandbox.counters()["clippingmagic"]["calls"] == 1


@pytest.mark.django_db
def test_a_low_balance_is_a_warning_on_the_job_list_and_the_credits_page(admin_client, settings):
    from django_imageops.jobs.credits import record_call

    conf = copy.deepcopy(settings.IMAGEOPS)
    conf["VENDORS"]["clipdrop"]["LOW_BALANCE"] = 50
    settings.IMAGEOPS = conf
    record_call(None, "clipdrop", remaining=Decimal(49))
    for name in ("changelist", "credits"):
        html = admin_client.get(reverse(f"admin:django_imageops_imagejob_{name}")).content
        assert "Clipdrop credits are low: 49 left." in html.decode()
    record_call(None, "clipdrop", remaining=Decimal(500))  # credits bought
    html = admin_client.get(reverse("admin:django_imageops_imagejob_changelist")).content
    assert "credits are low" not in html.decode()


@pytest.mark.django_db
def test_inline_on_the_source_change_page(admin_client, photo):
    job = make_jobs(photo, 1)[0]
    other = Photo.objects.create(title="Other", image=photo.image.name)
    make_jobs(other, 1)
    html = admin_client.get(reverse("admin:testapp_photo_change", args=[photo.pk])).content
    html = html.decode()
    assert reverse("admin:django_imageops_imagejob_change", args=[job.pk]) in html
    assert html.count("imageops-badge imageops-succeeded") == 1
