# mypy: disable-error-code="import-untyped,import-not-found,misc,untyped-decorator,no-any-return"
"""``MIDDLEWARE = [..., "convtrack.django.middleware.ConvtrackMiddleware", ...]``.

Puts a :class:`~convtrack.django.context.TrackingContext` on ``request.convtrack``:
the ``_fbp``/``_fbc`` cookies, the ``fbclid`` query parameter (unchanged), the client
IP (proxy-aware, see ``trusted_proxies``), the user agent, the page URL and the
shopper's consent from the ``consent`` provider. Place it after the session and
authentication middleware if your consent provider reads them.

With marketing consent it also sets the first-party ``_fbp``/``_fbc`` cookies when they
are absent or invalid (and ``_fbc`` on a new ``fbclid``), and puts their values into
``request.convtrack.browser`` so this request's events carry them
(:mod:`convtrack.django.cookies`). Without consent it sets none.

Under ``unknown_consent: "hold"`` it releases (or drops) the shopper's held events on
the first request where the consent provider answers (:mod:`convtrack.django.holds`).
"""

from __future__ import annotations

from typing import Any, Callable

from convtrack.django.context import capture
from convtrack.django.cookies import first_party, set_cookies
from convtrack.django.holds import release


class ConvtrackMiddleware:
    def __init__(self, get_response: Callable[[Any], Any]) -> None:
        self.get_response = get_response

    def __call__(self, request: Any) -> Any:
        request.convtrack = capture(request)
        release(request, request.convtrack)
        cookies = first_party(request, request.convtrack)
        response = self.get_response(request)
        set_cookies(request, response, cookies)
        return response
