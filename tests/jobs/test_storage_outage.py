"""S3 goes away while a job runs: nothing is lost and the vendor is not paid twice.

Each test starts its own moto S3 server on another port and points ``STORAGES["imageops"]``
at it, stops it at the worst moment, then brings it back.
"""

from __future__ import annotations

from pathlib import Path

import boto3
import pytest
from botocore.config import Config
from django.core.files.base import ContentFile
from django.test import override_settings
from moto.server import ThreadedMotoServer

from django_imageops import jobs
from tests.jobs.support import calls, fresh_limits, make_image, photo, run_due_job
from tests.services import free_port

pytestmark = pytest.mark.django_db

BUCKET = "imageops-outage"
CROP = {"x": 0, "y": 0, "width": 10, "height": 10}


class FlakyS3:
    """A moto S3 server that can be stopped and started again on the same port."""

    def __init__(self):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.server = None

    def start(self):
        self.server = ThreadedMotoServer(ip_address="127.0.0.1", port=self.port, verbose=False)
        self.server.start()
        client = self.client()
        if BUCKET not in [b["Name"] for b in client.list_buckets()["Buckets"]]:
            client.create_bucket(Bucket=BUCKET)

    def stop(self):
        self.server.stop()

    def client(self):
        return boto3.client(
            "s3",
            endpoint_url=self.url,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
            region_name="us-east-1",
        )

    def storages(self, base):
        return {
            **base,
            "imageops": {
                "BACKEND": "django_imageops.storage.S3Storage",
                "OPTIONS": {
                    "bucket_name": BUCKET,
                    "endpoint_url": self.url,
                    "access_key": "testing",
                    "secret_key": "testing",
                    "region_name": "us-east-1",
                    # Fail fast while the server is down.
                    "client_config": Config(
                        retries={"max_attempts": 1, "mode": "standard"},
                        connect_timeout=1,
                        read_timeout=2,
                    ),
                },
            },
        }


@pytest.fixture
def flaky_s3(settings, sandbox):
    fresh_limits(settings)
    s3 = FlakyS3()
    s3.start()
    with override_settings(STORAGES=s3.storages(settings.STORAGES)):
        yield s3
    s3.stop()


@pytest.fixture
def run(django_capture_on_commit_callbacks):
    def call(fn, *args, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return fn(*args, **kwargs)

    return call


def test_result_is_spooled_while_s3_is_down_and_stored_later_without_a_second_call(
    run, sandbox, flaky_s3
):
    obj = photo(make_image(64, 48))  # the source is on the default (local) storage
    flaky_s3.stop()
    [job] = run(jobs.create_jobs, "crop", objects=[obj], field="image", params=CROP)
    job.refresh_from_db()
    assert job.status == "pending", job.error_message
    assert job.error_code == "storage_unavailable"
    assert job.spool_path and Path(job.spool_path).exists()
    assert "store_failed" in job.events.values_list("kind", flat=True)
    assert calls(sandbox, "pixlab") == 1
    spooled = Path(job.spool_path).read_bytes()

    # Still down: another attempt keeps the spool and still does not call the vendor.
    job = run(run_due_job, job)
    assert job.status == "pending"
    assert Path(job.spool_path).exists()

    flaky_s3.start()
    job = run(run_due_job, job)
    assert job.status == "succeeded", job.error_message
    assert calls(sandbox, "pixlab") == 1
    body = flaky_s3.client().get_object(Bucket=BUCKET, Key=job.result.name)["Body"].read()
    assert body == spooled
    assert job.result_bytes == len(spooled)
    assert (job.result_width, job.result_height) == (10, 10)
    assert job.spool_path == ""
    # PixLab reports no credits: its price is recorded, once, estimated.
    assert (job.credits_consumed, job.credits_estimated) == (1, True)


def test_source_on_s3_unreadable_is_retried_without_a_vendor_call(run, sandbox, flaky_s3):
    [job] = run(
        jobs.create_jobs,
        "crop",
        uploads=[ContentFile(make_image(64, 48), name="a.png")],
        params=CROP,
    )
    job.refresh_from_db()
    assert job.status == "succeeded"
    first_calls = calls(sandbox, "pixlab")
    # Another job from an upload, run while S3 is down.
    [job] = jobs.create_jobs(
        "crop", uploads=[ContentFile(make_image(65, 48), name="b.png")], params=CROP
    )
    flaky_s3.stop()
    run(jobs.run_job, job.pk)
    job.refresh_from_db()
    assert job.status == "pending"
    assert job.error_code == "source_unreadable"
    assert calls(sandbox, "pixlab") == first_calls
    flaky_s3.start()
    job = run(run_due_job, job)
    assert job.status == "succeeded", job.error_message
    assert calls(sandbox, "pixlab") == first_calls + 1
