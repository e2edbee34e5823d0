"""Client-side vendor rate limits, shared by every worker process on every machine.

``jobs`` calls :func:`reserve` before each vendor call and :func:`release` after it
(``jobs.context``: ``ctx.call`` of a provider).
``reserve`` never sleeps: it answers ``0.0`` (go now) or the seconds to wait, and the caller
re-enqueues the job with ``run_after`` that far in the future.

The state lives in Django's cache framework, in the cache named by
``IMAGEOPS["RATE_LIMIT_CACHE"]`` (default ``"default"``). Every worker on every machine must see
the same cache: Redis (``django.core.cache.backends.redis.RedisCache``) or Memcached in
production; the database cache works across processes on one database; ``LocMemCache`` only
limits the threads of one process. The only write used is ``cache.add()`` on keys that are
never reused (Redis ``SET NX``, Memcached ``add``, an ``INSERT`` on the database cache), so two
workers can never both win the same slot: there is no read-modify-write to race on.

Limits, per vendor and per credential (API key or account), from ``IMAGEOPS["VENDORS"][name]``:

``REQUESTS_PER_MINUTE`` (Clipdrop: 60)
    Requests are spread evenly: time is cut into slots of ``60 / (REQUESTS_PER_MINUTE - BURST)``
    seconds and a request takes one free slot among the current one and the ``BURST - 1``
    before it (``BURST`` default: a second's worth, ``REQUESTS_PER_MINUTE // 60``, at least 1;
    keep it under half the rate). So any 60 seconds hold at most ``REQUESTS_PER_MINUTE``
    requests, whatever window the vendor counts in, and a slot that no worker was free to take
    is not lost for ``BURST`` slots. A caller told to wait is given its own future slot to come
    back at (a booking), so deferred jobs return one per slot rather than all at once.
``CONCURRENCY`` (ClippingMagic: 5)
    At most that many calls in flight. A slot is leased with an expiry (``LEASE_SECONDS``,
    default: the connect + the vendor's read timeout + 60 s) so a crashed worker cannot hold it
    for ever;
    :func:`release` gives it back when the call ends.
``POLL_INTERVAL`` (PiktID: 3.0)
    With ``resource=<vendor image id>``, calls about one image are at least that many seconds
    apart (PiktID asks for polls no faster than every 3 s).

:func:`backoff` records a vendor's ``Retry-After`` so that every worker waits it out.
:func:`exclusive` lets one worker at a time do something with an account that must not be done
twice at once (renewing PiktID's tokens: a refresh token used twice revokes them all).
"""

from __future__ import annotations

import hashlib
import logging
import math
import random
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.core.cache import caches
from django.core.cache.backends.db import DatabaseCache
from django.db import router, transaction

from .conf import get_setting
from .providers import vendor_settings

#: Seconds a worker is told to wait when every concurrency slot is taken (plus up to 50 % jitter).
CONCURRENCY_RETRY_SECONDS = 1.0
#: How far ahead deferred callers are given wake-up slots (seconds), and how many slots one
#: ``reserve`` tries to book before giving a rough wait instead.
MAX_BOOKING_SECONDS = 600.0
BOOKING_PROBES = 32

_KEY_PREFIX = "imageops:rl"
_held = threading.local()
_warned: list[str] = []
logger = logging.getLogger(__name__)


def get_cache():
    """The Django cache holding the limiter state (alias ``IMAGEOPS["RATE_LIMIT_CACHE"]``)."""
    return caches[get_setting("RATE_LIMIT_CACHE")]


def _warn_if_in_transaction(cache) -> None:
    """A database cache written inside ``transaction.atomic()`` joins that transaction: other
    workers do not see the slot until it commits, and a rollback gives it back after the call
    was made. Say so (once per process) rather than limit wrongly in silence."""
    if _warned or not isinstance(cache, DatabaseCache):
        return
    alias = router.db_for_write(cache.cache_model_class)
    if transaction.get_connection(alias).in_atomic_block:
        _warned.append(alias)
        logger.warning(
            "ratelimit.reserve() inside transaction.atomic() on %r: the limiter's database cache "
            "writes join that transaction and are not shared until it commits. Call jobs and "
            "vendor calls outside atomic blocks (and without ATOMIC_REQUESTS), or keep the "
            "limiter on Redis/Memcached.",
            alias,
        )


def _limits(provider: str) -> dict[str, Any]:
    try:
        return vendor_settings(provider)
    except KeyError:
        return {}


def _base_key(provider: str, credential: str) -> str:
    # The credential is a secret: only a digest of it goes into cache keys.
    digest = hashlib.sha256(str(credential).encode()).hexdigest()[:16]
    return f"{_KEY_PREFIX}:{provider}:{digest}"


