"""Fixtures shared by the whole suite.

Two real servers run for the whole session on loopback, on the ports tests/settings.py chose:
- the vendor sandbox (``django_imageops.sandbox``), the emulator of the five vendor APIs;
- moto's S3 server (``ThreadedMotoServer``), with the ``imageops`` bucket created.

``sandbox`` gives a ``SandboxControl`` for the sandbox's ``/_sandbox/`` test controls and resets
the sandbox before each test that uses it.

``tests/contrib/wagtail/`` is a session of its own (``--ds=tests.contrib.wagtail.settings``):
the other sessions leave it out (``pytest_ignore_collect``).
"""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest
import requests
from django.conf import settings

SAMPLES_DIR = Path(__file__).resolve().parent.parent / "example_project" / "samples"


class SandboxControl:
    """Client for the sandbox's test controls under ``/_sandbox/``.

    Attributes:
        url: the sandbox root URL (``http://127.0.0.1:<port>``).
    """

    def __init__(self, url: str):
        self.url = url.rstrip("/")

    def reset(self, **config) -> None:
        """Clear every vendor's state, counters and queued faults; optionally change config
        (same names as the command line options, e.g. ``credits=0``, ``clipdrop_rpm=600``)."""
        requests.post(f"{self.url}/_sandbox/reset", json=config, timeout=10).raise_for_status()

    def configure(self, **config) -> None:
        """Change configuration without clearing state (e.g. ``piktid_delay=0``)."""
        requests.post(f"{self.url}/_sandbox/config", json=config, timeout=10).raise_for_status()

    def counters(self) -> dict:
        """Per-vendor counters: ``{"clipdrop": {"calls": n, "credits_consumed": n, ...}, ...}``."""
        response = requests.get(f"{self.url}/_sandbox/counters", timeout=10)
        response.raise_for_status()
        return response.json()

    def fail_next(self, vendor: str, count: int = 1, kind: str = "status", **options) -> None:
        """Make the next ``count`` calls to ``vendor`` fail.

        ``kind``: ``"status"`` (with ``status=503`` and optional ``retry_after``), ``"timeout"``
        (held ``seconds``, then 504, nothing done), ``"late"`` (done and charged, the answer
        held ``seconds``), ``"reset"`` (connection reset) or ``"non_json"`` (with ``status``).
        ``endpoint="generate"``: only calls to that endpoint (a name of the ``endpoints``
        counter) take it.
        """
        payload = {"vendor": vendor, "count": count, "kind": kind, **options}
        requests.post(f"{self.url}/_sandbox/faults", json=payload, timeout=10).raise_for_status()

    def clippingmagic_edit(self, image_id) -> dict:
        """Stand in for a person saving in the ClippingMagic editor: sets a new result."""
        response = requests.post(f"{self.url}/_sandbox/clippingmagic/{image_id}/edit", timeout=30)
        response.raise_for_status()
        return response.json()


@pytest.fixture(autouse=True)
def _fresh_rate_limiter():
    """Start every test with an empty client-side rate limiter.

    ``django_imageops.ratelimit`` keeps its slots, bookings and back-offs in Django's cache
    (``IMAGEOPS["RATE_LIMIT_CACHE"]``, the in-process ``LocMemCache`` "default" here), which
    outlives a test: one test's Clipdrop call (60/minute: one per ~1 s slot) or a 429's
    Retry-After would otherwise defer the next test's jobs, left ``pending``. In-process caches
    are cleared (database caches roll back with each test) and this thread's held concurrency
    slots are forgotten. Tests about the limiter set their own limits and cache.
    """
    from django.core.cache import caches
    from django.core.cache.backends.locmem import LocMemCache

    from django_imageops import ratelimit

    for alias in settings.CACHES:
        cache = caches[alias]
        if isinstance(cache, LocMemCache):
            cache.clear()
    ratelimit.reset()


@pytest.fixture
def run(django_capture_on_commit_callbacks):
    """Call ``fn(*args, **kwargs)`` and execute every on-commit callback it registers (the jobs'
    tasks are enqueued there), as a commit would."""

    def call(fn, *args, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return fn(*args, **kwargs)

    return call


@pytest.fixture
def fresh_servers(sandbox, s3, settings):
    """The sandbox (reset) and S3, with the limiter cleared and Clipdrop's client limit lifted
    (``tests.jobs.support.fresh_limits``): for tests that run jobs end to end."""
    from tests.jobs.support import fresh_limits

    fresh_limits(settings)
    return sandbox


@pytest.fixture(scope="session")
def s3_server():
    """moto's S3 server on ``settings.S3_ENDPOINT_URL`` with the test bucket created."""
    import boto3
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=settings.S3_PORT, verbose=False)
    server.start()
    client = boto3.client(
        "s3",
        endpoint_url=settings.S3_ENDPOINT_URL,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        region_name="us-east-1",
    )
    client.create_bucket(Bucket=settings.S3_BUCKET)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def sandbox_server():
    """The vendor sandbox on ``settings.SANDBOX_URL`` for the whole session."""
    from django_imageops.sandbox import SandboxConfig, run_in_thread

    server = run_in_thread(SandboxConfig(), host="127.0.0.1", port=settings.SANDBOX_PORT)
    yield server
    server.shutdown()


@pytest.fixture
def sandbox(sandbox_server) -> SandboxControl:
    """A freshly reset sandbox (default config) and its test controls."""
    control = SandboxControl(settings.SANDBOX_URL)
    control.reset()
    return control


@pytest.fixture
def s3(s3_server):
    """A boto3 S3 client on the moto server (the bucket is ``settings.S3_BUCKET``)."""
    import boto3

    return boto3.client(
        "s3",
        endpoint_url=settings.S3_ENDPOINT_URL,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        region_name="us-east-1",
    )


@pytest.fixture
def sample_bytes():
    """Bytes of a sample photo by file name (``sample_bytes("chelsea.png")``)."""

    def read(name: str) -> bytes:
        return (SAMPLES_DIR / name).read_bytes()

    return read


def make_image(width=64, height=48, fmt="PNG", mode="RGB", color=(200, 40, 40)) -> bytes:
    """Encode a solid image of the given size with Pillow (helper for tests)."""
    from PIL import Image

    buffer = io.BytesIO()
    Image.new(mode, (width, height), color).save(buffer, fmt)
    return buffer.getvalue()


WAGTAIL_TESTS = Path(__file__).resolve().parent / "contrib" / "wagtail"
WAGTAIL_SETTINGS = "tests.contrib.wagtail.settings"


def pytest_ignore_collect(collection_path, config):
    """``tests/contrib/wagtail/`` runs in a session of its own, with its own settings (``make
    test`` runs both): left out of any other session (a clear error when it is asked for by path
    without them), and the only tests of its own session."""
    path = Path(collection_path).resolve()
    wagtail_session = os.environ.get("DJANGO_SETTINGS_MODULE") == WAGTAIL_SETTINGS
    if path != WAGTAIL_TESTS and WAGTAIL_TESTS not in path.parents:
        # The Wagtail session collects nothing else (the main suite's apps are not installed).
        return True if wagtail_session and path not in WAGTAIL_TESTS.parents else None
    if wagtail_session:
        return None
    if any(Path(arg.split("::")[0]).resolve() == path for arg in config.args):
        raise pytest.UsageError(
            f"{path.relative_to(Path.cwd()) if path.is_relative_to(Path.cwd()) else path} runs "
            f"with its own settings: add --ds={WAGTAIL_SETTINGS}"
        )
    return True
