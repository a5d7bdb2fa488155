"""Benchmark (not a test): compare builds of the extension in one process.

Each build is installed into its own directory with `pip install --no-deps --target DIR
convtrack-*.whl`; this script loads the `_convtrack` extension of each under its own module
name, side by side, and alternates them (15 rounds of 3000 `build()` calls each), so host
noise hits every build alike. Used for the small steps in docs/benchmarks.md.

    .venv/bin/python benches/ab_builds.py /tmp/A /tmp/B [--server-only]
"""

from __future__ import annotations

import argparse
import glob
import importlib.util
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
import sdk_compare  # noqa: E402  (the benchmark's event)


def load(tag: str, directory: str):
    (path,) = glob.glob(os.path.join(directory, "convtrack", "_convtrack*.so"))
    spec = importlib.util.spec_from_file_location(f"build{tag}._convtrack", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("dirs", nargs="+")
    ap.add_argument("--server-only", action="store_true")
    ap.add_argument("--rounds", type=int, default=15)
    ap.add_argument("--n", type=int, default=3000)
    args = ap.parse_args()
    calls = {}
    for i, directory in enumerate(args.dirs):
        m = load(str(i), directory)
        m.warm_up()
        t = m.Tracker(pixel_id=sdk_compare.PIXEL, access_token="t", data_controls=True, sender="manual")
        calls[directory] = lambda t=t: t.build(sdk_compare.EVENT, payload="json", server_only=args.server_only)
    payloads = {d: f()["payload"] for d, f in calls.items()}
    assert len(set(payloads.values())) == 1, "the builds disagree on the payload"
    times = {d: [] for d in calls}
    for _ in range(args.rounds):
        for d, f in calls.items():
            t0 = time.perf_counter()
            for _ in range(args.n):
                f()
            times[d].append((time.perf_counter() - t0) / args.n * 1e6)
    for d, xs in times.items():
        print(f"{d:30} best {min(xs):.3f} µs  median {statistics.median(xs):.3f} µs")


if __name__ == "__main__":
    main()
