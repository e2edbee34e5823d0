"""The ``/_sandbox/`` controls: reset, config, counters, faults, latency, CORS, files, the
ClippingMagic.js stand-in; and the command line."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time

import pytest
import requests

from django_imageops.sandbox import SandboxConfig, make_app, run_in_thread
from tests.services import wait_until

from .conftest import CM_AUTH, KEY, URL, encode, noise_image

ACCOUNT = f"{URL}/clippingmagic/api/v1/account"


def reimagine(**kwargs):
    return requests.post(
        f"{URL}/clipdrop/reimagine/v1/reimagine",
        files={"image_file": encode(noise_image(32, 32))},
        headers={"x-api-key": KEY},
        **kwargs,
    )


def test_counters_reset_and_config(sandbox):
    reimagine().raise_for_status()
    requests.get(ACCOUNT, auth=("1", "wrong"))
    counters = sandbox.counters()
    assert counters["clipdrop"]["calls"] == 1
    assert counters["clipdrop"]["credits_consumed"] == 1
    assert counters["clipdrop"]["credits_remaining"] == 99
    assert counters["clipdrop"]["endpoints"] == {"reimagine": 1}
    assert counters["clippingmagic"]["errors"] == 1
    sandbox.reset(credits=5)
    counters = sandbox.counters()
    assert counters["clipdrop"]["calls"] == 0
    assert counters["pixlab"]["credits_remaining"] == 5
    sandbox.configure(api_key="other")
    assert reimagine().status_code == 403
    sandbox.reset()  # back to the startup configuration
    assert reimagine().status_code == 200


def test_unknown_options_are_refused(sandbox):
    response = requests.post(f"{URL}/_sandbox/reset", json={"no_such_option": 1})
    assert response.status_code == 400
    bad_fault = requests.post(f"{URL}/_sandbox/faults", json={"vendor": "acme"})
    assert bad_fault.status_code == 400


def test_status_fault_in_the_vendors_shape_with_retry_after(sandbox):
    sandbox.fail_next("clippingmagic", count=2, status=429, retry_after=5)
    for _ in range(2):
        response = requests.get(ACCOUNT, auth=CM_AUTH)
        assert response.status_code == 429
        assert response.headers["retry-after"] == "5"
        assert response.json()["error"]["status"] == 429
    assert requests.get(ACCOUNT, auth=CM_AUTH).status_code == 200
    assert sandbox.counters()["clippingmagic"]["faults_injected"] == 2


def test_non_json_fault(sandbox):
    sandbox.fail_next("pixlab", kind="non_json", status=502)
    response = requests.get(f"{URL}/pixlab/crop", params={"key": KEY})
    assert response.status_code == 502
    assert response.headers["content-type"].startswith("text/html")
    with pytest.raises(ValueError):
        response.json()


def test_reset_fault_closes_the_connection(sandbox):
    sandbox.fail_next("clipdrop", kind="reset")
    with pytest.raises(requests.ConnectionError):
        reimagine()
    assert reimagine().status_code == 200


def test_timeout_fault_outlasts_the_read_timeout(sandbox):
    sandbox.fail_next("clipdrop", kind="timeout", seconds=3)
    started = time.monotonic()
    with pytest.raises(requests.ReadTimeout):
        reimagine(timeout=(2, 0.5))
    assert time.monotonic() - started < 2
    sandbox.reset()  # releases the held request
    assert reimagine(timeout=5).status_code == 200


def test_late_fault_does_the_work_then_answers_after_the_read_timeout(sandbox):
    sandbox.fail_next("clipdrop", kind="late", seconds=30)
    started = time.monotonic()
    with pytest.raises(requests.ReadTimeout):
        reimagine(timeout=(2, 0.5))
    assert time.monotonic() - started < 2
    # The vendor did the work and charged for it; the client never learnt it.
    assert wait_until(lambda: sandbox.counters()["clipdrop"]["credits_consumed"] == 1, 10)
    counters = sandbox.counters()["clipdrop"]
    assert counters["faults_injected"] == 1
    sandbox.reset()  # releases the held answer
    assert reimagine(timeout=5).status_code == 200


def test_a_fault_for_one_endpoint_waits_for_a_call_to_it(sandbox):
    sandbox.fail_next("clippingmagic", status=500, endpoint="images")
    assert requests.get(ACCOUNT, auth=CM_AUTH).status_code == 200
    response = requests.get(f"{URL}/clippingmagic/api/v1/images", auth=CM_AUTH)
    assert response.status_code == 500
    assert requests.get(f"{URL}/clippingmagic/api/v1/images", auth=CM_AUTH).status_code == 200
    assert sandbox.counters()["clippingmagic"]["faults_injected"] == 1


def test_latency_applies_to_vendor_requests(sandbox):
    sandbox.configure(latency_ms=300)
    started = time.monotonic()
    requests.get(ACCOUNT, auth=CM_AUTH).raise_for_status()
    assert time.monotonic() - started >= 0.3
    started = time.monotonic()
    sandbox.counters()
    assert time.monotonic() - started < 0.3  # not the controls


def test_cors_on_the_controls_for_the_editor_stand_in(sandbox):
    preflight = requests.options(
        f"{URL}/_sandbox/clippingmagic/1/edit",
        headers={"Origin": "http://site.test", "Access-Control-Request-Method": "POST"},
    )
    assert preflight.status_code == 204
    assert preflight.headers["access-control-allow-origin"] == "*"
    assert "POST" in preflight.headers["access-control-allow-methods"]
    assert "Content-Type" in preflight.headers["access-control-allow-headers"]
    assert requests.get(f"{URL}/_sandbox/counters").headers["access-control-allow-origin"] == "*"


def test_clippingmagic_js_stand_in_is_served(sandbox):
    response = requests.get(f"{URL}/clippingmagic/api/v1/ClippingMagic.js")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/javascript")
    script = response.text
    for needle in (
        "initialize",
        "edit",
        "result-generated",
        "editor-exit",
        "/_sandbox/clippingmagic/",
    ):
        assert needle in script


def test_unknown_vendor_path_is_404_in_the_vendors_shape(sandbox):
    response = requests.get(f"{URL}/clippingmagic/api/v1/nope", auth=CM_AUTH)
    assert response.status_code == 404
    assert response.json()["error"]["status"] == 404


def test_run_in_thread_on_a_free_port_and_make_app():
    assert callable(make_app(SandboxConfig()))
    with run_in_thread(SandboxConfig(api_key="k2"), port=0) as server:
        assert server.port != 0
        response = requests.post(
            f"{server.url}/clipdrop/reimagine/v1/reimagine",
            files={"image_file": encode(noise_image(16, 16))},
            headers={"x-api-key": "k2"},
        )
        assert response.status_code == 200


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_command_line_starts_serves_and_stops():
    port = _free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "django_imageops.sandbox",
            "--port",
            str(port),
            "--api-key",
            "cli-key",
            "--credits",
            "3",
            "--quiet",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 20
        while True:
            try:
                requests.get(f"{base}/_sandbox/", timeout=1)
                break
            except requests.ConnectionError:
                assert process.poll() is None, process.stdout.read().decode()
                assert time.monotonic() < deadline, "the sandbox did not start"
                time.sleep(0.1)
        response = requests.get(
            f"{base}/clippingmagic/api/v1/account", auth=("1", "cli-key"), timeout=5
        )
        assert response.status_code == 200
        assert response.json()["credits"] == 3
    finally:
        process.terminate()
        process.wait(timeout=10)
    assert b"listening on" in process.stdout.read()


def test_latency_per_vendor(sandbox):
    # As on the command line: --latency-ms clippingmagic=300 (the others answer at once).
    sandbox.configure(latency_ms={"clippingmagic": 300})
    started = time.monotonic()
    requests.get(ACCOUNT, auth=CM_AUTH).raise_for_status()
    assert time.monotonic() - started >= 0.3
    config = requests.get(f"{URL}/_sandbox/config", timeout=10).json()
    assert config["config"]["latency_ms"] == {"clippingmagic": 300}
    bad = requests.post(f"{URL}/_sandbox/config", json={"latency_ms": {"acme": 5}}, timeout=10)
    assert bad.status_code == 400


def test_latency_option_takes_one_number_or_vendor_pairs():
    from django_imageops.sandbox.__main__ import build_parser

    parse = build_parser().parse_args
    assert parse(["--latency-ms", "250"]).latency_ms == 250
    assert parse(["--latency-ms", "clipdrop=8000,clippingmagic=3000,pixlab=500"]).latency_ms == {
        "clipdrop": 8000,
        "clippingmagic": 3000,
        "pixlab": 500,
    }
    for bad in ("acme=5", "clipdrop=fast", "clipdrop=-1"):
        with pytest.raises(SystemExit):
            parse(["--latency-ms", bad])
