#!/usr/bin/env bash
# run.sh — the README's run command: set up what is missing, build, and run
# assetd. Until the HTTP service lands this runs the cut-out demo on a
# Debian photo and prints where the result is.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
scripts/setup.sh --test   # --test: the demo photo comes from Debian's python3-skimage
mkdir -p out
build/assetd remove deps/testdata/astronaut.png out/astronaut-cutout.png
build/assetd remove --mask deps/testdata/astronaut.png out/astronaut-mask.png
echo "cut-out: $ROOT/out/astronaut-cutout.png   mask: $ROOT/out/astronaut-mask.png"
echo "try: build/assetd remove YOUR_PHOTO.jpg cutout.png   (build/assetd help for more)"
