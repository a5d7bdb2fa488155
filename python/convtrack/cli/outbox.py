"""``convtrack status`` and ``convtrack flush``: the outbox named in a settings file."""

from __future__ import annotations

import argparse
import json
import sys

from convtrack.cli._common import EXIT_INCOMPLETE, EXIT_OK, tracker_from


def register(sub: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    status = sub.add_parser("status", help="print the status of the outbox named in a settings file")
    status.add_argument("--settings", required=True, help="settings as a JSON file (as for Tracker)")
    status.add_argument("--json", action="store_true", help="print the status document as JSON")
    status.set_defaults(func=cmd_status)
    flush = sub.add_parser("flush", help="deliver queued events now (for cron and shared-nothing runtimes)")
    flush.add_argument("--settings", required=True, help="settings as a JSON file (as for Tracker)")
    flush.add_argument("--timeout", type=float, default=30.0, help="seconds to wait at most (default 30)")
    flush.add_argument("--json", action="store_true", help="print the report as JSON (the default output already is)")
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
        q = st["queue"] or {}
        c = st["counters"]
        sys.stdout.write(
            f"pixel {st['pixel_id']}  catalog {st['catalog_name'] or '-'} ({st['catalog_id'] or '-'})  mode {st['mode']}\n"
            f"data controls: {'ON' if st['data_controls'] else 'off'}  test code: {st['test_event_code'] or '-'}\n"
            f"queue: {q.get('depth', '-')} queued, oldest {q.get('oldest_age_s') or 0:.0f} s, {q.get('dead_letters', 0)} dead letters\n"
            f"accepted {c.get('accepted', 0)}  duplicate {c.get('duplicate', 0)}  sent {c.get('sent', 0)}  "
            f"retried {c.get('retried', 0)}  expired {c.get('expired', 0)}  blocked {c.get('blocked', {})}  failed {c.get('failed', {})}\n"
            f"paused: {st['paused'] or 'no'}\nlast error: {st['last_error'] or 'none'}\ncoverage: {st['coverage']}\n"
        )
    return 0


def cmd_flush(args: argparse.Namespace) -> int:
    t = tracker_from(args.settings)
    try:
        report = t.flush(timeout=args.timeout)
    finally:
        t.close()
    # The report is JSON with or without --json (cron jobs parse it).
    sys.stdout.write(json.dumps(report) + "\n")
    return EXIT_OK if report["remaining"] == 0 and not report["paused"] else EXIT_INCOMPLETE
