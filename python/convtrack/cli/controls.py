"""``convtrack controls``: show the merchant's live controls and their history, or change them
(``--data-controls on|off``, ``--mode``, ``--actor``, ``--legal-ack``) through ``Tracker.set_controls``.
The controls live in the outbox, so every process on it sees a change on its next ``track``."""

from __future__ import annotations

import argparse
import json
import sys

import convtrack
from convtrack.cli._common import EXIT_OK, WITH_EXIT_CODES, tracker_from
from convtrack.cli._format import controls_text

LEGAL_WARNING = (
    "Turning data controls on sends receipt data (hashed customer details from orders) to Meta; "
    "this might require a legal review."
)


def register(sub: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    p = sub.add_parser(
        "controls",
        help="show the data controls and their history, or change them (--data-controls on|off --actor NAME [--legal-ack])",
        **WITH_EXIT_CODES,
    )
    p.add_argument("--settings", required=True, help="settings as a JSON file (as for Tracker; needs outbox_path)")
    p.add_argument("--data-controls", choices=("on", "off"), default=None, help="turn data controls on or off")
    p.add_argument("--mode", default=None, help="pixel_and_server or catalog_only")
    p.add_argument("--actor", default=None, help="who makes the change (recorded in the history; required to change)")
    p.add_argument("--legal-ack", action="store_true", help="acknowledge the legal review (required to turn data controls on)")
    p.add_argument("--json", action="store_true", help="print the controls as JSON")
    p.set_defaults(func=cmd_controls)


def cmd_controls(args: argparse.Namespace) -> int:
    change = args.data_controls is not None or args.mode is not None
    if not change and (args.actor is not None or args.legal_ack):
        raise _argument("data_controls", "--actor and --legal-ack go with --data-controls or --mode")
    t = tracker_from(args.settings)
    try:
        if change:
            if not args.actor:
                raise _argument("actor", "--actor NAME is required to change the controls (it is recorded in the history)")
            doc = t.set_controls(
                actor=args.actor,
                data_controls=None if args.data_controls is None else args.data_controls == "on",
                mode=args.mode,
                legal_ack=args.legal_ack,
            )
        else:
            doc = t.controls()
    finally:
        t.close()
    if args.json:
        sys.stdout.write(json.dumps(doc, indent=2) + "\n")
    else:
        sys.stdout.write(controls_text(doc))
        if doc.get("data_controls"):
            sys.stdout.write(LEGAL_WARNING + "\n")
    return EXIT_OK


def _argument(field: str, message: str) -> convtrack.InvalidArgumentError:
    return convtrack.InvalidArgumentError(f"{field}: {message}", 102, "invalid_argument", field)
