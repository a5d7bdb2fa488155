"""The Graph API endpoints: ``POST /{version}/{pixel_id}/events`` and
``POST /{version}/{catalog_id}/items_batch``, with the token check and injected faults."""

from __future__ import annotations

import hmac
import re
import secrets
from typing import Any, Dict, List, Optional, Tuple
from urllib.parse import parse_qs

from convtrack.sandbox._catalog import _validate_items_batch
from convtrack.sandbox._events import _validate_body
from convtrack.sandbox._faults import _fault_reply
from convtrack.sandbox._graph import _fbtrace_id, _Invalid
from convtrack.sandbox._http import _BaseHandler, _Reply
from convtrack.sandbox._values import _loads

_VERSION = re.compile(r"v\d+\.\d+")
_PIXEL = re.compile(r"\d+")


class _ApiHandler(_BaseHandler):
    """The Conversions API and live catalog updates, as Meta answers them."""

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
            reply = _fault_reply(fault)
        else:
            reply, events = self._handle_events(method, path, query, raw, body, record)
        record["status"] = None if reply is None else reply.status
        sb._record(record, events)
        self._answer(reply)

    def _handle_events(
        self, method: str, path: str, query: str, raw: bytes, body: Any, record: Dict[str, Any]
    ) -> Tuple[_Reply, List[Dict[str, Any]]]:
        """Decides the answer to one API request, and the accepted events (empty when rejected)."""
        sb = self.sandbox
        parts = path.split("/")
        # "", version, pixel_id: the pixel object (the health check's GET)
        if len(parts) == 3 and parts[0] == "" and _VERSION.fullmatch(parts[1]) and _PIXEL.fullmatch(parts[2]):
            return self._handle_pixel(method, parts[1], parts[2], query, raw, record), []
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
        refused = self._authenticate(query, raw, body, record, "invalid_token")
        if refused is not None:
            return refused, []

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

    def _authenticate(self, query: str, raw: bytes, body: Any, record: Dict[str, Any], bad_token_rule: str) -> Optional[_Reply]:
        """The token check: None when the request carries the sandbox's token (an ``Authorization:
        Bearer``/``OAuth`` header first, else an ``access_token`` body field), else the answer."""
        if "access_token" in parse_qs(query, keep_blank_values=True):
            return _Reply.rule(
                "token_in_query",
                "the access token must not be sent in the URL query string; "
                "use an Authorization: Bearer header or the access_token body field",
            )
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
                return _Reply.rule("invalid_body", "the request body is not valid JSON")
            return _Reply.rule("missing_token", "An access token is required to request this resource.")
        if not hmac.compare_digest(token.encode("utf-8"), self.sandbox.token.encode("utf-8")):
            return _Reply.rule(bad_token_rule, "Invalid OAuth access token - Cannot parse access token")
        return None

    def _handle_pixel(self, method: str, version: str, pixel_id: str, query: str, raw: bytes, record: Dict[str, Any]) -> _Reply:
        """``GET /{version}/{pixel_id}?fields=id,name``: the pixel object, as Meta answers the health
        check. A wrong token is a 400 with Graph code 190; a pixel the sandbox does not know (see
        ``Sandbox(pixels=...)``) a 400 with code 100, subcode 33."""
        sb = self.sandbox
        if sb.api_version is not None and version != sb.api_version:
            return _Reply.rule("wrong_api_version", f"this sandbox serves API version {sb.api_version}, not {version}")
        if method != "GET":
            return _Reply.rule("unsupported_method", f"Unsupported {method.lower()} request on a pixel; use GET")
        refused = self._authenticate(query, raw, None, record, "pixel_invalid_token")
        if refused is not None:
            return refused
        if not sb._knows_pixel(pixel_id):
            return _Reply.rule(
                "unknown_object",
                f"Unsupported get request. Object with ID '{pixel_id}' does not exist, cannot be loaded due to "
                "missing permissions, or does not support this operation",
            )
        fields = [f for v in parse_qs(query).get("fields", []) for f in v.split(",") if f]
        doc = {"id": pixel_id, "name": sb.pixel_name(pixel_id)}
        return _Reply.json(200, {k: v for k, v in doc.items() if not fields or k in fields})
