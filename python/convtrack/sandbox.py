"""A local stand-in for Meta's Conversions API, for tests and demos.

``Sandbox`` is a small HTTP server on loopback (Python standard library only)
that speaks the Conversions API contract: ``POST /{version}/{pixel_id}/events``
with a JSON body ``{"data": [event, ...]}`` and an access token as an
``Authorization: Bearer`` header or an ``access_token`` body field. It checks
every event the way Meta does (one invalid event rejects the whole request,
with a Graph-style error), records what it accepted, counts duplicates and
copies deduplicated with the browser pixel, and can be told to misbehave
(HTTP 5xx/429, Graph errors, slow answers, dropped connections, garbage
bodies) so that retry logic can be tested without the internet.

Use it in your own tests::

    from convtrack.sandbox import Sandbox

    with Sandbox(token="t") as sandbox:
        tracker = convtrack.Tracker(pixel_id="1", access_token="t", data_controls=True,
                                    endpoint=sandbox.url, sender="manual", ...)
        tracker.track(order)
        tracker.flush(timeout=10)
        assert sandbox.stats()["received"] == 1
        sandbox.inject("status", count=2, status=503)   # the next two requests fail

Other processes (PHP, subprocesses) drive it over HTTP: ``GET /_sandbox/stats``,
``GET /_sandbox/events``, ``GET /_sandbox/requests``, ``POST /_sandbox/faults``
(``{"kind": ..., "count": ..., ...options}``), ``POST /_sandbox/reset`` and
``POST /_sandbox/pixel`` (``{"event_name", "event_id"}``), ``GET /_sandbox/catalog``.

One rule guards these control endpoints, so that a web page open in the developer's browser
cannot drive them: every control request carries the sandbox's token (the one the Conversions
API calls use) as ``Authorization: Bearer <token>`` (else 401), names the sandbox by a loopback
``Host`` (``localhost``, a loopback address or the bound address, else 403: DNS rebinding sends
the attacker's domain name), and a POST has ``Content-Type: application/json`` (else 415). A
page cannot send that header nor an ``Authorization`` header to another origin without a CORS
preflight, and the sandbox answers no CORS. The in-process API (``inject``, ``stats``, ...)
needs no secret.

Bounds: a request body is at most ``MAX_BODY_BYTES`` (10 MB; a ``Content-Length`` or chunked
framing that is negative, malformed, repeated or ambiguous is a 400, and the sandbox never reads
past the limit); at most ``MAX_FAULTS`` (1000) faults may be pending; the recorded events, API
requests and catalog items keep the latest ``max_records`` (``MAX_RECORDS``, 10,000) each, the
oldest dropped first. ``stats()`` counters stay exact; ``unique``, ``duplicates`` and
``deduplicated_with_pixel`` remember the latest ``10 * max_records`` distinct (event_name,
event_id) pairs of the server and of the pixel each (a duplicate of an older pair counts as unique).

It also takes live catalog updates: ``POST /{version}/{catalog_id}/items_batch``
with ``{"item_type": "PRODUCT_ITEM", "requests": [{"method": "UPDATE"|"CREATE"|"DELETE",
"data": {"id": ..., ...}}]}``, checks each item's fields, applies the valid ones to
its copy of the catalog and answers ``{"handles": [...], "validation_status": [...]}``
with the refused items. Or run it alone::

    python -m convtrack.sandbox --host 127.0.0.1 --port 8787 --token T

It never logs request bodies (they hold hashed customer data and IP addresses)
nor tokens; the request log keeps the path without its query string.
"""

from __future__ import annotations

import argparse
import copy
import hashlib
import hmac
import ipaddress
import json
import math
import re
import secrets
import signal
import socket
import sys
import threading
import time
import types
from collections import OrderedDict, deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Deque, Dict, List, NoReturn, Optional, Sequence, Tuple, Type, cast
from urllib.parse import parse_qs, urlsplit

__all__ = ["Sandbox", "ERRORS", "FAULT_KINDS", "MAX_BODY_BYTES", "MAX_EVENTS", "MAX_FAULTS", "MAX_RECORDS", "main"]

#: Largest request body accepted; anything bigger gets HTTP 413.
MAX_BODY_BYTES = 10 * 1024 * 1024
#: Most bytes of chunked framing (size lines, chunk extensions, trailer) read with one body.
MAX_CHUNK_FRAMING = 1024 * 1024
#: Longest chunk-size line (with its extensions) and longest trailer section, in bytes.
MAX_CHUNK_LINE = 1024
MAX_TRAILER_BYTES = 8192
#: Most faults that may be pending at once (``inject`` and ``POST /_sandbox/faults``).
MAX_FAULTS = 1000
#: Default ``max_records``: how many events, API requests and catalog items are kept.
MAX_RECORDS = 10_000
#: Largest Graph ``code``/``subcode`` a fault may carry, and longest fault ``message``.
MAX_FAULT_CODE = 2**31 - 1
MAX_FAULT_MESSAGE = 1000
#: Most events one request may carry.
MAX_EVENTS = 1000
#: How old an event may be (seconds).
MAX_AGE_SECONDS = 7 * 24 * 3600
#: How far in the future an event may be (seconds; clock skew).
MAX_FUTURE_SECONDS = 600

#: Keys of ``user_data`` that must be SHA-256 digests, as lists.
HASHED_KEYS = ("em", "ph", "fn", "ln", "ge", "db", "ct", "st", "zp", "country", "external_id")
#: Keys of ``user_data`` that are sent in clear, as strings.
CLEAR_KEYS = ("client_ip_address", "client_user_agent", "fbc", "fbp")
#: Accepted ``action_source`` values.
ACTION_SOURCES = frozenset(
    {"website", "app", "email", "phone_call", "chat", "physical_store", "system_generated", "business_messaging", "other"}
)
#: What ``inject`` accepts.
FAULT_KINDS = ("status", "graph_error", "slow", "drop", "malformed")

