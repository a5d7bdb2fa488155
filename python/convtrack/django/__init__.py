# mypy: disable-error-code="import-untyped,import-not-found,misc,untyped-decorator,no-any-return"
"""Django integration for convtrack (``pip install convtrack[django]``).

Setup: docs/django.md. Public API::

    from convtrack.django import track_purchase, track_order, get_tracker, degraded_counts

Importing ``convtrack`` never imports Django; only ``convtrack.django`` does (and it
imports nothing that needs configured settings, so it is safe in INSTALLED_APPS).
"""

from __future__ import annotations

from convtrack.django.api import render_pixel, track_order, track_purchase
from convtrack.django.conf import get_tracker
from convtrack.django.degrade import degraded_counts

__all__ = ["track_purchase", "track_order", "get_tracker", "render_pixel", "degraded_counts"]
