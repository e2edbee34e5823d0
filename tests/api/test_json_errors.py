"""The REST API answers JSON, errors included: a body too large, too many fields or files, an
unknown URL under one of its routes."""

from __future__ import annotations

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from django_imageops.models import ImageJob

from .conftest import JOBS_URL

pytestmark = pytest.mark.django_db


def assert_json_error(response, status: int) -> dict:
    assert response.status_code == status, response.content[:300]
    assert response["Content-Type"] == "application/json", response.content[:300]
    body = response.json()
    assert body["detail"]
    return body


@pytest.mark.parametrize("login", ["force_authenticate", "session"])
def test_an_oversized_json_body_answers_json(alice, alice_client, login, settings):
    """3 MB of JSON (over Django's DATA_UPLOAD_MAX_MEMORY_SIZE, 2.5 MB) used to answer
    Django's HTML "Bad Request (400)" page."""
    body = json.dumps({"operation": "crop", "padding": "x" * 3 * 1024 * 1024}).encode()
    assert len(body) > settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    if login == "session":  # as a browser or Swagger UI logged in to the admin
        client = Client()
        client.force_login(alice)
        response = client.post(JOBS_URL, body, content_type="application/json")
    else:
        response = alice_client.post(JOBS_URL, body, content_type="application/json")
    body = assert_json_error(response, 413)
    assert str(settings.DATA_UPLOAD_MAX_MEMORY_SIZE) in body["detail"]
    assert ImageJob.objects.count() == 0


def test_too_many_fields_answers_json(alice_client, settings):
    settings.DATA_UPLOAD_MAX_NUMBER_FIELDS = 5
    fields = {f"f{i}": "1" for i in range(10)}
    response = alice_client.post(JOBS_URL, {"operation": "crop", **fields}, format="multipart")
    assert_json_error(response, 400)


def test_too_many_files_answers_json(alice_client, settings):
    settings.DATA_UPLOAD_MAX_NUMBER_FILES = 2
    files = {f"f{i}": SimpleUploadedFile(f"{i}.png", b"x") for i in range(4)}
    response = alice_client.post(JOBS_URL, {"operation": "crop", **files}, format="multipart")
    assert_json_error(response, 400)


@pytest.mark.parametrize("path", ["jobs/not-a-uuid/", "jobs/1/2/3/", "credits/x/"])
def test_an_unknown_url_of_the_api_answers_json(alice_client, path):
    assert_json_error(alice_client.get(f"/api/imageops/{path}"), 404)


def test_a_missing_trailing_slash_still_redirects(alice_client):
    response = alice_client.get(JOBS_URL.rstrip("/"))
    assert response.status_code == 301
    assert response["Location"].endswith(JOBS_URL)
