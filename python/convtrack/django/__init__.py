"""Django integration for convtrack (``pip install convtrack[django]``).

Setup: docs/django.md. Public API::

    from convtrack.django import track_purchase, track_order, get_tracker

Importing ``convtrack`` never imports Django; only ``convtrack.django`` does.
"""

from __future__ import annotations

from typing import Any

__all__ = ["track_purchase", "track_order", "get_tracker", "render_pixel"]


def __getattr__(name: str) -> Any:
    # Lazy, so that listing "convtrack.django" in INSTALLED_APPS imports nothing
    # that needs configured settings before Django is set up.
    if name in ("track_purchase", "track_order", "render_pixel"):
        from convtrack.django import api

        return getattr(api, name)
    if name == "get_tracker":
        from convtrack.django import conf

        return conf.get_tracker
    raise AttributeError(name)
