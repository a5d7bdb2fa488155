"""Measures Celery hand-off cost and end-to-end delivery (prints numbers; asserts nothing
about timing). Run: cd tests/celery && ../../.venv/bin/python bench_celery.py [N]

It uses the same real components as the tests: redis-server on loopback, one
`celery worker --pool=solo` subprocess and the sandbox receiver over HTTP."""

import pathlib
import statistics
import sys
import tempfile
import time

import convtrack
import convtrack.celery as ctc
from convtrack.sandbox import Sandbox

from celery_test_app import make_app
from test_celery import RedisServer, Worker, order, worker_settings, web_settings


def timed_tracks(tracker, n, prefix, now):
    times = []
    for i in range(n):
        t0 = time.perf_counter()
        r = tracker.track(order(f"{prefix}{i}", now))
        times.append(time.perf_counter() - t0)
        assert r["server"] == "queued", r
    return times


def summary(label, times):
    us = sorted(t * 1e6 for t in times)
    p99 = us[min(len(us) - 1, int(len(us) * 0.99))]
    print(f"{label:<44} n={len(us):5d}  mean {statistics.mean(us):8.0f} us  p50 {us[len(us)//2]:8.0f} us  p99 {p99:8.0f} us")


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 300
    now = int(time.time())
    with tempfile.TemporaryDirectory() as d, Sandbox(token="EAAB-CELERY-SENTINEL-TOKEN-7171") as sandbox:
        tmp = pathlib.Path(d)
        broker = RedisServer(tmp).start()
        try:
            ctc.configure(app=make_app(broker.url))
            with convtrack.Tracker(**web_settings(sandbox, tmp, sender="manual", outbox_path=str(tmp / "m.sqlite3"))) as t:
                summary("track(), sender=manual (outbox only)", timed_tracks(t, n, "m", now))
            with convtrack.Tracker(**web_settings(sandbox, tmp)) as t:
                summary("track(), sender=celery (outbox + publish)", timed_tracks(t, n, "c", now))
            worker = Worker(broker.url, worker_settings(sandbox, tmp), tmp / "w.log", "bench")
            t0 = time.perf_counter()
            while sandbox.stats()["unique"] < n:
                time.sleep(0.01)
            dt = time.perf_counter() - t0
            print(f"1 solo worker delivered {n} queued tasks in {dt:.2f} s ({n / dt:.0f} events/s, one request per event)")
            worker.stop()
            broker.stop()
            ctc.configure(holdoff_seconds=0)  # measure every failing publish, not the hold-off
            with convtrack.Tracker(**web_settings(sandbox, tmp, outbox_path=str(tmp / "down.sqlite3"))) as t:
                summary("track(), sender=celery, Redis down", timed_tracks(t, min(n, 50), "d", now))
        finally:
            broker.stop()


if __name__ == "__main__":
    main()
