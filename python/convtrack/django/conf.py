# mypy: disable-error-code="import-untyped,import-not-found,misc,untyped-decorator,no-any-return"
"""The ``CONVTRACK`` setting and the one process-wide tracker.

``CONVTRACK`` is a dict with the keys of :class:`convtrack.Tracker`'s settings
(``pixel_id``, ``access_token``, ``data_controls``, ``outbox_path``, ...), plus
these Django-side options, which are removed before the tracker sees them:

``trusted_proxies`` (int, default 0)
    How many reverse proxies in front of Django append to ``X-Forwarded-For``.
    0: the client IP is ``REMOTE_ADDR`` and ``X-Forwarded-For`` is ignored
    (a shopper can write anything there). N: the N-th address from the right.
``warm_up`` (bool, default True)
    Load the phone number metadata when Django starts (``convtrack.warm_up()``,
    about 100 ms once per process) instead of in the first checkout with a phone
    number. Under a forking server with ``--preload`` this runs once, before the
    workers fork.
``consent`` (dotted path, default none)
    A callable ``f(request)`` returning the shopper's consent: ``None`` (no
    explicit consent: the core's ``unknown_consent`` setting decides), a string
    ``"granted" | "denied" | "unknown"``, or a dict in the event's ``consent``
    shape (``{"marketing": "granted", "ldu": True}``).
``cookie_domain`` (str, default none)
    The domain of the first-party ``_fbp``/``_fbc`` cookies the middleware sets, your
    registrable domain (``"example.com"``) so every subdomain shares them. None:
    host-only cookies.
"""

from __future__ import annotations

import atexit
import threading
from typing import Any, Callable, Dict, Optional, Tuple

from django import conf as django_conf
from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string

import convtrack

DJANGO_KEYS = ("trusted_proxies", "consent", "warm_up", "cookie_domain")

_lock = threading.Lock()
_tracker: Optional[convtrack.Tracker] = None
_build_only: Optional[convtrack.Tracker] = None
_atexit_registered = False
_providers: Dict[str, Callable[[Any], Any]] = {}  # dotted path -> imported consent callable


def raw() -> Dict[str, Any]:
    """The ``CONVTRACK`` dict as configured (``{}`` when absent)."""
    value = getattr(django_conf.settings, "CONVTRACK", None)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ImproperlyConfigured("CONVTRACK must be a dict")
    return value


def split(config: Dict[str, Any]) -> Tuple[Dict[str, Any], Dict[str, Any]]:
    """(tracker settings, Django-side options)."""
    tracker = {k: v for k, v in config.items() if k not in DJANGO_KEYS}
    options = {k: config[k] for k in DJANGO_KEYS if k in config}
    return tracker, options


def tracker_settings() -> Dict[str, Any]:
    settings, _ = split(raw())
    return settings


def trusted_proxies() -> int:
    _, options = split(raw())
    n = options.get("trusted_proxies", 0)
    if isinstance(n, bool) or not isinstance(n, int) or n < 0:
        raise ImproperlyConfigured("CONVTRACK['trusted_proxies'] must be an integer >= 0")
    return n


def cookie_domain() -> Optional[str]:
    _, options = split(raw())
    domain = options.get("cookie_domain")
    if domain is not None and not isinstance(domain, str):
        raise ImproperlyConfigured("CONVTRACK['cookie_domain'] must be a domain name such as 'example.com' or None")
    return domain


def warm_up_enabled() -> bool:
    _, options = split(raw())
    enabled = options.get("warm_up", True)
    if not isinstance(enabled, bool):
        raise ImproperlyConfigured("CONVTRACK['warm_up'] must be True or False")
    return enabled


def warm_up() -> None:
    """Called from ``AppConfig.ready``: ``convtrack.warm_up()`` unless turned off.
    An invalid setting skips it here; the system check reports it (convtrack.E005)."""
    try:
        enabled = warm_up_enabled()
    except ImproperlyConfigured:
        return
    if enabled:
        convtrack.warm_up()


def consent_provider() -> Optional[Callable[[Any], Any]]:
    _, options = split(raw())
    path = options.get("consent")
    if path is None:
        return None
    if callable(path):
        return path
    if not isinstance(path, str):
        raise ImproperlyConfigured("CONVTRACK['consent'] must be a dotted path to a callable")
    cached = _providers.get(path)
    if cached is not None:
        return cached
    try:
        func = import_string(path)
    except ImportError as exc:
        raise ImproperlyConfigured(f"CONVTRACK['consent']: cannot import {path!r}: {exc}") from None
    if not callable(func):
        raise ImproperlyConfigured(f"CONVTRACK['consent']: {path!r} is not callable")
    _providers[path] = func
    return func


def get_tracker() -> convtrack.Tracker:
    """The process-wide tracker, created on first use (thread-safe) and closed at exit.

    Raises ``convtrack.SettingsError`` (naming the setting) when ``CONVTRACK`` is
    invalid; ``manage.py check`` reports the same errors at deploy time.
    """
    global _tracker, _atexit_registered
    t = _tracker
    if t is not None:
        return t
    with _lock:
        if _tracker is None:
            _tracker = convtrack.Tracker(tracker_settings())
            if not _atexit_registered:
                atexit.register(close_tracker)
                _atexit_registered = True
        return _tracker


def build_only_tracker() -> Optional[convtrack.Tracker]:
    """A tracker from the same settings without the outbox, or ``None`` if those settings
    are invalid too. The shop-facing helpers use it to still render the pixel (``build``
    and ``page_snippet`` need no storage) when the outbox cannot be opened or written."""
    global _build_only
    with _lock:
        if _build_only is None:
            settings = {k: v for k, v in tracker_settings().items() if k not in ("outbox_path", "sender")}
            try:
                _build_only = convtrack.Tracker(settings)
            except (convtrack.ConvtrackError, TypeError, ValueError):
                return None
        return _build_only


def close_tracker() -> None:
    """Stops the background sender and forgets the tracker (the next use creates a new one)."""
    global _tracker, _build_only
    with _lock:
        t, _tracker = _tracker, None
        b, _build_only = _build_only, None
    for tracker in (t, b):
        if tracker is not None:
            tracker.close()


def _on_setting_changed(setting: str, **_kwargs: Any) -> None:
    if setting == "CONVTRACK":
        close_tracker()


def connect_signals() -> None:
    from django.core.signals import setting_changed

    setting_changed.connect(_on_setting_changed, dispatch_uid="convtrack.django.setting_changed")
