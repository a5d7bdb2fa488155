#!/usr/bin/env bash
# Runs the C ABI tests (test_abi, test_convtrack, test_sources, test_cookies) once under valgrind (no ASan): zero memory errors and zero
# definite/indirect leaks. "Possibly lost" blocks are process-wide caches that live
# until exit by design (the phone-number metadata database, lazily built once), so
# they are reported but not counted as errors.
set -euo pipefail
cd "$(dirname "$0")/../.."
command -v valgrind >/dev/null || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq valgrind >/dev/null)
target=${CARGO_TARGET_DIR:-target}
cargo build --quiet -p convtrack-c
lib="$(cd "$target/debug" && pwd)"
mkdir -p tests/c/build
status=0
for t in test_abi test_convtrack test_sources test_cookies; do
    gcc -std=c11 -Wall -Wextra -Werror -g -O1 -Iinclude "tests/c/$t.c" -o "tests/c/build/${t}_valgrind" \
        -L"$lib" -lconvtrack -Wl,-rpath,"$lib" -lpthread
    echo "== $t"
    valgrind --error-exitcode=1 --leak-check=full --errors-for-leak-kinds=definite,indirect \
        --show-leak-kinds=definite,indirect "tests/c/build/${t}_valgrind" tests/vectors/event_ids.json 2>&1 \
      | grep -E "ERROR SUMMARY|definitely lost|indirectly lost|possibly lost|Invalid|uninitialised|passed"
    [[ "${PIPESTATUS[0]}" == 0 ]] || status=1
done
exit "$status"
