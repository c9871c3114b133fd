#!/usr/bin/env bash
# fetch-testdata.sh — real photographs for the tests, taken from Debian
# packages (`apt-get download` + `dpkg-deb -x`), never committed.
# Result: deps/testdata/{astronaut.png,chelsea.png,coffee.png,rocket.jpg,grace_hopper.jpg}
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
OUT="$ROOT/deps/testdata"
STAMP="$OUT/.stamp"
WANT="python3-skimage python-matplotlib-data v1"
[ "$(cat "$STAMP" 2>/dev/null)" = "$WANT" ] && exit 0

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp"
if ! apt-get download -q python3-skimage python-matplotlib-data >/dev/null 2>&1; then
    apt-get update -qq >/dev/null
    apt-get download -q python3-skimage python-matplotlib-data >/dev/null
fi
for deb in ./*.deb; do dpkg-deb -x "$deb" x; done
mkdir -p "$OUT"
sk=$(find x -type d -path '*skimage/data' | head -n1)
for f in astronaut.png chelsea.png coffee.png rocket.jpg; do cp "$sk/$f" "$OUT/"; done
cp "$(find x -name grace_hopper.jpg | head -n1)" "$OUT/"
echo "$WANT" > "$STAMP"
echo "fetch-testdata: photos in $OUT" >&2
