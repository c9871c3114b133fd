#!/usr/bin/env bash
# test.sh — the README's test command: set up what is missing, build, and run
# every suite: unit tests (also under ASan + UBSan), the CLI end to end with
# the real model, the HTTP API against the real server process (spec table,
# restart recovery, saturation, concurrency), and the quality test against
# ../shared/data/bgeval.
# Ends with one summary line: "N passed, M failed, K skipped".
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"

scripts/setup.sh --test || { echo "setup failed"; echo "0 passed, 1 failed"; exit 1; }
make -s -j"$(nproc)" tests >/dev/null || { echo "build failed"; echo "0 passed, 1 failed"; exit 1; }
make -s -j"$(nproc)" asan >/dev/null || { echo "asan build failed"; echo "0 passed, 1 failed"; exit 1; }
build_s=$SECONDS

export ASSETD_BIN="$ROOT/build/assetd"
export ASSETD_TESTDATA="$ROOT/deps/testdata"
export ASSETD_MKIMAGE="$ROOT/build/tests/mkimage"
export ASSETD_OPENAPI_SCHEMA="$ROOT/deps/openapi/schema-3.1.json"
export ASSETD_BGEVAL="${ASSETD_BGEVAL:-$ROOT/../shared/data/bgeval}"
# Tests check that oversized allocations fail cleanly, so ASan must return
# NULL rather than abort; leaks are reported.
export ASAN_OPTIONS="allocator_may_return_null=1:detect_leaks=1:abort_on_error=0"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"

# API tests put their data dirs and server logs here; removed at the end.
export TMPDIR
TMPDIR=$(mktemp -d /tmp/assetd-test-XXXXXX)
CEPH_DIR=$TMPDIR/ceph
PG_TMP=
cleanup() {
    [ -n "$PG_TMP" ] && PG_TMP=$PG_TMP scripts/pg-down.sh
    [ -d "$CEPH_DIR" ] && scripts/ceph-down.sh "$CEPH_DIR"
    rm -rf "$TMPDIR"
}
trap cleanup EXIT

# The postgres + s3 store runs on real servers: a throwaway PostgreSQL 15
# and a single-node Ceph with radosgw (~11 s to start), both on loopback.
servers_up=0
if pg_env=$(scripts/pg-up.sh 2>"$TMPDIR/pg-up.log") && eval "$pg_env" && \
   scripts/ceph-up.sh "$CEPH_DIR" >"$TMPDIR/ceph-up.log" 2>&1; then
    export ASSETD_TEST_PG_URL="postgres://postgres@127.0.0.1:$PGPORT/postgres"
    export ASSETD_TEST_S3_ENDPOINT=http://127.0.0.1:7480 ASSETD_TEST_S3_ACCESS_KEY=AK ASSETD_TEST_S3_SECRET_KEY=SK
    export ASSETD_TEST_PG_TMP=$PG_TMP ASSETD_TEST_CEPH_DIR=$CEPH_DIR
    servers_up=1
else
    echo "== PostgreSQL / radosgw did not start: the postgres + s3 store is not tested"
    cat "$TMPDIR/pg-up.log" "$TMPDIR/ceph-up.log" 2>/dev/null | tail -20
fi

passed=0 failed=0 skipped=0 broken=() timings=()
suite() {
    local label=$1; shift
    printf '== %s\n' "$label"
    local log t0=$SECONDS
    log=$(mktemp)
    "$@" 2>&1 | tee "$log"
    local rc=${PIPESTATUS[0]}
    timings+=("$((SECONDS - t0)) $label")
    printf '   (%d s)\n' $((SECONDS - t0))
    count "$label" "$log" "$rc"
}

# A suite that starts now and runs beside the others (it needs no server
# and nothing of theirs; see the note at its call), its output held until
# suite_join prints and counts it.
bg_label=() bg_pid=() bg_log=() bg_t0=()
suite_bg() {
    local label=$1; shift
    local log
    log=$(mktemp)
    ( "$@" > "$log" 2>&1; echo $? > "$log.rc" ) &
    bg_label+=("$label") bg_pid+=($!) bg_log+=("$log") bg_t0+=("$SECONDS")
    printf '== %s (started beside the others)\n' "$label"
}
suite_join() {
    for i in "${!bg_pid[@]}"; do
        wait "${bg_pid[$i]}"
        printf '== %s\n' "${bg_label[$i]}"
        cat "${bg_log[$i]}"
        timings+=("$((SECONDS - bg_t0[i])) ${bg_label[$i]} (beside the others)")
        count "${bg_label[$i]}" "${bg_log[$i]}" "$(cat "${bg_log[$i]}.rc" 2>/dev/null || echo 1)"
        rm -f "${bg_log[$i]}.rc"
    done
}

