"""Strict JSON and the value checks every rule of the sandbox uses."""

from __future__ import annotations

import json
import math
from typing import Any, NoReturn


def _reject_constant(name: str) -> NoReturn:
    raise ValueError(f"{name} is not valid JSON")


def _loads(raw: bytes) -> Any:
    """Strict JSON: UTF-8, no NaN/Infinity."""
    return json.loads(raw.decode("utf-8"), parse_constant=_reject_constant)


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _int_in(v: Any, low: int, high: int) -> bool:
    return _is_int(v) and low <= v <= high


def _is_number(v: Any) -> bool:
    return (isinstance(v, (int, float)) and not isinstance(v, bool)) and (not isinstance(v, float) or math.isfinite(v))


def _nonempty_str(v: Any) -> bool:
    return isinstance(v, str) and v != ""
