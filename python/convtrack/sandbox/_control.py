"""The ``/_sandbox/`` control endpoints (stats, events, requests, catalog, faults, reset, pixel).

One rule guards them, so that a web page open in the developer's browser cannot drive them:
every control request carries the sandbox's token as ``Authorization: Bearer <token>`` (else
401), names the sandbox by a loopback ``Host`` (else 403: DNS rebinding sends the attacker's
domain name), and a POST has ``Content-Type: application/json`` (else 415). A page cannot send
that header nor an ``Authorization`` header to another origin without a CORS preflight, and the
sandbox answers no CORS.
"""

from __future__ import annotations

import hmac
import ipaddress
import re
from typing import Optional

from convtrack.sandbox._http import _BaseHandler, _Reply
from convtrack.sandbox._values import _loads


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


class _ControlHandler(_BaseHandler):
    """The ``/_sandbox/`` control endpoints, behind the rule of the module docstring."""

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
