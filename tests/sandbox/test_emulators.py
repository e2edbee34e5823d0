"""The emulator seam: the registry of the four vendors, and an extra emulator defined here that
gets routing, faults, latency, counters, credits, controls and reset from the core with no edit
to the sandbox (over real HTTP, on its own server)."""

from __future__ import annotations

import time

import pytest
import requests

from django_imageops.sandbox import (
    EMULATORS,
    Emulator,
    Route,
    SandboxApp,
    SandboxConfig,
    make_app,
    run_in_thread,
)
from django_imageops.sandbox.emulators.base import json_response

from .conftest import URL


class AcmeEmulator(Emulator):
    """A made-up vendor: ``POST /acme/v1/echo`` answers the body and costs one credit."""

    name = "acme"
    label = "Acme"
    base_path = "/acme/v1"
    routes = (
        Route("/echo", "echo", ("POST",)),
        Route("/echo/<int:number>", "number", ("GET",)),
        Route("/broken", "broken", ("GET",)),
        Route("/acme.js", "script", metered=False),
    )
    controls = (Route("/acme/echoes", "echoes", ("GET",)),)
    fault_kinds = ("glitch",)

    def reset(self) -> None:
        self.echoes: list[bytes] = []

    def error_body(self, status: int, message: str, code: int) -> dict:
        return {"fault": {"status": status, "text": message}}

    def on_echo(self, request):
        if request.headers.get("x-acme-key") != self.config.api_key:
            return self.error(401, "no key")
        if self.credits <= 0:
            return self.error(402, "no credits")
        if self.take_fault("glitch") is not None:
            return json_response({"glitched": True})
        body = request.get_data()
        with self.lock:
            self.echoes.append(body)
        remaining = self.charge()
        return json_response({"echo": body.decode(), "remaining": remaining})

    def on_number(self, request, number: int):
        return json_response({"number": number})

    def on_broken(self, request):
        raise RuntimeError("a bug in the emulator")

    def on_script(self, request):
        return json_response({"asset": True})

    def on_echoes(self, request):
        with self.lock:
            return json_response({"echoes": [body.decode() for body in self.echoes]})


@pytest.fixture
def acme():
    """A sandbox serving the four vendors plus Acme, on a free port."""
    with run_in_thread(
        SandboxConfig(credits={"acme": 2}), port=0, emulators=[*EMULATORS, AcmeEmulator]
    ) as server:
        yield server.url


def echo(url, body="hi", key="sandbox", **kwargs):
    return requests.post(
        f"{url}/acme/v1/echo", data=body, headers={"x-acme-key": key}, timeout=10, **kwargs
    )


def test_the_registry_lists_the_four_vendors():
    assert [emulator.name for emulator in EMULATORS] == [
        "clipdrop",
        "clippingmagic",
        "piktid",
        "pixlab",
    ]
    for emulator in EMULATORS:
        assert issubclass(emulator, Emulator)
        assert emulator.label and emulator.routes
        for route in (*emulator.routes, *emulator.controls):
            assert callable(getattr(emulator, f"on_{route.endpoint}")), route
    assert list(make_app().emulators) == [emulator.name for emulator in EMULATORS]


def test_the_index_names_each_emulators_base_path(sandbox):
    index = requests.get(f"{URL}/_sandbox/", timeout=10).json()
    assert index["prefixes"] == {
        "clipdrop": "/clipdrop",
        "clippingmagic": "/clippingmagic",
        "piktid": "/piktid/api",
        "pixlab": "/pixlab",
    }


def test_an_extra_emulator_is_routed_metered_and_charged(acme):
    first = echo(acme, "one")
    assert first.status_code == 200
    assert first.json() == {"echo": "one", "remaining": 1}
    assert echo(acme, key="wrong").status_code == 401
    assert requests.get(f"{acme}/acme/v1/echo/7", timeout=10).json() == {"number": 7}
    assert echo(acme, "two").json()["remaining"] == 0
    refused = echo(acme, "three")
    assert refused.status_code == 402
    assert refused.json() == {"fault": {"status": 402, "text": "no credits"}}

    counters = requests.get(f"{acme}/_sandbox/counters", timeout=10).json()
    assert counters["acme"] == {
        "calls": 5,
        "succeeded": 3,
        "errors": 2,
        "credits_consumed": 2,
        "credits_remaining": 0,
        "rate_limited": 0,
        "faults_injected": 0,
        "endpoints": {"echo": 4, "number": 1},
    }
    assert counters["clipdrop"]["credits_remaining"] == 100  # the others keep the default


