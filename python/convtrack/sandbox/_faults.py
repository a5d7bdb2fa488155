"""Faults on demand: what ``inject`` (and ``POST /_sandbox/faults``) accepts, and the answer each gives."""

from __future__ import annotations

from typing import Any, Dict, Optional, Tuple

from convtrack.sandbox._graph import _graph_error
from convtrack.sandbox._http import _Reply
from convtrack.sandbox._values import _int_in, _is_int, _is_number

#: Most faults that may be pending at once (``inject`` and ``POST /_sandbox/faults``).
MAX_FAULTS = 1000
#: Largest Graph ``code``/``subcode`` a fault may carry, and longest fault ``message``.
MAX_FAULT_CODE = 2**31 - 1
MAX_FAULT_MESSAGE = 1000
#: What ``inject`` accepts.
FAULT_KINDS = ("status", "graph_error", "slow", "drop", "malformed")


class _Fault:
    __slots__ = ("kind", "opts")

    def __init__(self, kind: str, opts: Dict[str, Any]) -> None:
        self.kind = kind
        self.opts = opts


def _make_fault(kind: str, opts: Dict[str, Any]) -> _Fault:
    """Checks ``inject`` options; raises ValueError on an unknown kind or option."""
    allowed: Dict[str, Tuple[str, ...]] = {
        "status": ("status", "code", "subcode", "message"),
        "graph_error": ("code", "subcode", "is_transient", "status", "message"),
        "slow": ("seconds",),
        "drop": (),
        "malformed": (),
    }
    if kind not in allowed:
        raise ValueError(f"unknown fault kind {kind!r}; expected one of {', '.join(FAULT_KINDS)}")
    unknown = sorted(set(opts) - set(allowed[kind]))
    if unknown:
        raise ValueError(f"fault {kind!r} takes no option(s) {', '.join(unknown)}")
    o: Dict[str, Any] = {}
    if kind == "status":
        status = opts.get("status", 500)
        if not _is_int(status) or not (status == 429 or 500 <= status <= 599):
            raise ValueError("fault 'status': status must be 429 or 5xx")
        code = opts.get("code", 4 if status == 429 else 2)
        if not _int_in(code, 0, MAX_FAULT_CODE):
            raise ValueError(f"fault 'status': code must be an integer between 0 and {MAX_FAULT_CODE}")
        o = {"status": status, "code": code, "subcode": opts.get("subcode"), "message": opts.get("message")}
    elif kind == "graph_error":
        code = opts.get("code")
        status = opts.get("status", 400)
        if not _int_in(code, 0, MAX_FAULT_CODE):
            raise ValueError(f"fault 'graph_error': code (an integer between 0 and {MAX_FAULT_CODE}) is required")
        if not _is_int(status) or not 100 <= status <= 599:
            raise ValueError("fault 'graph_error': status must be an HTTP status")
        transient = opts.get("is_transient", False)
        if not isinstance(transient, bool):
            raise ValueError("fault 'graph_error': is_transient must be a boolean")
        o = {"status": status, "code": code, "subcode": opts.get("subcode"), "is_transient": transient,
             "message": opts.get("message")}
    elif kind == "slow":
        seconds = opts.get("seconds", 1.0)
        if not _is_number(seconds) or not 0 <= seconds <= 300:
            raise ValueError("fault 'slow': seconds must be a number between 0 and 300")
        o = {"seconds": float(seconds)}
    if "subcode" in o and o["subcode"] is not None and not _int_in(o["subcode"], 0, MAX_FAULT_CODE):
        raise ValueError(f"fault {kind!r}: subcode must be an integer between 0 and {MAX_FAULT_CODE}")
    if "message" in o and o["message"] is not None and not (
        isinstance(o["message"], str) and len(o["message"]) <= MAX_FAULT_MESSAGE
    ):
        raise ValueError(f"fault {kind!r}: message must be a string of at most {MAX_FAULT_MESSAGE} characters")
    return _Fault(kind, o)


def _fault_reply(fault: _Fault) -> Optional[_Reply]:
    """The answer a consumed fault gives instead of handling the request; None drops the connection."""
    o = fault.opts
    if fault.kind == "drop":
        return None
    if fault.kind == "malformed":
        return _Reply(200, b"<html><body>502 upstream hiccup (sandbox: malformed fault)</body>", "text/html")
    if fault.kind == "status":
        status = int(o["status"])
        message = o["message"] or (
            "(#%d) Application request limit reached" % o["code"] if status == 429
            else "An unexpected error has occurred. Please retry your request later."
        )
        return _Reply.json(status, _graph_error(message, o["code"], o["subcode"], True,
                                                "Temporary Error", "Please retry later."))
    # graph_error
    message = o["message"] or f"(#{o['code']}) Sandbox-injected Graph error"
    return _Reply.json(int(o["status"]), _graph_error(message, o["code"], o["subcode"], o["is_transient"],
                                                      "Sandbox Injected Error", message))
