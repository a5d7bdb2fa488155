"""``convtrack replay``: historic orders (JSON lines) through ``track``, then one flush."""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any, Callable, Dict

import convtrack
from convtrack.cli._common import EXIT_INCOMPLETE, EXIT_OK, WITH_EXIT_CODES, tracker_from
from convtrack.cli._progress import Progress


def register(sub: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    replay = sub.add_parser(
        "replay", help="send historic orders (one event-input JSON object per line) through track, then flush", **WITH_EXIT_CODES
    )
    replay.add_argument("file", help="JSON Lines file, one event input per line")
    replay.add_argument("--settings", required=True, help="settings as a JSON file (needs outbox_path unless --dry-run)")
    replay.add_argument("--dry-run", action="store_true", help="build only: validate and count, queue nothing")
    replay.add_argument("--progress", action="store_true", help="show the progress bar even when stderr is not a terminal")
    replay.add_argument("--timeout", type=float, default=60.0, help="seconds the final flush waits at most (default 60)")
    replay.add_argument("--json", action="store_true", help="print the summary as JSON")
    replay.set_defaults(func=cmd_replay)


def _bar(total: int) -> Callable[[float, int], str]:
    """The replay line: ``replay [#####.....] 120/1000``."""
    total = max(total, 1)
    width = 30

    def render(elapsed: float, done: int) -> str:
        filled = min(width, width * done // total)
        return f"replay [{'#' * filled}{'.' * (width - filled)}] {done}/{total}"

    return render


def _error_entry(line_no: int, e: BaseException) -> Dict[str, Any]:
    """An invalid line: its number, the error code and field. Never the value or the message's input."""
    if isinstance(e, convtrack.ConvtrackError):
        return {"line": line_no, "code": e.code_name, "field": e.field}
    if isinstance(e, UnicodeDecodeError):
        return {"line": line_no, "code": "invalid_utf8", "field": None}
    if isinstance(e, json.JSONDecodeError):
        return {"line": line_no, "code": "invalid_json", "field": None}
    return {"line": line_no, "code": "wrong_type", "field": None}


def _count_lines(path: str) -> int:
    """Counts lines for the progress bar (one extra streaming pass; only when the bar is shown)."""
    n, last = 0, b"\n"
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            n += chunk.count(b"\n")
            last = chunk[-1:]
    return n + (last != b"\n")


def cmd_replay(args: argparse.Namespace) -> int:
    """Sends historic orders (one event-input JSON object per line) through track, then flushes."""
    show_progress = bool(args.progress or sys.stderr.isatty())
    total = _count_lines(args.file) if show_progress else 0
    source = open(args.file, "rb")  # streamed line by line: historic exports can be large
    try:
        t = tracker_from(args.settings)
    except BaseException:
        source.close()
        raise
    summary: Dict[str, Any] = {
        "file": args.file,
        "dry_run": bool(args.dry_run),
        "lines": 0,
        "queued": 0,
        "held": 0,
        "duplicate": 0,
        "would_send": 0,
        "blocked": {},
        "skipped_too_old": 0,
        "invalid": [],
        "flush": None,
    }
    progress = Progress(_bar(total), show_progress)
    done = 0
    try:
        for i, raw in enumerate(source, start=1):
            done = i
            progress(i - 1)
            if not raw.strip():
                continue
            summary["lines"] += 1
            try:
                event = json.loads(raw.decode("utf-8"))
                if not isinstance(event, dict):
                    raise TypeError("line: must be a JSON object")
                result = t.build(event) if args.dry_run else t.track(event)
            except convtrack.EventTimeError as e:
                # The core rejects event_time older than 7 days or more than 5 minutes ahead; only the past is "too old".
                when = event.get("event_time")
                if isinstance(when, (int, float)) and not isinstance(when, bool) and when < time.time():
                    summary["skipped_too_old"] += 1
                else:
                    summary["invalid"].append(_error_entry(i, e))
                continue
            except convtrack.NotConfiguredError:
                raise  # e.g. no outbox_path: every line would fail the same way
            except (convtrack.InputError, ValueError, TypeError) as e:
                summary["invalid"].append(_error_entry(i, e))
                continue
            server = result["server"]
            if server == "blocked":
                reason = result["reason"] or "unknown"
                summary["blocked"][reason] = summary["blocked"].get(reason, 0) + 1
            elif server == "send":
                summary["would_send"] += 1
            elif server in ("queued", "held", "duplicate"):
                # held: unknown_consent "hold" and no answer yet; stored, not sent (build says so too)
                summary[server] += 1
        progress.finish(done)
        if not args.dry_run:
            summary["flush"] = t.flush(timeout=args.timeout)
    finally:
        source.close()
        t.close()
    report = summary["flush"]
    # Held events are not delivered by this replay: only a later set_consent(..., "granted") sends them.
    incomplete = (
        bool(summary["invalid"])
        or summary["held"] > 0
        or (report is not None and (report["remaining"] > 0 or report["paused"]))
    )
    if args.json:
        sys.stdout.write(json.dumps(summary, indent=2) + "\n")
    else:
        out = sys.stdout
        out.write(f"replayed {summary['lines']} lines from {args.file}{' (dry run: built, nothing queued)' if args.dry_run else ''}\n")
        if args.dry_run:
            out.write(f"would send: {summary['would_send']}  would be held: {summary['held']}\n")
        else:
            out.write(f"queued: {summary['queued']}  held: {summary['held']}  duplicate: {summary['duplicate']}\n")
        if summary["held"]:
            out.write(
                f"held for consent: {summary['held']} events {'would be' if args.dry_run else 'are'} stored but not sent "
                "until the shopper grants consent (set_consent); unanswered, they are dropped after hold_ttl\n"
            )
        blocked = ", ".join(f"{k} {v}" for k, v in sorted(summary["blocked"].items())) or "0"
        out.write(f"blocked: {blocked}\n")
        out.write(f"skipped (older than Meta accepts, 7 days): {summary['skipped_too_old']}\n")
        out.write(f"invalid lines: {len(summary['invalid'])}\n")
        for bad in summary["invalid"]:
            out.write(f"  line {bad['line']}: {bad['code']}" + (f" (field {bad['field']})" if bad["field"] else "") + "\n")
        if report is not None:
            out.write(
                f"delivery: sent {report['sent']}  failed {report['failed']}  expired {report['expired']}  "
                f"remaining {report['remaining']}{'  PAUSED: ' + str(report['paused']) if report['paused'] else ''}\n"
            )
    return EXIT_INCOMPLETE if incomplete else EXIT_OK
