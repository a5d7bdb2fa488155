#!/usr/bin/env bash
# Regenerates the committed C headers from bindings-c/src (lib.rs and the modules it declares) with the pinned cbindgen.
#   scripts/gen-header.sh          write include/convtrack.h and include/convtrack_php.h
#   scripts/gen-header.sh --check  fail if the committed headers differ from a fresh generation
set -euo pipefail
CBINDGEN_VERSION=0.29.4
cd "$(dirname "$0")/.."
if ! cbindgen --version 2>/dev/null | grep -q " $CBINDGEN_VERSION\$"; then
  cargo install cbindgen --version "$CBINDGEN_VERSION" --locked --quiet
fi
out=include
if [ "${1:-}" = "--check" ]; then out=$(mktemp -d); fi
cbindgen --quiet --config bindings-c/cbindgen.toml --crate convtrack-c --output "$out/convtrack.h" bindings-c
cbindgen --quiet --config bindings-c/cbindgen-php.toml --crate convtrack-c --output "$out/convtrack_php.h" bindings-c
if grep -n '^[[:space:]]*#' "$out/convtrack_php.h"; then
  echo "include/convtrack_php.h must not contain preprocessor lines (PHP FFI cannot read them)" >&2
  exit 1
fi
if [ "${1:-}" = "--check" ]; then
  for h in convtrack.h convtrack_php.h; do
    if ! diff -u "include/$h" "$out/$h"; then
      echo "include/$h is out of date: run scripts/gen-header.sh and commit it" >&2
      exit 1
    fi
  done
  echo "headers up to date"
fi
