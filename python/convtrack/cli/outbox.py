"""``convtrack status`` and ``convtrack flush``: the outbox named in a settings file."""

from __future__ import annotations

import argparse
import json
import sys

from convtrack.cli._common import EXIT_INCOMPLETE, EXIT_OK, tracker_from
from convtrack.cli._format import flush_text, status_text


def register(sub: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    status = sub.add_parser("status", help="print the status of the outbox named in a settings file")
    status.add_argument("--settings", required=True, help="settings as a JSON file (as for Tracker)")
    status.add_argument("--json", action="store_true", help="print the status document as JSON")
    status.set_defaults(func=cmd_status)
    flush = sub.add_parser("flush", help="deliver queued events now (for cron and shared-nothing runtimes)")
    flush.add_argument("--settings", required=True, help="settings as a JSON file (as for Tracker)")
    flush.add_argument("--timeout", type=float, default=30.0, help="seconds to wait at most (default 30)")
    flush.add_argument("--json", action="store_true", help="print the report as JSON (for cron jobs that parse it)")
    flush.set_defaults(func=cmd_flush)


def cmd_status(args: argparse.Namespace) -> int:
    t = tracker_from(args.settings)
    try:
        st = t.status()
    finally:
        t.close()
    if args.json:
        sys.stdout.write(json.dumps(st, indent=2) + "\n")
    else:
        sys.stdout.write(status_text(st))
    return 0


def cmd_flush(args: argparse.Namespace) -> int:
    t = tracker_from(args.settings)
    try:
        report = t.flush(timeout=args.timeout)
    finally:
        t.close()
    sys.stdout.write(json.dumps(report) + "\n" if args.json else flush_text(report))
    return EXIT_OK if report["remaining"] == 0 and not report["paused"] else EXIT_INCOMPLETE
