#!/usr/bin/env bash
# soak.sh — the long form of the soak test (tests/api/test_soak.c): mixed
# load (uploads, metadata reads, listing, deletes, bg_remove in every mode)
# for SECONDS (default 1800), then zero errors besides intended 503s, peak
# RSS drift < 5 % after warm-up, no fd growth. The test command runs 60 s.
#   scripts/soak.sh [SECONDS]
set -euo pipefail
. "$(dirname "$0")/longrun-env.sh"
export ASSETD_SOAK_SECONDS=${1:-1800}
build/tests/test_soak
