"""convtrack: server-side conversion tracking for Meta's Conversions API.

>>> import convtrack
>>> tracker = convtrack.Tracker(pixel_id="1234567890")
>>> result = tracker.build({"event_name": "Purchase", "order_id": "1001",
...                         "currency": "EUR", "value": "59.90"})
>>> result["server"], result["reason"]
('blocked', 'data_controls_off')
"""

from convtrack._convtrack import (
    Tracker,
    __version__,
    check_catalog,
    event_id,
    export_feed,
    export_feed_string,
    first_party_cookies,
    hash,
    normalize,
    warm_up,
)
from convtrack.errors import (
    ConvtrackError,
    EventTimeError,
    InputError,
    InternalError,
    InvalidArgumentError,
    InvalidJsonError,
    InvalidValueError,
    MissingFieldError,
    NotConfiguredError,
    SettingsError,
    StorageError,
    TooLargeError,
    UnknownFieldError,
    WrongTypeError,
)

__all__ = [
    "__version__",
    "Tracker",
    "event_id",
    "hash",
    "normalize",
    "export_feed",
    "export_feed_string",
    "check_catalog",
    "warm_up",
    "first_party_cookies",
    "ConvtrackError",
    "EventTimeError",
    "InputError",
    "InternalError",
    "InvalidArgumentError",
    "InvalidJsonError",
    "InvalidValueError",
    "MissingFieldError",
    "NotConfiguredError",
    "SettingsError",
    "StorageError",
    "TooLargeError",
    "UnknownFieldError",
    "WrongTypeError",
]
