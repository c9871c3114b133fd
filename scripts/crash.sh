#!/usr/bin/env bash
# crash.sh — the long form of the crash-consistency test: N rounds (default
# 100) of kill -9 at a random moment during uploads, deletes, conversion
# saves and background jobs, each followed by a restart and a full check
# (tests/api/test_crash.c). The test command runs 4 rounds.
#   scripts/crash.sh [ROUNDS]
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
scripts/setup.sh --test >/dev/null
make -s -j"$(nproc)" tests >/dev/null
export ASSETD_BIN="$ROOT/build/assetd" ASSETD_TESTDATA="$ROOT/deps/testdata"
export ASSETD_CRASH_ITERATIONS=${1:-100}
export TMPDIR
TMPDIR=$(mktemp -d /tmp/assetd-crash-XXXXXX)
trap 'rm -rf "$TMPDIR"' EXIT
# a copy of the binary, so a rebuild during a long run does not swap it
cp build/assetd "$TMPDIR/assetd"
export ASSETD_BIN="$TMPDIR/assetd"
build/tests/test_crash
