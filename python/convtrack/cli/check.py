"""``convtrack check``: a settings file through the core's validation, the outbox path and (``--online``) the endpoint."""

from __future__ import annotations

import argparse
import json
import os
import sys
import urllib.error
import urllib.request
from typing import Any, Dict, List, Optional, Tuple

import convtrack
from convtrack.cli._common import EXIT_ERROR, EXIT_INVALID, EXIT_OK, WITH_EXIT_CODES, not_an_object


def register(sub: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    check = sub.add_parser(
        "check", help="validate a settings file (core validation, outbox writable, optional endpoint reachability)", **WITH_EXIT_CODES
    )
    check.add_argument("--settings", required=True, help="settings as a JSON file (as for Tracker)")
    check.add_argument("--online", action="store_true", help="also check that the endpoint answers over HTTP")
    check.add_argument("--timeout", type=float, default=5.0, help="seconds for the --online request (default 5)")
    check.add_argument("--json", action="store_true", help="print the checks as JSON")
    check.set_defaults(func=cmd_check)


def _check_outbox(path: Optional[str]) -> Tuple[bool, str]:
    if not path:
        return True, "no outbox_path: build only (track needs one)"
    directory = os.path.dirname(os.path.abspath(path))
    if os.path.exists(path):
        ok = os.access(path, os.R_OK | os.W_OK) and os.access(directory, os.W_OK | os.X_OK)
    else:
        ok = os.path.isdir(directory) and os.access(directory, os.W_OK | os.X_OK)
    return ok, "writable" if ok else "outbox_path: cannot be written (directory missing or no permission)"


def _check_endpoint(url: str, timeout: float) -> Tuple[bool, str]:
    req = urllib.request.Request(url, method="GET", headers={"User-Agent": f"convtrack-check/{convtrack.__version__}"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return True, f"reachable (HTTP {resp.status})"
    except urllib.error.HTTPError as e:  # any HTTP answer means the endpoint is reachable
        return True, f"reachable (HTTP {e.code})"
    except (urllib.error.URLError, OSError, ValueError) as e:
        reason = getattr(e, "reason", e)
        return False, f"endpoint: not reachable ({type(reason).__name__})"


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
        finally:
            t.close()
        checks.append({"check": "settings", "ok": True, "detail": "valid"})
    settings_ok = all(c["ok"] for c in checks)
    if args.online and settings_ok and summary is not None:
        url = summary.get("endpoint") or "https://graph.facebook.com"
        ok, detail = _check_endpoint(str(url), args.timeout)
        checks.append({"check": "endpoint", "ok": ok, "detail": detail})
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
