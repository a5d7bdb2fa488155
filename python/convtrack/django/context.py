# mypy: disable-error-code="import-untyped,import-not-found,misc,untyped-decorator,no-any-return"
"""The per-request tracking context (``request.convtrack``)."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional

from django.core.exceptions import ImproperlyConfigured

from convtrack.django import conf, degrade


@dataclass
class TrackingContext:
    """What the middleware captured for this request, and the events tracked during it.

    ``browser`` is in the event's ``browser`` shape (``ip``, ``user_agent``, ``fbp``,
    ``fbc``, ``fbclid``; absent keys were not available). ``consent`` is the consent
    provider's answer in the event's ``consent`` shape, or ``None`` (no explicit
    consent). ``events`` holds ``(event, result)`` pairs for the template tag.
    """

    browser: Dict[str, str] = field(default_factory=dict)
    consent: Optional[Dict[str, Any]] = None
    page_url: Optional[str] = None
    events: List[Dict[str, Any]] = field(default_factory=list)
    #: ``"<code>:<field>"`` once tracking failed during this request (see degrade.py)
    degraded: Optional[str] = None
    #: The consent provider failed (raised, misconfigured, unusable answer): ``consent`` is
    #: the fail-closed "denied" for this request only, not the shopper's answer, so it
    #: must not release or drop their held events (holds.py).
    consent_failed: bool = False

    def __repr__(self) -> str:  # IP, cookies and consent are personal data: keep them out of logs
        return f"<TrackingContext browser={sorted(self.browser)} events={len(self.events)}>"


def _valid_ip(value: str) -> Optional[str]:
    value = value.strip()
    if value.startswith("[") and "]" in value:  # "[2001:db8::1]:443"
        value = value[1:value.index("]")]
    elif value.count(":") == 1:  # "203.0.113.7:443"
        value = value.split(":", 1)[0]
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        return None


def client_ip(request: Any, trusted_proxies: int) -> Optional[str]:
    """The shopper's IP. ``X-Forwarded-For`` is only read when proxies are trusted:
    with N proxies the client is the N-th address from the right (addresses further
    left were written by the client and can be forged)."""
    remote = request.META.get("REMOTE_ADDR") or ""
    if trusted_proxies <= 0:
        return _valid_ip(remote)
    xff = [p for p in (request.META.get("HTTP_X_FORWARDED_FOR") or "").split(",") if p.strip()]
    if not xff:
        return _valid_ip(remote)
    return _valid_ip(xff[-trusted_proxies] if len(xff) >= trusted_proxies else xff[0])


def normalize_consent(answer: Any) -> Optional[Dict[str, Any]]:
    if answer is None:
        return None
    if isinstance(answer, str):
        return {"marketing": answer}
    if isinstance(answer, dict):
        return dict(answer)
    if isinstance(answer, bool):
        return {"marketing": "granted" if answer else "denied"}
    raise TypeError("the CONVTRACK['consent'] callable must return None, a string, a bool or a dict")


def _consent(request: Any, ctx: TrackingContext) -> Optional[Dict[str, Any]]:
    """The consent provider's answer. A provider that is misconfigured, raises or answers
    something unusable degrades the request to "denied": nothing leaves the server for
    it and the pixel holds back, rather than a failed page or a guessed consent. Under
    ``unknown_consent: "hold"`` it is "unknown" instead: the order is held (stored, never
    sent) until a later request gets a real answer, rather than lost. Either way it is not
    the shopper's answer: ``ctx.consent_failed`` keeps their held events held."""
    try:
        provider = conf.consent_provider()
        return normalize_consent(provider(request)) if provider is not None else None
    except Exception as exc:  # the shop's callable: anything it raises must not fail the page
        ctx.consent_failed = True
        degrade.record(degrade.reason(exc, "consent"), ctx)
        return {"marketing": "unknown" if _holds_unanswered() else "denied"}


def _holds_unanswered() -> bool:
    try:
        return conf.tracker_settings().get("unknown_consent") == "hold"
    except Exception:  # CONVTRACK itself is broken: fail closed
        return False


def capture(request: Any) -> TrackingContext:
    ctx = TrackingContext()
    try:
        conf.raw()
    except ImproperlyConfigured as exc:  # CONVTRACK not a dict: nothing to capture for
        degrade.record(degrade.reason(exc, "CONVTRACK"), ctx)
        return ctx
    browser = ctx.browser
    try:
        ip = client_ip(request, conf.trusted_proxies())
    except ImproperlyConfigured as exc:  # no guessed IP behind an unknown number of proxies
        degrade.record(degrade.reason(exc, "trusted_proxies"), ctx)
        ip = None
    if ip:
        browser["ip"] = ip
    ua = request.META.get("HTTP_USER_AGENT")
    if ua:
        browser["user_agent"] = ua
    for cookie, key in (("_fbp", "fbp"), ("_fbc", "fbc")):
        value = request.COOKIES.get(cookie)
        if value:
            browser[key] = value
    fbclid = request.GET.get("fbclid")
    if fbclid:
        # Passed unchanged: the core builds fbc = fb.1.<event time ms>.<fbclid> when there is no _fbc cookie.
        browser["fbclid"] = fbclid
    ctx.consent = _consent(request, ctx)
    try:
        ctx.page_url = request.build_absolute_uri()
    except Exception:  # DisallowedHost and friends: no URL rather than a failed page
        ctx.page_url = None
    return ctx


def get_context(request: Any) -> TrackingContext:
    """``request.convtrack``, captured now if the middleware did not run."""
    ctx = getattr(request, "convtrack", None)
    if not isinstance(ctx, TrackingContext):
        ctx = capture(request)
        request.convtrack = ctx
    return ctx
