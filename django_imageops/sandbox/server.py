"""Serving the sandbox: ``run_in_thread`` (tests, the example project) and the Werkzeug request
handler the command line shares with it."""

from __future__ import annotations

import threading
from collections.abc import Iterable

from .app import SandboxApp, make_app
from .config import SandboxConfig
from .emulators.base import Emulator


class SandboxServer:
    """A sandbox running in a background thread.

    Attributes:
        url: root URL, e.g. ``http://127.0.0.1:54321`` (no trailing slash).
        host, port: where it listens (``port`` is the real one when 0 was asked for).
        app: the ``SandboxApp`` (its ``config``, ``counters``, ``reset()``).
    """

    def __init__(self, server, app: SandboxApp, thread: threading.Thread):
        self._server = server
        self._thread = thread
        self.app = app
        self.host = server.host
        self.port = server.server_port
        host = f"[{self.host}]" if ":" in self.host else self.host
        self.url = f"http://{host}:{self.port}"

    def shutdown(self) -> None:
        """Stop serving, release held requests and close the socket (idempotent)."""
        self.app.wake_all()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)

    def __enter__(self) -> SandboxServer:
        return self

    def __exit__(self, *exc) -> None:
        self.shutdown()


def quiet_handler():
    """A Werkzeug request handler class that does not log every request (tests run thousands)."""
    from werkzeug.serving import WSGIRequestHandler

    class QuietHandler(WSGIRequestHandler):
        """Request handler that does not log every request."""

        def log_request(self, code="-", size="-") -> None:
            pass

    return QuietHandler


def run_in_thread(
    config: SandboxConfig | None = None,
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    quiet: bool = True,
    emulators: Iterable[type[Emulator]] | None = None,
) -> SandboxServer:
    """Start the sandbox on ``host``:``port`` (0: a free port) in a daemon thread.

    Returns a ``SandboxServer`` with ``.url`` and ``.shutdown()``. ``quiet`` silences the
    per-request access log; ``emulators`` as for ``make_app``. Raises ``OSError`` when the port
    is taken.
    """
    from werkzeug.serving import make_server

    app = make_app(config or SandboxConfig(), emulators)
    server = make_server(
        host, port, app, threaded=True, request_handler=quiet_handler() if quiet else None
    )
    thread = threading.Thread(
        target=server.serve_forever, name=f"imageops-sandbox-{server.server_port}", daemon=True
    )
    thread.start()
    return SandboxServer(server, app, thread)
