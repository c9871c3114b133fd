#!/usr/bin/env bash
# http-differential.sh — the long form of tests/api/test_differential.c
# (issue 30): assetd's HTTP parsing against nginx's over many rounds of
# random mutations (ROUNDS, default 50; the test command runs 1).
#   scripts/http-differential.sh [ROUNDS]
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
make -s -j"$(nproc)" tests >/dev/null
export ASSETD_BIN="$ROOT/build/assetd" ASSETD_TESTDATA="$ROOT/deps/testdata"
export TMPDIR
TMPDIR=$(mktemp -d /tmp/assetd-diff-XXXXXX)
trap 'rm -rf "$TMPDIR"' EXIT
ASSETD_DIFF_ROUNDS=${1:-50} build/tests/test_differential