#: Most requests one items_batch call may carry.
MAX_CATALOG_REQUESTS = 5000
#: Fields a catalog item needs when it is created.
CATALOG_REQUIRED = ("title", "description", "availability", "condition", "price", "link", "image_link", "brand")
CATALOG_AVAILABILITY = frozenset({"in stock", "out of stock", "preorder", "available for order", "discontinued"})
CATALOG_CONDITION = frozenset({"new", "refurbished", "used"})
#: Meta's length limits for item text fields (characters).
CATALOG_MAX_LEN = {"title": 200, "description": 9999}

_HEX64 = re.compile(r"[0-9a-f]{64}")
_PRICE = re.compile(r"\d+(\.\d{1,2})? [A-Z]{3}")
_VERSION = re.compile(r"v\d+\.\d+")
_PIXEL = re.compile(r"\d+")
_CURRENCY = re.compile(r"[A-Za-z]{3}")
_DIGITS = re.compile(r"[0-9]+")
_HEXDIGITS = re.compile(rb"[0-9A-Fa-f]+")

# Every error the sandbox answers with: rule -> (HTTP status, Graph code, error_subcode, error_user_title).
# 2804003 (too old), 2804004 (in the future) and 2804019 (bad hashed key) are the ones client code
# is expected to recognise; code 190 pauses delivery; the other subcodes are the sandbox's own
# choice (all code 100: invalid parameter, never retried).
ERRORS: Dict[str, Tuple[int, int, int, str]] = {
    "invalid_body": (400, 100, 2804001, "Invalid Request Body"),
    "invalid_data": (400, 100, 2804002, "Invalid Data Parameter"),
    "event_time_too_old": (400, 100, 2804003, "Event Timestamp Too Old"),
    "event_time_in_future": (400, 100, 2804004, "Event Timestamp In The Future"),
    "too_many_events": (400, 100, 2804005, "Too Many Events"),
    "invalid_event_name": (400, 100, 2804006, "Invalid Event Name"),
    "invalid_event_time": (400, 100, 2804007, "Invalid Event Timestamp"),
    "invalid_action_source": (400, 100, 2804008, "Invalid Action Source"),
    "missing_event_source_url": (400, 100, 2804009, "Missing Event Source URL"),
    "invalid_event_id": (400, 100, 2804010, "Invalid Event ID"),
    "invalid_user_data": (400, 100, 2804011, "Invalid User Data"),
    "missing_client_user_agent": (400, 100, 2804012, "Missing Client User Agent"),
    "invalid_user_data_field": (400, 100, 2804013, "Invalid User Data Parameter"),
    "invalid_custom_data": (400, 100, 2804014, "Invalid Custom Data"),
    "invalid_value": (400, 100, 2804015, "Invalid Value Parameter"),
    "invalid_currency": (400, 100, 2804017, "Invalid Currency Code"),
    "invalid_hashed_field": (400, 100, 2804019, "User Parameter Not Hashed"),
    "invalid_parameter": (400, 100, 2804020, "Invalid Parameter"),
    "token_in_query": (400, 100, 2804021, "Access Token In Query String"),
    "wrong_api_version": (400, 100, 2804022, "Unsupported API Version"),
    "unsupported_method": (400, 100, 2804023, "Unsupported Request Method"),
    "body_too_large": (413, 100, 2804024, "Request Too Large"),
    "unsupported_media_type": (415, 100, 2804025, "Unsupported Content Type"),
    "forbidden_host": (403, 100, 2804026, "Forbidden Host"),
    "unknown_path": (404, 100, 33, "Unknown Path"),
    "missing_token": (401, 190, 467, "Missing Access Token"),
    "invalid_token": (401, 190, 467, "Invalid Access Token"),
}


class _Invalid(Exception):
    """A request the sandbox rejects: the rule (a key of ERRORS) and a message naming the field."""

    def __init__(self, rule: str, detail: str) -> None:
        super().__init__(detail)
        self.rule = rule
        self.detail = detail


def _fbtrace_id() -> str:
    return "A" + secrets.token_urlsafe(16)


def _graph_error(
    message: str,
    code: int,
    subcode: Optional[int],
    is_transient: bool,
    title: str,
    user_msg: str,
    type_: str = "OAuthException",
) -> Dict[str, Any]:
    return {
        "error": {
            "message": message,
            "type": type_,
            "code": code,
            "error_subcode": subcode,
            "is_transient": is_transient,
            "error_user_title": title,
            "error_user_msg": user_msg,
            "fbtrace_id": _fbtrace_id(),
        }
    }


def _rule_error(rule: str, detail: str) -> Tuple[int, Dict[str, Any]]:
    status, code, subcode, title = ERRORS[rule]
    return status, _graph_error(f"Invalid parameter: {detail}" if code == 100 else detail, code, subcode, False, title, detail)


def _pair_key(event_name: str, event_id: str) -> bytes:
    """A fixed-size digest of (event_name, event_id) for the dedup memory, whatever their length."""
    name = event_name.encode("utf-8", "surrogatepass")
    return hashlib.blake2b(len(name).to_bytes(8, "big") + name + event_id.encode("utf-8", "surrogatepass"),
                           digest_size=16).digest()


def _loopback_host(value: str, bound: str) -> bool:
    """True for a Host header that names this machine: ``localhost``, a loopback address, or the
    address the sandbox was bound to (unless that is a wildcard), with an optional port. A page
    that uses DNS rebinding sends its own domain name, which is refused."""
    v = value.strip(" \t")
    if v.startswith("["):
        name, sep, rest = v[1:].partition("]")
        if not sep:
            return False
    else:
        name, sep, port = v.partition(":")
        rest = sep + port
    if rest and not re.fullmatch(r":[0-9]{1,5}", rest):
        return False
    if name.lower() == "localhost":
        return True
    try:
        ip = ipaddress.ip_address(name)
    except ValueError:
        return False
    if ip.is_loopback:
        return True
    try:
        return not ipaddress.ip_address(bound).is_unspecified and ip == ipaddress.ip_address(bound)
    except ValueError:
        return False


def _reject_constant(name: str) -> NoReturn:
    raise ValueError(f"{name} is not valid JSON")


def _loads(raw: bytes) -> Any:
    """Strict JSON: UTF-8, no NaN/Infinity."""
    return json.loads(raw.decode("utf-8"), parse_constant=_reject_constant)


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _int_in(v: Any, low: int, high: int) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and low <= v <= high


