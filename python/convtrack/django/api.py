# mypy: disable-error-code="import-untyped,import-not-found,misc,untyped-decorator,no-any-return"
"""Helpers for shop code: ``track_purchase`` (checkout / thank-you view) and
``track_order`` (webhooks, signals, tasks: no request).

``order`` is an event in convtrack's input terms (docs/spec.md §3, "Event input"): a dict
such as ``{"order_id": 1001, "currency": "EUR", "value": "59.90", "items": [...],
"customer": {...}}`` -- ``event_name`` defaults to ``"Purchase"`` -- or any object
with a ``to_convtrack()`` method returning such a dict (e.g. your ``Order`` model).
"""

from __future__ import annotations

import logging
from typing import Any, Callable, Dict, List, Literal, Optional, Tuple

import convtrack
from convtrack.django import conf, degrade
from convtrack.django.context import TrackingContext, get_context, normalize_consent
from convtrack.django.holds import remember

logger = logging.getLogger("convtrack.django")

_BROWSER_FIELDS = ("ip", "user_agent", "fbp", "fbc", "fbclid")


def _event_from(order: Any) -> Dict[str, Any]:
    """The event from the shop's order. This runs the shop's own code (``to_convtrack()``,
    a property, a dict-like): the helpers turn anything it raises (an ``Exception``; not
    ``KeyboardInterrupt`` or ``SystemExit``) into "no tracking for this request"."""
    to = getattr(order, "to_convtrack", None)
    if callable(to):
        order = to()
    if not isinstance(order, dict):
        raise TypeError("order must be a dict in convtrack's event terms or have a to_convtrack() method")
    event = dict(order)
    event.setdefault("event_name", "Purchase")
    return event


def _merge_browser(event: Dict[str, Any], context: Dict[str, Any]) -> Dict[str, Any]:
    """The context's browser values, overridden by the order's own (a non-dict
    ``browser`` is left for the core to reject with a typed error)."""
    own = event.get("browser")
    if own is not None and not isinstance(own, dict):
        return event
    merged = dict(context)
    merged.update(own or {})
    if merged:
        event["browser"] = merged
    return event


TOO_OLD: Literal["skip_server"] = "skip_server"  # an order older than Meta's 7 days still gets its pixel (server: blocked, too_old)

_FAILURES = degrade.FAILURES


def _page_html(tracker: convtrack.Tracker, events: List[Dict[str, Any]], nonce: Optional[str]) -> str:
    """One snippet for the page's events, rendered and escaped by the core."""
    try:
        return tracker.page_snippet(events, nonce=nonce, too_old=TOO_OLD)
    except convtrack.InvalidArgumentError as exc:
        if exc.field != "nonce":
            raise
        # Without a nonce a strict CSP blocks the snippet: no tracking, but no broken page.
        logger.warning("convtrack: invalid CSP nonce, pixel rendered without one")
        return tracker.page_snippet(events, nonce=None, too_old=TOO_OLD)


def page_tracker(ctx: Optional[TrackingContext], count: bool = True) -> Tuple[Optional[convtrack.Tracker], Optional[str]]:
    """(tracker, why it cannot track or ``None``). When the process-wide tracker cannot
    be created (a mistyped setting: gunicorn never runs ``manage.py check``), this request
    is degraded (logged and counted, unless ``count`` is false: the middleware's cookie
    step leaves that to the page's helper and tag). The tracker returned with a reason is
    then the pixel-only one (``conf.pixel_only_tracker``): from the same settings without
    the ones it cannot take, it still renders the pixel when the pixel id (and the mode)
    are valid, with no server copy; else ``None``."""
    try:
        return conf.get_tracker(), None
    except _FAILURES as exc:
        why = degrade.reason(exc, "CONVTRACK")
        pixel = conf.pixel_only_tracker()
        if count:
            why = degrade.record(why, ctx, tracker=pixel)  # counted in its outbox, if it has one
        return pixel, why


def _tolerant(call: Callable[..., Dict[str, Any]], event: Dict[str, Any]) -> Tuple[Dict[str, Any], Dict[str, Any]]:
    """``call(event, too_old=...)`` (``tracker.track`` or ``tracker.build``), returning the
    event as tracked and the result. Browser values
    the core rejects (a forged cookie, a 10 MB user agent) are dropped one at a time
    instead of failing the checkout. The core decides what is invalid; a warning names
    the field, never the value."""
    for _ in range(len(_BROWSER_FIELDS) + 1):
        try:
            return event, call(event, too_old=TOO_OLD)
        except convtrack.InputError as exc:
            field = exc.field or ""
            browser = event.get("browser")
            key = field[len("browser."):] if field.startswith("browser.") else None
            if not isinstance(browser, dict) or key not in browser:
                raise
            logger.warning("convtrack: dropped %s from the event (%s)", field, exc.code_name)
            browser = dict(browser)
            del browser[key]
            event = dict(event, browser=browser)
    return event, call(event, too_old=TOO_OLD)


def _track_or_build(event: Dict[str, Any], ctx: TrackingContext) -> Tuple[Dict[str, Any], Dict[str, Any], bool]:
    """(event, result, whether the pixel can render it). ``track`` when the tracker can;
    on a storage error (or with the pixel-only tracker) ``build`` still gives the pixel."""
    tracker, why = page_tracker(ctx)
    if tracker is None:
        return event, degrade.skipped(why or "settings:CONVTRACK"), False
    if why is None:
        try:
            return (*_tolerant(tracker.track, event), True)
        except convtrack.StorageError as exc:
            why = degrade.record(degrade.reason(exc, "outbox_path"), ctx)
    event, built = _tolerant(tracker.build, event)
    return event, degrade.skipped(why, built), True


