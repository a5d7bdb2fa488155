"""Benchmark (not a test): catalog feed export throughput and peak memory.

    .venv/bin/python benches/feed_bench.py [--sizes 10000 1000000] [--formats xml csv]

Generates products as JSON lines (a third with variants, additional images and
inventory; hostile titles on every 7th), then runs the real CLI
(`python -m convtrack feed`) once per size and format in a child process.
Reports products/s (wall time of the CLI process, including interpreter start)
and the CLI process's peak RSS, measured through a small wrapper process's
RUSAGE_CHILDREN (Linux carries a parent's peak into a forked child's
ru_maxrss, so the measuring parent must be small). Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from typing import Any, Dict, List

WRAPPER = """
import resource, subprocess, sys, time
t0 = time.perf_counter()
code = subprocess.call([sys.executable, "-m", "convtrack", *sys.argv[1:]], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
dt = time.perf_counter() - t0
print(code, dt, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
"""


def product(i: int) -> Dict[str, Any]:
    title = f'Mug "{i}", <b>&</b> ]]> </script>' if i % 7 == 0 else f"Product {i} in blue, size M"
    p: Dict[str, Any] = {
        "id": f"P{i}",
        "sku": f"SKU-{i}",
        "title": title,
        "description": f"A fine product number {i}, with a description of reasonable length for a shop. " * 2,
        "availability": ["in_stock", "out_of_stock", "preorder", "backorder"][i % 4],
        "price": f"{i % 1000}.{i % 100:02d}",
        "currency": "EUR",
        "link": f"https://shop.example/p/{i}",
        "image_link": f"https://shop.example/img/{i}.jpg",
        "brand": "Acme",
        "google_product_category": "Home & Garden > Kitchen & Dining",
    }
    if i % 3 == 0:
        p["item_group_id"] = f"G{i // 3}"
        p["additional_image_links"] = [f"https://shop.example/img/{i}-a.jpg", f"https://shop.example/img/{i}-b.jpg"]
        p["inventory"] = i % 50
    return p


def main(argv: List[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[10_000, 1_000_000])
    ap.add_argument("--formats", nargs="+", default=["xml", "csv"])
    args = ap.parse_args(argv)
    rows = []
    with tempfile.TemporaryDirectory() as d:
        for n in args.sizes:
            src = os.path.join(d, f"products-{n}.jsonl")
            with open(src, "w", encoding="utf-8") as f:
                for start in range(0, n, 10_000):
                    f.write("".join(json.dumps(product(i)) + "\n" for i in range(start, min(start + 10_000, n))))
            size_mb = os.path.getsize(src) / 1e6
            for fmt in args.formats:
                dst = os.path.join(d, f"feed-{n}.{fmt}")
                out = subprocess.run(
                    [sys.executable, "-c", WRAPPER, "feed", src, "-o", dst, "--format", fmt, "--progress", "never"],
                    capture_output=True, text=True, check=True,
                ).stdout.split()
                code, secs, rss = int(out[0]), float(out[1]), int(out[2])
                if code != 0:
                    raise SystemExit(f"convtrack feed exited {code}")
                rows.append((n, fmt, size_mb, secs, n / secs, rss / 1024, os.path.getsize(dst) / 1e6))
                os.remove(dst)
            os.remove(src)
    print("| products | format | input MB | wall s | products/s | peak RSS MiB | feed MB |")
    print("|---:|---|---:|---:|---:|---:|---:|")
    for n, fmt, size_mb, secs, rate, rss, out_mb in rows:
        print(f"| {n:,} | {fmt} | {size_mb:.1f} | {secs:.2f} | {rate:,.0f} | {rss:.1f} | {out_mb:.1f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