def _is_number(v: Any) -> bool:
    return (isinstance(v, (int, float)) and not isinstance(v, bool)) and (not isinstance(v, float) or math.isfinite(v))


def _nonempty_str(v: Any) -> bool:
    return isinstance(v, str) and v != ""


def _validate_event(event: Any, where: str, now: float) -> None:
    """Checks one Conversions API event; raises ``_Invalid`` naming the field (never its value)."""
    if not isinstance(event, dict):
        raise _Invalid("invalid_data", f"{where} must be an object")
    if not _nonempty_str(event.get("event_name")):
        raise _Invalid("invalid_event_name", f"{where}.event_name is required and must be a non-empty string")
    if not _is_int(event.get("event_time")):
        raise _Invalid("invalid_event_time", f"{where}.event_time is required and must be an integer (Unix seconds)")
    t = cast(int, event["event_time"])
    if t < now - MAX_AGE_SECONDS:
        raise _Invalid("event_time_too_old", f"{where}.event_time is more than 7 days in the past")
    if t > now + MAX_FUTURE_SECONDS:
        raise _Invalid("event_time_in_future", f"{where}.event_time is more than 10 minutes in the future")
    source = event.get("action_source")
    if not isinstance(source, str) or source not in ACTION_SOURCES:
        raise _Invalid(
            "invalid_action_source",
            f"{where}.action_source is required and must be one of: {', '.join(sorted(ACTION_SOURCES))}",
        )
    if "event_id" in event and not _nonempty_str(event["event_id"]):
        raise _Invalid("invalid_event_id", f"{where}.event_id must be a non-empty string")
    if "event_source_url" in event and not _nonempty_str(event["event_source_url"]):
        raise _Invalid("missing_event_source_url", f"{where}.event_source_url must be a non-empty string")
    if source == "website" and "event_source_url" not in event:
        raise _Invalid("missing_event_source_url", f"{where}.event_source_url is required for website events")

    ud = event.get("user_data")
    if not isinstance(ud, dict) or not ud:
        raise _Invalid("invalid_user_data", f"{where}.user_data is required and must be a non-empty object")
    for key in HASHED_KEYS:
        if key in ud:
            v = ud[key]
            if not isinstance(v, list) or not v or not all(isinstance(d, str) and _HEX64.fullmatch(d) for d in v):
                raise _Invalid(
                    "invalid_hashed_field",
                    f"{where}.user_data.{key} must be a non-empty list of SHA-256 digests "
                    "(64 lowercase hexadecimal characters); hash it after normalization",
                )
    for key in CLEAR_KEYS:
        if key in ud and not _nonempty_str(ud[key]):
            raise _Invalid("invalid_user_data_field", f"{where}.user_data.{key} must be a non-empty string")
    if source == "website" and "client_user_agent" not in ud:
        raise _Invalid("missing_client_user_agent", f"{where}.user_data.client_user_agent is required for website events")

    if "custom_data" in event:
        cd = event["custom_data"]
        if not isinstance(cd, dict):
            raise _Invalid("invalid_custom_data", f"{where}.custom_data must be an object")
        if "value" in cd and not _is_number(cd["value"]):
            raise _Invalid("invalid_value", f"{where}.custom_data.value must be a number")
        if "currency" in cd and not (isinstance(cd["currency"], str) and _CURRENCY.fullmatch(cd["currency"])):
            raise _Invalid("invalid_currency", f"{where}.custom_data.currency must be a 3-letter ISO 4217 code")
        if "content_ids" in cd and not isinstance(cd["content_ids"], list):
            raise _Invalid("invalid_custom_data", f"{where}.custom_data.content_ids must be a list")
        if "contents" in cd:
            contents = cd["contents"]
            if not isinstance(contents, list) or not all(isinstance(c, dict) for c in contents):
                raise _Invalid("invalid_custom_data", f"{where}.custom_data.contents must be a list of objects")
        if "num_items" in cd and not _is_int(cd["num_items"]):
            raise _Invalid("invalid_custom_data", f"{where}.custom_data.num_items must be an integer")

    if "opt_out" in event and not isinstance(event["opt_out"], bool):
        raise _Invalid("invalid_parameter", f"{where}.opt_out must be a boolean")
    if "data_processing_options" in event:
        dpo = event["data_processing_options"]
        if not isinstance(dpo, list) or not all(isinstance(x, str) for x in dpo):
            raise _Invalid("invalid_parameter", f"{where}.data_processing_options must be a list of strings")
    for key in ("data_processing_options_country", "data_processing_options_state"):
        if key in event and not _is_int(event[key]):
            raise _Invalid("invalid_parameter", f"{where}.{key} must be an integer")


def _validate_body(body: Any, now: float) -> List[Dict[str, Any]]:
    """Checks a request body; returns its events or raises ``_Invalid`` for the first problem."""
    if not isinstance(body, dict):
        raise _Invalid("invalid_body", "the request body must be a JSON object")
    for key in ("test_event_code", "partner_agent", "access_token"):
        if key in body and not isinstance(body[key], str):
            raise _Invalid("invalid_body", f"{key} must be a string")
    data = body.get("data")
    if not isinstance(data, list) or not data:
        raise _Invalid("invalid_data", "data is required and must be a non-empty list of events")
    if len(data) > MAX_EVENTS:
        raise _Invalid("too_many_events", f"data holds {len(data)} events; at most {MAX_EVENTS} per request")
    for i, event in enumerate(data):
        _validate_event(event, f"data[{i}]", now)
    return cast(List[Dict[str, Any]], data)


