"""``convtrack check``: a settings file through the core's validation, the outbox path and (``--online``) the endpoint."""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any, Dict, List, Optional, Tuple

import convtrack
from convtrack.cli._common import EXIT_ERROR, EXIT_INVALID, EXIT_OK, WITH_EXIT_CODES, not_an_object, tracker_from


def register(sub: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    check = sub.add_parser(
        "check", help="validate a settings file (core validation, outbox writable, optional endpoint reachability)", **WITH_EXIT_CODES
    )
    check.add_argument("--settings", required=True, help="settings as a JSON file (as for Tracker)")
    check.add_argument("--online", action="store_true",
                       help="also ask Meta (the endpoint) whether the access token is valid and can see the pixel")
    check.add_argument("--timeout", type=float, default=5.0, help="seconds for the --online request (default 5, 0.1 to 120)")
    check.add_argument("--json", action="store_true", help="print the checks as JSON")
    check.set_defaults(func=cmd_check)
    test = sub.add_parser(
        "test-event",
        help="send one synthetic PageView (no customer data) with a test event code, to see it in Events Manager",
        **WITH_EXIT_CODES,
    )
    test.add_argument("--settings", required=True, help="settings as a JSON file (as for Tracker)")
    test.add_argument("--code", default=None, help="the test event code from Events Manager (default: the test_event_code setting)")
    test.add_argument("--json", action="store_true", help="print the answer as JSON")
    test.set_defaults(func=cmd_test_event)


def _check_outbox(path: Optional[str]) -> Tuple[bool, str]:
    if not path:
        return True, "no outbox_path: build only (track needs one)"
    directory = os.path.dirname(os.path.abspath(path))
    if os.path.exists(path):
        ok = os.access(path, os.R_OK | os.W_OK) and os.access(directory, os.W_OK | os.X_OK)
    else:
        ok = os.path.isdir(directory) and os.access(directory, os.W_OK | os.X_OK)
    return ok, "writable" if ok else "outbox_path: cannot be written (directory missing or no permission)"


def online_line(r: Dict[str, Any]) -> str:
    """One line for the health check's answer (``Tracker.check_online()``)."""
    if r["ok"]:
        return f"token and pixel ok: pixel {r['pixel']['id']} \"{r['pixel']['name']}\" (HTTP {r['status']})"
    return f"{r['error']}" + (f" (HTTP {r['status']})" if r["status"] is not None else "")


def _check_online(t: "convtrack.Tracker") -> Dict[str, Any]:
    """The core's token and pixel health check as one entry of the checks list."""
    try:
        r = t.check_online()
    except convtrack.ConvtrackError as e:  # no access token: a settings problem
        return {"check": "online", "ok": False, "code": e.code_name, "field": e.field, "detail": str(e)}
    # An answer that names the token or the pixel is a settings problem; no answer or a 5xx a runtime one.
    settings_problem = not r["ok"] and r["status"] is not None and r["status"] < 500
    return {"check": "online", "ok": r["ok"], "settings_problem": settings_problem, "status": r["status"],
            "pixel": r["pixel"], "detail": online_line(r)}


def cmd_check(args: argparse.Namespace) -> int:
    """Validates a settings file with the core's own validation, then the outbox path and (--online) the endpoint."""
    checks: List[Dict[str, Any]] = []
    with open(args.settings, encoding="utf-8") as f:
        try:
            settings = json.load(f)
        except json.JSONDecodeError as e:
            raise convtrack.SettingsError(f"settings: not valid JSON (line {e.lineno})", 300, "invalid_setting", "settings")
    if not isinstance(settings, dict):
        raise not_an_object()
    outbox = settings.get("outbox_path")
    ok, detail = _check_outbox(outbox if isinstance(outbox, str) else None)
    checks.append({"check": "outbox_path", "ok": ok, "detail": detail})
    summary: Optional[Dict[str, Any]] = None
    # The core validates every setting (pixel id, token when data controls are on, endpoint, ...). It opens (and
    # creates) the outbox; when the path cannot be written, the other settings are still validated without it.
    core_settings = dict(settings, sender="manual")
    if args.online:
        core_settings["request_timeout_ms"] = int(min(max(args.timeout, 0.1), 120.0) * 1000)
    if not ok:
        core_settings.pop("outbox_path", None)
    try:
        t = convtrack.Tracker(core_settings)
    except convtrack.ConvtrackError as e:
        checks.append({"check": "settings", "ok": False, "code": e.code_name, "field": e.field, "detail": str(e)})
    else:
        try:
            st = t.status()
            summary = {k: st.get(k) for k in ("pixel_id", "catalog_id", "catalog_name", "mode", "data_controls", "test_event_code")}
            summary["endpoint"] = t.settings.get("endpoint")
            checks.append({"check": "settings", "ok": True, "detail": "valid"})
            if args.online and all(c["ok"] for c in checks):
                checks.append(_check_online(t))
        finally:
            t.close()
    settings_ok = all(c["ok"] or (c["check"] == "online" and not c.get("settings_problem", True)) for c in checks)
    code = EXIT_OK if all(c["ok"] for c in checks) else (EXIT_INVALID if not settings_ok else EXIT_ERROR)
    if args.json:
        sys.stdout.write(json.dumps({"ok": code == EXIT_OK, "checks": checks, "settings": summary}, indent=2) + "\n")
    else:
        for c in checks:
            sys.stdout.write(f"{'ok  ' if c['ok'] else 'FAIL'} {c['check']}: {c['detail']}\n")
        if summary is not None:
            sys.stdout.write(
                f"pixel {summary['pixel_id']}  catalog {summary['catalog_name'] or '-'} ({summary['catalog_id'] or '-'})  "
                f"mode {summary['mode']}  data controls: {'ON' if summary['data_controls'] else 'off'}\n"
            )
    return code


def cmd_test_event(args: argparse.Namespace) -> int:
    """Sends one test event through the core (``Tracker.send_test_event``), whatever the data controls say."""
    t = tracker_from(args.settings)
    try:
        r = t.send_test_event(args.code)
    finally:
        t.close()
    if args.json:
        sys.stdout.write(json.dumps(r, indent=2) + "\n")
    elif r["ok"]:
        sys.stdout.write(
            f"ok   test event sent: PageView {r['event_id']} with test code {r['test_event_code']} (HTTP {r['status']})\n"
            "     look for it in Events Manager > Test events\n"
        )
    else:
        status = f" (HTTP {r['status']})" if r["status"] is not None else ""
        sys.stdout.write(f"FAIL test event not accepted: {r['error']}{status}\n")
    if r["ok"]:
        return EXIT_OK
    return EXIT_INVALID if r["status"] is not None and r["status"] < 500 else EXIT_ERROR
