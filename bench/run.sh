#!/usr/bin/env bash
# bench/run.sh — the engine's benchmark: per-stage times and peak RSS of
# assetd's pipeline, and the peer (@imgly/background-removal-node, same ISNet
# weights) on the same photos in the same run, with ratios.
#
#   bench/run.sh            everything (peer installed into deps/peer on first use)
#   BENCH_PEER=0 bench/run.sh   assetd only
#   RUNS=5 PROFILE=fast bench/run.sh
#
# assetd's "total" includes the PNG encode; the peer's timed region (its
# cutout.mjs) excludes its encode, so speed ratios are in the peer's favour.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
RUNS=${RUNS:-3}
PROFILE=${PROFILE:-lean}
PEERS="$ROOT/../shared/peers"
scripts/setup.sh --test >/dev/null
make -s bench tests >/dev/null

IN="$ROOT/deps/bench"
mkdir -p "$IN"
src_imgs=()
for f in astronaut.png grace_hopper.jpg aloeL.jpg coffee_2400.jpg; do
    if [ -f "$PEERS/images/$f" ]; then src_imgs+=("$PEERS/images/$f");
    elif [ -f "deps/testdata/$f" ]; then src_imgs+=("deps/testdata/$f"); fi
done
# A 3 MP and a 12 MP JPEG made from a real photo (upscaled, Lanczos, Q90).
[ -f "$IN/photo_3mp.jpg" ] || build/tests/mkimage resize deps/testdata/coffee.png "$IN/photo_3mp.jpg" 2000 1500
[ -f "$IN/photo_12mp.jpg" ] || build/tests/mkimage resize deps/testdata/chelsea.png "$IN/photo_12mp.jpg" 4000 3000
imgs=("${src_imgs[@]}" "$IN/photo_3mp.jpg" "$IN/photo_12mp.jpg")

echo "## assetd (ISNet medium, profile $PROFILE, $(nproc) cores, $RUNS runs, median ms; one process per image)"
ours=$(mktemp)
first=1
for img in "${imgs[@]}"; do
    out=$(build/bench/cutout_bench --ort-profile "$PROFILE" -n "$RUNS" "$img")
    if [ $first = 1 ]; then echo "$out" | sed -n 2p; first=0; fi
    echo "$out" | tail -n1 | tee -a "$ours"
done

if command -v /usr/bin/time >/dev/null; then
    echo
    echo "## one-shot CLI on the 12 MP JPEG (process start to PNG on disk, includes model load)"
    /usr/bin/time -f "wall %e s, peak RSS %M KiB" build/assetd --ort-profile "$PROFILE" remove \
        "$IN/photo_12mp.jpg" "$IN/out_12mp.png"
fi

[ "${BENCH_PEER:-1}" = 0 ] && exit 0
PEER="$ROOT/deps/peer"
if [ ! -d "$PEER/node_modules/@imgly/background-removal-node" ]; then
    echo
    echo "## installing the peer into deps/peer"
    mkdir -p "$PEER"
    cp "$PEERS/imgly/package.json" "$PEERS/imgly/cutout.mjs" "$PEER/"
    (cd "$PEER" && npm_config_onnxruntime_node_install_cuda=skip npm install --foreground-scripts \
        --no-audit --no-fund >/dev/null 2>&1)
fi
echo
echo "## peer (@imgly/background-removal-node 1.4.5, ISNet medium, $RUNS runs, median ms, excl. its PNG encode)"
peer=$(mktemp)
(cd "$PEER" && node cutout.mjs --model medium --runs "$RUNS" "$IN/peer-out" "${imgs[@]}") | tee "$peer"

echo
echo "## side by side"
printf '%-20s %10s %10s %8s %10s %10s %8s\n' image assetd_ms peer_ms speedup assetd_MiB peer_MiB mem
node -e '
const fs = require("fs");
const ours = fs.readFileSync(process.argv[1], "utf8").trim().split("\n").map(l => l.trim().split(/\s+/));
const peer = fs.readFileSync(process.argv[2], "utf8").trim().split("\n").filter(l => l.startsWith("{")).map(JSON.parse);
for (const p of peer) {
  const name = p.image.split("/").pop();
  const o = ours.find(r => r[0] === name);
  if (!o) continue;
  const ms = +o[7], rss = +o[10];
  console.log(name.padEnd(20), String(ms).padStart(10), p.median_ms.toFixed(0).padStart(10),
    (p.median_ms / ms).toFixed(2).padStart(7) + "x", String(rss).padStart(10),
    p.rss_mib.toFixed(0).padStart(10), (rss / p.rss_mib).toFixed(2).padStart(7) + "x");
}' "$ours" "$peer"
rm -f "$ours" "$peer"