def test_an_extra_emulator_gets_errors_in_its_own_shape(acme):
    missing = requests.get(f"{acme}/acme/v1/nope", timeout=10)
    assert missing.status_code == 404
    assert missing.json()["fault"]["status"] == 404
    wrong_method = requests.get(f"{acme}/acme/v1/echo", timeout=10)
    assert wrong_method.status_code == 405
    assert wrong_method.json()["fault"]["status"] == 405
    broken = requests.get(f"{acme}/acme/v1/broken", timeout=10)
    assert broken.status_code == 500
    assert broken.json() == {"fault": {"status": 500, "text": "Internal sandbox error"}}
    # Unmetered assets are served as they are; like unknown paths, they are not calls.
    assert requests.get(f"{acme}/acme/v1/acme.js", timeout=10).json() == {"asset": True}
    counters = requests.get(f"{acme}/_sandbox/counters", timeout=10).json()["acme"]
    assert (counters["calls"], counters["errors"]) == (1, 1)


def test_an_extra_emulator_gets_the_cores_faults_and_its_own(acme):
    faults = f"{acme}/_sandbox/faults"
    fault = {"vendor": "acme", "count": 1, "status": 503, "retry_after": 4, "message": "down"}
    requests.post(faults, json=fault, timeout=10).raise_for_status()
    failed = echo(acme)
    assert failed.status_code == 503
    assert failed.headers["retry-after"] == "4"
    assert failed.json() == {"fault": {"status": 503, "text": "down"}}

    requests.post(faults, json={"vendor": "acme", "kind": "glitch"}, timeout=10)
    assert echo(acme).json() == {"glitched": True}
    refused = requests.post(faults, json={"vendor": "clipdrop", "kind": "glitch"}, timeout=10)
    assert refused.status_code == 400
    assert refused.json() == {"error": "kind 'glitch' exists for acme only"}

    requests.post(faults, json={"vendor": "acme", "kind": "reset"}, timeout=10)
    with pytest.raises(requests.ConnectionError):
        echo(acme)
    counters = requests.get(f"{acme}/_sandbox/counters", timeout=10).json()["acme"]
    assert counters["faults_injected"] == 3


def test_an_extra_emulator_gets_latency(acme):
    requests.post(f"{acme}/_sandbox/config", json={"latency_ms": 300}, timeout=10)
    started = time.monotonic()
    assert echo(acme).status_code == 200
    assert time.monotonic() - started >= 0.3


def test_an_extra_emulators_controls_state_and_reset(acme):
    echo(acme, "kept")
    controls = requests.get(f"{acme}/_sandbox/", timeout=10).json()
    assert controls["prefixes"]["acme"] == "/acme/v1"
    assert "/_sandbox/acme/echoes" in controls["controls"]
    listed = requests.get(f"{acme}/_sandbox/acme/echoes", timeout=10)
    assert listed.json() == {"echoes": ["kept"]}
    assert listed.headers["access-control-allow-origin"] == "*"

    reset = requests.post(f"{acme}/_sandbox/reset", json={"credits": {"acme": 5}}, timeout=10)
    reset.raise_for_status()
    assert requests.get(f"{acme}/_sandbox/acme/echoes", timeout=10).json() == {"echoes": []}
    assert echo(acme).json()["remaining"] == 4
    unknown = requests.post(f"{acme}/_sandbox/reset", json={"credits": {"zeta": 1}}, timeout=10)
    assert unknown.status_code == 400


def test_emulators_are_checked_when_the_app_is_built():
    class Twin(AcmeEmulator):
        pass

    class Elsewhere(AcmeEmulator):
        base_path = "/other/v1"

    class Nameless(Emulator):
        pass

    with pytest.raises(ValueError, match="unique"):
        SandboxApp(SandboxConfig(), [AcmeEmulator, Twin])
    with pytest.raises(ValueError, match="/acme"):
        SandboxApp(SandboxConfig(), [Elsewhere])
    with pytest.raises(TypeError, match="name"):
        SandboxApp(SandboxConfig(), [Nameless])
