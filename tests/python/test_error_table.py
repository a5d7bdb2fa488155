"""The exception classes of ``convtrack.errors`` against the core's error table.

The table (code, name, class) is defined once, in ``core/src/error.rs``; the native module
raises its classes and exposes it as ``_error_table()``. These tests fail when
``convtrack/errors.py`` (or the package's re-exports) and the table drift apart.
"""

import pytest

import convtrack
from convtrack import errors
from convtrack._convtrack import _error_table

from conftest import PIXEL

TABLE = _error_table()
BY_NAME = {name: (code, class_name) for code, name, class_name in TABLE}


def convtrack_error_classes():
    """Every ConvtrackError class errors.py defines, by name."""
    return {
        name: value
        for name, value in vars(errors).items()
        if isinstance(value, type) and issubclass(value, errors.ConvtrackError) and value.__module__ == errors.__name__
    }


# Classes of convtrack.errors that no core code raises: the two base classes, and the errors of
# task-queue delivery (convtrack.celery), which carry Meta's answer rather than a core code.
NOT_FOR_A_CODE = {"ConvtrackError", "InputError"} | {
    name for name, cls in convtrack_error_classes().items() if issubclass(cls, errors.DeliveryError)
}


def test_the_table_has_unique_codes_and_names():
    codes = [code for code, _, _ in TABLE]
    names = [name for _, name, _ in TABLE]
    assert len(set(codes)) == len(codes) and len(set(names)) == len(names)
    assert all(isinstance(code, int) for code in codes)


@pytest.mark.parametrize(("code", "name", "class_name"), TABLE)
def test_every_code_has_its_class(code, name, class_name):
    cls = getattr(errors, class_name, None)
    assert isinstance(cls, type) and issubclass(cls, errors.ConvtrackError), class_name
    assert class_name in errors.__all__
    assert getattr(convtrack, class_name) is cls and class_name in convtrack.__all__
    e = cls("field: reason", code, name, "field")
    assert (e.code, e.code_name, e.field, str(e)) == (code, name, "field", "field: reason")


def test_no_class_is_missing_or_extra():
    defined = convtrack_error_classes()
    assert set(defined) == set(errors.__all__)
    raised = {class_name for _, _, class_name in TABLE}
    assert set(defined) - NOT_FOR_A_CODE == raised
    assert not NOT_FOR_A_CODE & raised


def test_the_default_code_is_the_internal_code():
    code, class_name = BY_NAME["internal"]
    assert class_name == "InternalError"
    for cls in (errors.ConvtrackError, errors.DeliveryError):
        e = cls("message")
        assert (e.code, e.code_name) == (code, "internal")


# Each code Python can meet, raised by the native module: the class and the code are the table's.
# NULL pointers exist only in C; panics and internal errors are bugs with no input to cause them.
UNREACHABLE = {"null_pointer", "panic", "internal"}


def manual(**extra):
    return convtrack.Tracker(pixel_id=PIXEL, sender="manual", **extra)


def delivering(tmp_path):
    outbox = str(tmp_path / "outbox.sqlite3")
    return manual(access_token="EAAB-SENTINEL-TOKEN", data_controls=True, outbox_path=outbox)


TRIGGERS = {
    "invalid_utf8": lambda tmp: manual().build({"event_name": "Lead", "customer": {"email": "\ud800"}}),
    "invalid_argument": lambda tmp: convtrack.normalize("no_such_field", "x"),
    "invalid_json": lambda tmp: delivering(tmp).send_prepared("{"),
    "unknown_field": lambda tmp: manual().build({"event_name": "Lead", "colour": "red"}),
    "wrong_type": lambda tmp: manual().build(["not", "a", "dict"]),
    "missing_field": lambda tmp: manual().build({}),
    "invalid_value": lambda tmp: manual().build({"event_name": "Purchase", "order_id": "1", "currency": "EUR", "value": "NaN"}),
    "too_large": lambda tmp: manual().build({"event_name": "Purchase", "order_id": "x" * 300}),
    "event_time_out_of_range": lambda tmp: manual().build({"event_name": "Lead", "event_time": 1}),
    "invalid_setting": lambda tmp: convtrack.Tracker(pixel_id="12ab"),
    "storage": lambda tmp: manual(outbox_path="/dev/null/outbox.sqlite3"),
    "not_configured": lambda tmp: manual().track({"event_name": "Lead"}),
}


def test_every_code_is_triggered_or_unreachable():
    assert set(TRIGGERS) | UNREACHABLE == set(BY_NAME)
    assert not set(TRIGGERS) & UNREACHABLE


@pytest.mark.parametrize("name", sorted(TRIGGERS))
def test_raised_errors_carry_the_table_class_and_code(name, tmp_path):
    code, class_name = BY_NAME[name]
    with pytest.raises(errors.ConvtrackError) as info:
        TRIGGERS[name](tmp_path)
    assert type(info.value).__name__ == class_name
    assert (info.value.code, info.value.code_name) == (code, name)
