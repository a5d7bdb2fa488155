"""Delivery end to end: real HTTP on loopback to the sandbox receiver, a real
SQLite outbox on disk, real processes (kill -9, concurrent workers)."""

import json
import logging
import os
import pathlib
import signal
import subprocess
import sys
import textwrap
import time

import pytest

import convtrack
from convtrack.sandbox import Sandbox
from conftest import PIXEL

TOKEN = "sandbox-token"


@pytest.fixture
def sandbox():
    with Sandbox(token=TOKEN) as s:
        yield s


def settings(sandbox, tmp_path, **extra):
    s = {
        "pixel_id": PIXEL,
        "access_token": TOKEN,
        "data_controls": True,
        "endpoint": sandbox.url,
        "outbox_path": str(tmp_path / "outbox.sqlite3"),
        "sender": "manual",
        "retry_base_ms": 10,
        "retry_max_ms": 50,
        "request_timeout_ms": 1000,
    }
    s.update(extra)
    return s


def order(i, now, **extra):
    e = {
        "event_name": "Purchase",
        "event_time": now - 60,
        "order_id": f"o-{i}",
        "event_source_url": "https://shop.example/checkout/thanks",
        "currency": "EUR",
        "value": "19.90",
        "items": [{"id": "SKU-1", "quantity": 1, "price": "19.90"}],
        "customer": {"email": f"sentinel{i}@example.com", "phone": "020 7183 8750", "country": "GB"},
        "browser": {"ip": "203.0.113.7", "user_agent": "Mozilla/5.0", "fbp": "fb.1.1732780000000.7"},
        "consent": {"marketing": "granted"},
    }
    e.update(extra)
    return e


def test_tracked_events_arrive_exactly_as_built(sandbox, tmp_path, now):
    with convtrack.Tracker(**settings(sandbox, tmp_path)) as t:
        results = [t.track(order(i, now)) for i in range(5)]
        assert [r["server"] for r in results] == ["queued"] * 5
        assert t.track(order(0, now))["server"] == "duplicate"
        report = t.flush(timeout=10)
        assert (report["sent"], report["remaining"], report["requests"]) == (5, 0, 1)
        got = {e["event_id"]: e for e in sandbox.received()}
        for r in results:
            assert got[r["event_id"]] == r["payload"]
        req = sandbox.requests()[-1]
        assert req["auth"] == "header"
        st = t.status()
        assert st["counters"]["sent"] == 5 and st["counters"]["duplicate"] == 1
        assert st["coverage"]["em"] == 1.0 and st["coverage"]["ph"] == 1.0
        assert st["queue"]["depth"] == 0
    assert sandbox.stats()["duplicates"] == 0


def test_data_controls_off_sends_nothing(sandbox, tmp_path, now):
    with convtrack.Tracker(**settings(sandbox, tmp_path, data_controls=False)) as t:
        for i in range(3):
            r = t.track(order(i, now))
            assert (r["server"], r["reason"]) == ("blocked", "data_controls_off")
        t.flush(timeout=2)
        assert t.status()["counters"]["blocked"] == {"data_controls_off": 3}
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
        {"kind": "slow", "seconds": 2.5},
    ],
)
def test_transient_faults_are_retried_until_delivered(sandbox, tmp_path, now, fault):
    kind = fault.pop("kind")
    sandbox.inject(kind, count=2, **fault)
    with convtrack.Tracker(**settings(sandbox, tmp_path)) as t:
        ev = t.track(order(1, now))
        report = t.flush(timeout=15)
        assert report["sent"] == 1 and report["remaining"] == 0, report
        assert report["retried"] >= 1
        assert ev["event_id"] in {e["event_id"] for e in sandbox.received()}, (sandbox.requests(), sandbox.stats(), report)
        assert t.status()["counters"]["retried"] >= 1


