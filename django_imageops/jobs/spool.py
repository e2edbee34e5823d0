"""The spool: a vendor's result kept on local disk until it is stored and recorded.

Whatever fails after a vendor answered (the storage, the database, our own code), the result's
bytes are written here and the job is retried: the next attempt stores them without calling
the vendor again (``results.store_from_spool``). A spooled result is two files in
``IMAGEOPS["SPOOL_DIR"]`` (default ``MEDIA_ROOT/imageops-spool``):

- ``<job uuid>-r<revision>.<ext>``: the result's bytes;
- ``<job uuid>.json``: what storing them needs (the data file, the vendor's content type and
  revision) and the job's credits when the result arrived.

The job's ``spool_path`` names the data file once the database has recorded the spool, in the
same UPDATE as the credits. When that write failed too (a database that stayed locked), the job
row still says nothing, but the next run finds ``<job uuid>.json`` by the job's UUID (one
``stat``) and records the credits from it: the result is neither lost nor paid for twice.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from django.conf import settings

from ..conf import get_setting
from ..models import ImageJob
from .states import set_later

#: ``vendor_state`` keys of a spooled result, kept for results spooled before the sidecar file
#: (read when there is none).
REVISION, CONTENT_TYPE = "spool_revision", "spool_type"


@dataclass(frozen=True)
class Spooled:
    """A result waiting in the spool.

    Attributes:
        path: the data file.
        content_type: the vendor's content type of the result.
        revision: the vendor's revision of the result (None: the vendor has none).
        credits: the job's ``credits_consumed`` / ``credits_remaining`` (strings or None) and
            ``credits_estimated`` when the result arrived, for a job row that never recorded
            them.
    """

    path: Path
    content_type: str = ""
    revision: int | None = None
    credits: dict | None = None


def _base() -> Path:
    configured = get_setting("SPOOL_DIR")
    if configured:
        return Path(configured)
    if getattr(settings, "MEDIA_ROOT", ""):
        return Path(settings.MEDIA_ROOT) / "imageops-spool"
    return Path(tempfile.gettempdir()) / "imageops-spool"


def spool_dir() -> Path:
    """``IMAGEOPS["SPOOL_DIR"]``, else ``MEDIA_ROOT/imageops-spool``, else a temp dir (made)."""
    path = _base()
    path.mkdir(parents=True, exist_ok=True)
    return path


def _sidecar(job: ImageJob, directory: Path | None = None) -> Path:
    return (directory or _base()) / f"{job.uuid}.json"


def keep(job: ImageJob, content: bytes, content_type: str, revision: int | None, ext: str) -> Path:
    """Write ``content`` to the spool and note it on ``job`` for its next write
    (``set_later``: ``spool_path`` and the spool's ``vendor_state`` keys, written with the
    retry that follows, together with the credits of the call).

    Returns:
        The data file's path.

    Raises:
        OSError: the spool directory cannot be written.
    """
    directory = spool_dir()
    path = directory / f"{job.uuid}-r{revision or 1}.{ext}"
    path.write_bytes(content)
    meta = {
        "path": str(path),
        "content_type": content_type,
        "revision": revision,
        "credits": {
            "credits_consumed": str(job.credits_consumed or 0),
            "credits_remaining": None
            if job.credits_remaining is None
            else str(job.credits_remaining),
            "credits_estimated": bool(job.credits_estimated),
        },
    }
    # Written whole, then renamed: a reader never sees half a sidecar.
    tmp = directory / f".{job.uuid}.json.tmp"
    tmp.write_text(json.dumps(meta))
    os.replace(tmp, _sidecar(job, directory))
    set_later(
        job,
        spool_path=str(path),
        vendor_state={**job.vendor_state, REVISION: revision, CONTENT_TYPE: content_type},
    )
    return path


def find(job: ImageJob) -> Spooled | None:
    """The result spooled for ``job``: the one its ``spool_path`` names, else one whose sidecar
    carries the job's UUID (a spool the database never recorded: ``credits`` says what the
    job had then); None when there is none. Costs one file open."""
    meta = None
    with contextlib.suppress(OSError, ValueError):
        meta = json.loads(_sidecar(job).read_text())
    if job.spool_path:
        if meta is None or meta.get("path") != job.spool_path:
            state = job.vendor_state or {}
            meta = {"content_type": state.get(CONTENT_TYPE), "revision": state.get(REVISION)}
        return Spooled(
            Path(job.spool_path), str(meta.get("content_type") or ""), meta.get("revision")
        )
    if not isinstance(meta, dict) or not meta.get("path"):
        return None
    return Spooled(
        Path(meta["path"]),
        str(meta.get("content_type") or ""),
        meta.get("revision"),
        meta.get("credits"),
    )


def recover_credits(job: ImageJob, spooled: Spooled) -> None:
    """Note on ``job`` (``set_later``) the credits a spool the database never recorded carries,
    unless the job already records more."""
    credits = spooled.credits or {}
    consumed = credits.get("credits_consumed")
    if consumed is not None and Decimal(consumed) > Decimal(job.credits_consumed or 0):
        set_later(job, credits_consumed=Decimal(consumed))
        if credits.get("credits_estimated"):
            set_later(job, credits_estimated=True)
    remaining = credits.get("credits_remaining")
    if remaining is not None and job.credits_remaining is None:
        set_later(job, credits_remaining=Decimal(remaining))


def discard(job: ImageJob, spooled: Spooled) -> None:
    """Delete a stored spool's files (a file already gone is fine)."""
    for path in (spooled.path, _sidecar(job)):
        with contextlib.suppress(OSError):
            path.unlink()
