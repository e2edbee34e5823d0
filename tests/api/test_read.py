"""Reading jobs and credits through the REST API: who sees what, and what they see."""

from __future__ import annotations

from decimal import Decimal
from urllib.parse import parse_qs, urlparse

import pytest
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.test.utils import CaptureQueriesContext

from django_imageops.conf import get_storage
from django_imageops.models import ImageJob, VendorCredits

from .conftest import CREDITS_URL, JOBS_URL, editor_url_for, job_url

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", JOBS_URL),
        ("post", JOBS_URL),
        ("get", "JOB"),
        ("post", "JOB/cancel"),
        ("post", "JOB/retry"),
        ("get", CREDITS_URL),
    ],
)
def test_anonymous_requests_are_refused(anon_client, make_job, alice, method, path):
    job = make_job(created_by=alice)
    if path.startswith("JOB"):
        path = job_url(job, path.partition("/")[2])
    response = getattr(anon_client, method)(path)
    # 401 or 403 depending on the site's first authentication class (session auth: 403).
    assert response.status_code in (401, 403)
    assert "detail" in response.json()
    job.refresh_from_db()
    assert job.status == ImageJob.Status.PENDING


def test_inactive_user_is_refused(alice, make_job):
    from rest_framework.test import APIClient

    alice.is_active = False
    alice.save()
    client = APIClient()
    client.force_authenticate(alice)
    assert client.get(JOBS_URL).status_code == 403


def test_list_shows_only_own_jobs(alice_client, alice, bob, make_job):
    mine = make_job(created_by=alice)
    make_job(created_by=bob)
    make_job(created_by=None)
    response = alice_client.get(JOBS_URL)
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 1
    assert [row["uuid"] for row in body["results"]] == [str(mine.uuid)]


def test_staff_list_shows_all_jobs(staff_client, alice, bob, make_job):
    jobs = [make_job(created_by=alice), make_job(created_by=bob), make_job(created_by=None)]
    body = staff_client.get(JOBS_URL).json()
    assert body["count"] == 3
    assert {row["uuid"] for row in body["results"]} == {str(job.uuid) for job in jobs}


def test_other_users_job_is_404_everywhere(bob_client, alice, make_job):
    job = make_job(created_by=alice)
    assert bob_client.get(job_url(job)).status_code == 404
    assert bob_client.post(job_url(job, "cancel")).status_code == 404
    failed = make_job(created_by=alice, status=ImageJob.Status.FAILED)
    assert bob_client.post(job_url(failed, "retry")).status_code == 404
    job.refresh_from_db()
    failed.refresh_from_db()
    assert job.status == ImageJob.Status.PENDING
    assert failed.status == ImageJob.Status.FAILED


def test_unknown_and_malformed_uuids_are_404(alice_client):
    assert alice_client.get(f"{JOBS_URL}00000000-0000-0000-0000-000000000000/").status_code == 404
    assert alice_client.get(f"{JOBS_URL}not-a-uuid/").status_code == 404


def test_staff_reads_anyones_job(staff_client, alice, make_job):
    job = make_job(created_by=alice)
    response = staff_client.get(job_url(job))
    assert response.status_code == 200
    assert response.json()["uuid"] == str(job.uuid)


def test_detail_of_a_stored_result(alice_client, alice, make_job, s3):
    storage = get_storage()
    job = make_job(
        created_by=alice,
        status=ImageJob.Status.SUCCEEDED,
        result="imageops/results/uncrop/abc.png",
        result_width=84,
        result_height=48,
        result_bytes=1234,
        result_content_type="image/png",
        credits_consumed=Decimal("1"),
        credits_remaining=Decimal("99"),
        attempts=1,
    )
    body = alice_client.get(job_url(job)).json()
    assert body["status"] == "succeeded"
    assert body["params"] == {"left": 10, "right": 0, "top": 0, "bottom": 0}
    assert body["url"] == f"http://testserver{job_url(job)}"
    assert body["source"] is None
    assert body["credits_consumed"] == "1.000"
    assert body["credits_remaining"] == "99.000"
    assert body["attempts"] == 1
    assert body["error"] is None
    assert body["editor_url"] is None
    result = body["result"]
    assert {k: result[k] for k in ("width", "height", "bytes", "content_type")} == {
        "width": 84,
        "height": 48,
        "bytes": 1234,
        "content_type": "image/png",
    }
    # The URL is the storage's own (presigned on the private test bucket).
    url = urlparse(result["url"])
    assert url.path.endswith("/imageops/results/uncrop/abc.png")
    query = parse_qs(url.query)
    assert "Signature" in query or "X-Amz-Signature" in query
    assert result["url"].split("?")[0] == storage.url(job.result.name).split("?")[0]