def _item_errors(method: str, data: Dict[str, Any], existing: Optional[Dict[str, Any]]) -> List[str]:
    """What is wrong with one catalog change (empty: fine). Messages name fields, never values."""
    if method == "DELETE":
        return []
    errors: List[str] = []
    if existing is None and method in ("CREATE", "UPDATE"):
        errors += [f"missing required field {f}" for f in CATALOG_REQUIRED if f not in data]
    for key, value in data.items():
        if not isinstance(key, str) or not key:
            errors.append("field names must be non-empty strings")
        elif key == "price" or key == "sale_price":
            if not isinstance(value, str) or not _PRICE.fullmatch(value):
                errors.append(f"{key} must look like '12.34 EUR'")
        elif key == "availability" and value not in CATALOG_AVAILABILITY:
            errors.append("availability is not one of Meta's values")
        elif key == "condition" and value not in CATALOG_CONDITION:
            errors.append("condition is not one of Meta's values")
        elif key in ("link", "image_link") and not (isinstance(value, str) and re.match(r"https?://[^\s/]+", value)):
            errors.append(f"{key} must be an absolute http(s) URL")
        elif key in CATALOG_MAX_LEN and (not isinstance(value, str) or len(value) > CATALOG_MAX_LEN[key]):
            errors.append(f"{key} must be a string of at most {CATALOG_MAX_LEN[key]} characters")
    return errors


def _validate_items_batch(body: Any) -> List[Tuple[str, str, Dict[str, Any]]]:
    """The (method, retailer id, data) changes of an items_batch body; raises _Invalid for the whole request."""
    if not isinstance(body, dict):
        raise _Invalid("invalid_body", "the request body must be a JSON object")
    if body.get("item_type") != "PRODUCT_ITEM":
        raise _Invalid("invalid_parameter", "item_type must be PRODUCT_ITEM")
    requests = body.get("requests")
    if not isinstance(requests, list) or not requests:
        raise _Invalid("invalid_parameter", "requests must be a non-empty array")
    if len(requests) > MAX_CATALOG_REQUESTS:
        raise _Invalid("too_many_events", f"at most {MAX_CATALOG_REQUESTS} requests per call")
    out: List[Tuple[str, str, Dict[str, Any]]] = []
    for i, r in enumerate(requests):
        if not isinstance(r, dict) or r.get("method") not in ("CREATE", "UPDATE", "DELETE"):
            raise _Invalid("invalid_parameter", f"requests[{i}].method must be CREATE, UPDATE or DELETE")
        data = r.get("data")
        if not isinstance(data, dict) or not _nonempty_str(data.get("id")):
            raise _Invalid("invalid_parameter", f"requests[{i}].data.id must be a non-empty string")
        out.append((r["method"], data["id"], data))
    return out


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


