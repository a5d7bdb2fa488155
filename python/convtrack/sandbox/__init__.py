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

The package: ``_http`` (strict framing, bounded bodies, answers), ``_control`` (the
``/_sandbox/`` endpoints and their guard), ``_api`` (the Graph endpoints and their token check),
``_events`` and ``_catalog`` (Meta's rules for events and for items_batch), ``_faults``,
``_recording`` (what it saw, bounded), ``_graph`` (Meta's error bodies), ``_receiver`` (the
``Sandbox`` class) and ``_command`` (``main``).
"""

# The other limits and Meta's field sets stay importable from here (outside __all__, as before).
from convtrack.sandbox._catalog import CATALOG_AVAILABILITY as CATALOG_AVAILABILITY
from convtrack.sandbox._catalog import CATALOG_CONDITION as CATALOG_CONDITION
from convtrack.sandbox._catalog import CATALOG_MAX_LEN as CATALOG_MAX_LEN
from convtrack.sandbox._catalog import CATALOG_REQUIRED as CATALOG_REQUIRED
from convtrack.sandbox._catalog import MAX_CATALOG_REQUESTS as MAX_CATALOG_REQUESTS
from convtrack.sandbox._command import main
from convtrack.sandbox._events import ACTION_SOURCES as ACTION_SOURCES
from convtrack.sandbox._events import CLEAR_KEYS as CLEAR_KEYS
from convtrack.sandbox._events import CUSTOMER_SEGMENTATIONS as CUSTOMER_SEGMENTATIONS
from convtrack.sandbox._events import DELIVERY_CATEGORIES as DELIVERY_CATEGORIES
from convtrack.sandbox._events import HASHED_KEYS as HASHED_KEYS
from convtrack.sandbox._events import MAX_AGE_SECONDS as MAX_AGE_SECONDS
from convtrack.sandbox._events import MAX_EVENTS
from convtrack.sandbox._events import MAX_FUTURE_SECONDS as MAX_FUTURE_SECONDS
from convtrack.sandbox._faults import FAULT_KINDS, MAX_FAULTS
from convtrack.sandbox._faults import MAX_FAULT_CODE as MAX_FAULT_CODE
from convtrack.sandbox._faults import MAX_FAULT_MESSAGE as MAX_FAULT_MESSAGE
from convtrack.sandbox._graph import ERRORS
from convtrack.sandbox._http import MAX_BODY_BYTES
from convtrack.sandbox._http import MAX_CHUNK_FRAMING as MAX_CHUNK_FRAMING
from convtrack.sandbox._http import MAX_CHUNK_LINE as MAX_CHUNK_LINE
from convtrack.sandbox._http import MAX_TRAILER_BYTES as MAX_TRAILER_BYTES
from convtrack.sandbox._receiver import MAX_RECORDS, Sandbox

__all__ = ["Sandbox", "ERRORS", "FAULT_KINDS", "MAX_BODY_BYTES", "MAX_EVENTS", "MAX_FAULTS", "MAX_RECORDS", "main"]
