"""What the command modules share: exit codes and reading a settings file."""

from __future__ import annotations

import argparse
import json
from typing import Any, Dict

import convtrack

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_INVALID = 2
EXIT_INCOMPLETE = 3
#: ``convtrack feed`` / ``convtrack catalog check``: written with skipped products, or items missing.
EXIT_SKIPPED = 4
EXIT_CODES = """exit codes:
  0  ok
  1  runtime error (I/O, storage; with check --online or test-event: Meta not reachable or a 5xx)
  2  usage error or invalid settings (the message names the setting; with check --online or
     test-event: Meta refused the access token or the pixel id)
  3  incomplete: flush left events queued or delivery is paused, or replay had invalid lines

With --json, errors are also printed on stdout as {"error": {"type", "code", "field", "message"}}."""

#: Keyword arguments of ``add_parser`` for a command whose ``--help`` ends with the exit codes.
WITH_EXIT_CODES: Dict[str, Any] = {"epilog": EXIT_CODES, "formatter_class": argparse.RawDescriptionHelpFormatter}


def not_an_object() -> convtrack.SettingsError:
    return convtrack.SettingsError("settings: must be a JSON object", 300, "invalid_setting", "settings")


def read_settings(path: str) -> Dict[str, Any]:
    """A settings file (JSON, the same keys as ``Tracker``) as a dict; ``sender`` defaults to
    ``manual``: the commands deliver with explicit ``flush`` calls."""
    with open(path, encoding="utf-8") as f:
        settings = json.load(f)
    if not isinstance(settings, dict):
        raise not_an_object()
    settings.setdefault("sender", "manual")
    return settings


def tracker_from(path: str) -> "convtrack.Tracker":
    return convtrack.Tracker(read_settings(path))
