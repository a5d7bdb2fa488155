# mypy: disable-error-code="import-untyped,import-not-found,misc,untyped-decorator,no-any-return"
"""The staff-only status page (the merchant's dashboard)."""

from __future__ import annotations

from typing import Any

from django.contrib.admin.views.decorators import staff_member_required
from django.http import HttpResponse
from django.template.response import TemplateResponse

from convtrack.django.conf import get_tracker


@staff_member_required
def status(request: Any) -> HttpResponse:
    st = get_tracker().status()
    counters = st.get("counters") or {}
    context = {
        "status": st,
        "counters": [(k, v) for k, v in counters.items() if not isinstance(v, dict)],
        "blocked": sorted((counters.get("blocked") or {}).items()),
        "failed": sorted((counters.get("failed") or {}).items()),
        "coverage": [(k, round(100 * float(v), 1)) for k, v in (st.get("coverage") or {}).items()],
        "title": "Conversion tracking",
    }
    return TemplateResponse(request, "convtrack/status.html", context)