# Add a finished suite's RESULT line to the totals.
count() {
    local label=$1 log=$2 rc=$3
    local line
    line=$(grep -E '^RESULT ' "$log" | tail -n1)
    if [ -z "$line" ]; then
        echo "   $label: no result line (exit $rc)"
        failed=$((failed + 1)); broken+=("$label")
    else
        local p f s
        p=$(sed -E 's/.*passed=([0-9]+).*/\1/' <<<"$line")
        f=$(sed -E 's/.*failed=([0-9]+).*/\1/' <<<"$line")
        s=$(sed -E 's/.*skipped=([0-9]+).*/\1/' <<<"$line")
        passed=$((passed + p)); failed=$((failed + f)); skipped=$((skipped + s))
        if [ "$rc" != 0 ] && [ "$f" = 0 ]; then
            echo "   $label: exit $rc without a failed test (sanitizer report?)"
            failed=$((failed + 1)); broken+=("$label")
        fi
        [ "$f" != 0 ] && broken+=("$label")
    fi
    rm -f "$log"
}

# The quality test (~4 min of model passes over ../shared/data/bgeval, no
# server, no port, nothing shared) runs at the lowest CPU priority beside
# the suites up to the ASan server's: they leave about a third of the two
# cores idle (waits, restarts, trickling clients), which it takes. It is
# joined before the ASan server suites: beside it, even at nice 19, the
# ASan server under eight 80 MiB uploads starved one into the body-rate
# floor's 408 (three runs of three; the plain server's suites passed).
suite_bg "quality (bgeval)" nice -n 19 build/tests/test_bgeval

# every unit test the Makefile builds from tests/unit/test_*.c
for src in tests/unit/test_*.c; do
    t=build/tests/$(basename "$src" .c)
    suite "unit $(basename "$t")" "$t"
done
# (the model-heavy units, quantize and infer, run plain only: ~45 s under
# ASan on two cores; the server suites below run the model under ASan)
for src in tests/unit/test_*.c; do
    case $(basename "$src" .c) in test_quantize|test_infer) continue ;; esac
    t=build-asan/tests/$(basename "$src" .c)
    LSAN_OPTIONS="suppressions=$ROOT/tests/lsan.supp:print_suppressions=0" \
    suite "asan+ubsan $(basename "$t")" "$t"
done
suite "cli" build/tests/test_cli
suite "install (make install, systemd unit)" build/tests/test_install
suite "api (real server over HTTP)" build/tests/test_api
suite "api durability (kill -9, retries, 503, concurrency)" build/tests/test_api_durability
suite "faults (full disk, read-only blobs, broken model)" build/tests/test_faults
suite "limits and hostile clients (slowloris, headers, connections, queue time)" build/tests/test_limits
suite "request bodies (streamed uploads, memory ceiling, 413, framing, slow bodies)" build/tests/test_bodies
suite "hardening (private files, corrupt and oversized images, paths, active types)" build/tests/test_hardening
suite "operator (quick start, access log, request ids, keys, CORS, If-Range)" build/tests/test_operator
suite "metrics (promtool, counters move, no ids in labels)" build/tests/test_api_metrics
suite "openapi (valid 3.1, same routes as the table, answers match its schemas)" build/tests/test_openapi
suite "preview (sizes, orientation, alpha, ETag, cache, refusals)" build/tests/test_preview
suite "stored masks (variants without a model pass, restart, lifetime, damage, bound, race, kill -9)" \
    build/tests/test_masks
suite "delivery (signed public URLs, transformations, negotiation, caching, rotation, renders once, flood)" \
    build/tests/test_delivery
suite "key scopes (every route x read, write, admin; keys create --scope)" build/tests/test_scopes
suite "remove.bg drop-in (the npm client remove.bg 1.3.0 unmodified; zip, refusals, account, 429, the URL guard)" \
    build/tests/test_removebg
suite "backup and restore (online, while uploading; byte-exact restore; damaged backups refused)" \
    build/tests/test_backup
suite "growth (no blob listing at start, store check, a dead writer's orphan, job counters and retention, SIGTERM at start)" \
    build/tests/test_growth
suite "integrations (webhooks: retries, signatures, kill -9, SSRF guard; jobs list; search vs brute force)" \
    build/tests/test_integrations
suite "TLS front (nginx with packaging/nginx-assetd-tls.conf: HTTPS + HTTP/2, a large upload, assetd's 413, /metrics kept in, /d/ cached)" \
    build/tests/test_front
suite "kubernetes example (packaging/kubernetes.yaml against the API's schemas: kubernetes-models)" \
    env ASSETD_K8S_MODULES="$ROOT/deps/k8s" node tests/k8s/validate.js packaging/kubernetes.yaml
suite "HTTP held to nginx (a differential test: what nginx refuses is refused, framing agrees)" \
    build/tests/test_differential
suite "bg_remove options (presets, channels, format, bg_color, crop, max_side, headers, cache key, saves, 400s)" \
    build/tests/test_options
