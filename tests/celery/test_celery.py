"""Celery delivery end to end: a real redis-server (Debian package) on a free loopback
port, real Celery worker subprocesses (solo pool), the sandbox receiver over real HTTP,
real SQLite outboxes on disk. The same no-loss properties as the thread sender
(tests/python/test_delivery.py): exactly-once arrival by event_id, retries of transient
faults, a rejected event not retried forever, a pause on a bad token, nothing lost when
the broker is down or a worker is killed with SIGKILL mid-task, and no raw personal
data or token in the broker."""

import base64
import json
import os
import pathlib
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from typing import Any, Callable, Dict, List, Optional

import pytest

import redis  # the celery extra (celery[redis]); `make celery-test` installs it

import convtrack  # noqa: E402
import convtrack.celery as ctc  # noqa: E402
from convtrack.errors import (  # noqa: E402
    InvalidJsonError,
    MissingFieldError,
    RejectedEventError,
    SettingsError,
    TooLargeError,
    WrongTypeError,
)
from convtrack.sandbox import Sandbox  # noqa: E402
from celery_test_app import make_app  # noqa: E402
from conftest import PIXEL  # noqa: E402

HERE = pathlib.Path(__file__).resolve().parent
TOKEN = "EAAB-CELERY-SENTINEL-TOKEN-7171"
REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"

