#!/usr/bin/env bash
# run.sh — the README's run command: set up what is missing, build, and start
# `assetd serve` on the embedded default (SQLite + files in ./data, ISNet
# model from deps/). The binary itself prints the quick start (--welcome 1):
# the address it listens on, the data dir and API key in force (a key is
# made on first run and kept in DATA_DIR/api-key, mode 600), and commands
# that work when pasted. Settings: flags after run.sh or ASSETD_* variables,
# e.g. `./scripts/run.sh --listen 0.0.0.0:8080 --data-dir /srv/assetd`.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
scripts/setup.sh
exec build/assetd serve --welcome 1 "$@"
