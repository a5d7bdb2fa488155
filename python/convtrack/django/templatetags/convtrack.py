# mypy: disable-error-code="import-untyped,import-not-found,misc,untyped-decorator,no-any-return"
"""``{% load convtrack %}{% convtrack_pixel %}`` (or ``{% convtrack_pixel nonce=my_nonce %}``).

Renders the Meta pixel base code plus the events tracked during this request, with
their event ids, following the consent decision; a PageView when there are none.
The CSP nonce is the ``nonce`` argument, else ``request.csp_nonce`` (django-csp).
"""

from __future__ import annotations

from typing import Any, Optional

from django import template
from django.utils.safestring import SafeString, mark_safe

from convtrack.django.api import render_pixel

register = template.Library()


@register.simple_tag(takes_context=True)
def convtrack_pixel(context: Any, nonce: Optional[str] = None) -> SafeString:
    request = context.get("request")
    if request is None:
        raise template.TemplateSyntaxError(
            "{% convtrack_pixel %} needs the request in the context: enable "
            "'django.template.context_processors.request'")
    # mark_safe is correct only because the core builds this HTML itself and
    # JSON-encodes and escapes every shop value in it (see docs/spec.md §7).
    return mark_safe(render_pixel(request, nonce=str(nonce) if nonce else None))  # noqa: S308