if not os.path.exists(REDIS_SERVER):  # pragma: no cover - the Makefile target installs it
    pytest.fail("redis-server is not installed: run `make celery-test` (apt-get install redis-server)", pytrace=False)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(pred: Callable[[], Any], timeout: float = 60.0, what: str = "condition") -> Any:
    """Polls until `pred()` is truthy; fails (with `what`) after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = pred()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.05)


class RedisServer:
    """A throwaway redis-server on loopback, no persistence; can be stopped and restarted."""

    def __init__(self, workdir: pathlib.Path) -> None:
        self.port = free_port()
        self.workdir = workdir
        self.proc: Optional[subprocess.Popen] = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> "RedisServer":
        self.proc = subprocess.Popen(
            [REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(self.workdir), "--protected-mode", "no"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        client = self.client()
        def ping() -> bool:
            try:
                return bool(client.ping())
            except redis.exceptions.ConnectionError:
                return False
        wait_for(ping, 20, "redis-server to answer")
        return self

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(timeout=20)
            self.proc = None

    def client(self) -> "redis.Redis":
        return redis.Redis(host="127.0.0.1", port=self.port, socket_timeout=5)


class Worker:
    """`celery -A celery_test_app worker --pool=solo` in its own process group."""

    def __init__(self, broker: str, settings: Dict[str, Any], log: pathlib.Path, name: str,
                 visibility: float = 3600.0, pause_retry: Optional[float] = None) -> None:
        env = dict(os.environ)
        env.update({
            "CONVTRACK_TEST_BROKER": broker,
            "CONVTRACK_TEST_VISIBILITY": str(visibility),
            "CONVTRACK_TEST_WORKER_SETTINGS": json.dumps(settings),
            "PYTHONPATH": str(HERE) + os.pathsep + env.get("PYTHONPATH", ""),
        })
        if pause_retry is not None:
            env["CONVTRACK_TEST_PAUSE_RETRY"] = str(pause_retry)
        self.log = log
        self.logfile = open(log, "ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "celery_test_app", "worker", "--pool=solo", "-l", "INFO",
             "--without-gossip", "--without-mingle", "--without-heartbeat", "-n", f"{name}@%h"],
            cwd=str(HERE), env=env, stdout=self.logfile, stderr=subprocess.STDOUT, start_new_session=True,
        )
        wait_for(lambda: b"ready." in log.read_bytes() or self.proc.poll() is not None, 60, "the worker to start")
        assert self.proc.poll() is None, log.read_text(errors="replace")

    def text(self) -> str:
        return self.log.read_text(errors="replace")

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)
        self.logfile.close()

    def kill9(self) -> None:
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)
        self.logfile.close()


@pytest.fixture
def broker(tmp_path):
    r = RedisServer(tmp_path).start()
    yield r
    r.stop()


@pytest.fixture
def sandbox():
    with Sandbox(token=TOKEN) as s:
        yield s


@pytest.fixture
def workers():
    started: List[Worker] = []
    yield started
    for w in started:
        if w.proc.poll() is None:
            w.stop()


@pytest.fixture
def publisher(broker):
    app = make_app(broker.url)
    ctc.configure(app=app, holdoff_seconds=5.0)
    yield app
    app.close()


def _settings(sandbox, outbox, own, extra):
    """The settings web processes and workers share, then each side's own, then the test's."""
    return {
        "pixel_id": PIXEL,
        "access_token": TOKEN,
        "data_controls": True,
        "endpoint": sandbox.url,
        "outbox_path": str(outbox),
        **own,
        **extra,
    }


def web_settings(sandbox, tmp_path, **extra):
    return _settings(sandbox, tmp_path / "web.sqlite3", {"sender": "celery"}, extra)


def worker_settings(sandbox, tmp_path, **extra):
    return _settings(sandbox, tmp_path / "worker.sqlite3", {"retry_base_ms": 20, "retry_max_ms": 200, "request_timeout_ms": 1000}, extra)


def start_worker(workers, broker, sandbox, tmp_path, name="w1", visibility=3600.0, pause_retry=None, **extra):
    w = Worker(broker.url, worker_settings(sandbox, tmp_path, **extra), tmp_path / f"{name}.log", name,
               visibility=visibility, pause_retry=pause_retry)
    workers.append(w)
    return w


def order(i, now, **extra):
    e = {
        "event_name": "Purchase",
        "event_time": now - 60,
        "order_id": f"c-{i}",
        "event_source_url": "https://shop.example/checkout/thanks",
        "currency": "EUR",
        "value": "19.90",
        "items": [{"id": "SKU-1", "quantity": 1, "price": "19.90", "title": "</script><b>x"}],
        "customer": {"email": f"celery.sentinel{i}@example.com", "phone": "020 7183 8750", "country": "GB"},
        "browser": {"ip": "203.0.113.7", "user_agent": "Mozilla/5.0", "fbp": "fb.1.1732780000000.7"},
        "consent": {"marketing": "granted"},
    }
    e.update(extra)
    return e


def worker_status(tmp_path, token: str = TOKEN) -> Dict[str, Any]:
    # With the worker's token: a pause is cleared when read with a different token.
    settings = {"pixel_id": PIXEL, "access_token": token, "data_controls": True,
                "outbox_path": str(tmp_path / "worker.sqlite3"), "sender": "manual"}
    with convtrack.Tracker(settings) as t:
        return t.status()


def task_metas(broker) -> List[Dict[str, Any]]:
    c = broker.client()
    return [json.loads(c.get(k)) for k in c.scan_iter("celery-task-meta-*")]


def received_ids(sandbox) -> List[str]:
    return [e["event_id"] for e in sandbox.received()]


# -- settings and the single-shot API (no worker needed) ----------------------------------------


def test_sender_celery_is_a_validated_setting(tmp_path):
    with convtrack.Tracker(pixel_id=PIXEL, outbox_path=str(tmp_path / "o.sqlite3"), sender="celery") as t:
        assert t.settings["sender"] == "celery"
        assert t.status()["sender"] == "celery"
    with pytest.raises(SettingsError) as e:
        convtrack.Tracker(pixel_id=PIXEL, sender="rabbit")
    assert e.value.field == "sender" and "celery" in str(e.value)


@pytest.mark.parametrize(
    "payload, error, field",
    [
        ("not json", InvalidJsonError, "payload"),
        ("[1, 2]", WrongTypeError, "payload"),
        ('{"event_name": "Purchase", "event_time": 1, "user_data": {}}', MissingFieldError, "payload.event_id"),
        ('{"event_name": "Purchase", "event_id": "x", "event_time": "soon", "user_data": {}}', WrongTypeError,
         "payload.event_time"),
        ('{"event_name": "Purchase", "event_id": "x", "event_time": 1}', MissingFieldError, "payload.user_data"),
        (r'{"event_name": "P\u0000", "event_id": 7, "event_time": 1, "user_data": {}}', WrongTypeError, "payload.event_id"),
        ("x" * (10 * 1024 * 1024), TooLargeError, "payload"),
    ],
)
def test_send_prepared_rejects_hostile_payloads_with_typed_errors(sandbox, tmp_path, payload, error, field):
    with convtrack.Tracker(**worker_settings(sandbox, tmp_path, sender="manual")) as t:
        with pytest.raises(error) as e:
            t.send_prepared(payload)
        assert e.value.field == field
        assert TOKEN not in str(e.value)
    assert sandbox.stats()["requests"] == 0


def test_send_prepared_sends_once_and_expires_old_events(sandbox, tmp_path, now):
    with convtrack.Tracker(**worker_settings(sandbox, tmp_path, sender="manual")) as t:
        built = t.build(order(1, now))
        shot = t.send_prepared(json.dumps(built["payload"]))
        assert (shot["outcome"], shot["event_id"], shot["requests"]) == ("sent", built["event_id"], 1)
        assert received_ids(sandbox) == [built["event_id"]]
        old = dict(built["payload"], event_time=now - 7 * 86400 + 60, event_id="old-1")
        shot = t.send_prepared(json.dumps(old))
        assert (shot["outcome"], shot["requests"]) == ("expired", 0)
        st = t.status()
        assert st["counters"]["sent"] == 1 and st["counters"]["expired"] == 1 and st["queue"]["dead_letters"] == 1
    assert sandbox.stats()["requests"] == 1


def test_unreadable_task_payload_is_rejected_not_retried(sandbox, tmp_path):
    ctc.configure(worker_settings=worker_settings(sandbox, tmp_path))
    result = ctc.deliver_event.apply(args=["{broken"])
    assert result.state == "FAILURE"
    assert isinstance(result.result, RejectedEventError) and result.result.field == "payload"


# -- end to end with redis-server and a worker ---------------------------------------------------


def test_tracked_events_arrive_once_as_built(broker, publisher, sandbox, workers, tmp_path, now):
    start_worker(workers, broker, sandbox, tmp_path)
    with convtrack.Tracker(**web_settings(sandbox, tmp_path)) as t:
        results = [t.track(order(i, now)) for i in range(5)]
        assert [r["server"] for r in results] == ["queued"] * 5
        assert t.track(order(0, now))["server"] == "duplicate"
        assert ctc.wait_for_handoffs()
        assert t.status()["queue"]["depth"] == 0, "handed off to the broker right away"
        wait_for(lambda: sandbox.stats()["unique"] == 5, what="5 events at the sandbox")
        got = {e["event_id"]: e for e in sandbox.received()}
        for r in results:
            assert got[r["event_id"]] == r["payload"]
        assert t.status()["counters"]["duplicate"] == 1
    wait_for(lambda: worker_status(tmp_path)["counters"]["sent"] == 5, what="worker counters")
    st = worker_status(tmp_path)
    assert st["coverage"]["em"] == 1.0 and st["queue"]["depth"] == 0
    assert sandbox.stats()["duplicates"] == 0
    assert all(m["status"] == "SUCCESS" for m in task_metas(broker))


def test_the_checkout_thread_never_publishes(broker, publisher, sandbox, workers, tmp_path, now, monkeypatch):
    # track() stores the event and wakes the hand-off thread; only that thread talks to
    # the broker, so a slow or hung broker never holds up a checkout.
    threads = []
    real_publish = ctc._publish

    def publish(*args):
        threads.append(threading.current_thread().name)
        real_publish(*args)

    monkeypatch.setattr(ctc, "_publish", publish)
    start_worker(workers, broker, sandbox, tmp_path)
    with convtrack.Tracker(**web_settings(sandbox, tmp_path)) as t:
        ids = [t.track(order(i, now))["event_id"] for i in range(3)]
        assert ctc.wait_for_handoffs()
        assert t.status()["queue"]["depth"] == 0
    assert threads and set(threads) == {"convtrack-celery-relay"}, threads
    wait_for(lambda: sandbox.stats()["unique"] == 3, what="3 events at the sandbox")
    assert sorted(received_ids(sandbox)) == sorted(ids)


def test_data_controls_off_publishes_and_sends_nothing(broker, publisher, sandbox, workers, tmp_path, now):
    with convtrack.Tracker(**web_settings(sandbox, tmp_path, data_controls=False)) as t:
        for i in range(3):
            r = t.track(order(i, now))
            assert (r["server"], r["reason"]) == ("blocked", "data_controls_off")
        assert ctc.handoff_pending(t)["handed_off"] == 0
        assert t.status()["counters"]["blocked"] == {"data_controls_off": 3}
    assert broker.client().llen("celery") == 0 and list(broker.client().scan_iter()) == []
    assert sandbox.stats()["requests"] == 0


@pytest.mark.parametrize(
    "fault",
    [
        {"kind": "status", "status": 500},
        {"kind": "status", "status": 503},
        {"kind": "status", "status": 429, "code": 17},
        {"kind": "graph_error", "code": 2, "is_transient": True},
        {"kind": "graph_error", "code": 613},
        {"kind": "drop"},
        {"kind": "malformed"},
        {"kind": "slow", "seconds": 2.5},  # longer than the worker's 1 s request timeout
    ],
)
def test_transient_faults_are_retried_by_celery_until_delivered_once(
    broker, publisher, sandbox, workers, tmp_path, now, fault
):
    kind = fault.pop("kind")
    sandbox.inject(kind, count=3, **fault)
    start_worker(workers, broker, sandbox, tmp_path)
    with convtrack.Tracker(**web_settings(sandbox, tmp_path)) as t:
        ev = t.track(order(1, now))
    wait_for(lambda: received_ids(sandbox), what="the event at the sandbox")
    wait_for(lambda: any(m["status"] == "SUCCESS" for m in task_metas(broker)), what="the task to succeed")
    assert set(received_ids(sandbox)) == {ev["event_id"]}
    stats = sandbox.stats()
    assert (stats["unique"], stats["faults_injected"]) == (1, 3)
    # A slow answer the worker gave up on is still recorded by the receiver (when its delay
    # ends): at most 3 same-event_id re-sends, which Meta deduplicates. Other faults record nothing.
    if kind == "slow":
        assert stats["duplicates"] <= 3, stats
    else:
        assert stats["duplicates"] == 0, stats
    st = worker_status(tmp_path)
    assert st["counters"]["retried"] == 3 and st["counters"]["sent"] == 1
    assert "Retry in" in workers[0].text()  # Celery's own retry machinery did it


def test_rejected_event_is_dead_lettered_not_retried(broker, publisher, sandbox, workers, tmp_path, now):
    sandbox.inject("graph_error", count=10, code=100, subcode=2804019)
    start_worker(workers, broker, sandbox, tmp_path)
    with convtrack.Tracker(**web_settings(sandbox, tmp_path)) as t:
        ev = t.track(order(1, now))
    metas = wait_for(lambda: [m for m in task_metas(broker) if m["status"] == "FAILURE"], what="the task to fail")
    assert metas[0]["result"]["exc_type"] == "RejectedEventError"
    assert ev["event_id"] in metas[0]["result"]["exc_message"][0]
    st = worker_status(tmp_path)
    assert st["queue"]["dead_letters"] == 1 and st["counters"]["failed"] == {"100": 1}
    assert st["last_error"]["code"] == 100
    assert sandbox.stats()["requests"] == 1, "a rejected event is not retried"


def test_bad_token_pauses_visibly_and_a_fixed_token_delivers(broker, publisher, sandbox, workers, tmp_path, now):
    bad = start_worker(workers, broker, sandbox, tmp_path, name="bad", visibility=5, pause_retry=1,
                       access_token="wrong-token")
    with convtrack.Tracker(**web_settings(sandbox, tmp_path)) as t:
        ev = t.track(order(1, now))
    metas = wait_for(lambda: [m for m in task_metas(broker) if m["status"] == "RETRY"], what="a paused retry")
    assert metas[0]["result"]["exc_type"] == "DeliveryPausedError"
    assert "paused" in metas[0]["result"]["exc_message"][0]
    wait_for(lambda: bad.text().count("Retry in") >= 3, what="three paused retries")
    st = worker_status(tmp_path, token="wrong-token")
    assert st["paused"]["code"] == 190 and st["paused"]["reason"] == "invalid_token"
    assert sandbox.stats()["requests"] == 1, "a paused worker burns no requests"
    assert received_ids(sandbox) == []
    bad.stop()
    # The merchant fixes the token: a worker with the new token delivers the same task.
    start_worker(workers, broker, sandbox, tmp_path, name="good", visibility=5)
    wait_for(lambda: received_ids(sandbox), what="the event after the token fix")
    assert received_ids(sandbox) == [ev["event_id"]]
    assert worker_status(tmp_path)["paused"] is None
    assert "wrong-token" not in json.dumps(task_metas(broker)) and TOKEN not in json.dumps(task_metas(broker))


def test_broker_down_at_track_time_loses_nothing(broker, publisher, sandbox, workers, tmp_path, now, caplog):
    broker.stop()
    ctc.configure(holdoff_seconds=300)
    with convtrack.Tracker(**web_settings(sandbox, tmp_path)) as t:
        t0 = time.monotonic()
        results = [t.track(order(i, now)) for i in range(3)]
        print(f"3 track() calls with the broker down took {time.monotonic() - t0:.3f} s")
        assert [r["server"] for r in results] == ["queued"] * 3
        assert ctc.wait_for_handoffs()
        assert t.status()["queue"]["depth"] == 3, "kept in the outbox"
        assert caplog.text.count("stay queued") == 1, "one failed publish, then the hold-off"
        broker.start()
        start_worker(workers, broker, sandbox, tmp_path)
        ctc.configure(holdoff_seconds=0)
        # The next track() hands off what the outage left behind, too.
        results.append(t.track(order(3, now)))
        assert ctc.wait_for_handoffs()
        assert t.status()["queue"]["depth"] == 0
        assert ctc.handoff_pending(t) == {"handed_off": 0, "remaining": 0, "error": None}
    wait_for(lambda: sandbox.stats()["unique"] == 4, what="4 events at the sandbox")
    assert sorted(received_ids(sandbox)) == sorted(r["event_id"] for r in results)
    assert sandbox.stats()["duplicates"] == 0


def test_broker_restart_between_checkouts_hands_off_at_once(broker, publisher, sandbox, workers, tmp_path, now):
    start_worker(workers, broker, sandbox, tmp_path)
    with convtrack.Tracker(**web_settings(sandbox, tmp_path)) as t:
        first = t.track(order(1, now))
        wait_for(lambda: received_ids(sandbox), what="the first event")
        broker.stop()
        broker.start()  # the web process's kept connection is now stale
        second = t.track(order(2, now))
        assert ctc.wait_for_handoffs()
        assert t.status()["queue"]["depth"] == 0, "handed off on a fresh connection"
    wait_for(lambda: sandbox.stats()["unique"] == 2, what="the second event (the worker reconnects)")
    assert sorted(received_ids(sandbox)) == sorted([first["event_id"], second["event_id"]])


def test_forked_web_process_hands_off_on_its_own_connection(broker, publisher, sandbox, workers, tmp_path, now):
    start_worker(workers, broker, sandbox, tmp_path)
    with convtrack.Tracker(**web_settings(sandbox, tmp_path)) as t:
        ids = [t.track(order(1, now))["event_id"]]  # the parent now keeps a broker connection
        assert ctc.wait_for_handoffs()  # (the outbox is shared: the child counts what is left)
        pid = os.fork()
        if pid == 0:  # a pre-forked web worker (gunicorn --preload)
            code = 1
            try:
                with convtrack.Tracker(**web_settings(sandbox, tmp_path)) as child:
                    child.track(order(2, now))
                    code = 0 if ctc.wait_for_handoffs() and child.status()["queue"]["depth"] == 0 else 2
            finally:
                os._exit(code)
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0
        ids.append(t.track(order(3, now))["event_id"])
        assert ctc.wait_for_handoffs()
        assert t.status()["queue"]["depth"] == 0
    wait_for(lambda: sandbox.stats()["unique"] == 3, what="3 events at the sandbox")
    assert set(ids) <= set(received_ids(sandbox)) and sandbox.stats()["duplicates"] == 0


def test_handoff_pending_after_an_outage(broker, publisher, sandbox, workers, tmp_path, now):
    broker.stop()
    with convtrack.Tracker(**web_settings(sandbox, tmp_path)) as t:
        ids = [t.track(order(i, now))["event_id"] for i in range(4)]
        assert ctc.wait_for_handoffs()  # the hand-off thread's own failed attempt is over
        assert ctc.handoff_pending(t)["error"] is not None
        broker.start()
        start_worker(workers, broker, sandbox, tmp_path)
        assert ctc.handoff_pending(t) == {"handed_off": 4, "remaining": 0, "error": None}
    wait_for(lambda: sandbox.stats()["unique"] == 4, what="4 events at the sandbox")
    assert sorted(received_ids(sandbox)) == sorted(ids)


def test_flush_sends_directly_while_the_broker_is_down(broker, publisher, sandbox, workers, tmp_path, now):
    broker.stop()
    with convtrack.Tracker(**web_settings(sandbox, tmp_path, retry_base_ms=10, retry_max_ms=50)) as t:
        ids = [t.track(order(i, now))["event_id"] for i in range(3)]
        # The hand-off thread's failed attempt leases the events for a moment; once it
        # has given them back, flush() sends them all.
        assert ctc.wait_for_handoffs()
        report = t.flush(timeout=10)
        assert (report["sent"], report["remaining"]) == (3, 0), report
    assert sorted(received_ids(sandbox)) == sorted(ids)


def test_worker_killed_mid_task_is_redelivered(broker, publisher, sandbox, workers, tmp_path, now):
    # The first request hangs 4 s (the worker waits up to 10 s): the worker dies inside it.
    sandbox.inject("slow", count=1, seconds=4)
    first = start_worker(workers, broker, sandbox, tmp_path, name="first", visibility=2, request_timeout_ms=10000)
    with convtrack.Tracker(**web_settings(sandbox, tmp_path)) as t:
        ev = t.track(order(1, now))
        assert ctc.wait_for_handoffs()
        assert t.status()["queue"]["depth"] == 0
    wait_for(lambda: "received" in first.text(), what="the task to reach the worker")
    time.sleep(1.0)  # inside the slow request
    first.kill9()
    assert "succeeded" not in first.text()
    start_worker(workers, broker, sandbox, tmp_path, name="second", visibility=2, request_timeout_ms=10000)
    wait_for(lambda: "succeeded" in workers[-1].text(), 90, "the redelivered task to succeed")
    assert ev["event_id"] in received_ids(sandbox)
    stats = sandbox.stats()
    # The hung request may still have been recorded by the receiver: a harmless same-id re-send.
    assert stats["unique"] == 1 and stats["duplicates"] <= 1, stats


# -- no raw personal data or token in the broker --------------------------------------------------


def _decode_bodies(value: Any, out: List[str]) -> None:
    """Kombu stores message bodies base64-encoded inside JSON: decode them for the scan."""
    if isinstance(value, dict):
        props = value.get("properties")
        if isinstance(value.get("body"), str) and isinstance(props, dict) and props.get("body_encoding") == "base64":
            out.append(base64.b64decode(value["body"]).decode("utf-8", "replace"))
        for v in value.values():
            _decode_bodies(v, out)
    elif isinstance(value, list):
        for v in value:
            _decode_bodies(v, out)
    elif isinstance(value, str) and value[:1] in "[{":
        try:
            _decode_bodies(json.loads(value), out)
        except ValueError:
            pass


def redis_dump(broker) -> List[str]:
    c = broker.client()
    raw: List[bytes] = []
    for key in c.scan_iter(count=1000):
        raw.append(key)
        kind = c.type(key)
        if kind == b"string":
            raw.append(c.get(key) or b"")
        elif kind == b"list":
            raw.extend(c.lrange(key, 0, -1))
        elif kind == b"hash":
            for k, v in c.hgetall(key).items():
                raw.extend((k, v))
        elif kind == b"zset":
            raw.extend(m for m, _ in c.zrange(key, 0, -1, withscores=True))
        elif kind == b"set":
            raw.extend(c.smembers(key))
    texts = [b.decode("utf-8", "replace") for b in raw]
    decoded: List[str] = []
    for t in texts:
        _decode_bodies(t, decoded)
    return texts + decoded


def test_no_raw_pii_or_token_in_the_broker(broker, publisher, sandbox, workers, tmp_path, now, caplog):
    from test_leak_scan import event, scan

    needles_token = [TOKEN]
    with convtrack.Tracker(**web_settings(sandbox, tmp_path)) as t:
        ev = t.track(event(now))
        assert ev["server"] == "queued"
        assert ctc.wait_for_handoffs()
    hashed_email = ev["payload"]["user_data"]["em"][0]
    queued = redis_dump(broker)
    # The scan sees the task (decoded): the event id and the hashed email are there...
    assert any(ev["event_id"] in s and hashed_email in s for s in queued), "the task body was not found"
    sandbox.inject("status", count=1, status=500)
    start_worker(workers, broker, sandbox, tmp_path)
    wait_for(lambda: received_ids(sandbox), what="the event at the sandbox")
    wait_for(lambda: any(m["status"] == "SUCCESS" for m in task_metas(broker)), what="the task result")
    after = redis_dump(broker)
    blobs = [("redis-queued", s) for s in queued] + [("redis-after", s) for s in after]
    blobs.append(("worker-log", workers[0].text()))
    blobs.append(("caplog", caplog.text))
    # ...and no raw personal data or token anywhere.
    assert scan(blobs) == []
    assert [n for n, b in blobs if any(tok in b for tok in needles_token)] == []
