"""Client-side vendor rate limits shared by every worker (placeholder until the batch work lands).

``reserve(provider, credential)`` is called by ``jobs.run_job`` before each vendor call and returns
0 to go now, or the seconds to defer the job by; ``release`` is called after the call.
"""

from __future__ import annotations


def reserve(provider: str, credential: str) -> float:
    """Reserve one vendor request for ``provider`` under ``credential`` (an API key or account).

    Returns:
        0.0 to call the vendor now, else the number of seconds to wait before trying again.
    """
    return 0.0


def release(provider: str, credential: str) -> None:
    """Give back a concurrency slot taken by ``reserve`` (after the vendor call ended)."""
