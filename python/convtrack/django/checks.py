# mypy: disable-error-code="import-untyped,import-not-found,misc,untyped-decorator,no-any-return"
"""``manage.py check`` for ``CONVTRACK``.

The rules live in the core: we construct the tracker exactly as the app will
and map the typed error (which names the setting, never its value) to a check id:

- ``convtrack.E001`` ``pixel_id`` missing or invalid
- ``convtrack.E002`` ``access_token`` missing (data controls on) or invalid
- ``convtrack.E003`` ``outbox_path`` cannot be created or written
- ``convtrack.E004`` any other invalid tracker setting (the message names it)
- ``convtrack.E005`` an invalid Django-side option (``trusted_proxies``, ``consent``, ``warm_up``) or
  ``CONVTRACK`` not a dict
- ``convtrack.W001`` the admin link is hidden because ``django.contrib.admin`` comes first
- ``convtrack.W002`` the middleware is not installed (no browser context for events)
"""

from __future__ import annotations

from typing import Any, List, Optional

from django import conf as django_conf
from django.core import checks
from django.core.exceptions import ImproperlyConfigured

import convtrack
from convtrack.django import conf

FIELD_IDS = {"pixel_id": "convtrack.E001", "access_token": "convtrack.E002", "outbox_path": "convtrack.E003"}
MIDDLEWARE = "convtrack.django.middleware.ConvtrackMiddleware"


def _option_errors() -> List[checks.CheckMessage]:
    """``CONVTRACK`` itself and the Django-side options."""
    try:
        conf.raw()
    except ImproperlyConfigured as exc:
        return [checks.Error(str(exc), id="convtrack.E005")]
    errors: List[checks.CheckMessage] = []
    for getter in (conf.trusted_proxies, conf.consent_provider, conf.warm_up_enabled):
        try:
            getter()
        except ImproperlyConfigured as exc:
            errors.append(checks.Error(str(exc), id="convtrack.E005"))
    return errors


def tracker_error(exc: BaseException) -> checks.CheckMessage:
    """The check message for an error raised by ``convtrack.Tracker(settings)``."""
    if isinstance(exc, convtrack.ConvtrackError):
        field = exc.field or "CONVTRACK"
        return checks.Error(
            f"CONVTRACK[{field!r}] is invalid: {exc}",
            hint="See docs/django.md and the settings table in README.md.",
            id=FIELD_IDS.get(field, "convtrack.E004"),
        )
    # e.g. a non-dict value the native module cannot take
    return checks.Error(f"CONVTRACK is invalid: {type(exc).__name__}", id="convtrack.E004")


def _settings_errors() -> List[checks.CheckMessage]:
    errors = _option_errors()
    try:
        settings = conf.tracker_settings()
    except ImproperlyConfigured:
        return errors  # CONVTRACK is not a dict: reported above (E005)
    # The same constructor the app uses: one set of rules, in the core. But without side
    # effects: `check` runs before runserver and migrate too, and the app's own sender (a
    # background thread by default) would deliver the queued events from this process.
    # First every setting as given, sender included, without the outbox (no outbox: no
    # sender, nothing opened); then the outbox, opened with the manual sender, which
    # sends nothing unless flushed.
    without_outbox = {k: v for k, v in settings.items() if k != "outbox_path"}
    stages = [without_outbox] if "outbox_path" not in settings else [without_outbox, dict(settings, sender="manual")]
    for stage in stages:
        tracker: Optional[convtrack.Tracker] = None
        try:
            tracker = convtrack.Tracker(stage)
        except (convtrack.ConvtrackError, TypeError, ValueError) as exc:
            errors.append(tracker_error(exc))
            break
        finally:
            if tracker is not None:
                tracker.close()
    return errors


def dashboard_messages(tracker_exc: Optional[BaseException]) -> List[checks.CheckMessage]:
    """What ``manage.py check`` reports, for the dashboard: the error the process-wide
    tracker raised (if it did; no second tracker is built for it), then the Django side."""
    errors = _option_errors()
    if tracker_exc is not None and not isinstance(tracker_exc, ImproperlyConfigured):
        errors.append(tracker_error(tracker_exc))
    return errors + _integration_warnings()


def _integration_warnings() -> List[checks.CheckMessage]:
    warnings: List[checks.CheckMessage] = []
    apps = list(getattr(django_conf.settings, "INSTALLED_APPS", []))
    ours = next((i for i, a in enumerate(apps) if a.startswith("convtrack.django")), None)
    admin = next((i for i, a in enumerate(apps) if a.startswith("django.contrib.admin")), None)
    if ours is not None and admin is not None and admin < ours:
        warnings.append(checks.Warning(
            "The convtrack status link is not shown on the admin index page.",
            hint="List 'convtrack.django' before 'django.contrib.admin' in INSTALLED_APPS.",
            id="convtrack.W001",
        ))
    if MIDDLEWARE not in list(getattr(django_conf.settings, "MIDDLEWARE", None) or []):
        warnings.append(checks.Warning(
            "ConvtrackMiddleware is not installed: events carry no browser context (fbp, fbc, IP, user agent).",
            hint=f"Add {MIDDLEWARE!r} to MIDDLEWARE.",
            id="convtrack.W002",
        ))
    return warnings


def check_convtrack(app_configs: Any = None, **_kwargs: Any) -> List[checks.CheckMessage]:
    return _settings_errors() + _integration_warnings()


def register() -> None:
    checks.register(check_convtrack, "convtrack")
