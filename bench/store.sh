#!/usr/bin/env bash
# store.sh — `make bench-store`: the stores under load (bench/store_bench.c)
# on a throwaway PostgreSQL 15 and radosgw, as the test command runs them.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
make -s -j"$(nproc)" bench-bin
export TMPDIR
TMPDIR=$(mktemp -d /tmp/assetd-bench-XXXXXX)
PG_TMP=
cleanup() {
    [ -n "$PG_TMP" ] && PG_TMP=$PG_TMP scripts/pg-down.sh
    scripts/ceph-down.sh "$TMPDIR/ceph"
    rm -rf "$TMPDIR"
}
trap cleanup EXIT
eval "$(scripts/pg-up.sh)"
scripts/ceph-up.sh "$TMPDIR/ceph"
export ASSETD_TEST_PG_URL="postgres://postgres@127.0.0.1:$PGPORT/postgres" ASSETD_TEST_S3_ENDPOINT=http://127.0.0.1:7480
export ASSETD_BIN="$ROOT/build/assetd" ASSETD_TESTDATA="$ROOT/deps/testdata"
echo "# $(date -u +%F) $(nproc) cores; PostgreSQL 15 and radosgw on loopback (fsync off, synchronous commits)"
build/bench/store_bench