def test_give_up_on_invalid_event_after_isolating_it(sandbox, tmp_path, now):
    with convtrack.Tracker(**settings(sandbox, tmp_path)) as t:
        good = [t.track(order(i, now)) for i in range(6)]
        # The sandbox rejects a whole batch for one invalid event, as Meta does.
        sandbox.inject("graph_error", count=1, code=100, subcode=2804019)
        report = t.flush(timeout=10)
        # The first request was rejected: the batch was split and then everything went through.
        assert report["sent"] == 6 and report["failed"] == 0, report
        assert {r["event_id"] for r in good} <= {e["event_id"] for e in sandbox.received()}


def test_single_rejected_event_becomes_a_dead_letter(sandbox, tmp_path, now):
    with convtrack.Tracker(**settings(sandbox, tmp_path)) as t:
        t.track(order(1, now))
        sandbox.inject("graph_error", count=10, code=100, subcode=2804019)
        report = t.flush(timeout=5)
        assert (report["failed"], report["remaining"]) == (1, 0)
        st = t.status()
        assert st["queue"]["dead_letters"] == 1 and st["counters"]["failed"] == {"100": 1}
        assert st["last_error"]["code"] == 100 and st["last_error"]["fbtrace_id"]


def test_bad_token_pauses_and_shows_in_status(sandbox, tmp_path, now):
    with convtrack.Tracker(**settings(sandbox, tmp_path, access_token="wrong-token")) as t:
        t.track(order(1, now))
        report = t.flush(timeout=5)
        assert report["paused"] == "invalid_token" and report["remaining"] == 1
        assert t.flush(timeout=1)["requests"] == 0, "a paused sender burns no requests"
        st = t.status()
        assert st["paused"]["code"] == 190
        assert "wrong-token" not in json.dumps(st)
    with convtrack.Tracker(**settings(sandbox, tmp_path)) as fixed:
        assert fixed.flush(timeout=5)["sent"] == 1


def test_background_thread_delivers(sandbox, tmp_path, now):
    with convtrack.Tracker(**settings(sandbox, tmp_path, sender="thread", flush_interval_ms=50)) as t:
        ev = t.track(order(1, now))
        deadline = time.time() + 10
        while time.time() < deadline and not sandbox.received():
            time.sleep(0.02)
        assert [e["event_id"] for e in sandbox.received()] == [ev["event_id"]]


def test_revoked_consent_drops_the_queued_order(sandbox, tmp_path, now):
    with convtrack.Tracker(**settings(sandbox, tmp_path)) as t:
        t.track(order(1, now))
        t.track(order(2, now))
        assert t.revoke_order("o-1") is True
        t.flush(timeout=5)
        assert [e["custom_data"]["order_id"] for e in sandbox.received()] == ["o-2"]


PRIVATE_OUTBOX = """
import json, os, stat, sys
import convtrack
os.umask(0o022)  # the usual umask: files 0644, directories 0755 unless convtrack says otherwise
settings, order = json.loads(sys.argv[1]), json.loads(sys.argv[2])
with convtrack.Tracker(**settings) as t:
    assert t.track(order)["server"] == "queued"
    modes = {}
    for suffix in ("", "-wal", "-shm"):
        p = settings["outbox_path"] + suffix
        if os.path.exists(p):
            modes[suffix or "db"] = oct(stat.S_IMODE(os.stat(p).st_mode))
    modes["dir"] = oct(stat.S_IMODE(os.stat(os.path.dirname(settings["outbox_path"])).st_mode))
print(json.dumps(modes))
"""


