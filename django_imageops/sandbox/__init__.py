"""A local emulator of the five vendor APIs django-imageops talks to (Clipdrop Uncrop and
Reimagine, ClippingMagic, PiktID Magic Expand, PixLab Crop): to these vendors what stripe-mock
is to Stripe and moto is to AWS.

One WSGI server (Werkzeug) serves every vendor under a path prefix: a client's ``base_url`` is
the sandbox URL plus ``/clipdrop``, ``/clippingmagic``, ``/piktid/api`` or ``/pixlab``. Test
controls live under ``/_sandbox/``. Run it with ``python -m django_imageops.sandbox`` or, in
tests, ``run_in_thread(SandboxConfig(), port=0)``. The Django app never imports this package
and this package never imports Django.
"""

from __future__ import annotations

import threading

from .app import SandboxApp, SandboxConfig, make_app

__all__ = ["SandboxApp", "SandboxConfig", "SandboxServer", "make_app", "run_in_thread"]


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


def _quiet_handler():
    from werkzeug.serving import WSGIRequestHandler

    class QuietHandler(WSGIRequestHandler):
        """Request handler that does not log every request (tests run thousands)."""

        def log_request(self, code="-", size="-") -> None:
            pass

    return QuietHandler


def run_in_thread(
    config: SandboxConfig | None = None,
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    quiet: bool = True,
) -> SandboxServer:
    """Start the sandbox on ``host``:``port`` (0: a free port) in a daemon thread.

    Returns a ``SandboxServer`` with ``.url`` and ``.shutdown()``. ``quiet`` silences the
    per-request access log. Raises ``OSError`` when the port is taken.
    """
    from werkzeug.serving import make_server

    app = make_app(config or SandboxConfig())
    server = make_server(
        host, port, app, threaded=True, request_handler=_quiet_handler() if quiet else None
    )
    thread = threading.Thread(
        target=server.serve_forever, name=f"imageops-sandbox-{server.server_port}", daemon=True
    )
    thread.start()
    return SandboxServer(server, app, thread)