class _Reply:
    """An HTTP answer, decided before it is sent."""

    __slots__ = ("status", "payload", "content_type")

    def __init__(self, status: int, payload: bytes, content_type: str = "application/json; charset=UTF-8") -> None:
        self.status = status
        self.payload = payload
        self.content_type = content_type

    @classmethod
    def json(cls, status: int, doc: Any) -> "_Reply":
        return cls(status, json.dumps(doc).encode("utf-8"))

    @classmethod
    def rule(cls, rule: str, detail: str) -> "_Reply":
        status, doc = _rule_error(rule, detail)
        return cls.json(status, doc)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # many concurrent senders must not wait for SYN retransmits
    sandbox: "Sandbox"

    def handle_error(self, request: Any, client_address: Any) -> None:
        # Clients that time out or hang up mid-request are normal here; and a
        # traceback could carry request data. Stay quiet.
        pass


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "convtrack-sandbox"
    sys_version = ""
    timeout = 30  # seconds of socket inactivity before a stuck client is dropped

    @property
    def sandbox(self) -> "Sandbox":
        return cast(_Server, self.server).sandbox

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        """Silenced: request lines and bodies are never logged."""

    def handle_expect_100(self) -> bool:
        # Too large or badly framed: no "100 Continue"; the request is answered without reading the body.
        if self._framing_error() is not None or self._content_length() > MAX_BODY_BYTES:
            return True
        return super().handle_expect_100()

    # -- plumbing -------------------------------------------------------------------------------

    def _framing_error(self) -> Optional[_Reply]:
        """The answer to a body whose length is invalid or ambiguous (request smuggling), else None.
        Accepted: no body headers, one Content-Length of plain digits, or ``Transfer-Encoding: chunked``
        alone."""
        te = self.headers.get_all("Transfer-Encoding") or []
        cl = self.headers.get_all("Content-Length") or []
        if te:
            if len(te) > 1 or te[0].strip(" \t").lower() != "chunked":
                return _Reply.rule("invalid_body", "unsupported Transfer-Encoding (only chunked is accepted)")
            if cl:
                return _Reply.rule("invalid_body", "both Content-Length and Transfer-Encoding are given")
        elif len(cl) > 1:
            return _Reply.rule("invalid_body", "more than one Content-Length")
        elif cl and not _DIGITS.fullmatch(cl[0].strip(" \t")):
            return _Reply.rule("invalid_body", "invalid Content-Length")
        return None

    def _content_length(self) -> int:
        """The declared length (0 without one); meaningful once _framing_error() is None."""
        raw = (self.headers.get("Content-Length") or "").strip(" \t")
        if not _DIGITS.fullmatch(raw):
            return 0
        return int(raw) if len(raw) <= 18 else MAX_BODY_BYTES + 1

    def _read_body(self) -> Tuple[Optional[bytes], Optional[_Reply]]:
        """The body, or None and the error to answer (too large, bad length, bad chunking).
        Never reads more than MAX_BODY_BYTES of body (plus MAX_CHUNK_FRAMING of chunked framing)."""
        error = self._framing_error()
        if error is not None:
            return None, error
        if self.headers.get("Transfer-Encoding") is not None:
            return self._read_chunked()
        n = self._content_length()
        if n > MAX_BODY_BYTES:
            return None, _Reply.rule("body_too_large", "the request body is larger than 10 MB")
        body = self.rfile.read(n) if n else b""
        if len(body) != n:
            return None, _Reply.rule("invalid_body", "the request body is shorter than its Content-Length")
        return body, None

    def _read_chunked(self) -> Tuple[Optional[bytes], Optional[_Reply]]:
        """A ``Transfer-Encoding: chunked`` body (RFC 9112 7.1): each size line is hex digits, optionally
        followed by ``;`` extensions (ignored), at most MAX_CHUNK_LINE bytes; each chunk's data ends with
        CRLF; the trailer after the last chunk is at most MAX_TRAILER_BYTES. The size is checked against
        the limit before any data is read."""

        def invalid(detail: str) -> Tuple[Optional[bytes], Optional[_Reply]]:
            return None, _Reply.rule("invalid_body", f"invalid chunked encoding: {detail}")

        def too_large() -> Tuple[Optional[bytes], Optional[_Reply]]:
            return None, _Reply.rule("body_too_large", "the request body is larger than 10 MB")

        parts: List[bytes] = []
        total = 0
        framing = 0
        while True:
            line = self.rfile.readline(MAX_CHUNK_LINE + 1)
            framing += len(line)
            if not line.endswith(b"\n") or len(line) > MAX_CHUNK_LINE:
                return invalid("a chunk-size line is too long or cut off")
            size_field = line.split(b";", 1)[0].rstrip(b"\r\n").rstrip(b" \t")
            if not _HEXDIGITS.fullmatch(size_field):
                return invalid("a chunk size is not hexadecimal digits")
            size = int(size_field, 16)
            if size > MAX_BODY_BYTES - total or framing > MAX_CHUNK_FRAMING:
                return too_large()
            if size == 0:
                trailer = 0
                while True:
                    line = self.rfile.readline(MAX_TRAILER_BYTES + 1)
                    trailer += len(line)
                    if not line.endswith(b"\n") or trailer > MAX_TRAILER_BYTES:
                        return invalid("the trailer is too long or cut off")
                    if line in (b"\r\n", b"\n"):
                        return b"".join(parts), None
            data = self.rfile.read(size)
            if len(data) != size:
                return invalid("a chunk is cut off")
            parts.append(data)
            total += size
            if self.rfile.readline(3) not in (b"\r\n", b"\n"):
                return invalid("a chunk's data is not followed by CRLF")
            framing += 2

    def _send(self, status: int, payload: bytes, content_type: str = "application/json; charset=UTF-8") -> None:
        self.close_connection = True
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(payload)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(payload)

    def _send_json(self, status: int, doc: Any) -> None:
        self._send(status, json.dumps(doc).encode("utf-8"))

    def _send_rule(self, rule: str, detail: str) -> int:
        status, doc = _rule_error(rule, detail)
        self._send_json(status, doc)
        return status

    def _answer(self, reply: Optional[_Reply]) -> None:
        """Sends a reply; None drops the connection without answering."""
        if reply is None:
            self._drop()
        else:
            self._send(reply.status, reply.payload, reply.content_type)

    def _drop(self) -> None:
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    # -- dispatch -------------------------------------------------------------------------------

    def do_GET(self) -> None:  # noqa: N802 - stdlib naming
        self._dispatch("GET")

    def do_POST(self) -> None:  # noqa: N802
        self._dispatch("POST")

    def do_PUT(self) -> None:  # noqa: N802
        self._dispatch("PUT")

    def do_DELETE(self) -> None:  # noqa: N802
        self._dispatch("DELETE")

    def do_PATCH(self) -> None:  # noqa: N802
        self._dispatch("PATCH")

    def _dispatch(self, method: str) -> None:
        split = urlsplit(self.path)
        path = split.path
        if path.startswith("/_sandbox/") or path == "/_sandbox":
            self._control(method, path)
        else:
            self._api(method, path, split.query)

    # -- /_sandbox/ control endpoints -----------------------------------------------------------

    def _control_refusal(self, method: str) -> Optional[_Reply]:
        """Why a control request is refused (see the module docstring), or None."""
        hosts = self.headers.get_all("Host") or []
        if len(hosts) != 1 or not _loopback_host(hosts[0], self.sandbox.host):
            return _Reply.rule("forbidden_host", "the control endpoints answer only to a loopback Host header")
        scheme, _, value = (self.headers.get("Authorization") or "").strip().partition(" ")
        if scheme.lower() != "bearer" or not value.strip():
            return _Reply.rule("missing_token", "the control endpoints need the sandbox token as Authorization: Bearer")
        if not hmac.compare_digest(value.strip().encode("utf-8"), self.sandbox.token.encode("utf-8")):
            return _Reply.rule("invalid_token", "Invalid OAuth access token - Cannot parse access token")
        if method == "POST":
            media = (self.headers.get("Content-Type") or "").split(";", 1)[0].strip(" \t").lower()
            if media != "application/json":
                return _Reply.rule("unsupported_media_type", "control requests must have Content-Type: application/json")
        return None

    def _control(self, method: str, path: str) -> None:
        sb = self.sandbox
        refusal = self._control_refusal(method)
        if refusal is not None:
            self._answer(refusal)
        elif method == "GET" and path == "/_sandbox/stats":
            self._send_json(200, sb.stats())
        elif method == "GET" and path == "/_sandbox/events":
            self._send_json(200, sb.received())
        elif method == "GET" and path == "/_sandbox/requests":
            self._send_json(200, sb.requests())
        elif method == "GET" and path == "/_sandbox/catalog":
            self._send_json(200, sb.catalog())
        elif method == "POST" and path in ("/_sandbox/faults", "/_sandbox/reset", "/_sandbox/pixel"):
            raw, error = self._read_body()
            if raw is None:
                self._answer(error)
                return
            try:
                doc = _loads(raw) if raw.strip() else {}
            except (ValueError, UnicodeDecodeError, RecursionError):
                self._send_rule("invalid_body", "the request body is not valid JSON")
                return
            try:
                if not isinstance(doc, dict):
                    raise ValueError("the body must be a JSON object")
                if path == "/_sandbox/reset":
                    sb.reset()
                    self._send_json(200, {"ok": True})
                elif path == "/_sandbox/pixel":
                    name, eid = doc.get("event_name"), doc.get("event_id")
                    if not isinstance(name, str) or not isinstance(eid, str) or not name or not eid:
                        raise ValueError("event_name and event_id must be non-empty strings")
                    sb.register_pixel(name, eid)
                    self._send_json(200, {"ok": True})
                else:
                    opts = dict(doc)
                    kind = opts.pop("kind", None)
                    count = opts.pop("count", 1)
                    if not isinstance(kind, str):
                        raise ValueError("kind (a string) is required")
                    sb.inject(kind, count, **opts)
                    self._send_json(200, {"ok": True, "pending": sb.stats()["faults_pending"]})
            except (ValueError, TypeError) as e:
                self._send_rule("invalid_parameter", str(e))
        else:
            self._send_rule("unknown_path", "unknown sandbox control endpoint")

    # -- the Conversions API --------------------------------------------------------------------

    def _api(self, method: str, path: str, query: str) -> None:
        # The request is recorded before the answer goes out, so that a client that has its
        # answer sees it in received()/stats().
        sb = self.sandbox
        record: Dict[str, Any] = {"path": path, "status": None, "events": 0, "fault": None, "auth": None,
                                  "test_event_code": None, "partner_agent": None}
        fault = sb._next_fault()
        if fault is not None:
            record["fault"] = fault.kind
            if fault.kind == "slow":
                if sb._stopping.wait(fault.opts["seconds"]):
                    sb._record(record, [])
                    self._drop()
                    return
                fault = None
        raw, error = self._read_body()
        if raw is None:
            assert error is not None
            record["status"] = error.status
            sb._record(record, [])
            self._answer(error)
            return
        body: Any = None
        try:
            body = _loads(raw)
        except (ValueError, UnicodeDecodeError, RecursionError):
            body = None
        if isinstance(body, dict):
            if isinstance(body.get("data"), list):
                record["events"] = len(body["data"])
            for key in ("test_event_code", "partner_agent"):
                if isinstance(body.get(key), str):
                    record[key] = body[key]

        events: List[Dict[str, Any]] = []
        if fault is not None:
            reply = self._fault_reply(fault)
        else:
            reply, events = self._handle_events(method, path, query, raw, body, record)
        record["status"] = None if reply is None else reply.status
        sb._record(record, events)
        self._answer(reply)

    @staticmethod
    def _fault_reply(fault: _Fault) -> Optional[_Reply]:
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

    def _handle_events(
        self, method: str, path: str, query: str, raw: bytes, body: Any, record: Dict[str, Any]
    ) -> Tuple[_Reply, List[Dict[str, Any]]]:
        """Decides the answer to one API request, and the accepted events (empty when rejected)."""
        sb = self.sandbox
        parts = path.split("/")
        # "", version, pixel_id, "events"  or  "", version, catalog_id, "items_batch"
        if not (len(parts) == 4 and parts[0] == "" and _VERSION.fullmatch(parts[1])
                and _PIXEL.fullmatch(parts[2]) and parts[3] in ("events", "items_batch")):
            return _Reply.rule(
                "unknown_path",
                "Unknown path: expected POST /{version}/{pixel_id}/events or /{version}/{catalog_id}/items_batch",
            ), []
        if sb.api_version is not None and parts[1] != sb.api_version:
            return _Reply.rule(
                "wrong_api_version", f"this sandbox serves API version {sb.api_version}, not {parts[1]}"
            ), []
        if method != "POST":
            return _Reply.rule("unsupported_method", f"Unsupported {method.lower()} request; use POST"), []
        if "access_token" in parse_qs(query, keep_blank_values=True):
            return _Reply.rule(
                "token_in_query",
                "the access token must not be sent in the URL query string; "
                "use an Authorization: Bearer header or the access_token body field",
            ), []

        # Authentication: the header first, else the body field.
        token: Optional[str] = None
        header = self.headers.get("Authorization")
        if header is not None:
            scheme, _, value = header.strip().partition(" ")
            if scheme.lower() in ("bearer", "oauth") and value.strip():
                token = value.strip()
                record["auth"] = "header"
        if token is None and isinstance(body, dict) and isinstance(body.get("access_token"), str):
            token = body["access_token"]
            record["auth"] = "body"
        if token is None:
            if body is None and raw.strip():
                return _Reply.rule("invalid_body", "the request body is not valid JSON"), []
            return _Reply.rule("missing_token", "An access token is required to request this resource."), []
        if not hmac.compare_digest(token.encode("utf-8"), sb.token.encode("utf-8")):
            return _Reply.rule("invalid_token", "Invalid OAuth access token - Cannot parse access token"), []

        if body is None:
            return _Reply.rule("invalid_body", "the request body is not valid JSON"), []
        if parts[3] == "items_batch":
            try:
                changes = _validate_items_batch(body)
            except _Invalid as e:
                return _Reply.rule(e.rule, e.detail), []
            record["catalog_items"] = len(changes)
            status = sb._apply_catalog(parts[2], changes)
            return _Reply.json(200, {"handles": [secrets.token_hex(8)], "validation_status": status}), []
        try:
            events = _validate_body(body, sb._now())
        except _Invalid as e:
            return _Reply.rule(e.rule, e.detail), []
        return _Reply.json(200, {"events_received": len(events), "messages": [], "fbtrace_id": _fbtrace_id()}), events