def test_reading_jobs_makes_no_storage_request(alice_client, alice, make_job, s3):
    """Sizes come from columns and URLs from storage.url(): S3 is never asked."""
    for i in range(3):
        make_job(
            created_by=alice,
            status=ImageJob.Status.SUCCEEDED,
            result=f"imageops/results/uncrop/missing-{i}.png",
            result_width=10,
            result_height=10,
            result_bytes=10,
            result_content_type="image/png",
        )
    client = get_storage().connection.meta.client
    sent = []

    def record(request, **kwargs):
        sent.append(request.url)

    client.meta.events.register("before-send.s3", record)
    try:
        body = alice_client.get(JOBS_URL).json()
    finally:
        client.meta.events.unregister("before-send.s3", record)
    assert len(body["results"]) == 3
    assert all(row["result"]["url"] for row in body["results"])
    assert sent == []


def test_failed_job_shows_its_error(alice_client, alice, make_job):
    job = make_job(
        created_by=alice,
        status=ImageJob.Status.FAILED,
        error_code="invalid_image",
        error_message="The vendor could not read the image.",
        attempts=2,
    )
    body = alice_client.get(job_url(job)).json()
    assert body["error"] == {
        "code": "invalid_image",
        "message": "The vendor could not read the image.",
    }
    assert body["attempts"] == 2
    assert body["result"] is None


def test_review_job_has_the_editor_url(alice_client, alice, make_job):
    job = make_job(
        created_by=alice,
        operation=ImageJob.Operation.REMOVE_BACKGROUND,
        provider="clippingmagic",
        params={"mode": "review", "test": True},
        status=ImageJob.Status.WAITING_FOR_EDITOR,
        vendor_image_id="123",
        vendor_secret="s3cr3t-image-secret",
    )
    auto = make_job(
        created_by=alice,
        operation=ImageJob.Operation.REMOVE_BACKGROUND,
        provider="clippingmagic",
        params={"mode": "auto", "test": True},
    )
    response = alice_client.get(job_url(job))
    body = response.json()
    assert body["editor_url"] == f"http://testserver{editor_url_for(job)}"
    assert b"s3cr3t-image-secret" not in response.content
    assert alice_client.get(job_url(auto)).json()["editor_url"] is None


def test_source_object_is_named(alice_client, alice, make_job, photo):
    job = make_job(
        created_by=alice,
        source_content_type=ContentType.objects.get_for_model(photo),
        source_object_id=str(photo.pk),
        source_field="image",
    )
    assert alice_client.get(job_url(job)).json()["source"] == {
        "model": "testapp.photo",
        "pk": str(photo.pk),
        "field": "image",
    }


def test_list_filters(alice_client, alice, make_job):
    failed = make_job(created_by=alice, status=ImageJob.Status.FAILED)
    crop = make_job(
        created_by=alice,
        operation=ImageJob.Operation.CROP,
        provider="pixlab",
        params={"x": 0, "y": 0, "width": 1, "height": 1},
    )
    piktid = make_job(created_by=alice, provider="piktid")

    def uuids(query):
        response = alice_client.get(JOBS_URL, query)
        assert response.status_code == 200, response.content
        return {row["uuid"] for row in response.json()["results"]}

    assert uuids({"status": "failed"}) == {str(failed.uuid)}
    assert uuids({"operation": "crop"}) == {str(crop.uuid)}
    assert uuids({"provider": "piktid"}) == {str(piktid.uuid)}
    assert uuids({"provider": "clipdrop", "status": "pending"}) == set()
    assert len(uuids({})) == 3


def test_empty_filters_mean_any_and_the_schema_says_so(alice_client, alice, make_job):
    from drf_spectacular.generators import SchemaGenerator

    jobs = {str(make_job(created_by=alice).uuid), str(make_job(created_by=alice).uuid)}
    for name in ("status", "operation", "provider", "batch"):
        response = alice_client.get(JOBS_URL, {name: ""})
        assert response.status_code == 200, (name, response.content)
        assert {row["uuid"] for row in response.json()["results"]} == jobs
    schema = SchemaGenerator().get_schema(request=None, public=True)
    parameters = {p["name"]: p["schema"] for p in schema["paths"][JOBS_URL]["get"]["parameters"]}
    for name in ("status", "operation", "provider"):
        assert "" in parameters[name]["enum"], parameters[name]
        assert "minLength" not in parameters[name]
    assert {"type": "string", "maxLength": 0} in parameters["batch"]["oneOf"]


