#!/usr/bin/env bash
# fetch-calibration.sh — the photos the int8 model is calibrated on (see
# src/calib/calibrate.h), taken from Debian packages (`apt-get download` +
# `dpkg-deb -x`), never committed: OpenCV's and scikit-image's sample
# photographs — people, animals, food, objects, buildings, landscapes,
# microscopy, paintings — deliberately not the quality-evaluation set.
# Result: deps/calibration/*.{jpg,png} (64 photos).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
OUT="$ROOT/deps/calibration"
STAMP="$OUT/.stamp"
WANT="opencv-doc python3-skimage v1"
[ "$(cat "$STAMP" 2>/dev/null)" = "$WANT" ] && exit 0

# examples/ of opencv-doc
CV="data/HappyFish.jpg data/aero1.jpg data/aero3.jpg data/aloeL.jpg data/apple.jpg
data/baboon.jpg data/basketball1.png data/basketball2.png data/board.jpg data/box.png
data/box_in_scene.png data/building.jpg data/butterfly.jpg data/ela_original.jpg
data/fruits.jpg data/graf1.png data/graf3.png data/home.jpg data/leuvenA.jpg
data/leuvenB.jpg data/messi5.jpg data/orange.jpg data/rubberwhale1.png data/smarties.png
data/squirrel_cls.jpg data/stuff.jpg data/starry_night.jpg data/Blender_Suzanne1.jpg
data/licenseplate_motion.jpg data/pca_test1.jpg data/left01.jpg data/left03.jpg
data/left05.jpg data/left07.jpg data/left09.jpg data/left12.jpg data/left14.jpg
data/right02.jpg data/right06.jpg data/right11.jpg data/lena.jpg
alphamat/input_images/plant.jpg hfs/data/000.jpg hfs/data/001.jpg hfs/data/002.jpg
reg/home.png dnn_superres/butterfly.png"
# skimage/data
SK="astronaut.png brick.png camera.png chelsea.png coffee.png coins.png gravel.png grass.png
hubble_deep_field.jpg ihc.png motorcycle_left.png motorcycle_right.png retina.jpg rocket.jpg
moon.png color.png"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp"
if ! apt-get download -q opencv-doc python3-skimage >/dev/null 2>&1; then
    apt-get update -qq >/dev/null
    apt-get download -q opencv-doc python3-skimage >/dev/null
fi
for deb in ./*.deb; do dpkg-deb -x "$deb" x; done
rm -rf "$OUT"
mkdir -p "$OUT"
ex=$(find x -type d -path '*opencv-doc/examples' | head -n1)
sk=$(find x -type d -path '*skimage/data' | head -n1)
n=0
for f in $CV; do
    [ -f "$ex/$f" ] || continue # a later Debian may drop one; the key names the set
    cp "$ex/$f" "$OUT/cv-$(echo "$f" | tr / -)"
    n=$((n + 1))
done
for f in $SK; do
    [ -f "$sk/$f" ] || continue
    cp "$sk/$f" "$OUT/sk-$f"
    n=$((n + 1))
done
[ "$n" -ge 50 ] || { echo "fetch-calibration: only $n photos found" >&2; exit 1; }
echo "$WANT" > "$STAMP"
echo "fetch-calibration: $n photos in $OUT" >&2
