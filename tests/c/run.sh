#!/usr/bin/env bash
# Builds the C ABI and runs the C tests under AddressSanitizer + UBSan (leak checks on).
set -euo pipefail
cd "$(dirname "$0")/../.."
target=${CARGO_TARGET_DIR:-target}
cargo build --quiet -p convtrack-c
lib="$target/debug"
out=tests/c/build
mkdir -p "$out"
# The header must also compile as C++ (cpp_compat).
printf '#include "convtrack.h"\nint main(){return convtrack_version()==nullptr;}\n' > "$out/cpp_check.cpp"
g++ -std=c++17 -Wall -Wextra -Werror -Iinclude -fsyntax-only "$out/cpp_check.cpp"
gcc -std=c11 -Wall -Wextra -Werror -pedantic -g -fno-omit-frame-pointer -fsanitize=address,undefined \
    -Iinclude tests/c/test_abi.c -o "$out/test_abi" -L"$lib" -lconvtrack -Wl,-rpath,"$(cd "$lib" && pwd)" -lpthread
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:halt_on_error=1 \
UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
    "$out/test_abi" tests/vectors/event_ids.json
