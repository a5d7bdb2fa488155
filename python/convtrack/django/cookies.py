# mypy: disable-error-code="import-untyped,import-not-found,misc,untyped-decorator,no-any-return"
"""First-party ``_fbp`` / ``_fbc`` cookies for the middleware (docs/django.md).

With the shopper's marketing consent, the core's ``convtrack.first_party_cookies`` says
which cookies to set (absent or invalid ones; a new ``fbclid`` replaces ``_fbc``) and the
values the event's ``browser`` block carries on this same request. Without consent, in
``catalog_only`` mode (the mode in force: the merchant's recorded controls) or when no
pixel can be built, nothing is set and the request's own values are left as they are.
"""

from __future__ import annotations

import logging
from typing import Any, Dict, List, Optional

import convtrack
from convtrack.django import conf, degrade
from convtrack.django.api import page_tracker
from convtrack.django.context import TrackingContext

logger = logging.getLogger("convtrack.django")


def consent_allows(ctx: TrackingContext) -> bool:
    """Marketing consent granted, or no answer under ``unknown_consent: grant``."""
    marketing = (ctx.consent or {}).get("marketing", "unknown")
    if marketing == "granted":
        return True
    return marketing == "unknown" and conf.tracker_settings().get("unknown_consent") == "grant"


def _mode_allows(ctx: TrackingContext) -> bool:
    """Whether the mode in force runs the pixel: the merchant's recorded controls (switched in
    the dashboard, by ``set_controls``, in any process), over the settings. ``catalog_only``
    has no pixel and no server event, so no Meta cookie; neither has a page whose pixel cannot
    be built (the page's helper or tag logs and counts why; a redirect has no pixel anyway)."""
    tracker, _ = page_tracker(ctx, count=False)
    if tracker is None:
        return False
    return tracker.controls().get("mode") != "catalog_only"


def first_party(request: Any, ctx: TrackingContext) -> List[Dict[str, Any]]:
    """The cookies to set on the response (none without consent, none in ``catalog_only``);
    updates ``ctx.browser``."""
    try:
        if not consent_allows(ctx):
            return []
        domain = conf.cookie_domain()
    except degrade.FAILURES as exc:  # invalid CONVTRACK: this request sets no cookie
        degrade.record(degrade.reason(exc, "CONVTRACK"), ctx)
        return []
    try:
        host: Optional[str] = request.get_host()
    except Exception:  # DisallowedHost: host-only cookies, index from no host
        host = None
    try:
        answer = convtrack.first_party_cookies(
            fbp=request.COOKIES.get("_fbp"),
            fbc=request.COOKIES.get("_fbc"),
            fbclid=request.GET.get("fbclid"),
            host=host,
            domain=domain,
        )
    except convtrack.InputError as exc:  # e.g. a cookie_domain that is not a parent of this host
        logger.warning("convtrack: first-party cookies not set (%s: %s)", exc.field, exc.code_name)
        return []
    if answer["cookies"]:
        # Read only when there is a cookie to set (a first visit, a new click): the mode in
        # force costs an outbox read, which a returning shopper's request does not need.
        try:
            allowed = _mode_allows(ctx)
        except degrade.FAILURES as exc:  # the outbox cannot be read: no cookie rather than a guess
            degrade.record(degrade.reason(exc, "outbox_path"), ctx)
            allowed = False
        if not allowed:
            return []
    ctx.browser["fbp"] = answer["fbp"]
    if answer["fbc"] is not None:
        ctx.browser["fbc"] = answer["fbc"]
    elif "fbc" in ctx.browser:
        del ctx.browser["fbc"]  # an invalid _fbc cookie is not sent
    return answer["cookies"]


def set_cookies(request: Any, response: Any, cookies: List[Dict[str, Any]]) -> None:
    for c in cookies:
        response.set_cookie(
            c["name"],
            c["value"],
            max_age=c["max_age"],
            path=c["path"],
            domain=c["domain"],
            secure=request.is_secure(),
            httponly=c["http_only"],
            samesite=c["same_site"],
        )
