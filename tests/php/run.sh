#!/usr/bin/env bash
# Runs the PHP FFI test against the debug build of the C ABI, with the sandbox
# receiver (from the Python package in .venv) on loopback. Needs php-cli with FFI
# (Debian's php-cli has it; `make deps` installs it).
set -euo pipefail
cd "$(dirname "$0")/../.."
target=${CARGO_TARGET_DIR:-target}
lib_dir=${CONVTRACK_LIB_DIR:-}
if [ -z "$lib_dir" ]; then
  cargo build --quiet -p convtrack-c
  lib_dir="$target/debug"
fi
py=${PYTHON:-.venv/bin/python}
out=$(mktemp)
"$py" -m convtrack.sandbox --port 0 --token sandbox-token >"$out" 2>/dev/null &
sandbox_pid=$!
trap 'kill $sandbox_pid 2>/dev/null || true; rm -f "$out"' EXIT
for _ in $(seq 100); do [ -s "$out" ] && break; sleep 0.05; done
export CONVTRACK_SANDBOX_URL=$(head -1 "$out")
php -d ffi.enable=1 tests/php/ffi_test.php "$(cd "$lib_dir" && pwd)/libconvtrack.so"
