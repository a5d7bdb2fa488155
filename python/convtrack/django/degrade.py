# mypy: disable-error-code="import-untyped,import-not-found,misc,untyped-decorator,no-any-return"
"""Pages never break because of tracking.

The shop-facing helpers (``track_purchase``, ``track_order``, ``{% convtrack_pixel %}``,
the middleware) turn a tracking failure -- an invalid setting, an event that cannot be
built, an unwritable outbox -- into "no tracking for this request": one warning on the
``convtrack.django`` logger and one count here. The log line and the counter name the
error code and the field or setting (``invalid_value:pixel_id``), never a value, so no
personal data and no token can reach them.

The counts are per process (each gunicorn worker has its own) and since the process
started; :func:`degraded_counts` returns them, the status page and the dashboard show
them. The library's own API (``convtrack.Tracker``) keeps raising typed errors.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from typing import Any, Dict, Optional

from django.core.exceptions import ImproperlyConfigured

import convtrack

# What the helpers turn into "no tracking for this request": every typed convtrack error,
# an invalid Django-side option, and what the native module raises for a settings value
# it cannot take at all.
FAILURES = (convtrack.ConvtrackError, ImproperlyConfigured, TypeError, ValueError)
logger = logging.getLogger("convtrack.django")

_lock = threading.Lock()
_counts: "Counter[str]" = Counter()


def reason(exc: BaseException, default_field: str = "") -> str:
    """``"<code_name>:<field>"`` for a convtrack error (the field names a setting or an
    event field, never a value); the exception class name for anything else."""
    if isinstance(exc, convtrack.ConvtrackError):
        return f"{exc.code_name}:{exc.field or default_field}"
    return f"{type(exc).__name__}:{default_field}"


def record(why: str, ctx: Any = None) -> str:
    """Counts and logs one degraded request. With a request's tracking context, only its
    first failure is logged and counted (the tag after a failed ``track_purchase`` on the
    same page does not add a second line)."""
    if ctx is not None:
        if getattr(ctx, "degraded", None):
            return why
        ctx.degraded = why
    with _lock:
        _counts[why] += 1
    logger.warning("convtrack: no tracking for this request (%s)", why)
    return why


def degraded_counts() -> Dict[str, int]:
    """How many requests lost their tracking in this process, by ``"<code>:<field>"``."""
    with _lock:
        return dict(sorted(_counts.items()))


def total() -> int:
    with _lock:
        return sum(_counts.values())


def reset_counts() -> None:
    """For tests."""
    with _lock:
        _counts.clear()


def skipped(why: str, built: Optional[Dict[str, Any]] = None) -> Dict[str, Any]:
    """The result the helpers return when the server copy was not queued: the pixel's
    event id and snippet when ``build`` could still make them, ``server: "skipped"`` and
    the reason."""
    result: Dict[str, Any] = {"event_id": None, "pixel_html": ""}
    if built is not None:
        result.update(built)
    result.update(server="skipped", reason=why)
    result.pop("payload", None)
    return result