def _nonce(request: Any) -> Optional[str]:
    nonce = getattr(request, "csp_nonce", None)
    return str(nonce) if nonce else None


def track_purchase(request: Any, order: Any) -> Dict[str, Any]:
    """Track ``order`` for this request: adds the request's browser context (values in
    ``order["browser"]`` win), its consent (unless ``order`` has ``consent``) and the page
    URL as ``event_source_url`` (unless given), calls ``Tracker.track`` and remembers the
    result on the request so ``{% convtrack_pixel %}`` renders the pixel event with the
    same event id. Returns the track result (``event_id``, ``server``, ``reason``, ...).

    Never fails the page because of tracking. An order older than Meta's 7 days still
    gets its pixel (``server: "blocked"``, ``reason: "too_old"``). When the event cannot
    be built (an invalid order, a hostile value), the settings are invalid or the outbox
    cannot be written, it logs one warning naming the error code and the field (never a
    value), counts it (``degraded_counts()``) and returns ``{"server": "skipped",
    "reason": "<code>:<field>", "event_id": ..., ...}``; the pixel is still rendered when
    it can be built (an unwritable outbox).

    Safe to call again for the same order (page reload, webhook): the server event is
    sent once (``server == "duplicate"``) and the pixel carries the same event id.
    """
    ctx = get_context(request)
    try:
        event = _merge_browser(_event_from(order), ctx.browser)
    except Exception as exc:  # the shop's code (to_convtrack() and friends): no failed page, whatever it raises
        return degrade.skipped(degrade.record(degrade.reason(exc, "order"), ctx))
    if "consent" not in event and ctx.consent is not None:
        event["consent"] = ctx.consent
    if "event_source_url" not in event and ctx.page_url:
        event["event_source_url"] = ctx.page_url
    # No nonce here: the template tag decides it (and a bad one must not fail the checkout).
    try:
        event, result, pixel = _track_or_build(event, ctx)
    except convtrack.ConvtrackError as exc:
        # The order (or what the shopper's browser sent: a bot without user agent, a
        # hostile URL) cannot make an event. The page still renders, without this event.
        return degrade.skipped(degrade.record(degrade.reason(exc), ctx))
    if pixel:
        ctx.events.append({"event": event, "result": result})
    remember(request, result)
    return result


def track_order(order: Any, *, browser: Optional[Dict[str, Any]] = None, consent: Any = None) -> Dict[str, Any]:
    """Track ``order`` outside any request (payment webhook, ``post_save`` signal, task).

    ``browser`` and ``consent`` are what you stored with the order at checkout (e.g.
    ``request.convtrack.browser`` and ``request.convtrack.consent``); the order's own
    keys win. The event id is derived from the order id, so the checkout page and the
    webhook produce one event at Meta. Note that server events need
    ``event_source_url`` and ``browser.user_agent`` when they are sent.

    Like ``track_purchase`` it never raises because of tracking: a failure is one log
    line, one count and ``{"server": "skipped", "reason": "<code>:<field>", ...}``.
    """
    try:
        event = _merge_browser(_event_from(order), browser or {})
    except Exception as exc:  # the shop's code (to_convtrack() and friends): whatever it raises
        return degrade.skipped(degrade.record(degrade.reason(exc, "order")))
    try:
        if "consent" not in event:
            c = normalize_consent(consent)
            if c is not None:
                event["consent"] = c
        tracker, why = page_tracker(None)
        if tracker is None or why is not None:  # logged and counted by _tracker
            return degrade.skipped(why or "settings:CONVTRACK")
        return _tolerant(tracker.track, event)[1]
    except _FAILURES as exc:
        return degrade.skipped(degrade.record(degrade.reason(exc, "order")))


def render_pixel(request: Any, nonce: Optional[str] = None) -> str:
    """The pixel HTML for this request (what ``{% convtrack_pixel %}`` renders).

    Rendered by the core, which JSON-encodes and escapes every value (``<``, ``>``,
    ``&``, U+2028/9), so the result is safe to put in the page as it is. Returns ``""``
    (one log line, one count) when no pixel can be built for this request.
    """
    nonce = nonce or _nonce(request)
    ctx = get_context(request)
    tracker, _ = page_tracker(ctx)
    if tracker is None:
        return ""
    if ctx.events:
        # The core renders the base code and page view once, then every event with the
        # event id (and time) it was tracked with.
        events = [
            dict(item["event"], event_id=item["result"]["event_id"], event_time=item["result"]["event_time"])
            for item in ctx.events
        ]
    else:
        # No event on this page: a PageView. Only the pixel is used; the browser data
        # would only feed the (discarded) server event, so just the user agent goes in,
        # which the gate needs when it would send.
        page: Dict[str, Any] = {"event_name": "PageView"}
        if ctx.page_url:
            page["event_source_url"] = ctx.page_url
        if "user_agent" in ctx.browser:
            page["browser"] = {"user_agent": ctx.browser["user_agent"]}
        if ctx.consent is not None:
            page["consent"] = ctx.consent
        events = [page]
    try:
        return _page_html(tracker, events, nonce)
    except convtrack.ConvtrackError as exc:
        # A hostile header or URL: no pixel on this page rather than a failed page.
        degrade.record(degrade.reason(exc), ctx)
        return ""
