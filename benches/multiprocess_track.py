"""Benchmark (not a test): track() latency with many worker processes on one outbox,
as gunicorn, uwsgi or php-fpm run a shop.

    .venv/bin/python benches/multiprocess_track.py [--procs 1,2,4,8,16] [--events 1500]

For each N, N processes (started together behind a barrier) each track `--events`
Purchases into one shared outbox file, while one more process runs the background
sender thread against the sandbox receiver, as in production. Prints per N the
median, p99, p99.9 and max of track(), the total throughput, and each figure's ratio
to the single process of the same run (the peer). At the end it checks that every
event reached the sandbox exactly once (nothing lost, nothing doubled).
"""

from __future__ import annotations

import argparse
import gc
import http.server
import json
import multiprocessing as mp
import random
import statistics
import sys
import re
import tempfile
import threading
import time
from typing import Any, Dict, List, Tuple

import convtrack
from convtrack.sandbox import Sandbox

sys.path.insert(0, __import__("os").path.dirname(__file__))
from track_bench import event, pct  # noqa: E402

PIXEL = "1234567890"
TOKEN = "bench-token"


GC_FREEZE = False
OWN_OUTBOX = False
ARRIVALS = "lockstep"


def settings(outbox: str, url: str, sender: str) -> Dict[str, Any]:
    return dict(pixel_id=PIXEL, access_token=TOKEN, data_controls=True, endpoint=url, outbox_path=outbox, sender=sender,
                flush_interval_ms=200)


def worker(base: int, k: int, n: int, rate: float, outbox: str, url: str, now: int, barrier: Any, out: Any) -> None:
    t = convtrack.Tracker(**settings(outbox, url, "manual"))
    # Order ids differ across processes and runs: each event is one distinct order.
    events = [event(base + k * 1_000_000 + i, now) for i in range(n)]
    for e in events[:20]:
        t.build(e)  # warm up (phone metadata, code paths), nothing stored
    if GC_FREEZE:
        # What a pre-forking server does after loading the app: the long-lived objects
        # (here the prepared events) leave the collector's generations, so a collection
        # that falls inside a timed track() only walks what that call allocated.
        gc.collect()
        gc.freeze()
    barrier.wait()
    lat: List[float] = []
    # Paced arrivals: "lockstep" has every process track at the same instants (a burst
    # of N checkouts every 1/rate s, the worst case for a 2-core machine); "poisson" has
    # each process's checkouts arrive independently at random (exponential gaps with
    # mean 1/rate), as independent shoppers do.
    gaps = random.Random(base + k)
    t0 = time.perf_counter()
    due = t0
    for e in events:
        if rate:
            # Only the track() call is timed.
            due += gaps.expovariate(rate) if ARRIVALS == "poisson" else 1 / rate
            pause = due - time.perf_counter()
            if pause > 0:
                time.sleep(pause)
        a = time.perf_counter()
        t.track(e)
        lat.append((time.perf_counter() - a) * 1e6)
    out.put((lat, time.perf_counter() - t0))
    t.close()


