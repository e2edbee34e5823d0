"""The registry of vendor emulators the sandbox serves by default.

Adding a vendor to the sandbox: one module here with an ``Emulator`` subclass (the contract is
``base.Emulator``'s docstring), one line in ``EMULATORS``, and its options in
``SandboxConfig``. A test or a site can also serve more: ``make_app(config,
emulators=[*EMULATORS, AcmeEmulator])``.
"""

from __future__ import annotations

from .base import Emulator, Route
from .clipdrop import ClipdropEmulator
from .clippingmagic import ClippingMagicEmulator
from .piktid import PiktidEmulator
from .pixlab import PixlabEmulator

#: The emulators of ``make_app()``, in the order the counters and the controls list them.
EMULATORS: tuple[type[Emulator], ...] = (
    ClipdropEmulator,
    ClippingMagicEmulator,
    PiktidEmulator,
    PixlabEmulator,
)

#: Their vendor names (``"clipdrop"``...).
VENDORS: tuple[str, ...] = tuple(emulator.name for emulator in EMULATORS)

__all__ = ["EMULATORS", "VENDORS", "Emulator", "Route"]
