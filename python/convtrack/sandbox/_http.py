"""The HTTP side of the sandbox: strict request framing, bounded body reading, and sending answers.

A body's length is one ``Content-Length`` of plain digits or ``Transfer-Encoding: chunked`` alone;
anything negative, malformed, repeated or ambiguous (request smuggling) is a 400, and no more than
``MAX_BODY_BYTES`` of body (plus ``MAX_CHUNK_FRAMING`` of chunked framing) is ever read.
"""

from __future__ import annotations

import json
import re
import socket
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any, List, Optional, Tuple, cast
from urllib.parse import urlsplit

from convtrack.sandbox._graph import _rule_error

if TYPE_CHECKING:
    from convtrack.sandbox._receiver import Sandbox

#: Largest request body accepted; anything bigger gets HTTP 413.
MAX_BODY_BYTES = 10 * 1024 * 1024
#: Most bytes of chunked framing (size lines, chunk extensions, trailer) read with one body.
MAX_CHUNK_FRAMING = 1024 * 1024
#: Longest chunk-size line (with its extensions) and longest trailer section, in bytes.
MAX_CHUNK_LINE = 1024
MAX_TRAILER_BYTES = 8192

_DIGITS = re.compile(r"[0-9]+")
_HEXDIGITS = re.compile(rb"[0-9A-Fa-f]+")


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


class _BaseHandler(BaseHTTPRequestHandler):
    """Framing, body reading, answers and dispatch; the endpoints are in ``_control.py`` and
    ``_api.py`` (``_receiver._Handler`` combines them)."""

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

    def _control(self, method: str, path: str) -> None:
        """The ``/_sandbox/`` control endpoints (``_control.py``)."""
        raise NotImplementedError

    def _api(self, method: str, path: str, query: str) -> None:
        """The Graph API endpoints (``_api.py``)."""
        raise NotImplementedError