class LightReceiver:
    """--receiver light: answers every batch as Meta does ({"events_received": n}) and
    records its event ids, without the sandbox's validation. In production the receiver
    is Meta's, on other machines; the sandbox parses and checks every event in Python on
    this same 2-core machine, and that CPU would otherwise count against the workers."""

    EVENT_ID = re.compile(rb'"event_id":"([^"]+)"')

    def __init__(self) -> None:
        ids: List[bytes] = []
        self.ids = ids

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                got = LightReceiver.EVENT_ID.findall(body)
                ids.extend(got)
                answer = json.dumps({"events_received": len(got), "messages": [], "fbtrace_id": "light"}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def __enter__(self) -> "LightReceiver":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.server.shutdown()

    def stats(self) -> Dict[str, int]:
        return {"received": len(self.ids), "unique": len(set(self.ids))}


def sender_proc(outbox: str, url: str, stop: Any) -> None:
    t = convtrack.Tracker(**settings(outbox, url, "thread"))
    stop.wait()
    t.close()


def run(nprocs: int, n: int, rate: float, url: str, tmp: str, with_sender: bool) -> Tuple[List[float], float, str]:
    ctx = mp.get_context("fork")
    outbox = f"{tmp}/outbox-{nprocs}-{int(with_sender)}.sqlite3"
    now = int(time.time())
    barrier = ctx.Barrier(nprocs)
    out = ctx.Queue()
    stop = ctx.Event()
    # The control run (--outbox-per-process): each worker its own file, so no lock is
    # shared and what is left of the slowdown is the CPU, not the outbox.
    paths = [f"{outbox}.{k}" if OWN_OUTBOX else outbox for k in range(nprocs)]
    # Create the files first, so that no worker's timing includes creating the schema.
    for path in set(paths):
        convtrack.Tracker(**settings(path, url, "manual")).close()
    sender = ctx.Process(target=sender_proc, args=(outbox, url, stop)) if with_sender else None
    if sender:
        sender.start()
    procs = [ctx.Process(target=worker, args=(nprocs * 100_000_000, k, n, rate, paths[k], url, now, barrier, out))
             for k in range(nprocs)]
    start = time.perf_counter()
    for p in procs:
        p.start()
    results = [out.get(timeout=600) for _ in procs]
    wall = max(r[1] for r in results)
    for p in procs:
        p.join()
    del start
    stop.set()
    if sender:
        sender.join()
    lat = [x for r in results for x in r[0]]
    return lat, nprocs * n / wall, outbox


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--procs", default="1,2,4,8,16")
    ap.add_argument("--events", type=int, default=1500, help="events per process")
    ap.add_argument("--rate", type=float, default=0.0,
                    help="events/s per process (default 0: each process tracks back to back, saturating the CPU)")
    ap.add_argument("--no-sender", action="store_true", help="no background sender process")
    ap.add_argument("--arrivals", choices=["lockstep", "poisson"], default="lockstep",
                    help="with --rate: every process at the same instants (default), or independent random arrivals")
    ap.add_argument("--outbox-per-process", action="store_true",
                    help="control: each worker tracks into its own outbox (no shared lock); needs --no-sender")
    ap.add_argument("--gc-freeze", action="store_true",
                    help="gc.freeze() in each worker after preparing its events (as gunicorn --preload apps do)")
    ap.add_argument("--receiver", choices=["sandbox", "light"], default="sandbox",
                    help="who stands in for Meta: the sandbox (validates every event, in this process) or a light "
                         "receiver that only records the event ids (Meta's parsing is not on the shop's machine)")
    args = ap.parse_args()
    global GC_FREEZE, ARRIVALS, OWN_OUTBOX
    GC_FREEZE = args.gc_freeze
    OWN_OUTBOX = args.outbox_per_process
    if OWN_OUTBOX and not args.no_sender:
        ap.error("--outbox-per-process is a control run: use it with --no-sender")
    ARRIVALS = args.arrivals
    counts = [int(x) for x in args.procs.split(",")]
    if counts[0] != 1:
        counts = [1] + counts
    print(f"track() with N processes on one outbox, {args.events} Purchases each "
          f"(Python {sys.version.split()[0]}, convtrack {convtrack.__version__}, {mp.cpu_count()} cores"
          f"{', sender thread in one more process' if not args.no_sender else ''}"
          f"{f', paced at {args.rate:g} events/s per process, {args.arrivals} arrivals' if args.rate else ', back to back'}"
          f"{', gc.freeze()' if args.gc_freeze else ''}"
          f"{', light receiver' if args.receiver == 'light' else ''})")
    print(f"{'N':>3}{'median µs':>11}{'p99 µs':>10}{'p99.9 µs':>10}{'max µs':>10}{'events/s':>10}   vs N=1: p99, max, throughput")
    rows: Dict[int, Tuple[float, float, float, float, float]] = {}
    total = 0
    receiver = LightReceiver() if args.receiver == "light" else Sandbox(token=TOKEN)
    with tempfile.TemporaryDirectory() as tmp, receiver as sandbox:
        for nprocs in counts:
            lat, tput, _ = run(nprocs, args.events, args.rate, sandbox.url, tmp, not args.no_sender)
            total += nprocs * args.events
            row = (statistics.median(lat), pct(lat, 99), pct(lat, 99.9), max(lat), tput)
            rows[nprocs] = row
            base = rows[1]
            print(f"{nprocs:>3}{row[0]:>11.1f}{row[1]:>10.1f}{row[2]:>10.1f}{row[3]:>10.1f}{row[4]:>10.0f}"
                  f"   {row[1] / base[1]:5.1f}× {row[3] / base[3]:6.1f}× {row[4] / base[4]:5.2f}×", flush=True)
        if not args.no_sender:
            # Deliver what the sender thread had not sent yet, then check: every event once.
            for nprocs in counts:
                t = convtrack.Tracker(**settings(f"{tmp}/outbox-{nprocs}-1.sqlite3", sandbox.url, "manual"))
                t.flush(timeout=120)
                t.close()
            st = sandbox.stats()
            print(f"delivered: {st['received']} events, {st['unique']} distinct, of {total} tracked")
            assert st["received"] == st["unique"] == total, f"lost or doubled events: {st}"


if __name__ == "__main__":
    main()
