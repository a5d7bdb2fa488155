"""PII and token leak scan: sentinel personal data and a sentinel token go
through every path (success, every error, retries, dead letters, a pause,
status, debug logs, reprs, the outbox file, what the receiver got), and then
everything that came out is searched for the raw sentinels. Zero hits allowed."""

import json
import logging
import pathlib

import pytest

import convtrack
from convtrack.sandbox import Sandbox
from conftest import PIXEL

TOKEN = "EAAB-SENTINEL-TOKEN-4242"
PII = {
    "email": "Sentinel.Leak@Example.com",
    "phone": "(650) 555-0199",
    "first_name": "Sentinelfirst",
    "last_name": "Sentinellast",
    "city": "Sentinelcity",
    "zip": "99999-1234",
    "external_id": "sentinel-ext-4242",
    "date_of_birth": "1971-04-13",
}
# What must never appear, in any case: raw values and their normalized (unhashed) forms.
NEEDLES = [
    TOKEN, "sentinel.leak", "Sentinel.Leak", "555-0199", "5550199", "sentinelfirst", "Sentinelfirst",
    "sentinellast", "sentinelcity", "99999", "sentinel-ext-4242", "19710413", "1971-04-13",
]


def event(now, **over):
    e = {
        "event_name": "Purchase", "event_time": now - 60, "order_id": "leak-1",
        "event_source_url": "https://shop.example/t", "currency": "USD", "value": "10.00",
        "customer": dict(PII, country="US"),
        "browser": {"user_agent": "Mozilla/5.0", "ip": "203.0.113.7"},
        "consent": {"marketing": "granted"},
    }
    e.update(over)
    return e


def scan(blobs):
    hits = []
    for name, blob in blobs:
        text = blob if isinstance(blob, str) else blob.decode("utf-8", "replace")
        low = text.lower()
        for needle in NEEDLES:
            if needle.lower() in low:
                hits.append((name, needle))
    return hits


def test_no_sentinel_leaks_anywhere(tmp_path, now, caplog, capfd):
    caplog.set_level(logging.DEBUG)
    out = []
    with Sandbox(token=TOKEN) as sandbox:
        settings = {
            "pixel_id": PIXEL, "access_token": TOKEN, "data_controls": True, "endpoint": sandbox.url,
            "outbox_path": str(tmp_path / "outbox.sqlite3"), "sender": "manual",
            "retry_base_ms": 1, "retry_max_ms": 5, "request_timeout_ms": 500,
        }
        t = convtrack.Tracker(**settings)
        out.append(("repr", repr(t)))
        out.append(("settings", json.dumps(t.settings)))
        out.append(("build", json.dumps(t.build(event(now)))))
        # Retries (5xx, drop, malformed), then success.
        sandbox.inject("status", count=1, status=500)
        sandbox.inject("drop", count=1)
        sandbox.inject("malformed", count=1)
        out.append(("track", json.dumps(t.track(event(now)))))
        out.append(("flush-retries", json.dumps(t.flush(timeout=5))))
        # A dead letter (invalid event) and a pause (bad token answer).
        t.track(event(now, order_id="leak-2"))
        sandbox.inject("graph_error", count=5, code=100, subcode=2804019)
        out.append(("flush-dead-letter", json.dumps(t.flush(timeout=5))))
        t.track(event(now, order_id="leak-3"))
        sandbox.inject("graph_error", count=1, code=190, status=401)
        out.append(("flush-pause", json.dumps(t.flush(timeout=5))))
        out.append(("status", json.dumps(t.status())))
        # Every kind of error, with sentinel values in the offending places.
        bad_events = [
            event(now, value=PII["email"]),
            event(now, customer={"emial": PII["email"]}),
            event(now, customer={"email": {"x": PII["email"]}}),
            event(now, customer={"phone": [PII["phone"], 12.5]}),
            event(now, browser={"ip": PII["email"], "user_agent": "UA"}),
            event(now, order_id=PII["email"] + "\x00"),
            event(now, event_id=PII["external_id"]),
            event(now, items=[{"id": PII["first_name"], "quantity": -1}]),
            event(now, event_time=1),
            {PII["email"]: PII["phone"]},
            [PII["email"]],
        ]
        for i, bad in enumerate(bad_events):
            with pytest.raises(convtrack.ConvtrackError) as info:
                t.track(bad)
            out.append((f"error-{i}", f"{info.value!r} {info.value} {info.value.field} {info.value.args}"))
        for bad_settings in [dict(settings, access_token=TOKEN + " x"), dict(settings, pixel_id=TOKEN)]:
            with pytest.raises(convtrack.SettingsError) as info:
                convtrack.Tracker(**bad_settings)
            out.append(("settings-error", f"{info.value!r} {info.value}"))
        with pytest.raises(convtrack.ConvtrackError) as info:
            convtrack.normalize("emial", PII["email"])
        out.append(("normalize-error", str(info.value)))
        t.close()
        out.append(("sandbox-received", json.dumps(sandbox.received())))
        out.append(("sandbox-requests", json.dumps(sandbox.requests())))
    for f in pathlib.Path(tmp_path).glob("outbox.sqlite3*"):
        out.append((f.name, f.read_bytes()))
    out.append(("logs", "\n".join(f"{r.name} {r.levelname} {r.getMessage()}" for r in caplog.records)))
    captured = capfd.readouterr()
    out.append(("stdout", captured.out))
    out.append(("stderr", captured.err))
    assert any(r.name.startswith("convtrack") for r in caplog.records), "debug logs were produced and scanned"
    assert scan(out) == []
    # The scan itself can fail: the sentinels are findable where they legitimately are.
    assert scan([("input", json.dumps(event(now)))]) != []
