"""Benchmark (not a test): track() latency with the durable outbox, and delivery
throughput to the sandbox receiver over real HTTP on loopback.

    .venv/bin/python benches/track_bench.py [--events 5000]

Prints the track() latency distribution next to build() measured in the same
run (the peer: the same work without the durable enqueue), then the delivery
throughput in events/s.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from typing import Any, Dict, List

import convtrack
from convtrack.sandbox import Sandbox

PIXEL = "1234567890"
TOKEN = "bench-token"


def event(i: int, now: int) -> Dict[str, Any]:
    return {
        "event_name": "Purchase",
        "event_time": now - 60,
        "order_id": f"bench-{i}",
        "event_source_url": "https://shop.example/checkout/thanks",
        "currency": "EUR",
        "value": "59.90",
        "items": [{"id": f"SKU-{k}", "quantity": 1, "price": "11.98"} for k in range(5)],
        "customer": {
            "email": f"customer{i}@example.com",
            "phone": "+44 20 7183 8750",
            "first_name": "Jane",
            "last_name": "Doe",
            "city": "London",
            "zip": "SW1A 1AA",
            "country": "GB",
            "external_id": f"cust-{i}",
        },
        "browser": {"ip": "203.0.113.7", "user_agent": "Mozilla/5.0", "fbp": "fb.1.1732780000000.1"},
        "consent": {"marketing": "granted"},
    }


def pct(xs: List[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--events", type=int, default=5000)
    args = ap.parse_args()
    n = args.events
    now = int(time.time())
    events = [event(i, now) for i in range(n)]
    with tempfile.TemporaryDirectory() as tmp, Sandbox(token=TOKEN) as sandbox:
        t = convtrack.Tracker(
            pixel_id=PIXEL, access_token=TOKEN, data_controls=True, endpoint=sandbox.url,
            outbox_path=f"{tmp}/outbox.sqlite3", sender="manual",
        )
        # Warm up both paths (phone metadata, SQLite pages).
        for e in events[:50]:
            t.build(e)
        track_us: List[float] = []
        build_us: List[float] = []
        # Alternate build and track on the same events so machine noise hits both.
        for e in events:
            t0 = time.perf_counter()
            t.build(e)
            t1 = time.perf_counter()
            t.track(e)
            t2 = time.perf_counter()
            build_us.append((t1 - t0) * 1e6)
            track_us.append((t2 - t1) * 1e6)
        t3 = time.perf_counter()
        report = t.flush(timeout=120)
        t4 = time.perf_counter()
        st = t.status()
        t.close()
        received = sandbox.stats()["received"]
    print(f"events: {n}  (Python {__import__('sys').version.split()[0]}, convtrack {convtrack.__version__})")
    print(f"{'':24}{'median µs':>12}{'p99 µs':>12}{'max µs':>12}")
    for name, xs in (("build() (no I/O)", build_us), ("track() (durable)", track_us)):
        print(f"{name:24}{statistics.median(xs):12.1f}{pct(xs, 99):12.1f}{max(xs):12.1f}")
    print(f"ratio track/build median: {statistics.median(track_us) / statistics.median(build_us):.2f}")
    secs = t4 - t3
    print(f"delivery: {report['sent']} events in {report['requests']} requests, {secs:.2f} s "
          f"= {report['sent'] / secs:,.0f} events/s to the sandbox (received {received}, remaining {report['remaining']})")
    assert st["counters"]["sent"] == n


if __name__ == "__main__":
    main()
