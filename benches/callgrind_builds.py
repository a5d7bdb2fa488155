"""Benchmark (not a test): instructions per Python `build()` call, counted by callgrind.

Instruction counts do not depend on what else the machine is doing, so two builds of the
extension can be compared on a busy host. Each build is installed into its own directory
(`pip install --no-deps --target DIR convtrack-*.whl`); for each directory and mode this
runs the same loop twice under `valgrind --tool=callgrind` (0 and N builds) and prints the
difference divided by N: the cost of one `build()` including the Python call.

    .venv/bin/python benches/callgrind_builds.py /tmp/A /tmp/B [--n 1000]
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile

LOOP = r"""
import glob, importlib.util, os, sys
sys.path.insert(0, sys.argv[4])
import sdk_compare
d, mode, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
(path,) = glob.glob(os.path.join(d, "convtrack", "_convtrack*.so"))
spec = importlib.util.spec_from_file_location("cg._convtrack", path)
m = importlib.util.module_from_spec(spec)
spec.loader.exec_module(m)
m.warm_up()
t = m.Tracker(pixel_id=sdk_compare.PIXEL, access_token="t", data_controls=True, sender="manual")
kw = {"server_only": dict(payload="json", server_only=True), "json": dict(payload="json"), "dict": {}}[mode]
for _ in range(50):
    t.build(sdk_compare.EVENT, **kw)
for _ in range(n):
    t.build(sdk_compare.EVENT, **kw)
"""

MODES = ("server_only", "json", "dict")


def instructions(directory: str, mode: str, n: int) -> int:
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "cg.out")
        run = subprocess.run(
            ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", sys.executable, "-c", LOOP,
             directory, mode, str(n), os.path.dirname(os.path.abspath(__file__))],
            capture_output=True, text=True, check=True,
        )
    match = re.search(r"Collected : (\d+)", run.stderr)
    assert match, run.stderr[-2000:]
    return int(match.group(1))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("dirs", nargs="+")
    ap.add_argument("--n", type=int, default=1000)
    args = ap.parse_args()
    for mode in MODES:
        for d in args.dirs:
            per_build = (instructions(d, mode, args.n) - instructions(d, mode, 0)) / args.n
            print(f"{mode:12} {d:30} {per_build:9.0f} instructions per build()")


if __name__ == "__main__":
    main()
