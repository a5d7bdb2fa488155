"""The convtrack exception hierarchy, defined once.

The native module maps every core error code to one of these classes
(``bindings-python/src/lib.rs``, ``to_py_err``). Messages name the offending
field or setting and never contain its value.
"""

from __future__ import annotations

from typing import Optional

__all__ = [
    "ConvtrackError",
    "SettingsError",
    "InputError",
    "InvalidJsonError",
    "UnknownFieldError",
    "WrongTypeError",
    "MissingFieldError",
    "InvalidValueError",
    "TooLargeError",
    "EventTimeError",
    "InvalidArgumentError",
    "StorageError",
    "NotConfiguredError",
    "InternalError",
]


class ConvtrackError(Exception):
    """Base of every convtrack error.

    Attributes: ``code`` (stable number, the same as the C ``convtrack_status``),
    ``code_name`` (stable snake_case name) and ``field`` (the field or setting
    the error is about, or ``None``).
    """

    code: int
    code_name: str
    field: Optional[str]

    def __init__(self, message: str, code: int = 901, code_name: str = "internal", field: Optional[str] = None) -> None:
        super().__init__(message)
        self.code = code
        self.code_name = code_name
        self.field = field


class SettingsError(ConvtrackError, ValueError):
    """A merchant setting is invalid (raised when the Tracker is created)."""


class InputError(ConvtrackError, ValueError):
    """The event (or an argument) is invalid."""


class InvalidJsonError(InputError):
    """The input is not well-formed JSON."""


class UnknownFieldError(InputError):
    """A key is not part of the schema (typos must not silently drop data)."""


class WrongTypeError(InputError, TypeError):
    """A value has the wrong type."""


class MissingFieldError(InputError):
    """A required field is missing."""


class InvalidValueError(InputError):
    """A value is present but not acceptable (format, range, NaN, negative...)."""


class TooLargeError(InputError):
    """A value or the whole input exceeds a size limit."""


class EventTimeError(InputError):
    """``event_time`` is more than 7 days old or too far in the future."""


class InvalidArgumentError(InputError):
    """A function argument is invalid (unknown field name, unknown country...)."""


class StorageError(ConvtrackError, OSError):
    """The durable outbox (an SQLite file) could not be opened, read or written."""


class NotConfiguredError(ConvtrackError):
    """The tracker was not set up for this call (e.g. ``track`` without ``outbox_path``)."""


class InternalError(ConvtrackError):
    """A bug in convtrack; please report it."""
