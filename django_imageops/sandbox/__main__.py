"""``python -m django_imageops.sandbox``: run the vendor sandbox in the foreground.

Options mirror ``SandboxConfig``; ``--help`` lists them. Ctrl-C stops it.
"""

from __future__ import annotations

import argparse
import logging
import sys

from .app import make_app
from .config import PIKTID_NOTIFICATION_NAMES, SandboxConfig, per_vendor
from .emulators import EMULATORS
from .server import quiet_handler


def _base_paths(url: str, sep: str) -> str:
    return sep.join(f"{url}{emulator.mount_path()}" for emulator in EMULATORS)


def _latency(text: str) -> int | dict[str, int]:
    try:
        return per_vendor("latency_ms", text, [emulator.name for emulator in EMULATORS])
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def build_parser() -> argparse.ArgumentParser:
    """The command line parser (one option per ``SandboxConfig`` field the docs name)."""
    defaults = SandboxConfig()
    labels = [emulator.label for emulator in EMULATORS]
    parser = argparse.ArgumentParser(
        prog="python -m django_imageops.sandbox",
        description=(
            f"Local emulator of the {', '.join(labels[:-1])} and {labels[-1]} APIs. Base URLs: "
            f"{_base_paths('<url>', ', ')}; test controls under <url>/_sandbox/."
        ),
    )
    parser.add_argument("--host", default=defaults.host, help="interface (default %(default)s)")
    parser.add_argument("--port", type=int, default=defaults.port, help="(default %(default)s)")
    parser.add_argument(
        "--api-key",
        default=defaults.api_key,
        help="Clipdrop, ClippingMagic and PixLab API key (default %(default)s)",
    )
    parser.add_argument(
        "--api-id", default=defaults.api_id, help="ClippingMagic API Id (default %(default)s)"
    )
    parser.add_argument(
        "--clippingmagic-result-redirect",
        action="store_true",
        help="answer a ClippingMagic upload with format=result by a redirect to the result",
    )
    parser.add_argument("--piktid-email", default=defaults.piktid_email)
    parser.add_argument("--piktid-password", default=defaults.piktid_password)
    parser.add_argument(
        "--piktid-notification-name",
        choices=PIKTID_NOTIFICATION_NAMES,
        default=defaults.piktid_notification_name,
        help="name of a finished PiktID generation's notification (default %(default)s)",
    )
    parser.add_argument(
        "--credits",
        type=int,
        default=defaults.credits,
        help="credits each vendor starts with (default %(default)s)",
    )
    parser.add_argument(
        "--clipdrop-rpm",
        type=int,
        default=defaults.clipdrop_rpm,
        help="Clipdrop requests per key per minute before 429 (default %(default)s)",
    )
    parser.add_argument(
        "--piktid-delay",
        type=float,
        default=defaults.piktid_delay,
        help="seconds until a PiktID generation's notification appears (default %(default)s)",
    )
    parser.add_argument(
        "--latency-ms",
        type=_latency,
        default=defaults.latency_ms,
        help=(
            "delay added to every vendor request, ms: one number for all, or per vendor, e.g. "
            "clipdrop=8000,clippingmagic=3000,pixlab=500 (others none; default %(default)s)"
        ),
    )
    parser.add_argument("--quiet", action="store_true", help="no per-request log lines")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Parse ``argv``, serve until interrupted; returns the exit status."""
    from werkzeug.serving import make_server

    args = build_parser().parse_args(argv)
    config = SandboxConfig(
        host=args.host,
        port=args.port,
        api_key=args.api_key,
        api_id=args.api_id,
        clippingmagic_result_redirect=args.clippingmagic_result_redirect,
        piktid_email=args.piktid_email,
        piktid_password=args.piktid_password,
        piktid_notification_name=args.piktid_notification_name,
        credits=args.credits,
        clipdrop_rpm=args.clipdrop_rpm,
        piktid_delay=args.piktid_delay,
        latency_ms=args.latency_ms,
    )
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    server = make_server(
        config.host,
        config.port,
        make_app(config),
        threaded=True,
        request_handler=quiet_handler() if args.quiet else None,
    )
    url = f"http://{config.host}:{server.server_port}"
    print(f"django-imageops vendor sandbox listening on {url}", flush=True)
    print(f"  base URLs: {_base_paths(url, '  ')}", flush=True)
    print(f"  controls:  {url}/_sandbox/", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
