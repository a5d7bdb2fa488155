#!/usr/bin/env python3
"""Checks that the core's modules depend one way only (docs/architecture.md):

    text, clock, error  <-  normalize, hash  <-  settings  <-  event
        <-  build, catalog  <-  delivery  <-  tracker

A module may use its own layer's code or a lower layer's, never a higher one's.
Run from the repository root; exits 1 and names each upward use."""

import pathlib
import re
import sys

LAYERS = [
    {"text", "clock", "error"},
    {"normalize", "hash"},
    {"settings"},
    {"event"},
    {"build", "catalog"},
    {"delivery"},
    {"tracker"},
]
RANK = {m: i for i, layer in enumerate(LAYERS) for m in layer}
SRC = pathlib.Path("core/src")
USE = re.compile(r"\bcrate::([a-z_]+)")


def module_of(path: pathlib.Path) -> str:
    first = path.relative_to(SRC).parts[0]
    return first.removesuffix(".rs")


def main() -> int:
    bad = []
    for path in sorted(SRC.rglob("*.rs")):
        if path.name == "lib.rs" and path.parent == SRC:
            continue
        own = module_of(path)
        if own not in RANK:
            bad.append(f"{path}: module '{own}' has no layer; add it to scripts/layers.py")
            continue
        text = path.read_text()
        # Unit tests may reach anywhere (they build fixtures); the code may not.
        code = text.split("#[cfg(test)]")[0]
        for n, line in enumerate(code.splitlines(), 1):
            for used in USE.findall(line):
                if used in RANK and RANK[used] > RANK[own]:
                    bad.append(f"{path}:{n}: {own} uses {used}, a higher layer")
    for b in bad:
        print(b)
    if not bad:
        print(f"layers: ok ({sum(1 for _ in SRC.rglob('*.rs'))} files)")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