def test_list_filter_by_batch(alice_client, alice, make_job):
    import uuid

    batch = uuid.uuid4()
    in_batch = make_job(created_by=alice, batch=batch)
    make_job(created_by=alice)
    rows = alice_client.get(JOBS_URL, {"batch": str(batch)}).json()["results"]
    assert [row["uuid"] for row in rows] == [str(in_batch.uuid)]


def test_invalid_filter_is_400_naming_it(alice_client):
    response = alice_client.get(JOBS_URL, {"status": "done"})
    assert response.status_code == 400
    assert "status" in response.json()


def test_pagination(alice_client, alice, make_job):
    for _ in range(5):
        make_job(created_by=alice)
    page1 = alice_client.get(JOBS_URL, {"page_size": 2}).json()
    assert page1["count"] == 5
    assert len(page1["results"]) == 2
    assert page1["next"]
    page3 = alice_client.get(JOBS_URL, {"page_size": 2, "page": 3}).json()
    assert len(page3["results"]) == 1
    assert alice_client.get(JOBS_URL, {"page": 9}).status_code == 404


def _list_queries(client, user, make_job, photo, count: int) -> int:
    ImageJob.objects.all().delete()
    content_type = ContentType.objects.get_for_model(photo)
    for i in range(count):
        kind = i % 3
        make_job(
            created_by=user,
            status=ImageJob.Status.SUCCEEDED if kind == 0 else ImageJob.Status.PENDING,
            result=f"imageops/results/uncrop/{i}.png" if kind == 0 else "",
            result_width=10,
            result_height=10,
            source_content_type=content_type if kind == 1 else None,
            source_object_id=str(photo.pk) if kind == 1 else "",
            source_field="image" if kind == 1 else "",
            operation="remove_background" if kind == 2 else "uncrop",
            provider="clippingmagic" if kind == 2 else "clipdrop",
            params={"mode": "review", "test": True} if kind == 2 else {"left": 1},
        )
    ContentType.objects.clear_cache()
    with CaptureQueriesContext(connection) as queries:
        response = client.get(JOBS_URL, {"page_size": 50})
    assert response.status_code == 200
    assert len(response.json()["results"]) == count
    return len(queries)


@pytest.mark.parametrize("who", ["alice", "staff"])
def test_list_query_count_is_constant(
    who, alice, staff, alice_client, staff_client, make_job, photo, s3
):
    client, user = (alice_client, alice) if who == "alice" else (staff_client, staff)
    one = _list_queries(client, user, make_job, photo, 1)
    twenty = _list_queries(client, user, make_job, photo, 20)
    assert one == twenty
    assert one <= 3  # count + page (+ nothing else)


def test_credits_are_staff_only(alice_client, staff_client):
    VendorCredits.objects.create(vendor="clipdrop", remaining=Decimal("42.5"))
    assert alice_client.get(CREDITS_URL).status_code == 403
    response = staff_client.get(CREDITS_URL)
    assert response.status_code == 200
    rows = {row["provider"]: row for row in response.json()}
    assert set(rows) == {"clipdrop", "piktid", "clippingmagic", "pixlab"}
    assert rows["clipdrop"]["remaining"] == "42.500"
    assert rows["clipdrop"]["updated_at"]
    zero = {"reported": "0.000", "estimated": "0.000", "unrecorded": "0.000", "total": "0.000"}
    assert rows["pixlab"] == {
        "provider": "pixlab",
        "name": "PixLab",
        "remaining": None,
        "updated_at": None,
        "low": False,
        "low_balance": None,
        "today": zero,
        "month": zero,
        "budgets": [],
    }


@pytest.mark.django_db
def test_anonymous_requests_get_401_with_a_challenge(client):
    # DRF's default authentication classes: Session (no challenge), then Basic.
    for url in (JOBS_URL, CREDITS_URL):
        response = client.get(url)
        assert response.status_code == 401, url
        assert response["WWW-Authenticate"] == 'Basic realm="api"'
        assert response.json() == {"detail": "Authentication credentials were not provided."}
