"""ClippingMagicClient against the sandbox over real HTTP, plus the redirect-credentials rule."""

from __future__ import annotations

import io
from decimal import Decimal

import pytest
from django.conf import settings
from PIL import Image
from werkzeug.wrappers import Response

from django_imageops.vendors import (
    AuthenticationError,
    InsufficientCredits,
    InvalidImage,
    InvalidRequest,
    NotFound,
    RateLimited,
    VendorError,
    VendorUnavailable,
)
from django_imageops.vendors.clippingmagic import (
    ClippingMagicClient,
    content_disposition_filename,
)
from tests.conftest import make_image

from .fakes import FakeServer


@pytest.fixture
def client(sandbox):
    return ClippingMagicClient(
        "1", "sandbox", f"{settings.SANDBOX_URL}/clippingmagic", timeout=(2, 30)
    )


def test_upload_json_returns_the_image_object(client):
    result = client.upload(make_image(80, 60), test=True)
    image = result.data
    assert {"id", "secret", "resultRevision", "originalFilename", "test"} <= set(image)
    assert image["test"] is True
    assert image["resultRevision"] == 0
    assert result.vendor_ids == {
        "id": str(image["id"]),
        "secret": str(image["secret"]),
        "result_revision": "0",
    }
    assert result.credits_consumed == 0
    assert result.content == b""


def test_upload_format_result_returns_the_cutout_and_ids_from_headers(client):
    result = client.upload(make_image(80, 60), test=True, format="result")
    assert result.vendor_ids["id"]
    assert result.vendor_ids["secret"]
    picture = Image.open(io.BytesIO(result.content))
    assert picture.size[0] > 0
    assert result.credits_consumed == 0  # test images are free
    same = client.get(result.vendor_ids["id"])
    assert str(same.data["secret"]) == result.vendor_ids["secret"]


def test_production_result_costs_one_credit(client, sandbox):
    result = client.upload(make_image(80, 60), format="result")
    assert result.credits_consumed == Decimal(1)
    assert sandbox.counters()["clippingmagic"]["credits_consumed"] == 1


def test_upload_other_formats(client):
    mask = client.upload(make_image(80, 60), test=True, format="alpha_mask_png")
    assert mask.content.startswith(b"\x89PNG")
    svg = client.upload(make_image(80, 60), test=True, format="clipping_path_svg")
    assert b"<svg" in svg.content


def test_unknown_format_is_refused_before_any_request(client, sandbox):
    with pytest.raises(InvalidRequest):
        client.upload(make_image(), format="gif")
    with pytest.raises(InvalidRequest):
        client.download("1", format="tiff")
    assert sandbox.counters()["clippingmagic"]["calls"] == 0


def test_download_follows_the_redirect_after_an_edit(client, sandbox):
    uploaded = client.upload(make_image(80, 60), test=True)
    image_id = uploaded.vendor_ids["id"]
    sandbox.clippingmagic_edit(image_id)
    result = client.download(image_id)
    assert result.status_code == 200
    assert result.vendor_ids["id"] == image_id
    assert int(result.vendor_ids["result_revision"]) >= 1
    assert result.data["filename"].endswith((".png", ".jpeg"))
    assert Image.open(io.BytesIO(result.content)).size == (80, 60)
    checked = client.get(image_id)
    assert checked.data["resultRevision"] == int(result.vendor_ids["result_revision"])
    assert checked.vendor_ids["result_revision"] == result.vendor_ids["result_revision"]


def test_download_without_result_is_an_error(client):
    uploaded = client.upload(make_image(80, 60), test=True)
    with pytest.raises((InvalidImage, NotFound)) as caught:
        client.download(uploaded.vendor_ids["id"])
    assert caught.value.message


def test_unknown_image_is_not_found(client):
    with pytest.raises(NotFound) as caught:
        client.get("987654321")
    assert caught.value.status_code == 404


def test_list_and_delete(client):
    first = client.upload(make_image(), test=False)
    second = client.upload(make_image(), test=False)
    listed = client.list(limit=1, offset=0)
    assert listed.data["limit"] == 1
    assert listed.data["offset"] == 0
    assert len(listed.data["images"]) == 1
    everything = client.list(limit=100)
    ids = {str(image["id"]) for image in everything.data["images"]}
    assert {first.vendor_ids["id"], second.vendor_ids["id"]} <= ids
    deleted = client.delete(first.vendor_ids["id"])
    assert deleted.vendor_ids["id"] == first.vendor_ids["id"]
    ids = {str(image["id"]) for image in client.list(limit=100).data["images"]}
    assert first.vendor_ids["id"] not in ids
    with pytest.raises(NotFound):
        client.get(first.vendor_ids["id"])


def test_list_arguments_are_checked(client):
    with pytest.raises(InvalidRequest):
        client.list(limit=101)
    with pytest.raises(InvalidRequest):
        client.list(offset=-1)


def test_account_reports_credits(client, sandbox):
    result = client.account()
    assert result.credits_remaining == Decimal(100)
    assert {"subscriptionPlan", "subscriptionState", "credits"} <= set(result.data)
    sandbox.reset(credits=3)
    assert client.account().credits_remaining == Decimal(3)


def test_wrong_key_is_authentication_error(sandbox):
    client = ClippingMagicClient("1", "wrong", f"{settings.SANDBOX_URL}/clippingmagic")
    with pytest.raises(AuthenticationError) as caught:
        client.account()
    assert caught.value.status_code in (401, 403)
    assert caught.value.message


