"""The convtrack exception hierarchy, defined once.

The native module raises one of these classes for every core error code, as the
core's error table says (``ErrorCode::python_class`` in ``core/src/error.rs``);
``tests/python/test_error_table.py`` checks this module against that table. Messages
name the offending field or setting and never contain its value.
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
    "DeliveryError",
    "RetryableDeliveryError",
    "RejectedEventError",
    "DeliveryPausedError",
    "ExpiredEventError",
    "BrokerError",
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


class DeliveryError(ConvtrackError):
    """Sending to Meta did not succeed (raised by task-queue delivery, ``convtrack.celery``).

    Extra attributes: ``event_id`` (not personal data), ``graph_code``/``graph_subcode``
    (Meta's error code, if any), ``fbtrace_id`` and ``retry_in`` (seconds, or ``None``).
    Messages carry no personal data and never the access token.
    """

    event_id: Optional[str]
    graph_code: Optional[int]
    graph_subcode: Optional[int]
    fbtrace_id: Optional[str]
    retry_in: Optional[float]

    def __init__(
        self,
        message: str,
        code: int = 901,
        code_name: str = "internal",
        field: Optional[str] = None,
        *,
        event_id: Optional[str] = None,
        graph_code: Optional[int] = None,
        graph_subcode: Optional[int] = None,
        fbtrace_id: Optional[str] = None,
        retry_in: Optional[float] = None,
    ) -> None:
        super().__init__(message, code, code_name, field)
        self.event_id = event_id
        self.graph_code = graph_code
        self.graph_subcode = graph_subcode
        self.fbtrace_id = fbtrace_id
        self.retry_in = retry_in

    def __reduce__(self) -> "tuple[object, ...]":
        # Picklable with its message only (Celery stores and re-raises exceptions).
        return (self.__class__, (str(self), self.code, self.code_name, self.field))


class RetryableDeliveryError(DeliveryError):
    """A transient failure (network, timeout, HTTP 5xx/429, transient Graph error): retried."""


class RejectedEventError(DeliveryError):
    """Meta rejected the event as invalid (Graph code 100): dead-lettered, not retried."""


class DeliveryPausedError(DeliveryError):
    """Delivery is paused: Meta refused the access token or its permissions (Graph 190, 10,
    200-299). Fix the token; retries continue with a long delay."""


class ExpiredEventError(DeliveryError):
    """The event is older than Meta accepts (7 days, with a 1 hour margin): dropped, counted."""


class BrokerError(DeliveryError):
    """The task broker (e.g. Redis) could not take the event; it stays in the local outbox."""
