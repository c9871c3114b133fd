#!/usr/bin/env bash
# fuzz.sh — build the libFuzzer targets (clang-14, ASan + UBSan) and run each
# for a while, starting from the seeds in tests/fuzz/corpus/<target>; new
# inputs are kept in build-fuzz/corpus/<target>, crashes in
# build-fuzz/artifacts/. Prints executions per target and ends with a
# "RESULT passed=N failed=M skipped=0" line (a target passes with zero
# crashes, hangs, leaks or sanitizer reports).
#
#   scripts/fuzz.sh [SECONDS] [TARGET...]   default 60 s for every target
#   scripts/fuzz.sh --smoke                 2 s each (image 8 s), a target per core: the test run's
#   FUZZ_JOBS=2 scripts/fuzz.sh 3600        parallel workers per target
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
secs=60 smoke=0
if [ "${1:-}" = "--smoke" ]; then smoke=1; shift
elif [[ "${1:-}" =~ ^[0-9]+$ ]]; then secs=$1; shift; fi
make -s -j"$(nproc)" fuzz >/dev/null || { echo "fuzz build failed"; echo "RESULT passed=0 failed=1 skipped=0"; exit 1; }
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=($(ls build-fuzz/fuzz/ | sed 's/^fuzz_//'))
jobs=${FUZZ_JOBS:-1}
passed=0 failed=0
printf '%-14s %14s %10s %8s  %s\n' target executions exec/s seconds result
# One target's run: its line of the table in build-fuzz/$t.line, its
# verdict in build-fuzz/$t.verdict (a function, so the smoke can run the
# targets side by side).
run_target() {
    local t=$1
    local bin=build-fuzz/fuzz/fuzz_$t
    local work=build-fuzz/corpus/$t art=build-fuzz/artifacts/$t/
    mkdir -p "$work" "$art"
    local s=$secs
    [ $smoke = 1 ] && { s=2; [ "$t" = image ] && s=8; }
    local log=build-fuzz/$t.log rc
    # image: libvips is not instrumented and holds caches; leaks there are not ours
    local extra=()
    [ "$t" = image ] && extra=(-detect_leaks=0)
    local start end
    start=$(date +%s.%N)
    if [ "$jobs" -gt 1 ]; then
        ASAN_OPTIONS=allocator_may_return_null=1 "$bin" -max_total_time="$s" -rss_limit_mb=2048 -timeout=10 \
            -print_final_stats=1 -artifact_prefix="$art" -jobs="$jobs" -workers="$jobs" "${extra[@]}" \
            "$work" "tests/fuzz/corpus/$t" >"$log" 2>&1
        rc=$?
        rm -f fuzz-*.log # the parent already copied each job's log into $log
    else
        ASAN_OPTIONS=allocator_may_return_null=1 "$bin" -max_total_time="$s" -rss_limit_mb=2048 -timeout=10 \
            -print_final_stats=1 -artifact_prefix="$art" "${extra[@]}" \
            "$work" "tests/fuzz/corpus/$t" >"$log" 2>&1
        rc=$?
    fi
    end=$(date +%s.%N)
    local execs el rate res
    execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | awk '{s+=$2} END {print s+0}')
    el=$(awk -v a="$start" -v b="$end" 'BEGIN {printf "%.0f", b-a}')
    rate=$(awk -v e="$execs" -v s="$el" 'BEGIN {printf "%.0f", (s > 0 ? e / s : 0)}')
    if [ $rc = 0 ] && ! grep -qE 'ERROR: (Address|Leak|Undefined)Sanitizer|runtime error|deadly signal|Timeout|out-of-memory' "$log"; then
        res=ok; echo ok > "build-fuzz/$t.verdict"
    else
        res="FAILED (see $log, inputs in $art)"; echo failed > "build-fuzz/$t.verdict"
        grep -m5 -E 'ERROR|runtime error|SUMMARY' "$log" > "build-fuzz/$t.why"
    fi
    printf '%-14s %14s %10s %8s  %s\n' "$t" "$execs" "$rate" "$el" "$res" > "build-fuzz/$t.line"
}

# The smoke runs as many targets at once as there are cores (each is one
# process on one core); a long run takes them one by one.
par=1
[ $smoke = 1 ] && par=$(nproc)
running=0
for t in "${targets[@]}"; do
    rm -f "build-fuzz/$t.verdict" "build-fuzz/$t.line" "build-fuzz/$t.why"
    run_target "$t" &
    running=$((running + 1))
    if [ $running -ge $par ]; then
        wait -n
        running=$((running - 1))
    fi
done
wait
for t in "${targets[@]}"; do
    [ -f "build-fuzz/$t.why" ] && cat "build-fuzz/$t.why"
    cat "build-fuzz/$t.line" 2>/dev/null || printf '%-14s %s\n' "$t" "FAILED (no result)"
    if [ "$(cat "build-fuzz/$t.verdict" 2>/dev/null)" = ok ]; then
        passed=$((passed + 1))
    else
        failed=$((failed + 1))
    fi
done
echo "RESULT passed=$passed failed=$failed skipped=0"
[ $failed = 0 ]