def _slot_seconds(requests_per_minute: float, burst: int) -> float:
    """Seconds per request slot, so that any 60 s holds at most ``requests_per_minute``."""
    return 60.0 / max(requests_per_minute - burst, requests_per_minute / 2, 1e-9)


def _lease_seconds(limits: dict[str, Any]) -> int:
    lease = limits.get("LEASE_SECONDS")
    if lease is None:
        timeout = get_setting("TIMEOUT")
        connect, read = (timeout if isinstance(timeout, (tuple, list)) else (timeout, 0))[:2]
        read = limits.get("READ_TIMEOUT", read)  # the vendor's own read timeout, if any
        lease = float(connect or 0) + float(read or 0) + 60.0
    return max(1, math.ceil(lease))


def _reserve_rate(cache, base: str, requests_per_minute: float, burst: int) -> float:
    interval = _slot_seconds(requests_per_minute, burst)
    now = time.time()
    current = int(now // interval)
    prefix = f"{base}:rate:{requests_per_minute:g}"
    # Taking a slot: "add" its key. Slot keys are never reused (the slot number grows with
    # time) and only need to outlive the catch-up window; the rate is part of the key so a
    # changed setting starts afresh.
    ttl = max(2, math.ceil(interval * (burst + 1)) + 1)
    keys = [f"{prefix}:{slot}" for slot in range(current - burst + 1, current + 1)]
    taken = cache.get_many(keys)
    for key in keys:
        if key not in taken and cache.add(key, 1, ttl):
            return 0.0
    return _book(cache, prefix, interval, current)


def _book(cache, prefix: str, interval: float, current: int) -> float:
    """Seconds until a future slot that no other deferred caller was sent to.

    Every caller told to wait gets its own wake-up slot (an ``add`` on ``<prefix>:book:<n>``),
    so deferred jobs come back one per slot instead of all at once. The booking does not hold
    the slot: whoever comes first when it is due takes it, and a caller that finds it taken is
    booked again, further on.
    """
    horizon = max(1, int(MAX_BOOKING_SECONDS / interval))
    hint_key = f"{prefix}:book-hint"
    slot = max(int(cache.get(hint_key) or 0), current + 1)
    for _ in range(BOOKING_PROBES):
        if slot - current > horizon:
            break
        ttl = max(2, math.ceil((slot - current + 1) * interval) + 1)
        if cache.add(f"{prefix}:book:{slot}", 1, ttl):
            # The hint only saves probes; a stale or lost hint costs a few extra "add" calls.
            cache.set(hint_key, slot + 1, ttl)
            # Aim a little into the slot, so that a caller on time is not early for it.
            return max((slot + 0.05) * interval - time.time(), 0.001)
        slot += 1
    # Fully booked as far as we look: come back later, spread over a few slots.
    return max(slot * interval - time.time(), 0.001) + random.random() * interval * 4


def _reserve_slot(cache, base: str, provider: str, credential: str, limits: dict) -> float:
    concurrency = int(limits["CONCURRENCY"])
    keys = [f"{base}:slot:{index}" for index in range(concurrency)]
    taken = cache.get_many(keys)
    free = [key for key in keys if key not in taken]
    random.shuffle(free)  # spread contending workers over the free slots
    token = uuid.uuid4().hex
    lease = _lease_seconds(limits)
    for key in free:
        if cache.add(key, token, lease):
            _holdings().setdefault((provider, str(credential)), []).append((key, token))
            return 0.0
    return CONCURRENCY_RETRY_SECONDS * (1 + random.random() / 2)


def _holdings() -> dict[tuple[str, str], list[tuple[str, str]]]:
    if not hasattr(_held, "slots"):
        _held.slots = {}
    return _held.slots


def reserve(provider: str, credential: str, *, resource: str | None = None) -> float:
    """Reserve one vendor request for ``provider`` under ``credential`` (an API key or account).

    Args:
        provider: the vendor (``Provider.vendor``, its key in ``IMAGEOPS["VENDORS"]``, e.g.
            ``"clipdrop"``); a vendor without limit settings always gets ``0.0``.
        credential: the API key / account the call is made with; limits are per credential.
        resource: optional vendor id the call is about (a PiktID image id): with the vendor's
            ``POLL_INTERVAL`` set, calls about one resource are spaced that many seconds apart.

    Call it outside ``transaction.atomic()``: on a database cache, the slot is written in the
    caller's transaction otherwise (a warning is logged once).

    Returns:
        ``0.0`` to call the vendor now (a concurrency slot, if any, is then held until
        :func:`release`), else the seconds (> 0) to wait before trying again; nothing is held
        then. Never sleeps.

    Raises:
        django.core.cache.backends.base.InvalidCacheBackendError: for an unknown cache alias.
    """
    limits = _limits(provider)
    cache = get_cache()
    _warn_if_in_transaction(cache)
    base = _base_key(provider, credential)

    blocked_until = cache.get(f"{base}:blocked")
    if blocked_until is not None:
        wait = float(blocked_until) - time.time()
        if wait > 0:
            return wait

    if resource is not None and limits.get("POLL_INTERVAL"):
        spacing = float(limits["POLL_INTERVAL"])
        key = f"{base}:resource:{hashlib.sha256(str(resource).encode()).hexdigest()[:16]}"
        now = time.time()
        if not cache.add(key, now, max(1, math.ceil(spacing))):
            last = cache.get(key)
            if last is not None and now - float(last) < spacing:
                return spacing - (now - float(last))
            # The key outlived its spacing (cache timeouts are whole seconds): renew it. Only the
            # one job that owns this resource polls it, so there is no one to race with.
            cache.set(key, now, max(1, math.ceil(spacing)))

    holding_slot = False
    if limits.get("CONCURRENCY"):
        wait = _reserve_slot(cache, base, provider, credential, limits)
        if wait:
            return wait
        holding_slot = True

    if limits.get("REQUESTS_PER_MINUTE"):
        rpm = float(limits["REQUESTS_PER_MINUTE"])
        burst = max(1, int(limits.get("BURST") or rpm // 60))
        wait = _reserve_rate(cache, base, rpm, burst)
        if wait:
            if holding_slot:
                release(provider, credential)
            return wait
    return 0.0


def release(provider: str, credential: str) -> None:
    """Give back the concurrency slot the last successful :func:`reserve` of this thread took
    for ``provider`` and ``credential`` (after the vendor call ended, whatever its outcome).

    A no-op when no slot is held (providers without ``CONCURRENCY``, or a deferred reserve).
    """
    held = _holdings().get((provider, str(credential)))
    if not held:
        return
    key, token = held.pop()
    cache = get_cache()
    # Delete only our own lease: if it expired and another worker took the slot, keep theirs.
    if cache.get(key) == token:
        cache.delete(key)


#: Seconds between two tries of a worker waiting for :func:`exclusive`.
EXCLUSIVE_POLL_SECONDS = 0.05


@contextmanager
def exclusive(provider: str, credential: str, name: str, *, lease: float = 60.0) -> Iterator[bool]:
    """Hold ``name`` for ``provider`` and ``credential``: one holder at a time across threads,
    processes and machines (the limiter's shared cache, ``cache.add``).

    A worker that finds it held waits (polling every ``EXCLUSIVE_POLL_SECONDS``): use it for
    short critical sections around one vendor call, such as a token refresh, never around a
    job. The hold is a lease of ``lease`` seconds, so a crashed holder cannot keep it; longer
    than that a waiter does not wait, and goes on without it (logged).

    Yields:
        True when held, False when the wait outlasted ``lease`` seconds.
    """
    cache = get_cache()
    key = f"{_base_key(provider, credential)}:exclusive:{name}"
    token = uuid.uuid4().hex
    deadline = time.monotonic() + lease
    while not (held := cache.add(key, token, max(1, math.ceil(lease)))):
        if time.monotonic() >= deadline:
            logger.warning("%s of %s: still held after %.0f s; going on", name, provider, lease)
            break
        time.sleep(EXCLUSIVE_POLL_SECONDS)
    try:
        yield held
    finally:
        # Delete only our own lease: if it expired and another worker took it, keep theirs.
        if held and cache.get(key) == token:
            cache.delete(key)


def backoff(provider: str, credential: str, seconds: float) -> None:
    """Make every worker wait ``seconds`` before calling ``provider`` with ``credential`` again
    (e.g. after a 429 with ``Retry-After``). Extends an existing back-off, never shortens it."""
    if seconds <= 0:
        return
    cache = get_cache()
    key = f"{_base_key(provider, credential)}:blocked"
    until = time.time() + float(seconds)
    current = cache.get(key)
    if current is None or float(current) < until:
        cache.set(key, until, max(1, math.ceil(seconds) + 1))


def reset(provider: str | None = None, credential: str | None = None) -> None:
    """Forget this thread's held slots (tests and worker start-up). Cache keys expire alone."""
    if provider is None:
        _holdings().clear()
    else:
        _holdings().pop((provider, str(credential)), None)
