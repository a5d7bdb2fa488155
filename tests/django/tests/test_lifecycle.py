"""The process-wide tracker: one per process, created lazily from any thread, the default
background sender delivers, and a process exits cleanly with it running."""

import json
import os
import pathlib
import subprocess
import sys
import threading
import time


from convtrack.django import conf, get_tracker, track_order

from helpers import UA

PROJECT = pathlib.Path(__file__).resolve().parents[1]


def test_one_tracker_for_all_threads(convtrack_settings):
    conf.close_tracker()
    seen, barrier = [], threading.Barrier(8)

    def grab():
        barrier.wait()
        seen.append(get_tracker())

    threads = [threading.Thread(target=grab) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(seen) == 8 and all(t is seen[0] for t in seen)


def test_default_thread_sender_delivers_without_flush(settings, convtrack_settings, sandbox):
    settings.CONVTRACK = dict(convtrack_settings, sender="thread", flush_interval_ms=50)
    result = track_order({"order_id": "bg-1", "currency": "EUR", "value": "1.00",
                          "event_source_url": "https://shop.example/thanks"},
                         browser={"user_agent": UA}, consent="granted")
    deadline = time.monotonic() + 30  # a bound against hanging, not a timing assertion
    while not sandbox.received() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert [e["event_id"] for e in sandbox.received()] == [result["event_id"]]


def test_process_exits_cleanly_with_the_background_sender(tmp_path, sandbox):
    config = {"pixel_id": "1234567890", "access_token": "sandbox-token", "data_controls": True,
              "endpoint": sandbox.url, "outbox_path": str(tmp_path / "o.sqlite3")}
    code = ("from convtrack.django import track_order; "
            "r = track_order({'order_id': 'exit-1', 'currency': 'EUR', 'value': '2.00', "
            "'event_source_url': 'https://shop.example/t'}, browser={'user_agent': 'UA'}, consent='granted'); "
            "print(); print(r['event_id'], r['server'])")
    env = dict(os.environ, SHOP_CONVTRACK=json.dumps(config))
    out = subprocess.run([sys.executable, "manage.py", "shell", "-c", code], cwd=PROJECT, env=env,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    event_id, server = out.stdout.split()[-2:]
    assert server == "queued"
    # Nothing lost: either the sender delivered before exit, or the event is still in the outbox.
    import convtrack
    with convtrack.Tracker(**config, sender="manual") as t:
        t.flush(5.0)
        st = t.status()
    assert st["queue"]["depth"] == 0
    assert [e["event_id"] for e in sandbox.received()] == [event_id]


def test_startup_warm_up_follows_the_setting(settings, convtrack_settings, monkeypatch):
    # AppConfig.ready() calls conf.warm_up(): the phone metadata is loaded at startup
    # (once per process) unless CONVTRACK["warm_up"] is False.
    import convtrack
    from django.apps import apps

    calls = []
    monkeypatch.setattr(convtrack, "warm_up", lambda: calls.append(1))
    for value, expected in ((None, 1), (True, 1), (False, 0), ("yes", 0)):
        calls.clear()
        settings.CONVTRACK = dict(convtrack_settings) if value is None else dict(convtrack_settings, warm_up=value)
        apps.get_app_config("convtrack").ready()
        assert len(calls) == expected, value
    assert "warm_up" not in conf.tracker_settings()  # a Django-side option, not a tracker setting
