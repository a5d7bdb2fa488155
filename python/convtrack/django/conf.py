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
_pixel_only_tracker: Any = None  # the pixel-only tracker, or _NO_PIXEL
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


# Never in the pixel-only tracker: it sends nothing (no token, the manual sender, never
# flushed, never tracking) and its pixel is the one of data controls off (no hashed keys).
_NOT_FOR_THE_PIXEL = ("access_token", "sender", "pixel_advanced_matching")
# Without these the pixel cannot be built as the merchant meant it: a bad pixel id, or a
# mode that cannot say whether there is a pixel at all (catalog_only has none).
_PIXEL_NEEDS = ("pixel_id", "mode")
_NO_PIXEL = object()  # cached: the settings cannot make a pixel


def _top_key(field: Optional[str]) -> str:
    """``"ldu"`` for ``"ldu.country"``, ``"bot_user_agents"`` for ``"bot_user_agents[3]"``."""
    return (field or "").split(".", 1)[0].split("[", 1)[0]


def _pixel_only(settings: Dict[str, Any]) -> Optional[convtrack.Tracker]:
    """The tracker for the pixel from what is valid in ``settings``: every setting the core
    refuses is left out (it names it), unless the pixel needs it; the outbox stays when it
    can be opened, so the mode in force is still the merchant's recorded one."""
    s = {k: v for k, v in settings.items() if k not in _NOT_FOR_THE_PIXEL}
    s.update(data_controls=False, sender="manual")
    for _ in range(len(s) + 1):
        try:
            return convtrack.Tracker(s)
        except convtrack.ConvtrackError as exc:
            key = _top_key(exc.field)
            if key in _PIXEL_NEEDS or key not in s or key in ("data_controls", "sender"):
                return None
            del s[key]
        except (TypeError, ValueError):  # a value the native module cannot take at all, unnamed
            return None
    return None


def pixel_only_tracker() -> Optional[convtrack.Tracker]:
    """A tracker for the pixel when the process-wide one cannot be created, or ``None`` when
    no pixel can be built. The shop-facing helpers use it so that "the page still renders,
    with the pixel where it can be built" (docs/spec.md §12): a bad setting other than the
    pixel id or the mode (a bad ``batch_size``, an unwritable outbox, a data-controls-on
    without a token) leaves the pixel only: no server copy, data controls treated as off.
    ``build`` and ``page_snippet`` need no storage; this tracker never tracks or flushes."""
    global _pixel_only_tracker
    with _lock:
        if _pixel_only_tracker is None:
            try:
                settings = tracker_settings()
            except ImproperlyConfigured:
                return None
            _pixel_only_tracker = _pixel_only(settings) or _NO_PIXEL
        return _pixel_only_tracker if isinstance(_pixel_only_tracker, convtrack.Tracker) else None


def close_tracker() -> None:
    """Stops the background sender and forgets the tracker (the next use creates a new one)."""
    global _tracker, _pixel_only_tracker
    with _lock:
        t, _tracker = _tracker, None
        b, _pixel_only_tracker = _pixel_only_tracker, None
    for tracker in (t, b):
        if isinstance(tracker, convtrack.Tracker):
            tracker.close()


def _on_setting_changed(setting: str, **_kwargs: Any) -> None:
    if setting == "CONVTRACK":
        close_tracker()


def connect_signals() -> None:
    from django.core.signals import setting_changed

    setting_changed.connect(_on_setting_changed, dispatch_uid="convtrack.django.setting_changed")
