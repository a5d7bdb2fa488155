#!/usr/bin/env bash
# Bounded fuzzing of convtrack (cargo-fuzz / libFuzzer, AddressSanitizer).
#
#   scripts/fuzz.sh [SECONDS_PER_TARGET]     (default 20)
#
# 1. installs cargo-fuzz (pinned, --locked) if it is missing or another version;
# 2. builds every target in fuzz/ (release, debug assertions and overflow checks on,
#    -s address);
# 3. per target: replays fuzz/regressions/<target>/* (inputs that crashed before),
#    then fuzzes for SECONDS_PER_TARGET from the seed corpus, growing a scratch
#    corpus in fuzz/work/ (git-ignored);
# 4. prints the exec count per target and one summary line; exits 1 if any
#    regression input or new input crashed (artifacts in fuzz/artifacts/<target>/).
#
# Stable Rust only: cargo-fuzz passes nightly flags (-Zsanitizer=address,
# -Cpasses=sancov-module ...), which a stable rustc accepts with RUSTC_BOOTSTRAP=1.
# Env: FUZZ_TARGETS="a b" to run a subset; FUZZ_ARGS="..." extra libFuzzer flags.
set -uo pipefail

CARGO_FUZZ_VERSION=0.13.2
SECONDS_PER_TARGET="${1:-20}"
case "$SECONDS_PER_TARGET" in
    ''|*[!0-9]*) echo "usage: $0 [SECONDS_PER_TARGET]" >&2; exit 2 ;;
esac

cd "$(dirname "$0")/.."
export RUSTC_BOOTSTRAP=1
TRIPLE=x86_64-unknown-linux-gnu
TARGETS="${FUZZ_TARGETS:-event_json normalize c_abi catalog track_outbox}"

if [ "$(cargo fuzz --version 2>/dev/null)" != "cargo-fuzz $CARGO_FUZZ_VERSION" ]; then
    echo "== installing cargo-fuzz $CARGO_FUZZ_VERSION"
    cargo install cargo-fuzz --version "$CARGO_FUZZ_VERSION" --locked || exit 1
fi

echo "== building fuzz targets"
build_start=$(date +%s)
cargo fuzz build --sanitizer address || { echo "fuzz: build failed" >&2; exit 1; }
echo "== built in $(( $(date +%s) - build_start )) s"

mkdir -p fuzz/work
failed=0
summary=""
for t in $TARGETS; do
    bin="fuzz/target/$TRIPLE/release/$t"
    log="fuzz/work/$t.log"
    status=ok

    # Known crashing inputs first: each must now pass.
    regs=$(find "fuzz/regressions/$t" -type f ! -name '*.md' 2>/dev/null | sort)
    nregs=0; badregs=0
    for r in $regs; do
        nregs=$((nregs + 1))
        if ! "$bin" "$r" >"fuzz/work/$t.regression.log" 2>&1; then
            badregs=$((badregs + 1))
            echo "!! $t: regression input still crashes: $r"
            grep -m1 -E "panicked at|ERROR: AddressSanitizer|ERROR: LeakSanitizer" -A1 "fuzz/work/$t.regression.log" | sed 's/^/   /'
        fi
    done
    [ "$badregs" -gt 0 ] && status="regressions-fail($badregs/$nregs)"

    mkdir -p "fuzz/work/corpus/$t" "fuzz/artifacts/$t" "fuzz/corpus/$t"
    dict=()
    [ -f "fuzz/dict/$t.dict" ] && dict=("-dict=fuzz/dict/$t.dict")
    echo "== fuzzing $t for ${SECONDS_PER_TARGET}s"
    # New inputs go to the scratch corpus (first dir); the seed corpus is read only.
    # shellcheck disable=SC2086
    "$bin" "fuzz/work/corpus/$t" "fuzz/corpus/$t" \
        -max_total_time="$SECONDS_PER_TARGET" -timeout=25 -rss_limit_mb=2048 \
        -artifact_prefix="fuzz/artifacts/$t/" "${dict[@]}" ${FUZZ_ARGS:-} >"$log" 2>&1
    rc=$?
    runs=$(grep -oE 'Done [0-9]+ runs in [0-9]+ second' "$log" | tail -1)
    corpus=$(find "fuzz/work/corpus/$t" -type f | wc -l)
    if [ $rc -ne 0 ]; then
        status="CRASH"
        echo "!! $t: crash (exit $rc); last lines of $log:"
        grep -E "panicked at|ERROR: AddressSanitizer|ERROR: LeakSanitizer|SUMMARY|Test unit written to|deadly signal|timeout" "$log" | head -8 | sed 's/^/   /'
        runs=$(grep -oE '^#[0-9]+' "$log" | tail -1 | sed 's/#/~/')" execs before the crash"
    fi
    [ "$status" != ok ] && failed=1
    echo "   $t: ${runs:-no run count} (corpus $corpus files) -> $status"
    summary="$summary $t=$status"
done

if [ $failed -eq 0 ]; then
    echo "fuzz: PASS (${SECONDS_PER_TARGET}s per target):$summary"
else
    echo "fuzz: FAIL (${SECONDS_PER_TARGET}s per target):$summary  (see fuzz/artifacts/, docs/fuzzing.md)"
fi
exit $failed
