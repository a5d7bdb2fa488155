# mypy: disable-error-code="import-untyped,import-not-found,misc,untyped-decorator,no-any-return"
"""Pages never break because of tracking.

The shop-facing helpers (``track_purchase``, ``track_order``, ``{% convtrack_pixel %}``,
the middleware) turn a tracking failure -- an invalid setting, an event that cannot be
built, an unwritable outbox -- into "no tracking for this request": one warning on the
``convtrack.django`` logger and one count here. The log line and the counter name the
error code and the field or setting (``invalid_value:pixel_id``), never a value, so no
personal data and no token can reach them.

Each degraded request is counted twice. In the outbox, shared by every process on it
(each gunicorn worker adds to one figure), through ``Tracker.count_degraded`` as
``degraded.<code>`` (``status()["counters"]["degraded"]``), whenever a tracker with an
outbox is available: the process-wide one, or the pixel-only one a bad setting leaves.
And per process, since it started, by the full ``"<code>:<field>"``, which also covers
the requests of a process that has no tracker at all (an invalid pixel id):
:func:`degraded_counts`. The status page and the dashboard show both. The library's own
API (``convtrack.Tracker``) keeps raising typed errors.
"""

from __future__ import annotations

import logging
import re
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


#: ``record``'s ``tracker`` default: find the tracker to count into (see ``_shared_tracker``).
LOOKUP: Any = object()
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")


def shared_reason(why: str) -> str:
    """The outbox counter's token for ``"<code>:<field>"``: the code, as ``[a-z_]``
    (``invalid_value``; an exception class ``DoesNotExist`` gives ``does_not_exist``). The
    field stays in the per-process count: the shared counter is one per kind of failure."""
    code = _CAMEL.sub("_", why.split(":", 1)[0]).lower()
    token = re.sub(r"[^a-z_]+", "", code).strip("_")[:64]
    return token or "other"


def _shared_tracker() -> Any:
    """The tracker whose outbox counts this request: the process-wide one, else the
    pixel-only one (a bad setting may leave the outbox usable), else ``None``."""
    from convtrack.django import conf

    try:
        return conf.get_tracker()
    except FAILURES:
        return conf.pixel_only_tracker()


def _count_shared(why: str, tracker: Any) -> None:
    """``Tracker.count_degraded``; never raises (the outbox may be the very failure)."""
    if why.startswith("storage:"):
        return  # the outbox is the failure: writing to it again would only wait on it again
    try:
        if tracker is LOOKUP:
            tracker = _shared_tracker()
        if tracker is not None:
            tracker.count_degraded(shared_reason(why))
    except Exception as exc:  # an unwritable outbox, a core without the call: the per-process count stays
        logger.debug("convtrack: degraded request not counted in the outbox (%s)", type(exc).__name__)


def record(why: str, ctx: Any = None, tracker: Any = LOOKUP) -> str:
    """Counts and logs one degraded request. With a request's tracking context, only its
    first failure is logged and counted (the tag after a failed ``track_purchase`` on the
    same page does not add a second line). ``tracker``: the one to count into the shared
    outbox counters (``None``: there is none), found here by default."""
    if ctx is not None:
        if getattr(ctx, "degraded", None):
            return why
        ctx.degraded = why
    with _lock:
        _counts[why] += 1
    logger.warning("convtrack: no tracking for this request (%s)", why)
    _count_shared(why, tracker)
    return why


def degraded_counts() -> Dict[str, int]:
    """How many requests lost their tracking in this process, by ``"<code>:<field>"``
    (every process on the outbox: ``status()["counters"]["degraded"]``)."""
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
