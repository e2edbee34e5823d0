"""A tiny scripted HTTP server for client behaviour the sandbox cannot show.

The sandbox is a faithful vendor; a few client guarantees need a misbehaving or foreign server:
a redirect to another host (is the basic-auth header dropped?), PixLab's JSON error inside an
HTTP 200, a 2xx answer that is not the promised image. ``FakeServer`` runs a real werkzeug
server on loopback; each test scripts its answers and reads back the requests it received.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response


@dataclass
class Seen:
    """One request the fake server received."""

    method: str
    host: str
    path: str
    headers: dict[str, str]
    form: dict[str, str] = field(default_factory=dict)
    files: dict[str, bytes] = field(default_factory=dict)
    json: object = None


class FakeServer:
    """A werkzeug server on 127.0.0.1 answering with ``handler(request) -> Response``.

    Attributes:
        port: the bound port; ``url`` is ``http://127.0.0.1:<port>``.
        seen: every request received, in order.
    """

    def __init__(self, handler: Callable[[Request], Response]):
        self.handler = handler
        self.seen: list[Seen] = []

        @Request.application
        def app(request: Request) -> Response:
            self.seen.append(
                Seen(
                    method=request.method,
                    host=request.host,
                    path=request.path,
                    headers=dict(request.headers),
                    form=request.form.to_dict(),
                    files={name: f.read() for name, f in request.files.items()},
                    json=request.get_json(silent=True),
                )
            )
            return self.handler(request)

        self._server = make_server("127.0.0.1", 0, app, threaded=True)
        self.port = self._server.server_port
        self.url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    def __enter__(self) -> FakeServer:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._thread.join(5)
