"""A job's history: one ``ImageJobEvent`` per attempt, vendor call, error, retry and stored
result, written in order, several in one INSERT where that saves a query."""

from __future__ import annotations

from typing import Any

from ..models import ImageJob, ImageJobEvent

Kind = ImageJobEvent.Kind

_BUFFER = "_event_buffer"


def record_event(
    job: ImageJob, kind: str, message: Any = "", *, defer: bool = False, **data: Any
) -> None:
    """Record an ``ImageJobEvent`` of ``kind`` with ``message`` (cut to 4,000 characters) and
    JSON-safe ``data``. ``defer=True`` buffers it until the next event is written (or the run
    ends: ``flush_events``): one INSERT for several events, in order."""
    buffer = job.__dict__.setdefault(_BUFFER, [])
    buffer.append(ImageJobEvent(job=job, kind=kind, message=str(message)[:4000], data=data))
    if not defer:
        flush_events(job)


def flush_events(job: ImageJob) -> None:
    """Write the buffered events of ``job`` (one INSERT)."""
    buffer = job.__dict__.get(_BUFFER)
    if buffer:
        ImageJobEvent.objects.bulk_create(buffer)
        buffer.clear()
