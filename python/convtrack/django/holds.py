# mypy: disable-error-code="import-untyped,import-not-found,misc,untyped-decorator,no-any-return"
"""Consent hold-and-release for one shopper (``unknown_consent: "hold"``, docs/spec.md §13).

``track_purchase`` remembers, in the shopper's session, the event ids it got back as
``server == "held"``; the middleware releases them (``Tracker.set_consent``) on the first
request where the consent provider gives an answer, and forgets them. Without
``django.contrib.sessions`` nothing is remembered: call ``Tracker.set_consent`` from your
banner's view instead. Unanswered holds expire in the core after ``hold_ttl``.
"""

from __future__ import annotations

import logging
from typing import Any, Dict

from convtrack.django import conf, degrade

logger = logging.getLogger("convtrack.django")

SESSION_KEY = "convtrack_held"
#: The most held event ids one session keeps (the oldest are forgotten; they expire unsent).
MAX_HELD = 50


def remember(request: Any, result: Dict[str, Any]) -> None:
    """Keeps a held event's id in the shopper's session until they answer."""
    session = getattr(request, "session", None)
    event_id = result.get("event_id")
    if session is None or result.get("server") != "held" or not isinstance(event_id, str):
        return
    held = [i for i in session.get(SESSION_KEY, []) if isinstance(i, str) and i != event_id]
    session[SESSION_KEY] = (held + [event_id])[-MAX_HELD:]


def release(request: Any, ctx: Any) -> None:
    """The consent provider answers now: releases (granted) or drops (denied) this
    shopper's held events. A failure is logged and counted, never raised: the events
    stay held and expire unsent, and the page renders. A consent provider that failed on
    this request gave no answer (its fail-closed "denied" is not the shopper's): the
    events stay held for the next request."""
    session = getattr(request, "session", None)
    if session is None or getattr(ctx, "consent_failed", False):
        return
    held = session.get(SESSION_KEY)
    marketing = (ctx.consent or {}).get("marketing") if isinstance(ctx.consent, dict) else None
    if not held or marketing not in ("granted", "denied"):
        return
    ids = [i for i in held if isinstance(i, str)]
    try:
        n = conf.get_tracker().set_consent(ids, marketing)
    except degrade.FAILURES as exc:
        degrade.record(degrade.reason(exc, "set_consent"), ctx)
        return
    del session[SESSION_KEY]
    logger.info("convtrack: %s %d held event(s) on the shopper's consent answer", "released" if marketing == "granted" else "dropped", n)
