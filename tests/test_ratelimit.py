"""The vendor rate limiter (``django_imageops.ratelimit``) on real Django cache backends.

In-process tests use LocMemCache and the database cache with threads; the cross-process test runs
several Python processes against one Redis cache (the production set-up) and checks that
together they never exceed the limit while still using most of it.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from django.core.cache import caches

from django_imageops import ratelimit

ROOT = Path(__file__).resolve().parent.parent


def _imageops(settings, **vendors):
    """Copy of the test IMAGEOPS with vendor settings changed (merged per vendor)."""
    config = {**settings.IMAGEOPS, "VENDORS": {**settings.IMAGEOPS["VENDORS"]}}
    for name, extra in vendors.items():
        config["VENDORS"][name] = {**config["VENDORS"].get(name, {}), **extra}
    return config


@pytest.fixture
def locmem(settings):
    """A private LocMemCache as the limiter cache."""
    settings.CACHES = {
        **settings.CACHES,
        "ratelimit-test": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": f"ratelimit-{time.time_ns()}",
        },
    }
    settings.IMAGEOPS = {**settings.IMAGEOPS, "RATE_LIMIT_CACHE": "ratelimit-test"}
    ratelimit.reset()
    yield caches["ratelimit-test"]
    ratelimit.reset()


def _hammer(provider, credential, seconds, threads=6, release_after=None):
    """Call ``reserve`` in a loop from several threads; return the grant times (sorted)."""
    grants: list[float] = []
    lock = threading.Lock()
    deadline = time.monotonic() + seconds

    def loop():
        while time.monotonic() < deadline:
            wait = ratelimit.reserve(provider, credential)
            if wait == 0:
                with lock:
                    grants.append(time.time())
                if release_after is not None:
                    time.sleep(release_after)
                    ratelimit.release(provider, credential)
            else:
                assert wait > 0
                time.sleep(min(wait, 0.005))

    workers = [threading.Thread(target=loop) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return sorted(grants)


def test_requests_per_minute_are_spread_and_near_the_limit(locmem, settings):
    settings.IMAGEOPS = _imageops(settings, clipdrop={"REQUESTS_PER_MINUTE": 600, "BURST": 1})
    seconds = 1.5
    grants = _hammer("clipdrop", "key-a", seconds)
    # 600/min = 10/s: never more than the limit in the window, and most of it used.
    assert len(grants) <= 600 / 60 * seconds + 1
    assert len(grants) >= 0.5 * 600 / 60 * seconds  # loose: the machine may be busy
    # BURST=1: one request per slot of 60/(600-1) s, so no two grants in the same slot.
    slot = 60 / 599
    slots = [int(t // slot) for t in grants]
    assert len(set(slots)) == len(slots)


def test_reserve_over_the_limit_returns_seconds_until_the_next_slot(locmem, settings):
    settings.IMAGEOPS = _imageops(settings, clipdrop={"REQUESTS_PER_MINUTE": 60})
    assert ratelimit.reserve("clipdrop", "key-a") == 0
    wait = ratelimit.reserve("clipdrop", "key-a")
    # The next slot, aimed 5 % into it (_book: a caller on time is not early for it).
    assert 0 < wait <= 60 / 59 * 1.05 + 0.01
    # Another credential has its own budget.
    assert ratelimit.reserve("clipdrop", "key-b") == 0


def test_deferred_callers_get_one_wake_up_slot_each(locmem, settings):
    settings.IMAGEOPS = _imageops(settings, clipdrop={"REQUESTS_PER_MINUTE": 600, "BURST": 3})
    slot = 60 / 597
    # Use up the current slot and the caught-up idle ones.
    immediate = 0
    while ratelimit.reserve("clipdrop", "key") == 0:
        immediate += 1
    assert 1 <= immediate <= 4  # 3, or 4 when the loop crossed into the next 0.1 s slot
    wakes = []
    for _ in range(5):
        wait = ratelimit.reserve("clipdrop", "key")
        assert wait > 0
        wakes.append(time.time() + wait)
    # Each deferred caller is sent to its own next free slot: the herd is spread out.
    wake_slots = [int(w // slot) for w in wakes]
    assert len(set(wake_slots)) == 5, wakes
    assert max(wake_slots) - min(wake_slots) <= 6, wakes
    # Coming back when told, every one of them gets its slot.
    granted = 0
    for wake in wakes:
        time.sleep(max(0.0, wake - time.time()) + slot * 0.1)
        granted += ratelimit.reserve("clipdrop", "key") == 0
    assert granted == 5


def test_default_burst_lets_idle_slots_be_caught_up(locmem, settings, monkeypatch):
    settings.IMAGEOPS = _imageops(settings, clipdrop={"REQUESTS_PER_MINUTE": 600})
    monkeypatch.setattr(ratelimit.time, "time", lambda: 2_000_000.0)
    # Default BURST is a second's worth (10 at 600/min): an idle limiter grants that many now.
    results = [ratelimit.reserve("clipdrop", "key") for _ in range(15)]
    assert results.count(0.0) == 10


def test_any_60_seconds_hold_at_most_the_limit_with_burst(locmem, settings, monkeypatch):
    """Simulated clock: a worker that tries at random moments for 5 minutes, with catch-up
    slots (BURST=3), never gets more than REQUESTS_PER_MINUTE grants in any 60 s window."""
    import random

    settings.IMAGEOPS = _imageops(settings, clipdrop={"REQUESTS_PER_MINUTE": 30, "BURST": 3})
    clock = [1_000_000.0]
    monkeypatch.setattr(ratelimit.time, "time", lambda: clock[0])
    rng = random.Random(7)
    grants = []
    while clock[0] < 1_000_000.0 + 300:
        # Bursty arrivals: sometimes idle for a while, then many tries close together.
        clock[0] += rng.choice([0.01, 0.05, 0.3, 4.0])
        if ratelimit.reserve("clipdrop", "key") == 0:
            grants.append(clock[0])
    for index, start in enumerate(grants):
        in_window = [t for t in grants[index:] if t < start + 60]
        assert len(in_window) <= 30, (start, len(in_window))
    # Idle gaps are caught up with, so most of the budget was used.
    assert len(grants) >= 0.85 * 30 * 5


def test_concurrency_slots_are_released_and_expire(locmem, settings):
    settings.IMAGEOPS = _imageops(settings, clippingmagic={"CONCURRENCY": 2, "LEASE_SECONDS": 1})
    assert ratelimit.reserve("clippingmagic", "1:key") == 0
    assert ratelimit.reserve("clippingmagic", "1:key") == 0
    wait = ratelimit.reserve("clippingmagic", "1:key")
    assert wait > 0
    ratelimit.release("clippingmagic", "1:key")
    assert ratelimit.reserve("clippingmagic", "1:key") == 0
    assert ratelimit.reserve("clippingmagic", "1:key") > 0
    # A worker that died holding slots: its leases expire.
    ratelimit.reset()
    time.sleep(1.1)
    assert ratelimit.reserve("clippingmagic", "1:key") == 0
    # release() without a held slot is a no-op.
    ratelimit.release("clippingmagic", "other")


def test_concurrency_under_threads_never_exceeds_the_limit(locmem, settings):
    settings.IMAGEOPS = _imageops(settings, clippingmagic={"CONCURRENCY": 3})
    in_flight = [0]
    peak = [0]
    lock = threading.Lock()
    deadline = time.monotonic() + 1.0
    done = [0]

    def loop():
        while time.monotonic() < deadline:
            if ratelimit.reserve("clippingmagic", "1:key") == 0:
                with lock:
                    in_flight[0] += 1
                    peak[0] = max(peak[0], in_flight[0])
                time.sleep(0.02)
                with lock:
                    in_flight[0] -= 1
                    done[0] += 1
                ratelimit.release("clippingmagic", "1:key")
            else:
                time.sleep(0.002)

    workers = [threading.Thread(target=loop) for _ in range(8)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert peak[0] == 3
    assert done[0] > 20


def test_piktid_polls_of_one_image_are_spaced(locmem, settings, monkeypatch):
    settings.IMAGEOPS = _imageops(settings, piktid={"POLL_INTERVAL": 3.0})
    clock = [5000.0]
    monkeypatch.setattr(ratelimit.time, "time", lambda: clock[0])
    assert ratelimit.reserve("piktid", "me@example.com", resource="img-1") == 0
    clock[0] += 1.0
    assert ratelimit.reserve("piktid", "me@example.com", resource="img-1") == pytest.approx(2.0)
    # Another image, and calls that are not about one image, are not held back.
    assert ratelimit.reserve("piktid", "me@example.com", resource="img-2") == 0
    assert ratelimit.reserve("piktid", "me@example.com") == 0


def test_backoff_makes_every_caller_wait(locmem, settings):
    assert ratelimit.reserve("pixlab", "key") == 0  # no limits configured: always go
    ratelimit.backoff("pixlab", "key", 5)
    wait = ratelimit.reserve("pixlab", "key")
    assert 4 < wait <= 5
    ratelimit.backoff("pixlab", "key", 1)  # never shortens
    assert ratelimit.reserve("pixlab", "key") > 4
    assert ratelimit.reserve("pixlab", "other-key") == 0


def test_credentials_are_not_stored_in_cache_keys(locmem, settings):
    settings.IMAGEOPS = _imageops(settings, clippingmagic={"CONCURRENCY": 1})
    assert ratelimit.reserve("clippingmagic", "very-secret-key") == 0
    keys = [key for key in locmem._cache if "imageops:rl" in key]
    assert keys
    assert not [key for key in keys if "very-secret-key" in key]
    ratelimit.release("clippingmagic", "very-secret-key")


@pytest.mark.django_db(transaction=True)
def test_database_cache_limits_concurrency(settings):
    """The database cache (one table shared by every process on the database) as the store."""
    settings.IMAGEOPS = {
        **_imageops(
            settings, clippingmagic={"CONCURRENCY": 2}, clipdrop={"REQUESTS_PER_MINUTE": 60}
        ),
        "RATE_LIMIT_CACHE": "imageops-shared",
    }
    caches["imageops-shared"].clear()
    assert ratelimit.reserve("clippingmagic", "k") == 0
    assert ratelimit.reserve("clippingmagic", "k") == 0
    assert ratelimit.reserve("clippingmagic", "k") > 0
    ratelimit.release("clippingmagic", "k")
    assert ratelimit.reserve("clippingmagic", "k") == 0
    assert ratelimit.reserve("clipdrop", "k") == 0
    assert ratelimit.reserve("clipdrop", "k") > 0
    ratelimit.reset()


def test_the_limiter_cache_is_a_documented_setting(settings):
    from django_imageops.conf import DEFAULTS, get_setting

    assert DEFAULTS["RATE_LIMIT_CACHE"] == "default"
    settings.IMAGEOPS = {k: v for k, v in settings.IMAGEOPS.items() if k != "RATE_LIMIT_CACHE"}
    assert get_setting("RATE_LIMIT_CACHE") == "default"
    assert ratelimit.get_cache() is caches["default"]


@pytest.mark.django_db(transaction=True)
def test_reserve_inside_atomic_on_the_database_cache_warns(settings, caplog, monkeypatch):
    """Slot writes to a database cache inside transaction.atomic() join the caller's
    transaction (invisible to other workers until it commits): say so, once."""
    from django.db import transaction

    settings.IMAGEOPS = {**_imageops(settings), "RATE_LIMIT_CACHE": "imageops-shared"}
    monkeypatch.setattr(ratelimit, "_warned", [])
    caches["imageops-shared"].clear()
    with caplog.at_level("WARNING", logger="django_imageops.ratelimit"):
        assert ratelimit.reserve("clipdrop", "k") == 0  # autocommit: nothing to say
        assert not caplog.records
        with transaction.atomic():
            ratelimit.reserve("clipdrop", "k2")
            ratelimit.reserve("clipdrop", "k3")
    [record] = caplog.records
    assert "transaction.atomic()" in record.getMessage()
    ratelimit.reset()


_CHILD = r"""
import json, sys, time
import django
django.setup()
from django_imageops import ratelimit
print("ready", flush=True)
start, deadline = map(float, sys.stdin.readline().split())
while time.time() < start:
    time.sleep(0.005)