def test_no_credits_is_402_for_a_production_result(client, sandbox):
    sandbox.reset(credits=0)
    with pytest.raises(InsufficientCredits) as caught:
        client.upload(make_image(), format="result")
    assert caught.value.status_code == 402
    # Test mode stays free.
    assert client.upload(make_image(), test=True, format="result").content


def test_unreadable_image_is_400_with_the_vendor_code(client):
    with pytest.raises(InvalidImage) as caught:
        client.upload(b"GIF89a but then nothing useful", test=True)
    assert caught.value.status_code == 400
    assert caught.value.code is not None


def test_over_16_megapixels_is_400(client):
    with pytest.raises(InvalidImage):
        client.upload(make_image(4200, 4100), test=True)


def test_429_backs_off_linearly_and_a_success_resets(client, sandbox):
    sandbox.fail_next("clippingmagic", count=3, status=429)
    waits = []
    for _ in range(3):
        with pytest.raises(RateLimited) as caught:
            client.account()
        waits.append(caught.value.retry_after)
    assert waits == [5.0, 10.0, 15.0]
    client.account()
    sandbox.fail_next("clippingmagic", status=429)
    with pytest.raises(RateLimited) as caught:
        client.account()
    assert caught.value.retry_after == 5.0


@pytest.mark.parametrize(("kind", "status"), [("status", 500), ("status", 503), ("non_json", 502)])
def test_server_errors_are_vendor_unavailable(client, sandbox, kind, status):
    sandbox.fail_next("clippingmagic", kind=kind, status=status)
    with pytest.raises(VendorUnavailable) as caught:
        client.upload(make_image(), test=True)
    assert caught.value.status_code == status
    if kind == "non_json":
        assert "non-JSON body" in caught.value.message


def test_reset_and_timeout_are_vendor_unavailable(sandbox):
    client = ClippingMagicClient(
        "1", "sandbox", f"{settings.SANDBOX_URL}/clippingmagic", timeout=(2, 0.5)
    )
    sandbox.fail_next("clippingmagic", kind="reset")
    with pytest.raises(VendorUnavailable):
        client.account()
    sandbox.fail_next("clippingmagic", kind="timeout", seconds=2)
    with pytest.raises(VendorUnavailable, match="timeout"):
        client.account()


def stored_result_server():
    """A ClippingMagic stand-in whose download redirects to another host name (``localhost``
    instead of ``127.0.0.1``), like the real one redirecting to S3."""
    png = make_image(8, 8, mode="RGBA", fmt="PNG", color=(1, 2, 3, 0))

    def answer(request):
        if request.path == "/api/v1/images/77":
            location = f"http://localhost:{request.environ['SERVER_PORT']}/stored/77.png"
            return Response(status=302, headers={"Location": location})
        if request.path == "/stored/77.png":
            return Response(
                png,
                200,
                {
                    "x-amz-meta-resultrevision": "3",
                    "Content-Disposition": 'attachment; filename="cut-out.png"',
                },
                content_type="image/png",
            )
        return Response('{"error": {"status": 404, "code": 1, "message": "no"}}', 404)

    return FakeServer(answer), png


def test_credentials_are_not_sent_to_the_redirect_host():
    server, png = stored_result_server()
    with server:
        client = ClippingMagicClient("1", "secret-key", server.url)
        result = client.download(77)
    assert result.content == png
    assert result.vendor_ids == {"id": "77", "result_revision": "3"}
    assert result.data["filename"] == "cut-out.png"
    first, second = server.seen
    assert first.headers.get("Authorization", "").startswith("Basic ")
    assert second.host.startswith("localhost")
    assert "Authorization" not in second.headers


def test_error_body_shapes():
    def answer(request):
        body = '{"error": {"status": 400, "code": 1001, "message": "Invalid API credentials"}}'
        return Response(body, 400, content_type="application/json")

    with FakeServer(answer) as server:
        client = ClippingMagicClient("1", "x", server.url)
        with pytest.raises(AuthenticationError) as caught:
            client.account()
    assert caught.value.code == 1001
    assert caught.value.message == "Invalid API credentials"
    assert "code 1001" in str(caught.value)


def test_unexpected_success_body_is_an_error():
    with FakeServer(
        lambda request: Response('{"nothing": 1}', 200, content_type="application/json")
    ) as server:
        client = ClippingMagicClient("1", "x", server.url)
        with pytest.raises(VendorError, match="no 'image' object"):
            client.get(5)


def test_content_disposition_filename():
    assert content_disposition_filename('attachment; filename="a b.png"') == "a b.png"
    assert content_disposition_filename("attachment; filename=x.jpeg") == "x.jpeg"
    assert content_disposition_filename("attachment; filename*=UTF-8''caf%C3%A9.png") == "café.png"
    assert content_disposition_filename(None) == ""


def test_upload_format_result_answered_with_a_redirect(client, sandbox):
    # ClippingMagic may answer a format=result upload with a redirect to the result on S3,
    # whose metadata carries the id and secret: the client follows and reads them there.
    sandbox.configure(clippingmagic_result_redirect=True)
    result = client.upload(make_image(80, 60), format="result")
    assert Image.open(io.BytesIO(result.content)).size == (80, 60)
    assert result.credits_consumed == Decimal(1)
    same = client.get(result.vendor_ids["id"])
    assert str(same.data["secret"]) == result.vendor_ids["secret"]
