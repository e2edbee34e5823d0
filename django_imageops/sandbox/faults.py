"""Fault injection and per-vendor counters for the sandbox.

Both are plain, lock-protected containers over the vendor names the app serves (its emulators);
the app consults them on every vendor request:

- ``FaultQueue``: "make the next N calls to a vendor fail" (a status code, a held request
  that outlasts a client's read timeout, a late answer to a request the vendor did carry out,
  a connection reset, a non-JSON body, or a kind the vendor's emulator serves itself).
- ``Counters``: calls, credits consumed and errors sent, per vendor, for tests to assert on.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field

#: Fault kinds the core serves for every vendor (emulators may add their own).
CORE_FAULT_KINDS = ("status", "timeout", "late", "reset", "non_json")


class FaultError(ValueError):
    """A ``POST /_sandbox/faults`` payload that cannot be queued (unknown vendor or kind)."""


@dataclass
class Fault:
    """One queued failure.

    Attributes:
        kind: ``"status"`` (answer ``status`` with the vendor's error body), ``"timeout"`` (hold
            the request ``seconds`` then answer 504: nothing was done), ``"late"`` (carry the
            request out, charging as usual, then hold its answer ``seconds`` before sending it:
            a client whose read timeout is shorter never learns that the work was done),
            ``"reset"`` (close the socket without an answer), ``"non_json"`` (answer ``status``
            with an HTML body) or a kind of the vendor's emulator (``Emulator.fault_kinds``:
            PiktID's ``"notification_error"``).
        status: HTTP status for ``status``/``non_json`` (default 503 / 502).
        retry_after: seconds sent as ``Retry-After`` with a ``status`` fault, or None.
        seconds: how long a ``timeout`` fault holds the request, or a ``late`` one its answer
            (None: the config default ``fault_timeout_seconds``).
        message: the error message put in the body.
        endpoint: only calls to this endpoint of the vendor take the fault (its name in the
            ``endpoints`` counter, e.g. PiktID's ``"generate"``); None: the next calls, whatever
            they are.
    """

    kind: str = "status"
    status: int | None = None
    retry_after: float | int | None = None
    seconds: float | None = None
    message: str = "Injected fault (sandbox)"
    endpoint: str | None = None


class FaultQueue:
    """Per-vendor FIFO of ``Fault`` s, each with a remaining count. Thread-safe.

    ``extra_kinds``: ``{vendor: kinds its emulator serves}`` for every vendor served (the core's
    kinds are accepted for all).
    """

    def __init__(self, extra_kinds: Mapping[str, Iterable[str]]):
        self._lock = threading.Lock()
        self._kinds = {vendor: (*CORE_FAULT_KINDS, *kinds) for vendor, kinds in extra_kinds.items()}
        self._queues: dict[str, list[list]] = {vendor: [] for vendor in self._kinds}

    def add(self, payload: dict) -> Fault:
        """Queue a fault from a controls payload ``{"vendor", "count", "kind", ...}``.

        Raises ``FaultError`` for an unknown vendor or kind or a count below 1.
        """
        vendor = payload.get("vendor")
        if vendor not in self._kinds:
            raise FaultError(f"unknown vendor {vendor!r}; expected one of {', '.join(self._kinds)}")
        kind = payload.get("kind", "status")
        if kind not in self._kinds[vendor]:
            owners = [name for name, kinds in self._kinds.items() if kind in kinds]
            if not owners:
                every = dict.fromkeys(k for kinds in self._kinds.values() for k in kinds)
                raise FaultError(f"unknown kind {kind!r}; expected one of {', '.join(every)}")
            raise FaultError(f"kind {kind!r} exists for {', '.join(owners)} only")
        try:
            count = int(payload.get("count", 1))
        except (TypeError, ValueError) as exc:
            raise FaultError("count must be an integer") from exc
        if count < 1:
            raise FaultError("count must be at least 1")
        status = payload.get("status")
        fault = Fault(
            kind=kind,
            status=int(status) if status is not None else None,
            retry_after=payload.get("retry_after"),
            seconds=float(payload["seconds"]) if payload.get("seconds") is not None else None,
            message=str(payload.get("message") or Fault.message),
            endpoint=str(payload["endpoint"]) if payload.get("endpoint") else None,
        )
        with self._lock:
            self._queues[vendor].append([fault, count])
        return fault

    def take(
        self, vendor: str, kinds: tuple[str, ...] | None = None, endpoint: str | None = None
    ) -> Fault | None:
        """Pop one use of the first queued fault of ``vendor`` (restricted to ``kinds`` when
        given) that applies to a call to ``endpoint``, or return None when nothing is queued."""
        with self._lock:
            queue = self._queues[vendor]
            for entry in queue:
                fault, remaining = entry
                if kinds is not None and fault.kind not in kinds:
                    continue
                if fault.endpoint is not None and fault.endpoint != endpoint:
                    continue
                if remaining <= 1:
                    queue.remove(entry)
                else:
                    entry[1] = remaining - 1
                return fault
        return None

    def pending(self) -> dict[str, list[dict]]:
        """What is still queued: ``{vendor: [{"kind", "count", ...}, ...]}``."""
        with self._lock:
            return {
                vendor: [{**asdict(fault), "count": count} for fault, count in queue]
                for vendor, queue in self._queues.items()
            }

    def clear(self) -> None:
        """Drop every queued fault."""
        with self._lock:
            for queue in self._queues.values():
                queue.clear()


@dataclass
class VendorCounters:
    """What one vendor's emulation has done since the last reset.

    Attributes:
        calls: vendor API requests received (including rejected and faulted ones).
        succeeded: requests answered 2xx/3xx.
        errors: requests answered 4xx/5xx (including injected ones).
        credits_consumed: credits charged.
        credits_remaining: credits left.
        rate_limited: 429 answers sent by the emulated rate limiter.
        faults_injected: queued faults served.
        endpoints: calls per endpoint name (e.g. ``{"uncrop": 2}``).
    """

    calls: int = 0
    succeeded: int = 0
    errors: int = 0
    credits_consumed: int = 0
    credits_remaining: int = 0
    rate_limited: int = 0
    faults_injected: int = 0
    endpoints: dict[str, int] = field(default_factory=dict)


class Counters:
    """``VendorCounters`` for every vendor in ``vendors`` behind one lock."""

    def __init__(self, vendors: Iterable[str]):
        self._lock = threading.Lock()
        self._vendors = tuple(vendors)
        self._data = {vendor: VendorCounters() for vendor in self._vendors}

    def bump(self, vendor: str, name: str, amount: int = 1) -> None:
        """Add ``amount`` to counter ``name`` of ``vendor``."""
        with self._lock:
            counters = self._data[vendor]
            setattr(counters, name, getattr(counters, name) + amount)

    def call(self, vendor: str, endpoint: str) -> None:
        """Count one request to ``endpoint`` of ``vendor``."""
        with self._lock:
            counters = self._data[vendor]
            counters.calls += 1
            counters.endpoints[endpoint] = counters.endpoints.get(endpoint, 0) + 1

    def outcome(self, vendor: str, status: int) -> None:
        """Count an answer with HTTP ``status`` as succeeded or error."""
        self.bump(vendor, "succeeded" if status < 400 else "errors")

    def snapshot(self, credits: dict[str, int]) -> dict[str, dict]:
        """A JSON-ready copy, with ``credits_remaining`` filled from ``credits``."""
        with self._lock:
            out = {}
            for vendor, counters in self._data.items():
                data = asdict(counters)
                data["credits_remaining"] = credits.get(vendor, 0)
                out[vendor] = data
            return out

    def clear(self) -> None:
        """Zero everything."""
        with self._lock:
            self._data = {vendor: VendorCounters() for vendor in self._vendors}
