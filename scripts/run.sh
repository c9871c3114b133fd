#!/usr/bin/env bash
# run.sh — the README's run command: set up what is missing, build, and start
# `assetd serve` on the embedded default (SQLite + files in ./data, ISNet
# model from deps/). On first run an API key is created with
# `assetd keys create` and kept in ./data/api-key (mode 600) so later runs
# print the same one. Settings: flags after run.sh or ASSETD_* variables,
# e.g. `./scripts/run.sh --listen 0.0.0.0:8080`.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
scripts/setup.sh
DATA=${ASSETD_DATA_DIR:-./data}
LISTEN=${ASSETD_LISTEN:-127.0.0.1:8080}
mkdir -p "$DATA"
if [ -z "${ASSETD_API_KEY:-}" ]; then
    if [ ! -s "$DATA/api-key" ]; then
        (umask 077; build/assetd keys create --data-dir "$DATA" > "$DATA/api-key.tmp")
        mv "$DATA/api-key.tmp" "$DATA/api-key"
    fi
    KEY=$(cat "$DATA/api-key")
else
    KEY=$ASSETD_API_KEY
fi
cat <<MSG
assetd: starting on http://$LISTEN  (data: $DATA, Ctrl-C stops)
API key: $KEY
try:
  curl -s -H "Authorization: Bearer $KEY" -H "Content-Type: image/jpeg" \\
       --data-binary @photo.jpg "http://$LISTEN/api/v1/assets?filename=photo.jpg"
  curl -s -H "Authorization: Bearer $KEY" -o cutout.png \\
       "http://$LISTEN/api/v1/assets/ASSET_ID/addons/bg_remove"
MSG
exec build/assetd serve --data-dir "$DATA" --listen "$LISTEN" "$@"
