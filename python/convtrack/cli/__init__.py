"""The ``convtrack`` command line.

``convtrack demo`` runs the main job on its embedded default: sample orders go
through ``Tracker.track`` into a durable outbox and are delivered to the
embedded sandbox receiver; it prints, for each, the consent gate's decision,
the event id, the Conversions API payload and the pixel snippet, then the
delivery report, the sandbox's view (received, deduplicated, rejected) and the
status. ``convtrack status``, ``convtrack flush``, ``convtrack replay`` and
``convtrack check`` work on a settings file (JSON, the same keys as ``Tracker``).

The commands live one group to a module (``demo``, ``outbox``: status and flush, ``replay``,
``check``: check and test-event, ``catalog``: feed and catalog check, ``controls``), each with a ``register`` that adds its
subcommands; this module wires them into one parser. ``convtrack sandbox`` hands its options
to ``convtrack.sandbox``'s own command line.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Optional, Sequence

import convtrack
from convtrack.cli import catalog, check, controls, demo, outbox, replay
from convtrack.cli._common import EXIT_CODES, EXIT_ERROR, EXIT_INCOMPLETE, EXIT_INVALID, EXIT_OK, EXIT_SKIPPED
from convtrack.cli.catalog import cmd_catalog_check, cmd_feed
from convtrack.cli.check import cmd_check, cmd_test_event
from convtrack.cli.demo import BROWSER, DEMO_PIXEL_ID, cmd_demo, demo_orders, demo_products
from convtrack.cli.outbox import cmd_flush, cmd_status
from convtrack.cli.replay import cmd_replay

__all__ = [
    "main",
    "EXIT_CODES",
    "EXIT_ERROR",
    "EXIT_INCOMPLETE",
    "EXIT_INVALID",
    "EXIT_OK",
    "EXIT_SKIPPED",
    "BROWSER",
    "DEMO_PIXEL_ID",
    "demo_orders",
    "demo_products",
    "cmd_demo",
    "cmd_status",
    "cmd_flush",
    "cmd_replay",
    "cmd_check",
    "cmd_test_event",
    "cmd_feed",
    "cmd_catalog_check",
]


def main(argv: Optional[Sequence[str]] = None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    if args_list[:1] == ["sandbox"]:
        from convtrack.sandbox import main as sandbox_main

        return sandbox_main(args_list[1:])
    parser = argparse.ArgumentParser(
        prog="convtrack",
        description=__doc__.split("\n\n")[0] if __doc__ else None,
        epilog=EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"convtrack {convtrack.__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    demo.register(sub)
    # `convtrack sandbox ...` hands its options to the sandbox's own parser (see above).
    sub.add_parser("sandbox", help="run the sandbox Conversions API receiver on loopback (--host, --port, --token)")
    outbox.register(sub)  # status, flush
    replay.register(sub)
    check.register(sub)  # check, test-event
    catalog.register(sub)  # feed, catalog check
    controls.register(sub)
    args = parser.parse_args(args_list)
    try:
        code: int = args.func(args)
    except BrokenPipeError:  # e.g. `convtrack demo | head`
        return EXIT_OK
    except convtrack.InvalidArgumentError as e:  # e.g. controls: on without --legal-ack (the message names the field)
        sys.stderr.write(f"convtrack: {e}\n")
        _json_error(args, e)
        return EXIT_INVALID
    except (convtrack.SettingsError, convtrack.NotConfiguredError) as e:
        sys.stderr.write(f"convtrack: invalid settings: {e}\n")
        _json_error(args, e)
        return EXIT_INVALID
    except (OSError, ValueError, convtrack.ConvtrackError) as e:
        sys.stderr.write(f"convtrack: {type(e).__name__}: {e}\n")
        _json_error(args, e)
        return EXIT_ERROR
    return code


def _json_error(args: argparse.Namespace, e: BaseException) -> None:
    if getattr(args, "json", False):
        doc = {
            "type": type(e).__name__,
            "code": getattr(e, "code_name", None),
            "field": getattr(e, "field", None),
            "message": str(e),
        }
        sys.stdout.write(json.dumps({"error": doc}) + "\n")
