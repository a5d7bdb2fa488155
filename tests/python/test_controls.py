"""The merchant's live controls (docs/spec.md §12), from the shop developer's side:
real outbox files, the real sandbox receiver on loopback, and a second real process."""

import json
import subprocess
import sys
import textwrap
import time

import pytest

import convtrack
from convtrack.sandbox import Sandbox
from test_delivery import TOKEN, order, settings


@pytest.fixture
def sandbox():
    with Sandbox(token=TOKEN) as s:
        yield s


def test_turning_on_needs_the_legal_acknowledgement(sandbox, tmp_path, now):
    with convtrack.Tracker(**settings(sandbox, tmp_path, data_controls=False)) as t:
        assert t.controls()["source"] == "settings"
        with pytest.raises(convtrack.InvalidArgumentError) as e:
            t.set_controls(actor="alice", data_controls=True)
        assert e.value.field == "legal_ack"
        assert t.controls()["data_controls"] is False
        c = t.set_controls(actor="alice", data_controls=True, legal_ack=True)
        assert (c["data_controls"], c["legal_ack"], c["changed_by"], c["source"]) == (True, True, "alice", "outbox")
        assert c["history"][0] == {
            "at": c["changed_at"],
            "actor": "alice",
            "data_controls": True,
            "mode": None,
            "legal_ack": True,
            "discarded": 0,
            "in_flight": 0,
        }
        assert abs(c["changed_at"] - time.time()) < 60
        assert t.track(order(1, now))["server"] == "queued"
        assert t.flush(timeout=5)["sent"] == 1
        status = t.status()
        assert status["controls"]["changed_by"] == "alice" and status["data_controls"] is True
        assert TOKEN not in json.dumps(status)
    assert sandbox.stats()["received"] == 1


@pytest.mark.parametrize(
    "kwargs, field",
    [
        ({"actor": ""}, "actor"),
        ({"actor": "x" * 201, "data_controls": False}, "actor"),
        ({"actor": "bob"}, "data_controls"),
        ({"actor": "bob", "mode": "everything"}, "mode"),
    ],
)
def test_a_bad_change_names_the_field(sandbox, tmp_path, kwargs, field):
    with convtrack.Tracker(**settings(sandbox, tmp_path)) as t:
        with pytest.raises(convtrack.InvalidArgumentError) as e:
            t.set_controls(**kwargs)
        assert e.value.field == field
        assert t.controls()["history"] == []


def test_turning_on_without_a_token_names_the_token(tmp_path):
    with convtrack.Tracker(pixel_id="1234567890", outbox_path=str(tmp_path / "o.sqlite3"), sender="manual") as t:
        with pytest.raises(convtrack.SettingsError) as e:
            t.set_controls(actor="alice", data_controls=True, legal_ack=True)
        assert e.value.field == "access_token"


def test_controls_need_an_outbox():
    t = convtrack.Tracker(pixel_id="1234567890")
    with pytest.raises(convtrack.NotConfiguredError) as e:
        t.set_controls(actor="alice", data_controls=False)
    assert e.value.field == "outbox_path"
    assert t.controls()["source"] == "settings"


def test_turning_off_then_flushing_sends_nothing(sandbox, tmp_path, now):
    with convtrack.Tracker(**settings(sandbox, tmp_path)) as t:
        for i in range(3):
            assert t.track(order(i, now))["server"] == "queued"
        c = t.set_controls(actor="alice", data_controls=False)
        assert c["history"][0]["discarded"] == 3
        r = t.track(order(9, now))
        assert (r["server"], r["reason"]) == ("blocked", "data_controls_off")
        report = t.flush(timeout=2)
        assert (report["requests"], report["sent"], report["remaining"]) == (0, 0, 0)
        assert t.status()["counters"]["discarded"] == {"data_controls_off": 3}
    assert sandbox.stats()["requests"] == 0, "the receiver got nothing"


CHILD = textwrap.dedent(
    """
    import json, sys, time
    import convtrack
    settings, start, n = json.loads(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3])
    t = convtrack.Tracker(**settings)
    # One track before the switch, so this process holds the controls it read (a first
    # track would read them fresh and prove nothing about the refresh).
    warm = json.loads(sys.argv[4])
    warm["order_id"] = "child-warm"
    print("ready", t.track(warm)["server"], flush=True)
    sys.stdin.readline()  # the parent has switched
    t0 = time.monotonic()
    for i in range(n):
        e = json.loads(sys.argv[4])
        e["order_id"] = f"child-{i}"
        r = t.track(e)
        if r["server"] == "queued":
            print(json.dumps({"after_s": time.monotonic() - t0, "tries": i + 1}), flush=True)
            break
        time.sleep(0.02)
    else:
        print(json.dumps({"after_s": None}), flush=True)
    """
)