grants = []
while time.time() < deadline:
    wait = ratelimit.reserve("clipdrop", "shared-key")
    if wait == 0:
        grants.append(time.time())
    else:
        time.sleep(min(wait, 0.01))
print(json.dumps(grants), flush=True)
"""


def test_processes_sharing_redis_stay_within_the_limit(redis_url):
    """Three processes, one Redis cache: together at most the limit, and near it."""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "IMAGEOPS_TEST_REDIS_URL": redis_url,
        "IMAGEOPS_TEST_RATE_LIMIT_CACHE": "imageops-redis",
        "IMAGEOPS_TEST_CLIPDROP_RPM": "300",
        "PYTHONPATH": str(ROOT),
    }
    children = [
        subprocess.Popen(
            [sys.executable, "-c", _CHILD],
            env=env,
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(3)
    ]
    for child in children:  # every child has imported Django and is waiting
        assert child.stdout.readline().strip() == "ready"
    seconds = 3.0
    start = time.time() + 0.2
    grants = []
    for child in children:
        child.stdin.write(f"{start} {start + seconds}\n")
        child.stdin.flush()
    for child in children:
        out, _ = child.communicate(timeout=60)
        assert child.returncode == 0
        grants.append(json.loads(out))
    assert sum(1 for per_child in grants if per_child) >= 2, "the budget is shared"
    times = sorted(t for per_child in grants for t in per_child)
    # 300/min with the default BURST of 5: slots of 60/295 s, plus 5 caught-up idle slots at
    # the start; at most that, and most of it used.
    slot = 60 / 295
    assert len(times) <= seconds / slot + 5 + 1
    # (A loose lower bound: the machine may be busy; the upper bounds are the point.)
    assert len(times) >= 0.5 * 5 * seconds
    # Any L seconds hold at most L/slot + BURST grants (a slot granted at most once).
    for length in (0.5, 1.0, 2.0):
        for index, start in enumerate(times):
            count = sum(1 for t in times[index:] if t < start + length)
            assert count <= math.ceil(length / slot + 5), (length, count)


@pytest.fixture(scope="module")
def redis_url():
    """A Redis server for this module (tests/services.py)."""
    from tests.services import redis_server

    yield from redis_server()


def test_exclusive_lets_one_holder_in_at_a_time(locmem):
    """``exclusive`` (PiktID's token renewals): threads contending for one name never hold it
    together, and each gets it in turn."""
    inside, most, entries = [0], [0], []
    lock = threading.Lock()

    def hold():
        with ratelimit.exclusive("piktid", "account", "tokens") as held:
            assert held
            with lock:
                inside[0] += 1
                most[0] = max(most[0], inside[0])
            time.sleep(0.02)
            with lock:
                inside[0] -= 1
                entries.append(held)

    threads = [threading.Thread(target=hold) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert len(entries) == 6 and most[0] == 1
    # Another account, or another name, is not held by this one.
    with (
        ratelimit.exclusive("piktid", "account", "tokens") as held,
        ratelimit.exclusive("piktid", "other", "tokens") as other,
    ):
        assert held and other


def test_exclusive_held_past_its_lease_lets_a_waiter_go_on(locmem):
    """A holder that never lets go (a crashed worker) keeps the others out for its ``lease``
    at most; a waiter waits its own ``lease`` at most, then goes on without it."""
    crashed = ratelimit.exclusive("piktid", "account", "tokens", lease=1)
    assert crashed.__enter__()  # never exited
    started = time.monotonic()
    with ratelimit.exclusive("piktid", "account", "tokens", lease=10) as held:
        waited = time.monotonic() - started
    assert held and 0.5 <= waited < 5  # the crashed holder's lease expired

    crashed = ratelimit.exclusive("piktid", "account", "tokens", lease=10)
    assert crashed.__enter__()
    started = time.monotonic()
    with ratelimit.exclusive("piktid", "account", "tokens", lease=0.5) as held:
        waited = time.monotonic() - started
    assert not held and 0.5 <= waited < 5
