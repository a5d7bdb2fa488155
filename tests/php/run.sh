#!/usr/bin/env bash
# Runs the PHP FFI test against the debug build of the C ABI. Needs php-cli with FFI
# (Debian's php-cli has it; `make deps` installs it).
set -euo pipefail
cd "$(dirname "$0")/../.."
target=${CARGO_TARGET_DIR:-target}
cargo build --quiet -p convtrack-c
php -d ffi.enable=1 tests/php/ffi_test.php "$(cd "$target/debug" && pwd)/libconvtrack.so"