class Sandbox:
    """A loopback Conversions API receiver; see the module docstring.

    ``port=0`` picks a free port (read it back from ``url``). ``token`` is the
    access token it accepts (also the secret of the ``/_sandbox/`` control endpoints).
    ``api_version`` (like ``"v24.0"``), when given, is the only version served. ``now``
    returns the current Unix time in seconds; inject a clock to test event-age rules.
    ``max_records`` bounds the recorded events, API requests and catalog items (each keeps
    the latest ones); the dedup memory holds ``10 * max_records`` pairs per side.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        token: str = "sandbox-token",
        api_version: Optional[str] = None,
        now: Optional[Callable[[], float]] = None,
        max_records: int = MAX_RECORDS,
    ) -> None:
        if api_version is not None and not _VERSION.fullmatch(api_version):
            raise ValueError("api_version must look like 'v24.0'")
        if not _is_int(max_records) or max_records < 1:
            raise ValueError("max_records must be a positive integer")
        self.host = host
        self.port = port
        self.token = token
        self.api_version = api_version
        self._now: Callable[[], float] = now or time.time
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._server: Optional[_Server] = None
        self._thread: Optional[threading.Thread] = None
        self.max_records = max_records
        self._max_keys = 10 * max_records
        self._faults: Deque[_Fault] = deque()
        # Recorded data, bounded: the latest max_records of each (deque(maxlen) drops the oldest).
        self._events: Deque[Dict[str, Any]] = deque(maxlen=max_records)
        self._requests: Deque[Dict[str, Any]] = deque(maxlen=max_records)
        # Dedup memory: digests of (event_name, event_id), oldest first, at most _max_keys each.
        self._keys: "OrderedDict[bytes, None]" = OrderedDict()
        self._pixel: "OrderedDict[bytes, None]" = OrderedDict()
        # Exact counters (the lists above forget; these do not).
        self._request_count = 0
        self._received = 0
        self._unique = 0
        self._deduplicated = 0
        self._pixel_count = 0
        self._rejected_events = 0
        self._accepted_requests = 0
        self._faults_injected = 0
        self._catalog: Dict[str, Dict[str, Dict[str, Any]]] = {}
        self._catalog_order: "OrderedDict[Tuple[str, str], None]" = OrderedDict()
        self._catalog_counts = {"requests": 0, "updates": 0, "deletes": 0, "refused": 0}
        self._catalog_refuse: Dict[str, str] = {}

    # -- lifecycle ------------------------------------------------------------------------------

    @property
    def url(self) -> str:
        """``http://host:port`` — the ``endpoint`` setting for convtrack. Available after ``start``."""
        if self._server is None:
            raise RuntimeError("the sandbox is not running; call start() first")
        host, port = self._server.server_address[:2]
        h = host.decode() if isinstance(host, bytes) else str(host)
        if ":" in h:
            h = f"[{h}]"
        return f"http://{h}:{port}"

    def start(self) -> "Sandbox":
        """Binds the port and serves in a daemon thread; returns self."""
        if self._server is not None:
            return self
        server = _Server((self.host, self.port), _Handler)
        server.sandbox = self
        self._stopping.clear()
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="convtrack-sandbox", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stops serving and releases the port (idempotent). Requests in a ``slow`` fault are dropped."""
        server, thread = self._server, self._thread
        if server is None:
            return
        self._stopping.set()
        server.shutdown()
        server.server_close()
        if thread is not None:
            thread.join(timeout=5)
        self._server = None
        self._thread = None

    def __enter__(self) -> "Sandbox":
        return self.start()

    def __exit__(
        self,
        exc_type: Optional[Type[BaseException]],
        exc: Optional[BaseException],
        tb: Optional[types.TracebackType],
    ) -> None:
        self.stop()

    # -- driving it -----------------------------------------------------------------------------

    def inject(self, kind: str, count: int = 1, **opts: Any) -> None:
        """Queues ``count`` faults; each API request consumes one, first in first out.

        Kinds and options:

        - ``"status"``: ``status`` 500/502/503/429 (default 500); a transient Graph error
          body with ``code`` 2 for 5xx, 4 for 429 (pass ``code=17`` or ``613`` for the others).
        - ``"graph_error"``: ``code`` (required), ``subcode``, ``is_transient`` (default False),
          ``status`` (default 400), ``message``.
        - ``"slow"``: waits ``seconds`` (default 1), then handles the request normally.
        - ``"drop"``: closes the connection without answering.
        - ``"malformed"``: HTTP 200 with a body that is not JSON.

        A faulted request records no event (except ``slow``, which then behaves normally).
        At most ``MAX_FAULTS`` may be pending. Raises ValueError on an unknown kind or option, or
        when the count is negative or would exceed that bound.
        """
        if not _is_int(count) or count < 0:
            raise ValueError("count must be a non-negative integer")
        if count > MAX_FAULTS:
            raise ValueError(f"count must be at most {MAX_FAULTS}")
        fault = _make_fault(kind, opts)
        with self._lock:
            if len(self._faults) + count > MAX_FAULTS:
                raise ValueError(f"count: at most {MAX_FAULTS} faults may be pending ({len(self._faults)} are)")
            self._faults.extend(_Fault(fault.kind, dict(fault.opts)) for _ in range(count))

    def register_pixel(self, event_name: str, event_id: str) -> None:
        """Records that the browser pixel sent (event_name, event_id), for dedup reporting."""
        key = _pair_key(event_name, event_id)
        with self._lock:
            self._pixel_count += 1
            if self._remember(self._pixel, key) and key in self._keys:
                self._deduplicated += 1

    def reset(self) -> None:
        """Forgets every event, request, pixel copy, counter and pending fault."""
        with self._lock:
            self._faults.clear()
            self._events.clear()
            self._requests.clear()
            self._keys.clear()
            self._pixel.clear()
            self._request_count = 0
            self._received = 0
            self._unique = 0
            self._deduplicated = 0
            self._pixel_count = 0
            self._rejected_events = 0
            self._accepted_requests = 0
            self._faults_injected = 0
            self._catalog.clear()
            self._catalog_order.clear()
            self._catalog_counts = dict.fromkeys(self._catalog_counts, 0)
            self._catalog_refuse.clear()

    # -- what it saw ----------------------------------------------------------------------------

    def received(self) -> List[Dict[str, Any]]:
        """The accepted event objects, in arrival order, duplicates included (a copy); the latest
        ``max_records`` of them."""
        with self._lock:
            return copy.deepcopy(list(self._events))

    def requests(self) -> List[Dict[str, Any]]:
        """The API request log (control endpoints excluded), oldest first, the latest
        ``max_records`` requests. Each entry:
        ``path`` (no query string), ``status`` (None when dropped), ``events`` (how many
        the body carried), ``fault`` (the injected kind or None), ``auth`` ("header",
        "body" or None), plus ``test_event_code`` and ``partner_agent`` from the body."""
        with self._lock:
            return [dict(r) for r in self._requests]

    def stats(self) -> Dict[str, Any]:
        """Counters. ``requests`` = ``accepted_requests`` + ``rejected_requests`` (rejected: any
        request that recorded nothing — an error answer or an injected fault). ``received``
        counts accepted events, ``unique`` distinct (event_name, event_id) pairs (an event
        without event_id is always unique), ``duplicates`` = received - unique,
        ``rejected_events`` the events carried by rejected requests, ``pixel`` the pixel copies
        registered, ``deduplicated_with_pixel`` the distinct server (event_name, event_id) pairs
        the pixel also sent, ``faults_injected`` faults consumed, ``faults_pending`` still queued.
        They count everything since the start (or ``reset``), also what the bounded lists dropped;
        dedup remembers the latest ``10 * max_records`` pairs per side (see the module docstring)."""
        with self._lock:
            return {
                "requests": self._request_count,
                "accepted_requests": self._accepted_requests,
                "rejected_requests": self._request_count - self._accepted_requests,
                "received": self._received,
                "unique": self._unique,
                "duplicates": self._received - self._unique,
                "rejected_events": self._rejected_events,
                "pixel": self._pixel_count,
                "deduplicated_with_pixel": self._deduplicated,
                "faults_injected": self._faults_injected,
                "faults_pending": len(self._faults),
            }

    def refuse_catalog_item(self, retailer_id: str, message: str = "Item refused by a catalog policy") -> None:
        """From now on, answers changes of ``retailer_id`` with a validation error (as Meta does for
        items that break a rule the shop cannot check, such as a commerce policy)."""
        with self._lock:
            self._catalog_refuse[retailer_id] = message

    def catalog(self) -> Dict[str, Any]:
        """The catalogs as live updates left them: ``items`` (catalog id -> retailer id -> the
        item's fields), and counters ``requests`` (accepted items_batch calls), ``updates``,
        ``deletes`` and ``refused`` (changes answered with a validation error)."""
        with self._lock:
            return {"items": copy.deepcopy(self._catalog), **self._catalog_counts}

    # -- used by the request handler ------------------------------------------------------------

    def _apply_catalog(self, catalog_id: str, changes: List[Tuple[str, str, Dict[str, Any]]]) -> List[Dict[str, Any]]:
        status: List[Dict[str, Any]] = []
        with self._lock:
            items = self._catalog.setdefault(catalog_id, {})
            self._catalog_counts["requests"] += 1
            for method, rid, data in changes:
                errors = _item_errors(method, data, items.get(rid))
                if rid in self._catalog_refuse:
                    errors.append(self._catalog_refuse[rid])
                if errors:
                    self._catalog_counts["refused"] += 1
                    status.append({"retailer_id": rid, "errors": [{"message": m} for m in errors], "warnings": []})
                elif method == "DELETE":
                    items.pop(rid, None)
                    self._catalog_order.pop((catalog_id, rid), None)
                    self._catalog_counts["deletes"] += 1
                else:
                    merged = dict(items.get(rid, {})) if method == "UPDATE" else {}
                    merged.update(data)
                    items[rid] = merged
                    self._catalog_counts["updates"] += 1
                    # Bounded: the item written longest ago goes first.
                    self._catalog_order[(catalog_id, rid)] = None
                    self._catalog_order.move_to_end((catalog_id, rid))
                    while len(self._catalog_order) > self.max_records:
                        (old_catalog, old_rid), _ = self._catalog_order.popitem(last=False)
                        self._catalog[old_catalog].pop(old_rid, None)
                        if not self._catalog[old_catalog] and old_catalog != catalog_id:
                            del self._catalog[old_catalog]
        return status

    def _next_fault(self) -> Optional[_Fault]:
        with self._lock:
            if not self._faults:
                return None
            self._faults_injected += 1
            return self._faults.popleft()

    def _remember(self, keys: "OrderedDict[bytes, None]", key: bytes) -> bool:
        """Adds key to a bounded dedup memory (the oldest forgotten first); True if it was new."""
        if key in keys:
            return False
        keys[key] = None
        if len(keys) > self._max_keys:
            keys.popitem(last=False)
        return True

    def _record(self, record: Dict[str, Any], events: List[Dict[str, Any]]) -> None:
        with self._lock:
            self._requests.append(record)
            self._request_count += 1
            if record["status"] == 200 and record["fault"] in (None, "slow") and record.get("catalog_items"):
                self._accepted_requests += 1
            elif record["status"] == 200 and record["fault"] in (None, "slow") and events:
                self._accepted_requests += 1
                for e in events:
                    self._events.append(e)
                    self._received += 1
                    eid = e.get("event_id")
                    if not isinstance(eid, str):
                        self._unique += 1  # without event_id an event is never a duplicate
                        continue
                    key = _pair_key(e["event_name"], eid)
                    if self._remember(self._keys, key):
                        self._unique += 1
                        if key in self._pixel:
                            self._deduplicated += 1
            else:
                self._rejected_events += int(record["events"])


def main(argv: Optional[Sequence[str]] = None) -> int:
    """``python -m convtrack.sandbox``: serve in the foreground until Ctrl-C or SIGTERM.

    The first line on stdout is the URL (use it as the ``endpoint`` setting).
    """
    p = argparse.ArgumentParser(prog="python -m convtrack.sandbox", description="Local Conversions API sandbox receiver.")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8787, help="port (default 8787; 0 picks a free one)")
    p.add_argument("--token", default="sandbox-token", help="access token to accept (default sandbox-token)")
    p.add_argument("--api-version", default=None, help="only serve this API version, like v24.0")
    args = p.parse_args(argv)

    stop = threading.Event()
    try:
        sandbox = Sandbox(host=args.host, port=args.port, token=args.token, api_version=args.api_version).start()
    except (OSError, ValueError) as e:
        sys.stderr.write(f"convtrack sandbox: cannot start: {e}\n")
        return 1

    def on_signal(signum: int, frame: Optional[types.FrameType]) -> None:
        stop.set()

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, on_signal)
        signal.signal(signal.SIGINT, on_signal)
    try:
        sys.stdout.write(sandbox.url + "\n")
        sys.stdout.flush()
        sys.stderr.write(
            f"convtrack sandbox listening on {sandbox.url} (POST /{{version}}/{{pixel_id}}/events; "
            "GET /_sandbox/stats with Authorization: Bearer <token>); Ctrl-C to stop\n"
        )
        sys.stderr.flush()
        while not stop.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        sandbox.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
