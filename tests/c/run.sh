#!/usr/bin/env bash
# Builds the C ABI and runs the C tests under AddressSanitizer + UBSan (leak checks on):
#   tests/c/test_abi.c        ABI tests including delivery (track/flush/status)
#   tests/c/test_convtrack.c  the C ABI contract, check by check (one line per check)
#   tests/c/test_feed.c       catalog feed export / check through the C ABI (hostile products)
#   tests/c/test_boundary.c   the ABI's own edges: lengths above PTRDIFF_MAX, NULL/empty pairs,
#                             calls from a pthread-key destructor (thread exit)
#   tests/c/test_sources.c    issue 17: action_source, value fields, crawlers, advanced matching
# Also proves the header compiles as C++ (cpp_compat) and as strict C11 on its own.
#
#   bash tests/c/run.sh                                  # cargo build -p convtrack-c (debug)
#   CONVTRACK_PROFILE=release bash tests/c/run.sh        # cargo build --release
#   CONVTRACK_LIB_DIR=/dir/with/libconvtrack bash tests/c/run.sh   # no cargo build
# CARGO_TARGET_DIR is respected; CC / CXX default to gcc / g++.
set -euo pipefail
cd "$(dirname "$0")/../.."
CC=${CC:-gcc}
CXX=${CXX:-g++}
if [[ -n "${CONVTRACK_LIB_DIR:-}" ]]; then
    lib="$CONVTRACK_LIB_DIR"
else
    target=${CARGO_TARGET_DIR:-target}
    profile=${CONVTRACK_PROFILE:-debug}
    if [[ "$profile" == release ]]; then
        cargo build --quiet -p convtrack-c --release
    else
        cargo build --quiet -p convtrack-c
    fi
    lib="$target/$profile"
fi
lib="$(cd "$lib" && pwd)"
out=tests/c/build
mkdir -p "$out"
# The header must also compile as C++ (cpp_compat) and as strict C on its own, twice (include guard).
printf '#include "convtrack.h"\nint main(){return convtrack_version()==nullptr;}\n' > "$out/cpp_check.cpp"
"$CXX" -std=c++17 -Wall -Wextra -Werror -Iinclude -fsyntax-only "$out/cpp_check.cpp"
printf '#include "convtrack.h"\n#include "convtrack.h"\nint main(void){return convtrack_version()==0;}\n' > "$out/c_check.c"
"$CC" -std=c11 -Wall -Wextra -Werror -pedantic -Iinclude -fsyntax-only "$out/c_check.c"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:halt_on_error=1
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
for t in test_abi test_convtrack test_feed test_boundary test_sources; do
    "$CC" -std=c11 -Wall -Wextra -Werror -pedantic -g -fno-omit-frame-pointer -fsanitize=address,undefined \
        -fno-sanitize-recover=undefined -Iinclude "tests/c/$t.c" -o "$out/$t" \
        -L"$lib" -lconvtrack -Wl,-rpath,"$lib" -lpthread
    echo "== $t"
    "$out/$t" tests/vectors/event_ids.json
done
# The README's minimal example (bindings-c/examples/minimal.c) still compiles with its documented line and runs.
echo "== examples/minimal.c"
cc bindings-c/examples/minimal.c -Iinclude -L"$lib" -lconvtrack -Wl,-rpath,"$lib" -o "$out/minimal"
"$out/minimal" | grep -q '"event_id":"ct1-' && echo "minimal example ok"