@pytest.mark.parametrize("direction", ["on", "off"])
def test_a_switch_in_one_process_reaches_another_without_a_restart(sandbox, tmp_path, now, direction):
    start_on = direction == "off"
    s = settings(sandbox, tmp_path, data_controls=start_on)
    with convtrack.Tracker(**s) as t:
        child = subprocess.Popen(
            [sys.executable, "-c", CHILD, json.dumps(s), "0", "150", json.dumps(order(0, now))],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            # The child has tracked once under the starting state: blocked while off, queued while on.
            assert child.stdout.readline().split() == ["ready", "queued" if start_on else "blocked"]
            if direction == "on":
                t.set_controls(actor="alice", data_controls=True, legal_ack=True)
            else:
                t.set_controls(actor="alice", data_controls=False)
            child.stdin.write("go\n")
            child.stdin.flush()
            result = json.loads(child.stdout.readline())
        finally:
            child.wait(timeout=30)
        if direction == "on":
            # The child had read "off" and tracked with it; it queues within about a second
            # (its cached controls are read again after at most 500 ms), without a restart.
            assert result["after_s"] is not None and result["after_s"] < 1.5, result
        else:
            assert result["after_s"] is None, "an event was queued after the switch-off"
            assert t.status()["queue"]["depth"] == 0  # the warm-up event was discarded by the switch


def test_dead_letters_listed_retried_and_discarded(sandbox, tmp_path, now):
    with convtrack.Tracker(**settings(sandbox, tmp_path)) as t:
        t.track(order(1, now))
        sandbox.inject("graph_error", count=10, code=100, subcode=2804019)
        t.flush(timeout=5)
        dead = t.dead_letters()
        assert len(dead) == 1
        assert all(set(d) == {"id", "event_name", "event_id", "event_time", "reason", "code", "subcode", "failed_at"} for d in dead)
        sandbox.reset()
        assert t.retry_dead_letters([dead[0]["id"]]) == 1
        assert t.flush(timeout=5)["sent"] == 1
        assert [e["event_id"] for e in sandbox.received()] == [dead[0]["event_id"]]
        remaining = t.dead_letters()
        assert t.discard_dead_letters() == len(remaining)
        assert t.dead_letters() == []
        t.set_controls(actor="alice", data_controls=False)
        with pytest.raises(convtrack.NotConfiguredError):
            t.retry_dead_letters()


def test_consent_hold_and_release_end_to_end(sandbox, tmp_path, now):
    """unknown_consent="hold": stored, not sent; the shopper's answer releases or drops it."""
    with convtrack.Tracker(**settings(sandbox, tmp_path, unknown_consent="hold", hold_ttl=3600)) as t:
        events = [order(i, now, consent={"marketing": "unknown"}) for i in range(3)]
        results = [t.track(e) for e in events]
        assert [r["server"] for r in results] == ["held"] * 3
        assert all(r["reason"] is None for r in results)
        assert t.track(events[0])["server"] == "duplicate"
        assert t.flush(timeout=2)["requests"] == 0
        assert sandbox.stats()["requests"] == 0, "nothing is sent before the answer"
        assert t.status()["queue"]["held"] == 3
        assert t.set_consent([results[0]["event_id"], results[1]["event_id"]], "granted") == 2
        assert t.set_consent([results[2]["event_id"]], "denied") == 1
        assert t.flush(timeout=5)["sent"] == 2
        assert {e["event_id"] for e in sandbox.received()} == {results[0]["event_id"], results[1]["event_id"]}
        assert t.status()["counters"]["hold"] == {"held": 3, "released": 2, "dropped": 1}
        with pytest.raises(convtrack.InvalidArgumentError) as e:
            t.set_consent([results[0]["event_id"]], "maybe")
        assert e.value.field == "marketing"
        with pytest.raises(TypeError):
            t.set_consent(results[0]["event_id"], "granted")  # a bare string is not a list of ids


def test_hold_settings_are_validated(tmp_path):
    for bad in (0, 59, 7 * 86400, "1h"):
        with pytest.raises(convtrack.SettingsError) as e:
            convtrack.Tracker(pixel_id="1234567890", unknown_consent="hold", hold_ttl=bad)
        assert e.value.field == "hold_ttl"
    with pytest.raises(convtrack.SettingsError) as e:
        convtrack.Tracker(pixel_id="1234567890", unknown_consent="later")
    assert e.value.field == "unknown_consent"


def test_count_degraded_is_shared_typed_and_a_no_op_without_an_outbox(sandbox, tmp_path):
    s = settings(sandbox, tmp_path)
    with convtrack.Tracker(**s) as a, convtrack.Tracker(**s) as b:
        a.count_degraded("invalid_value")
        b.count_degraded("invalid_value")
        assert a.status()["counters"]["degraded"] == {"invalid_value": 2}
        for bad in ("", "Invalid", "sentinel.person@example.com", "x" * 65):
            with pytest.raises(convtrack.InvalidArgumentError) as info:
                b.count_degraded(bad)
            assert info.value.field == "reason" and (not bad or bad not in str(info.value))
    with convtrack.Tracker(pixel_id="1234567890") as build_only:
        assert build_only.count_degraded("storage") is None
        assert build_only.status()["counters"] == {}


def test_an_unanswered_hold_expires_after_hold_ttl_and_is_never_sent(sandbox, tmp_path, now):
    import contextlib
    import sqlite3

    s = settings(sandbox, tmp_path, unknown_consent="hold", hold_ttl=60)
    with convtrack.Tracker(**s) as t:
        r = t.track(order(1, now, consent={"marketing": "unknown"}))
        assert r["server"] == "held"
        assert t.flush(timeout=2)["requests"] == 0  # not due yet: still held
        assert t.status()["queue"]["held"] == 1
        # hold_ttl passes: the held row's expiry (ms) moves 61 s back, in the outbox's own file.
        with contextlib.closing(sqlite3.connect(s["outbox_path"])) as db, db:
            moved = db.execute("UPDATE held SET expires_at = expires_at - 61000 WHERE event_id = ?", (r["event_id"],))
            assert moved.rowcount == 1
        report = t.flush(timeout=5)
        assert report["sent"] == 0 and report["requests"] == 0
        st = t.status()
        assert st["queue"]["held"] == 0 and st["queue"]["depth"] == 0
        assert st["counters"]["hold"] == {"held": 1, "expired": 1}
        # A late answer finds nothing to release; nothing ever reaches Meta.
        assert t.set_consent([r["event_id"]], "granted") == 0
        assert t.flush(timeout=2)["sent"] == 0
    assert sandbox.received() == [] and sandbox.stats()["requests"] == 0
