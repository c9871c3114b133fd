#!/usr/bin/env bash
# crash.sh — the long form of the crash-consistency test: N rounds (default
# 100) of kill -9 at a random moment during uploads, deletes, conversion
# saves and background jobs, each followed by a restart and a full check
# (tests/api/test_crash.c). The test command runs 4 rounds.
#   scripts/crash.sh [ROUNDS]
set -euo pipefail
. "$(dirname "$0")/longrun-env.sh"
export ASSETD_CRASH_ITERATIONS=${1:-100}
build/tests/test_crash
