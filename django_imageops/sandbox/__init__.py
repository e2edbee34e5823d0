"""A local emulator of the five vendor APIs django-imageops talks to (Clipdrop Uncrop and
Reimagine, ClippingMagic, PiktID Magic Expand, PixLab Crop): to these vendors what stripe-mock
is to Stripe and moto is to AWS.

One WSGI server (Werkzeug) serves every vendor under a path prefix: a client's ``base_url`` is
the sandbox URL plus ``/clipdrop``, ``/clippingmagic``, ``/piktid/api`` or ``/pixlab``. Test
controls live under ``/_sandbox/``. Run it with ``python -m django_imageops.sandbox`` or, in
tests, ``run_in_thread(SandboxConfig(), port=0)``. The Django app never imports this package
and this package never imports Django.

Layout: ``app`` (the WSGI core: routing, latency, faults, counters, files, controls),
``config`` (``SandboxConfig``), ``faults``, ``imaging`` (Pillow), ``server`` (threads),
``emulators/`` (one ``Emulator`` per vendor and their registry, ``EMULATORS``).
"""

from __future__ import annotations

from .app import SandboxApp, make_app
from .config import SandboxConfig
from .emulators import EMULATORS, Emulator, Route
from .server import SandboxServer, run_in_thread

__all__ = [
    "EMULATORS",
    "Emulator",
    "Route",
    "SandboxApp",
    "SandboxConfig",
    "SandboxServer",
    "make_app",
    "run_in_thread",
]
