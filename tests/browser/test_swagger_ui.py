"""Swagger UI of the REST API in a real browser with no network (every request to another
host is aborted), at 1280 and 390 pixels wide: its files come from drf-spectacular-sidecar,
and "Try it out" on ``POST jobs/`` as multipart leaves the parameters of other operations
empty, so that a crop sent as it is prefilled, plus its own numbers, is queued (202); the API
answers JSON errors to a browser too (a malformed UUID: 404; anonymous: 401).

Everything is real: ``live_server``, the vendor sandbox, moto S3, Debian Chromium.
"""

from __future__ import annotations

import pytest

from django_imageops.models import ImageJob
from tests.browser.conftest import at_narrow_width
from tests.conftest import make_image

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CREATE = "#operations-imageops-imageops_jobs_create"


def test_swagger_ui_offline_and_try_it_out_multipart(
    admin_browser, live_server, sandbox, s3, screenshot, tmp_path
):
    page = admin_browser("/admin/")
    elsewhere = []

    def local_only(route):
        if route.request.url.startswith(live_server.url):
            route.continue_()
        else:
            elsewhere.append(route.request.url)
            route.abort()

    page.context.route("**/*", local_only)
    page.goto(live_server.url + "/api/docs/")
    page.wait_for_selector(f"{CREATE} .opblock-summary")
    scripts = page.eval_on_selector_all("script[src]", "els => els.map(e => e.src)")
    assert any("/static/drf_spectacular_sidecar/swagger-ui-dist/" in src for src in scripts)
    assert elsewhere == []  # no CDN, nothing from another host

    page.click(f"{CREATE} .opblock-summary")
    page.click(f"{CREATE} .try-out__btn")
    # The JSON request (shown first) starts from a whole example, not from zeros.
    body = page.locator(f"{CREATE} textarea.body-param__text").input_value()
    assert '"operation": "uncrop"' in body and '"x"' not in body, body
    page.select_option(f"{CREATE} .body-param-content-type select", "multipart/form-data")
    form = page.locator(f"{CREATE} .parameters-col_description")
    form.first.wait_for()
    values = page.eval_on_selector_all(
        f"{CREATE} tr[data-property-name] input[type=text], {CREATE} tr[data-property-name] select",
        "els => els.map(e => [e.closest('tr').dataset.propertyName, e.value])",
    )
    prefilled = {name: value for name, value in values if value and name != "operation"}
    assert prefilled == {}, f"Try it out prefills {prefilled}"
    screenshot(page, "1280-try-it-out")

    # A crop as a person would send it: the operation, the image and the four numbers.
    image = tmp_path / "crop-me.png"
    image.write_bytes(make_image(120, 90))
    row = f"{CREATE} tr[data-property-name=%s]"
    page.select_option(row % "operation" + " select", "crop")
    page.set_input_files(row % "image" + " input[type=file]", str(image))
    for name, value in {"x": "10", "y": "10", "width": "50", "height": "40"}.items():
        page.fill(row % name + " input[type=text]", value)
    page.click(f"{CREATE} .execute")
    status = page.locator(f"{CREATE} .live-responses-table .response .response-col_status")
    status.first.wait_for()
    answer = page.locator(f"{CREATE} .live-responses-table .response-col_description pre")
    assert status.first.inner_text().strip() == "202", answer.first.inner_text()
    job = ImageJob.objects.get()
    assert (job.operation, job.params) == ("crop", {"x": 10, "y": 10, "width": 50, "height": 40})

    # Bug 10: a malformed UUID answers a JSON 404; an anonymous request 401 with a challenge.
    answer = page.context.request.get(f"{live_server.url}/api/imageops/jobs/not-a-uuid/")
    assert answer.status == 404 and answer.json() == {"detail": "Not found."}
    anonymous = page.context.browser.new_context()
    try:
        answer = anonymous.request.get(f"{live_server.url}/api/imageops/jobs/")
        assert answer.status == 401 and answer.headers["www-authenticate"] == 'Basic realm="api"'
    finally:
        anonymous.close()

    at_narrow_width(page)
    page.wait_for_selector(f"{CREATE} .opblock-summary")
    screenshot(page, "390")
    assert elsewhere == []
