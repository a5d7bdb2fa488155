# mypy: disable-error-code="import-untyped,import-not-found,misc,untyped-decorator,no-any-return"
"""First-party ``_fbp`` / ``_fbc`` cookies for the middleware (docs/django.md).

With the shopper's marketing consent, the core's ``convtrack.first_party_cookies`` says
which cookies to set (absent or invalid ones; a new ``fbclid`` replaces ``_fbc``) and the
values the event's ``browser`` block carries on this same request. Without consent
nothing is set and the request's own values are left as they are.
"""

from __future__ import annotations

import logging
from typing import Any, Dict, List, Optional

import convtrack
from convtrack.django import conf, degrade
from convtrack.django.context import TrackingContext

logger = logging.getLogger("convtrack.django")


def consent_allows(ctx: TrackingContext) -> bool:
    """Marketing consent granted, or no answer under ``unknown_consent: grant``."""
    marketing = (ctx.consent or {}).get("marketing", "unknown")
    if marketing == "granted":
        return True
    return marketing == "unknown" and conf.tracker_settings().get("unknown_consent") == "grant"


def first_party(request: Any, ctx: TrackingContext) -> List[Dict[str, Any]]:
    """The cookies to set on the response (none without consent); updates ``ctx.browser``."""
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
