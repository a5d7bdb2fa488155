"""Celery delivery (``sender="celery"``), installed with the ``celery`` extra.

The web process keeps the guarantees of the thread sender: ``Tracker.track()`` gates,
builds and stores the event durably in the local outbox (with the dedup ledger) and
then wakes the process's hand-off thread, which publishes one task per event carrying
the prepared Conversions API event (hashed customer data, no access token): the
checkout thread never talks to the broker. An event leaves the outbox only after the
broker accepted its task; if the broker is down it stays queued and is handed off by
the next ``track()``, by :func:`handoff_pending` (cron, beat) or sent directly by
``tracker.flush()``.

The worker task :func:`deliver_event` sends with the core's single-shot sender
(``Tracker.send_prepared``: the same transport, classification, backoff and expiry as
the thread sender) and maps its outcome to the ``convtrack.errors`` delivery classes:
retryable faults and a pause are retried through Celery (``self.retry``), a rejected
event is dead-lettered in the worker's outbox and not retried, an expired one is
dropped and counted. Tasks are ``acks_late`` and ``reject_on_worker_lost``: a worker
killed mid-task leaves its message to be redelivered; the deterministic ``event_id``
makes a re-send harmless (Meta keeps one).

Worker settings (with the access token) come from the Celery config key ``convtrack``
(a dict of tracker settings, ``outbox_path`` required: the worker's counters, pause and
dead letters) or :func:`configure`. See ``docs/celery.md``.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from typing import Any, Dict, List, Mapping, Optional

from celery import (  # type: ignore[import-untyped, import-not-found, unused-ignore]
    Celery,
    Task,
    current_app,
    shared_task,
)

from convtrack._convtrack import Tracker
from convtrack.errors import (
    BrokerError,
    ConvtrackError,
    DeliveryError,
    DeliveryPausedError,
    ExpiredEventError,
    InputError,
    RejectedEventError,
    RetryableDeliveryError,
)

__all__ = [
    "DELIVER_TASK",
    "HANDOFF_TASK",
    "configure",
    "deliver_event",
    "handoff_after_track",
    "handoff_pending",
    "handoff_pending_task",
    "wait_for_handoffs",
    "worker_tracker",
]

DELIVER_TASK = "convtrack.deliver_event"
HANDOFF_TASK = "convtrack.handoff_pending"

log = logging.getLogger("convtrack.celery")

_lock = threading.Lock()
_config: Dict[str, Any] = {
    "app": None,  # the Celery app that publishes; default: celery.current_app
    "queue": None,  # a queue name for the delivery tasks; default: the app's default
    "lease_seconds": 30.0,  # how long a claimed event is reserved for one hand-off
    "settings": None,  # worker settings (else the Celery config key "convtrack")
    "pause_retry_seconds": None,  # countdown while paused; default: the core's (15 minutes)
    # After a failed publish, track() skips the hand-off for this long (the events stay
    # queued): a broker outage costs one failed connection, not one per checkout.
    "holdoff_seconds": 5.0,
}
_last_broker_failure: Optional[float] = None
_worker: Optional[Tracker] = None


def configure(
    *,
    app: Optional[Celery] = None,
    queue: Optional[str] = None,
    lease_seconds: Optional[float] = None,
    worker_settings: Optional[Mapping[str, Any]] = None,
    pause_retry_seconds: Optional[float] = None,
    holdoff_seconds: Optional[float] = None,
) -> None:
    """Sets the publishing app, the queue, the hand-off lease, the worker settings and/or
    the retry countdown while delivery is paused."""
    global _worker, _last_broker_failure
    with _lock:
        if app is not None:
            _config["app"] = app
            _last_broker_failure = None  # a new app (broker): forget the old one's failure
        if queue is not None:
            _config["queue"] = queue
        if lease_seconds is not None:
            _config["lease_seconds"] = float(lease_seconds)
        if holdoff_seconds is not None:
            _config["holdoff_seconds"] = float(holdoff_seconds)
        if pause_retry_seconds is not None:
            _config["pause_retry_seconds"] = float(pause_retry_seconds)
        if worker_settings is not None:
            _config["settings"] = dict(worker_settings)
            if _worker is not None:
                _worker.close()
                _worker = None


def _app() -> Celery:
    app = _config["app"]
    return app if app is not None else current_app


_publish_lock = threading.Lock()
_connection: Optional[Any] = None  # (app, kombu Connection) used for hand-offs in this process


def _publisher_connection(app: Celery) -> Any:
    """One broker connection per process for hand-offs, without kombu's connection retries
    (by default a refused connection is retried for about 6 s; a checkout must not wait)."""
    global _connection
    if _connection is not None and _connection[0] is app:
        return _connection[1]
    if _connection is not None:
        _connection[1].release()
    conn = app.connection_for_write(transport_options={"max_retries": 0})
    _connection = (app, conn)
    return conn


def _forget_connection_in_child() -> None:
    # A forked worker (gunicorn --preload, multiprocessing) must not share the parent's
    # socket, and has no hand-off thread (threads do not survive a fork).
    global _connection, _publish_lock, _relay, _relay_lock
    _connection = None
    _publish_lock = threading.Lock()
    _relay = None
    _relay_lock = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_connection_in_child)


def _publish(app: Celery, payload: str, event_id: str) -> None:
    global _connection
    options: Dict[str, Any] = {
        # Fail fast at checkout time: the event is safe in the outbox and handed off later.
        "retry": False,
        "serializer": "json",
    }
    if _config["queue"]:
        options["queue"] = _config["queue"]
    # The payload is hashed customer data plus the fields Meta needs in clear (IP, user agent,
    # fbp/fbc), exactly what the outbox holds and Meta receives. No token.
    with _publish_lock:
        for attempt in (1, 2):
            reused = _connection is not None and _connection[0] is app
            conn = _publisher_connection(app)
            try:
                app.send_task(DELIVER_TASK, args=[payload], connection=conn, **options)
                log.debug("convtrack: handed off event %s", event_id)
                return
            except Exception:
                # A broken connection is not reused; a kept one may just be stale (the broker
                # restarted since): then one more try on a fresh connection.
                conn.release()
                _connection = None
                if not reused or attempt == 2:
                    raise


def handoff_pending(tracker: Tracker, limit: int = 1000, app: Optional[Celery] = None) -> Dict[str, Any]:
    """Publishes every queued event of ``tracker``'s outbox as a delivery task (at most
    ``limit``). Returns ``{"handed_off": n, "remaining": depth, "error": None | "<kind>"}``.
    Never raises for a broker failure: the unpublished events stay queued."""
    app = app if app is not None else _app()
    handed = 0
    error: Optional[str] = None
    lease = float(_config["lease_seconds"])
    while handed < limit and error is None:
        rows = tracker.claim_handoff(min(100, limit - handed), lease)
        if not rows:
            break
        done: List[int] = []
        failed: List[int] = []
        for row in rows:
            if error is not None:
                failed.append(row["id"])
                continue
            try:
                _publish(app, row["payload"], row["event_id"])
                done.append(row["id"])
            except Exception as exc:  # noqa: BLE001 - any broker failure keeps the event queued
                error = type(exc).__name__
                failed.append(row["id"])
        tracker.ack_handoff(done)
        handed += len(done)
        if failed:
            tracker.release_handoff(failed)
            log.warning(
                "convtrack: the broker did not take %d event(s) (%s); they stay queued in the outbox",
                len(failed),
                error,
            )
    global _last_broker_failure
    _last_broker_failure = time.monotonic() if error is not None else None
    remaining = tracker.status()["queue"]["depth"]
    return {"handed_off": handed, "remaining": remaining, "error": error}


class _Relay:
    """The hand-off thread of one web process. ``track()`` only stores the event and
    wakes it; the thread publishes to the broker, so a checkout never waits on the
    network (a Redis round trip, or a broker that is down). Started on first use and
    again after a fork; a daemon, because every event it has not published yet is
    still in the outbox and is handed off by the next ``track()``, by
    :func:`handoff_pending` or by ``flush()``."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._pending: Dict[int, Tracker] = {}  # trackers with events to hand off
        self._busy = False
        self._thread = threading.Thread(target=self._run, name="convtrack-celery-relay", daemon=True)
        self._thread.start()

    def alive(self) -> bool:
        return self._thread.is_alive()

    def submit(self, tracker: Tracker) -> None:
        with self._cond:
            self._pending[id(tracker)] = tracker
            self._cond.notify_all()

    def wait_idle(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._pending or self._busy:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(left)
        return True

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._pending:
                    self._cond.wait()
                batch = list(self._pending.values())
                self._pending.clear()
                self._busy = True
            try:
                for tracker in batch:
                    _handoff_now(tracker)
            finally:
                with self._cond:
                    self._busy = False
                    self._cond.notify_all()


_relay: Optional[_Relay] = None
_relay_lock = threading.Lock()


def _handoff_now(tracker: Tracker) -> None:
    failed_at = _last_broker_failure
    if failed_at is not None and time.monotonic() - failed_at < float(_config["holdoff_seconds"]):
        return
    try:
        handoff_pending(tracker)
    except Exception as exc:  # noqa: BLE001 - the events stay queued
        log.warning("convtrack: hand-off to Celery failed (%s); the event stays queued", type(exc).__name__)


def handoff_after_track(tracker: Tracker) -> None:
    """Called by ``Tracker.track()`` with ``sender="celery"`` after a durable enqueue.
    Wakes this process's hand-off thread, which publishes everything queued (this event
    and any left by a broker outage) and returns at once: the checkout does no network
    I/O. Never raises. Within ``holdoff_seconds`` of a failed publish the thread does not
    try (the events stay queued for the next ``track()``)."""
    global _relay
    try:
        with _relay_lock:
            if _relay is None or not _relay.alive():
                _relay = _Relay()
            relay = _relay
        relay.submit(tracker)
    except Exception as exc:  # noqa: BLE001 - e.g. no thread can be started: stays queued
        log.warning("convtrack: hand-off to Celery failed (%s); the event stays queued", type(exc).__name__)


def wait_for_handoffs(timeout: float = 10.0) -> bool:
    """Waits until this process's hand-off thread has published what ``track()`` gave it
    (or found the broker down). For tests, and for a worker's shutdown hook; returns
    ``False`` if ``timeout`` passed first. Nothing is lost either way: what is not
    published stays in the outbox."""
    relay = _relay
    return True if relay is None else relay.wait_idle(timeout)


def worker_tracker(app: Optional[Celery] = None) -> Tracker:
    """The worker's tracker (one per process), from :func:`configure` or the Celery
    config key ``convtrack``. Its outbox holds the worker's counters, pause and dead letters."""
    global _worker
    with _lock:
        if _worker is None:
            settings = _config["settings"]
            if settings is None:
                conf = (app if app is not None else _app()).conf
                settings = conf.get("convtrack")
            if not settings:
                raise BrokerError(
                    "the Celery config key 'convtrack' (worker tracker settings) is not set",
                    601,
                    "not_configured",
                    "convtrack",
                )
            s = dict(settings)
            s["sender"] = "manual"  # the worker sends from its tasks; no thread, no hand-off
            _worker = Tracker(s)
        return _worker


def _error(cls: type, shot: Mapping[str, Any], message: str) -> DeliveryError:
    retry_in = shot.get("retry_in_ms")
    err: DeliveryError = cls(
        message,
        event_id=shot.get("event_id"),
        graph_code=shot.get("code"),
        graph_subcode=shot.get("subcode"),
        fbtrace_id=shot.get("fbtrace_id"),
        retry_in=None if retry_in is None else retry_in / 1000.0,
    )
    return err


@shared_task(  # type: ignore[untyped-decorator, misc, unused-ignore]
    bind=True,
    name=DELIVER_TASK,
    acks_late=True,
    reject_on_worker_lost=True,
    max_retries=None,  # bounded by expiry: an event older than Meta accepts is dropped
    serializer="json",
)
def deliver_event(self: Task, payload: str) -> Dict[str, Any]:
    """Sends one prepared event; retries through Celery with the core's backoff."""
    attempts = int(self.request.retries or 0)
    try:
        tracker = worker_tracker(self.app)
        shot = tracker.send_prepared(payload, attempts)
    except InputError as exc:
        # A payload this worker cannot read (wrong version, corrupted): retrying cannot help.
        log.error("convtrack: dropped a task with an unreadable payload: %s", exc)
        raise RejectedEventError(f"unreadable payload: {exc}", 202, "invalid_value", getattr(exc, "field", None)) from None
    except ConvtrackError as exc:
        # Storage or configuration trouble on this worker: try again later, keep the event.
        countdown = min(300.0, 2.0 ** min(attempts, 8))
        raise self.retry(exc=RetryableDeliveryError(f"worker error: {exc}"), countdown=countdown) from None

    outcome = shot["outcome"]
    eid = shot["event_id"]
    if outcome == "sent":
        return {"event_id": eid, "outcome": "sent", "attempts": attempts + 1}
    if outcome == "discarded":
        # The merchant turned data controls off after the hand-off: never sent, not retried.
        log.info("convtrack: event %s discarded: data controls were turned off", eid)
        return {"event_id": eid, "outcome": "discarded", "attempts": attempts}
    if outcome == "expired":
        raise _error(ExpiredEventError, shot, f"event {eid} is older than Meta accepts; dropped (counted as expired)")
    if outcome == "invalid":
        raise _error(
            RejectedEventError,
            shot,
            f"Meta rejected event {eid} (code {shot['code']}, subcode {shot['subcode']}); "
            f"dead-lettered, not retried (fbtrace_id {shot['fbtrace_id']})",
        )
    countdown = float(shot["retry_in_ms"] or 1000) / 1000.0
    error: DeliveryError
    if outcome == "paused":
        if _config["pause_retry_seconds"] is not None:
            countdown = float(_config["pause_retry_seconds"])
        error = _error(
            DeliveryPausedError,
            shot,
            f"delivery paused: Meta refused the access token or its permissions "
            f"(code {shot['code']}, {shot['reason']}); event {eid} retried in {countdown:.0f} s",
        )
    else:
        error = _error(
            RetryableDeliveryError, shot, f"event {eid} not delivered ({shot['reason']}); retried in {countdown:.3f} s"
        )
    raise self.retry(exc=error, countdown=countdown)


@shared_task(name=HANDOFF_TASK, ignore_result=True)  # type: ignore[untyped-decorator, misc, unused-ignore]
def handoff_pending_task(limit: int = 1000) -> Dict[str, Any]:
    """Beat-able: hands off what the worker's outbox holds (a worker on the web host that
    shares the web tracker's ``outbox_path``)."""
    return handoff_pending(worker_tracker(), limit)
