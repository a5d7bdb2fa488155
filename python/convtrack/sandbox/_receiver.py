"""``Sandbox``: the receiver's lifecycle (a server thread on loopback) and its in-process API
(``inject``, ``stats``, ``received``, ...), which needs no secret."""

from __future__ import annotations

import threading
import time
import types
from collections import deque
from typing import Any, Callable, Deque, Dict, Iterable, List, Optional, Tuple, Type

from convtrack.sandbox._api import _VERSION, _ApiHandler
from convtrack.sandbox._catalog import _CatalogStore
from convtrack.sandbox._control import _ControlHandler
from convtrack.sandbox._faults import MAX_FAULTS, _Fault, _make_fault
from convtrack.sandbox._http import _Server
from convtrack.sandbox._recording import _pair_key, _Recorder
from convtrack.sandbox._values import _is_int

#: Default ``max_records``: how many events, API requests and catalog items are kept.
MAX_RECORDS = 10_000


class _Handler(_ControlHandler, _ApiHandler):
    """One request: ``/_sandbox/*`` to the control endpoints, everything else to the Graph API."""


class Sandbox:
    """A loopback Conversions API receiver; see the ``convtrack.sandbox`` docstring.

    ``port=0`` picks a free port (read it back from ``url``). ``token`` is the
    access token it accepts (also the secret of the ``/_sandbox/`` control endpoints).
    ``api_version`` (like ``"v27.0"``), when given, is the only version served. ``now``
    returns the current Unix time in seconds; inject a clock to test event-age rules.
    ``max_records`` bounds the recorded events, API requests and catalog items (each keeps
    the latest ones); the dedup memory holds ``10 * max_records`` pairs per side.
    ``pixels``, when given, are the only pixel ids that exist for the health check
    (``GET /{version}/{pixel_id}``; any other is Meta's "does not exist" error); by
    default every pixel id exists.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        token: str = "sandbox-token",
        api_version: Optional[str] = None,
        now: Optional[Callable[[], float]] = None,
        max_records: int = MAX_RECORDS,
        pixels: Optional[Iterable[str]] = None,
    ) -> None:
        if api_version is not None and not _VERSION.fullmatch(api_version):
            raise ValueError("api_version must look like 'v27.0'")
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
        if pixels is not None:
            pixels = [str(p) for p in pixels]
            if not all(p.isdigit() and p.isascii() for p in pixels):
                raise ValueError("pixels must be pixel ids (digits)")
        self.pixels = None if pixels is None else frozenset(pixels)
        self._faults: Deque[_Fault] = deque()
        self._faults_injected = 0
        # What it saw (events, requests, dedup memory, counters) and the catalogs; both bounded
        # by max_records and guarded by _lock.
        self._recorder = _Recorder(max_records)
        self._catalog = _CatalogStore(max_records)

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
            self._recorder.pixel_sent(key)

    def reset(self) -> None:
        """Forgets every event, request, pixel copy, counter and pending fault."""
        with self._lock:
            self._faults.clear()
            self._faults_injected = 0
            self._recorder.reset()
            self._catalog.reset()

    # -- what it saw ----------------------------------------------------------------------------

    def received(self) -> List[Dict[str, Any]]:
        """The accepted event objects, in arrival order, duplicates included (a copy); the latest
        ``max_records`` of them."""
        with self._lock:
            return self._recorder.received_events()

    def requests(self) -> List[Dict[str, Any]]:
        """The API request log (control endpoints excluded), oldest first, the latest
        ``max_records`` requests. Each entry:
        ``path`` (no query string), ``status`` (None when dropped), ``events`` (how many
        the body carried), ``fault`` (the injected kind or None), ``auth`` ("header",
        "body" or None), plus ``test_event_code`` and ``partner_agent`` from the body."""
        with self._lock:
            return self._recorder.request_log()

    def stats(self) -> Dict[str, Any]:
        """Counters. ``requests`` = ``accepted_requests`` + ``rejected_requests`` (rejected: any
        request that recorded nothing — an error answer or an injected fault). ``received``
        counts accepted events, ``unique`` distinct (event_name, event_id) pairs (an event
        without event_id is always unique), ``duplicates`` = received - unique,
        ``rejected_events`` the events carried by rejected requests, ``pixel`` the pixel copies
        registered, ``deduplicated_with_pixel`` the distinct server (event_name, event_id) pairs
        the pixel also sent, ``faults_injected`` faults consumed, ``faults_pending`` still queued.
        They count everything since the start (or ``reset``), also what the bounded lists dropped;
        dedup remembers the latest ``10 * max_records`` pairs per side (see the ``convtrack.sandbox`` docstring)."""
        with self._lock:
            return {**self._recorder.counters(), "faults_injected": self._faults_injected, "faults_pending": len(self._faults)}

    def refuse_catalog_item(self, retailer_id: str, message: str = "Item refused by a catalog policy") -> None:
        """From now on, answers changes of ``retailer_id`` with a validation error (as Meta does for
        items that break a rule the shop cannot check, such as a commerce policy)."""
        with self._lock:
            self._catalog.refuse[retailer_id] = message

    def catalog(self) -> Dict[str, Any]:
        """The catalogs as live updates left them: ``items`` (catalog id -> retailer id -> the
        item's fields), and counters ``requests`` (accepted items_batch calls), ``updates``,
        ``deletes`` and ``refused`` (changes answered with a validation error)."""
        with self._lock:
            return self._catalog.snapshot()

    def pixel_name(self, pixel_id: str) -> str:
        """The name the health check answers for a pixel."""
        return f"Sandbox pixel {pixel_id}"

    # -- used by the request handler ------------------------------------------------------------

    def _knows_pixel(self, pixel_id: str) -> bool:
        return self.pixels is None or pixel_id in self.pixels

    def _apply_catalog(self, catalog_id: str, changes: List[Tuple[str, str, Dict[str, Any]]]) -> List[Dict[str, Any]]:
        with self._lock:
            return self._catalog.apply(catalog_id, changes)

    def _next_fault(self) -> Optional[_Fault]:
        with self._lock:
            if not self._faults:
                return None
            self._faults_injected += 1
            return self._faults.popleft()

    def _record(self, record: Dict[str, Any], events: List[Dict[str, Any]]) -> None:
        with self._lock:
            self._recorder.record(record, events)