suite "web console (headless chromium: library, search in the URL, batch cut-outs and jobs, the drawer's live studio, links, webhooks, read key, phone, dark, keyboard)" \
    env ASSETD_PLAYWRIGHT="$ROOT/deps/playwright/package" ASSETD_ARTIFACTS="$ROOT/build/artifacts/console" \
    node tests/browser/test_console.js
# two rounds here and two under ASan: scripts/crash.sh is the long form
ASSETD_CRASH_ITERATIONS=2 suite "crash consistency (kill -9 at random moments, 2 rounds)" build/tests/test_crash

# The same API suites on PostgreSQL + radosgw, then many instances at once.
if [ $servers_up = 1 ]; then
    ASSETD_TEST_STORE=postgres suite "api on postgres + s3" build/tests/test_api
    ASSETD_TEST_STORE=postgres suite "api durability on postgres + s3" build/tests/test_api_durability
    ASSETD_TEST_STORE=postgres suite "limits on postgres + s3" build/tests/test_limits
    ASSETD_TEST_STORE=postgres suite "metrics on postgres + s3" build/tests/test_api_metrics
    ASSETD_TEST_STORE=postgres suite "stored masks on postgres + s3 (a second instance, two racing)" \
        build/tests/test_masks
    ASSETD_TEST_STORE=postgres suite "delivery on postgres + s3 (a second instance serves the first's render)" \
        build/tests/test_delivery
    ASSETD_TEST_STORE=postgres suite "key scopes on postgres + s3" build/tests/test_scopes
    ASSETD_TEST_STORE=postgres suite "integrations on postgres + s3 (two instances deliver every event)" \
        build/tests/test_integrations
    ASSETD_TEST_STORE=postgres suite "growth on postgres + s3 (no bucket listing at start; store check repairs)" \
        build/tests/test_growth
    ASSETD_TEST_STORE=postgres suite "outages (PostgreSQL, radosgw stopped: refused within the deadline, then at once; local reads; back by itself)" \
        build/tests/test_outage
    ASSETD_TEST_STORE=postgres suite "scale-out (two instances, nginx, lost servers, store copy)" build/tests/test_scaleout
else
    failed=$((failed + 1)); broken+=("postgres + s3 servers")
fi

# The same API suites against the server built with ASan + UBSan; any
# sanitizer report in a server log fails the run (ORT's own exit-time
# allocations are suppressed, tests/lsan.supp).
asan_api() {
    local label=$1 bin=$2 dir="$TMPDIR/asan-$1"
    mkdir -p "$dir"
    TMPDIR="$dir" ASSETD_BIN="$ROOT/build-asan/assetd" \
        LSAN_OPTIONS="suppressions=$ROOT/tests/lsan.supp:print_suppressions=0" \
        suite "asan+ubsan server: $label" "$bin"
    local reports
    reports=$(grep -l -E "ERROR: (Address|Leak)Sanitizer|runtime error" "$dir"/*/*.log 2>/dev/null)
    if [ -n "$reports" ]; then
        echo "   sanitizer reports in: $reports"
        grep -h -A20 -E "ERROR: (Address|Leak)Sanitizer|runtime error" $reports | head -60
        failed=$((failed + 1)); broken+=("asan server $label")
    fi
}
suite_join
asan_api api build/tests/test_api
asan_api durability build/tests/test_api_durability
asan_api faults build/tests/test_faults
asan_api limits build/tests/test_limits
ASSETD_BODIES_MIB=24 asan_api bodies build/tests/test_bodies
asan_api hardening build/tests/test_hardening
asan_api operator build/tests/test_operator
asan_api metrics build/tests/test_api_metrics
asan_api openapi build/tests/test_openapi
asan_api preview build/tests/test_preview
asan_api options build/tests/test_options
ASSETD_MASKS_SHORT=1 asan_api masks build/tests/test_masks
ASSETD_DELIVERY_SHORT=1 asan_api delivery build/tests/test_delivery
ASSETD_INTEGRATIONS_SHORT=1 asan_api integrations build/tests/test_integrations
ASSETD_CRASH_ITERATIONS=2 asan_api crash build/tests/test_crash
ASSETD_SOAK_SECONDS=20 suite "soak (mixed load, 20 s; scripts/soak.sh for the long form)" build/tests/test_soak
suite "fuzz smoke (libFuzzer, every parser that sees network input)" scripts/fuzz.sh --smoke

if [ ${#broken[@]} -gt 0 ]; then
    echo "failing suites: ${broken[*]}"
    for f in "$TMPDIR"/*/*.log; do
        [ -f "$f" ] && { echo "--- tail of server log $f"; tail -n 20 "$f"; }
    done
fi
# where the minutes went: the slowest suites, then setup + build
echo "== time: ${SECONDS} s in all, setup + build ${build_s} s; slowest suites:"
printf '%s\n' "${timings[@]}" | sort -rn | head -n 12 | sed 's/^/   /'
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" = 0 ]
