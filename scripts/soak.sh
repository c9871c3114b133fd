#!/usr/bin/env bash
# soak.sh — the long form of the soak test (tests/api/test_soak.c): mixed
# load (uploads, metadata reads, listing, deletes, bg_remove in every mode)
# for SECONDS (default 1800), then zero errors besides intended 503s, peak
# RSS drift < 5 % after warm-up, no fd growth. The test command runs 60 s.
#   scripts/soak.sh [SECONDS]
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
scripts/setup.sh --test >/dev/null
make -s -j"$(nproc)" tests >/dev/null
export ASSETD_BIN="$ROOT/build/assetd" ASSETD_TESTDATA="$ROOT/deps/testdata"
export ASSETD_SOAK_SECONDS=${1:-1800}
export TMPDIR
TMPDIR=$(mktemp -d /tmp/assetd-soak-XXXXXX)
trap 'rm -rf "$TMPDIR"' EXIT
# a copy of the binary, so a rebuild during a long run does not swap it
cp build/assetd "$TMPDIR/assetd"
export ASSETD_BIN="$TMPDIR/assetd"
build/tests/test_soak
