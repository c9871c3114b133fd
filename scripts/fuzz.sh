#!/usr/bin/env bash
# fuzz.sh — build the libFuzzer targets (clang-14, ASan + UBSan) and run each
# for a while, starting from the seeds in tests/fuzz/corpus/<target>; new
# inputs are kept in build-fuzz/corpus/<target>, crashes in
# build-fuzz/artifacts/. Prints executions per target and ends with a
# "RESULT passed=N failed=M skipped=0" line (a target passes with zero
# crashes, hangs, leaks or sanitizer reports).
#
#   scripts/fuzz.sh [SECONDS] [TARGET...]   default 60 s for every target
#   scripts/fuzz.sh --smoke                 3 s each (image 10 s): the test run's
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
for t in "${targets[@]}"; do
    bin=build-fuzz/fuzz/fuzz_$t
    work=build-fuzz/corpus/$t art=build-fuzz/artifacts/$t/
    mkdir -p "$work" "$art"
    s=$secs
    [ $smoke = 1 ] && { s=3; [ "$t" = image ] && s=10; }
    log=build-fuzz/$t.log
    # image: libvips is not instrumented and holds caches; leaks there are not ours
    extra=()
    [ "$t" = image ] && extra=(-detect_leaks=0)
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
    execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | awk '{s+=$2} END {print s+0}')
    el=$(awk -v a="$start" -v b="$end" 'BEGIN {printf "%.0f", b-a}')
    rate=$(awk -v e="$execs" -v s="$el" 'BEGIN {printf "%.0f", (s > 0 ? e / s : 0)}')
    if [ $rc = 0 ] && ! grep -qE 'ERROR: (Address|Leak|Undefined)Sanitizer|runtime error|deadly signal|Timeout|out-of-memory' "$log"; then
        res=ok; passed=$((passed + 1))
    else
        res="FAILED (see $log, inputs in $art)"; failed=$((failed + 1))
        grep -m5 -E 'ERROR|runtime error|SUMMARY' "$log"
    fi
    printf '%-14s %14s %10s %8s  %s\n' "$t" "$execs" "$rate" "$el" "$res"
done
echo "RESULT passed=$passed failed=$failed skipped=0"
[ $failed = 0 ]