def test_the_outbox_is_private_to_its_owner(sandbox, tmp_path, now):
    # The outbox holds client IPs, user agents and hashed customer data: under a
    # umask of 022 the file, its -wal and -shm and the directory convtrack creates
    # must still be readable by the owner only.
    path = tmp_path / "new" / "nested" / "outbox.sqlite3"
    s = settings(sandbox, tmp_path, outbox_path=str(path))
    run = subprocess.run([sys.executable, "-c", PRIVATE_OUTBOX, json.dumps(s), json.dumps(order(1, now))],
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr[-2000:]
    modes = json.loads(run.stdout)
    assert modes["db"] == "0o600" and modes["-wal"] == "0o600" and modes["-shm"] == "0o600", modes
    assert modes["dir"] == "0o700", modes
    assert oct(os.stat(path.parent.parent).st_mode & 0o777) == "0o700"


def test_an_outbox_left_readable_by_an_older_version_is_made_private(sandbox, tmp_path, now):
    with convtrack.Tracker(**settings(sandbox, tmp_path)) as t:
        t.track(order(1, now))
    for p in tmp_path.glob("outbox.sqlite3*"):
        os.chmod(p, 0o644)
    with convtrack.Tracker(**settings(sandbox, tmp_path)) as t:
        t.track(order(2, now))
        for p in tmp_path.glob("outbox.sqlite3*"):
            assert os.stat(p).st_mode & 0o077 == 0, p


def test_dead_letters_are_dropped_on_revoke_and_after_their_retention(sandbox, tmp_path, now):
    import sqlite3

    with convtrack.Tracker(**settings(sandbox, tmp_path)) as t:
        for i in (1, 2):
            t.track(order(i, now))
            sandbox.inject("graph_error", count=10, code=100, subcode=2804019)
            t.flush(timeout=5)
            sandbox.reset()
        assert t.status()["queue"]["dead_letters"] == 2
        # Consent revoked after the event failed: its hashed data goes too.
        t.revoke_order("o-1")
        assert t.status()["queue"]["dead_letters"] == 1
        # A dead letter older than the retention (7 days) is pruned by the next flush,
        # even while delivery is paused.
        with sqlite3.connect(str(tmp_path / "outbox.sqlite3")) as db:
            db.execute("UPDATE dead_letters SET failed_at = failed_at - 8 * 86400 * 1000")
        with sqlite3.connect(str(tmp_path / "outbox.sqlite3")) as db:
            payloads = [r[0] for r in db.execute("SELECT payload FROM dead_letters")]
        assert len(payloads) == 1
    with convtrack.Tracker(**settings(sandbox, tmp_path, data_controls=False, access_token=None)) as t:
        t.flush(timeout=5)
        assert t.status()["queue"]["dead_letters"] == 0


def test_logs_reach_python_logging_without_pii(sandbox, tmp_path, now, caplog):
    caplog.set_level(logging.DEBUG)
    sandbox.inject("status", count=1, status=500)
    with convtrack.Tracker(**settings(sandbox, tmp_path)) as t:
        t.track(order(1, now))
        t.flush(timeout=5)
    text = "\n".join(r.getMessage() for r in caplog.records if r.name.startswith("convtrack"))
    assert "retried" in text
    assert "sentinel" not in text and TOKEN not in text and "203.0.113.7" not in text


CHILD = textwrap.dedent(
    """
    import json, sys, time
    import convtrack
    settings = json.loads(sys.argv[1])
    mode = sys.argv[2]
    t = convtrack.Tracker(**settings)
    now = int(time.time())
    if mode == "track-and-flush":
        for i in range(int(sys.argv[3])):
            t.track({"event_name": "Purchase", "event_time": now - 60, "order_id": f"k-{i}",
                     "event_source_url": "https://shop.example/t", "currency": "EUR", "value": "1.00",
                     "customer": {"email": f"k{i}@example.com"}, "browser": {"user_agent": "UA"},
                     "consent": {"marketing": "granted"}})
        print("tracked", flush=True)
        t.flush(timeout=60)
        print("flushed", flush=True)
    elif mode == "race":
        start = float(sys.argv[3])
        while time.time() < start:
            time.sleep(0.001)
        out = []
        for i in range(40):
            r = t.track({"event_name": "Purchase", "event_time": now - 60, "order_id": f"race-{i}",
                         "event_source_url": "https://shop.example/t", "currency": "EUR", "value": "1.00",
                         "browser": {"user_agent": "UA"}, "consent": {"marketing": "granted"}})
            out.append(r["server"])
        print(json.dumps(out), flush=True)
    t.close()
    """
)


def child(settings_json, *args):
    return subprocess.Popen(
        [sys.executable, "-c", CHILD, json.dumps(settings_json), *map(str, args)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_kill_9_mid_flush_loses_nothing(sandbox, tmp_path):
    s = settings(sandbox, tmp_path, batch_size=50, request_timeout_ms=1000)
    # Every request hangs 3 s (longer than the timeout): the child is killed while sending.
    sandbox.inject("slow", count=3, seconds=3)
    p = child(s, "track-and-flush", 120)
    assert p.stdout.readline().strip() == "tracked"
    time.sleep(0.5)  # inside the first request of the flush
    os.kill(p.pid, signal.SIGKILL)
    p.wait(timeout=10)
    with convtrack.Tracker(**s) as t:
        # A new process resumes once the dead sender's lease runs out.
        report = t.flush(timeout=30)
        assert report["remaining"] == 0, report
    arrived = {e["custom_data"]["order_id"] for e in sandbox.received()}
    assert arrived == {f"k-{i}" for i in range(120)}
    stats = sandbox.stats()
    assert stats["unique"] == 120
    # Duplicates, if any, are the harmless same-event_id re-sends of the interrupted batch.
    assert stats["duplicates"] <= 50


def test_two_processes_tracking_the_same_orders_queue_each_once(sandbox, tmp_path):
    s = settings(sandbox, tmp_path)
    convtrack.Tracker(**s).close()  # create the file first
    start = time.time() + 1.0
    procs = [child(s, "race", start) for _ in range(2)]
    outs = []
    for p in procs:
        out, err = p.communicate(timeout=60)
        assert p.returncode == 0, err
        outs.append(json.loads(out.strip().splitlines()[-1]))
    for a, b in zip(*outs):
        assert sorted([a, b]) == ["duplicate", "queued"]
    with convtrack.Tracker(**s) as t:
        st = t.status()
        assert (st["counters"]["accepted"], st["counters"]["duplicate"], st["queue"]["depth"]) == (40, 40, 40)


def test_outbox_file_holds_no_raw_pii(sandbox, tmp_path, now):
    s = settings(sandbox, tmp_path)
    with convtrack.Tracker(**s) as t:
        t.track(order(1, now))
    data = b"".join(p.read_bytes() for p in pathlib.Path(tmp_path).glob("outbox.sqlite3*"))
    assert b"sentinel1@example.com" not in data and b"7183" not in data and TOKEN.encode() not in data


def test_dropping_a_logging_tracker_does_not_deadlock(sandbox, tmp_path, now, caplog):
    # The sender thread logs through Python logging (it needs the GIL) while the
    # tracker is garbage-collected without close(): the drop must release the GIL.
    caplog.set_level(logging.DEBUG)
    sandbox.inject("status", count=50, status=500)
    t = convtrack.Tracker(**settings(sandbox, tmp_path, sender="thread", flush_interval_ms=10, retry_base_ms=1, retry_max_ms=2))
    t.track(order(1, now))
    time.sleep(0.3)
    del t
    import gc

    gc.collect()


def test_the_default_api_version_is_v27(sandbox, tmp_path, now):
    """Meta's newest documented Graph API version is the default (README settings table)."""
    assert convtrack.Tracker(pixel_id=PIXEL).settings["api_version"] == "v27.0"
    s = settings(sandbox, tmp_path)
    assert "api_version" not in s
    with convtrack.Tracker(**s) as t:
        assert t.settings["api_version"] == "v27.0"
        t.track(order(1, now))
        assert t.flush(timeout=5)["sent"] == 1
    assert sandbox.requests()[-1]["path"] == f"/v27.0/{PIXEL}/events"
