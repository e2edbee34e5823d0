"""OpenAPI 3: drf-spectacular's schema validates without warnings, and schemathesis, fuzzing
the live API in-process against that schema, finds no 5xx and no response that breaks it."""

from __future__ import annotations

import base64

import pytest
import yaml
from django.core.management import call_command
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from django.test import override_settings
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from django_imageops.models import ImageJob
from tests.conftest import make_image
from tests.providers.echo import ECHO

from .conftest import grant

pytestmark = pytest.mark.django_db


def test_spectacular_validates_without_warnings(tmp_path):
    out = tmp_path / "schema.yaml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(out))
    text = out.read_text()
    for path in (
        "/api/imageops/jobs/:",
        "/api/imageops/jobs/{uuid}/:",
        "/api/imageops/jobs/{uuid}/cancel/:",
        "/api/imageops/jobs/{uuid}/retry/:",
        "/api/imageops/credits/:",
    ):
        assert path in text


def test_the_schema_follows_the_registered_providers(tmp_path, settings):
    """A provider registered for a while (``override_settings``, as tests and a reloading
    process do) leaves no trace in a schema made after: every ``provider`` enum, request and
    response, lists the providers registered when the schema is made."""

    def provider_enums(name: str) -> list[list[str]]:
        out = tmp_path / name
        call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(out))
        schemas = yaml.safe_load(out.read_text())["components"]["schemas"]
        return [body["enum"] for key, body in schemas.items() if key.startswith("Provider")]

    with override_settings(IMAGEOPS={**settings.IMAGEOPS, "PROVIDERS": [ECHO]}):
        assert all("echo" in enum for enum in provider_enums("with-echo.yaml"))
    assert not any("echo" in enum for enum in provider_enums("without-echo.yaml"))


def _basic(username: str, password: str) -> dict[str, str]:
    token = base64.b64encode(f"{username}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


@pytest.fixture
def fuzz_schema():
    """The live schema, loaded through the project's WSGI app, limited to the image-ops API.

    Like Django's test client, requests keep the test's database connection open (a WSGI
    request normally closes it at the end, which would drop the in-memory test database).
    """
    import schemathesis

    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", get_wsgi_application())
        yield schema.include(path_regex="^/api/imageops/")
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


@pytest.mark.slow
@pytest.mark.parametrize("who", ["alice", "staff"])
def test_schemathesis_finds_no_server_error_or_schema_violation(
    fuzz_schema, who, alice, staff, make_job, photo, sandbox, s3
):
    from schemathesis.checks import (
        content_type_conformance,
        not_a_server_error,
        response_headers_conformance,
        response_schema_conformance,
        status_code_conformance,
    )

    user, password = (alice, "alice-pw") if who == "alice" else (staff, "staff-pw")
    grant(user, "change_photo")
    source = {"model": "testapp.photo", "pk": str(photo.pk), "field": "image"}
    png = make_image(64, 48)
    # Jobs in every state, so detail/cancel/retry have something real to find.
    for status in ImageJob.Status.values:
        make_job(created_by=user, status=status)
    headers = _basic(user.username, password)
    checks = [
        not_a_server_error,
        status_code_conformance,
        content_type_conformance,
        response_schema_conformance,
        response_headers_conformance,
    ]
    operations = [result.ok() for result in fuzz_schema.get_all_operations()]
    assert len(operations) == 6
    known_uuids = [str(u) for u in ImageJob.objects.values_list("uuid", flat=True)]

    for operation in operations:
        strategy = operation.as_strategy()

        @given(
            case=strategy,
            known=st.sampled_from(known_uuids),
            use_known=st.booleans(),
            minimal=st.booleans(),
        )
        @settings(
            max_examples=25,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def run(case, known, use_known, minimal):
            if use_known and case.path_parameters and "uuid" in case.path_parameters:
                case.path_parameters["uuid"] = known
            if use_known and isinstance(case.body, dict):
                # Reach the 202 path too: a real image, or a real object the user may change.
                if "multipart" in (case.media_type or ""):
                    case.body = {**case.body, "image": png}
                    if minimal:
                        case.body = {"operation": "reimagine", "image": png}
                elif minimal:
                    case.body = {"operation": "reimagine", **source}
            case.call_and_validate(headers=headers, checks=checks)

        run()
