#!/usr/bin/env bash
# bench/run.sh — `make bench`: assetd beside the peer (@imgly/background-
# removal-node 1.4.5: the same ISNet weights through ONNX Runtime, sharp for
# images) on the same photos in the same run, alternating image by image and
# level by level so machine noise hits both, with ratios:
#   1. warm latency per image (median of RUNS) with assetd's stages, peak RSS;
#   2. cold start: a fresh process to the first cut-out on disk;
#   3. the HTTP service at concurrency 1, 2, 4 (throughput, p50/p95, peak RSS)
#      beside the peer driven as a library at the same concurrency;
#   4. assetd only: server cold start, a repeated request, GET rate;
#   5-6. presets beside quality, output options;
#   7. stored masks: a variant from a stored mask against a first cut-out,
#      same instance, after a restart, a second instance (bench/masks.sh);
#   8. delivery: a stored variant's read rate, an uncached resize beside a
#      node server with sharp and nginx's image_filter, a bg_remove variant
#      from a stored mask (bench/delivery.sh).
# The peer is installed into deps/peer from ../shared/peers when that folder
# exists (npm registry only); otherwise assetd is reported alone.
#
#   make bench                  everything (~10 min on 2 cores)
#   BENCH_PEER=0 make bench     assetd only
#   RUNS=5 REQUESTS=16 ASSETD_ORT_PROFILE=lean ASSETD_MODEL_SIDE=1024 make bench
#
# Photos: four from Debian packages (the peers' set, else the test set), a
# 3 MP and a 12 MP JPEG made from one of them (Lanczos upscale, Q90).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
RUNS=${RUNS:-3}
REQUESTS=${REQUESTS:-12}
PEERS="$ROOT/../shared/peers"
PEER="$ROOT/deps/peer"
scripts/setup.sh --test >/dev/null
make -s -j"$(nproc)" bench-bin tests >/dev/null

IN="$ROOT/deps/bench"
OUT=$(mktemp -d /tmp/assetd-bench-XXXXXX)
trap 'rm -rf "$OUT"' EXIT
mkdir -p "$IN"
imgs=()
for f in astronaut.png grace_hopper.jpg aloeL.jpg coffee_2400.jpg; do
    if [ -f "$PEERS/images/$f" ]; then imgs+=("$PEERS/images/$f");
    elif [ -f "deps/testdata/$f" ]; then imgs+=("deps/testdata/$f"); fi
done
[ -f "$IN/photo_3mp.jpg" ] || build/tests/mkimage resize deps/testdata/coffee.png "$IN/photo_3mp.jpg" 2000 1500
[ -f "$IN/photo_12mp.jpg" ] || build/tests/mkimage resize deps/testdata/chelsea.png "$IN/photo_12mp.jpg" 4000 3000
imgs+=("$IN/photo_3mp.jpg" "$IN/photo_12mp.jpg")

have_peer=0
if [ "${BENCH_PEER:-1}" != 0 ] && [ -d "$PEERS/imgly" ]; then
    if [ ! -d "$PEER/node_modules/@imgly/background-removal-node" ]; then
        echo "## installing the peer into deps/peer (npm registry)"
        mkdir -p "$PEER"
        cp "$PEERS/imgly/package.json" "$PEER/"
        (cd "$PEER" && npm_config_onnxruntime_node_install_cuda=skip npm install --foreground-scripts \
            --no-audit --no-fund >/dev/null 2>&1)
    fi
    cp -f "$PEERS/imgly/cutout.mjs" bench/peer/*.mjs "$PEER/"
    have_peer=1
fi
[ $have_peer = 1 ] || echo "(no ../shared/peers: assetd alone)"
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a > 0 && b > 0) printf "%.2fx", a / b; else printf "-" }'; }
ms_now() { date +%s%N | cut -c1-13; }
median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

PREC=${ASSETD_MODEL_PRECISION:-$(build/assetd help | sed -n 's/.*--model-precision.*(default: \([a-z0-9]*\)).*/\1/p')}
echo "# assetd $(git rev-parse --short HEAD 2>/dev/null || echo '?'), $(nproc) cores," \
     "model side ${ASSETD_MODEL_SIDE:-896}, precision $PREC, ORT profile ${ASSETD_ORT_PROFILE:-fast}; $(date -u +%F)"
echo
echo "## 1. warm latency per image: median of $RUNS after a warm-up, one process per image and side"
echo "# assetd stages (ms): decode includes orientation and colour (one libvips pass); encode is"
echo "# mask upscale + compose + PNG fused; upscale/compose/png after '|' are the same steps timed apart."
side=$(mktemp -p "$OUT")
first=1
for img in "${imgs[@]}"; do
    o=$(build/bench/cutout_bench -n "$RUNS" "$img")
    if [ $first = 1 ]; then echo "$o" | sed -n 2p; first=0; fi
    line=$(echo "$o" | tail -n1)
    echo "$line"
    p='{}'
    if [ $have_peer = 1 ]; then
        p=$(cd "$PEER" && node cutout.mjs --model medium --runs "$RUNS" "$OUT/peer" "$img" 2>/dev/null | grep '^{')
    fi
    printf '%s\t%s\n' "$line" "$p" >>"$side"
done
if [ $have_peer = 1 ]; then
    echo
    echo "# side by side (peer: removeBackground() to raw RGBA, its PNG encode not timed; assetd: to PNG)"
    printf '%-20s %11s %10s %10s %8s %10s %10s %8s\n' image size assetd_ms peer_ms speedup assetd_MiB peer_MiB mem
    while IFS=$'\t' read -r ours peer; do
        read -r name size _ _ _ _ _ total _ _ rss _ <<<"$ours"
        pms=$(node -e 'const j=JSON.parse(process.argv[1]);console.log(j.median_ms ?? 0, j.rss_mib ?? 0)' "$peer")
        read -r pms prss <<<"$pms"
        printf '%-20s %11s %10s %10s %8s %10s %10s %8s\n' "$name" "$size" "$total" "$pms" \
            "$(ratio "$pms" "$total")" "$rss" "$prss" "$(ratio "$rss" "$prss")"
    done <"$side"
fi

echo
echo "## 1b. both precisions: the same stages at int8 and fp32 (bgeval quality of each in section 5)"
printf '%-22s %9s %9s %8s | %9s %9s %8s\n' image int8_infer fp32_infer ratio int8_total fp32_total ratio
for img in "${imgs[@]}"; do
    q=$(ASSETD_MODEL_PRECISION=int8 build/bench/cutout_bench -n "$RUNS" "$img" | tail -n1)
    f=$(ASSETD_MODEL_PRECISION=fp32 build/bench/cutout_bench -n "$RUNS" "$img" | tail -n1)
    read -r name _ _ _ qi _ _ qt _ <<<"$q"
    read -r _ _ _ _ fi _ _ ft _ <<<"$f"
    printf '%-22s %9s %9s %8s | %9s %9s %8s\n' "$name" "$qi" "$fi" "$(ratio "$fi" "$qi")" "$qt" "$ft" "$(ratio "$ft" "$qt")"
done

echo
echo "## 2. cold start: fresh process -> first cut-out PNG on disk (median of 3, alternating; files cached)"
cold_img=${imgs[1]}
a_ms=() p_ms=()
for i in 1 2 3; do
    t0=$(ms_now); build/assetd remove "$cold_img" "$OUT/cold.png" 2>/dev/null; a_ms+=($(( $(ms_now) - t0 )))
    if [ $have_peer = 1 ]; then
        t0=$(ms_now); (cd "$PEER" && node cold.mjs "$cold_img" "$OUT/cold-peer.png" >/dev/null); p_ms+=($(( $(ms_now) - t0 )))
    fi
done
a=$(printf '%s\n' "${a_ms[@]}" | median)
printf '%-28s assetd %6s ms' "$(basename "$cold_img")" "$a"
if [ $have_peer = 1 ]; then
    p=$(printf '%s\n' "${p_ms[@]}" | median)
    printf '   peer %6s ms   speedup %s' "$p" "$(ratio "$p" "$a")"
fi
echo

echo
echo "## 3. HTTP: GET .../addons/bg_remove, $REQUESTS requests per level over 4 photos, cache off"
echo "# assetd: the real server over sockets (fresh server per level, one warm-up call)."
echo "# peer: it has no server; removeBackground() called by N concurrent callers in one"
echo "# process (PNG output), i.e. the peer without any HTTP cost."
printf '%-6s | %8s %7s %7s %8s | %8s %7s %7s %8s | %8s %6s\n' conc "img/s" p50_s p95_s RSS_MiB "img/s" p50_s p95_s RSS_MiB thruput mem
http_imgs=("${imgs[@]:0:4}")
for c in 1 2 4; do
    o=$(build/bench/http_bench -n "$REQUESTS" -c "$c" "${http_imgs[@]}" | awk -v c="$c" '$1 == c')
    read -r _ ai ap50 ap95 _ arss <<<"$o"
    pi='' pp50='' pp95='' prss=''
    if [ $have_peer = 1 ]; then
        j=$(cd "$PEER" && node load.mjs "$c" "$REQUESTS" "${http_imgs[@]}" 2>/dev/null | grep '^{')
        read -r pi pp50 pp95 prss <<<"$(node -e 'const j=JSON.parse(process.argv[1]);
            console.log(j.img_s.toFixed(3), j.p50_s.toFixed(2), j.p95_s.toFixed(2), j.rss_mib)' "$j")"
    fi
    printf '%-6s | %8s %7s %7s %8s | %8s %7s %7s %8s | %8s %6s\n' "$c" "$ai" "$ap50" "$ap95" "$arss" \
        "${pi:--}" "${pp50:--}" "${pp95:--}" "${prss:--}" "$(ratio "$ai" "${pi:-0}")" "$(ratio "$arss" "${prss:-0}")"
done

echo
echo "## 4. assetd service: cold start, cache, reads while cutting out"
build/bench/http_bench -e "${http_imgs[@]}"

echo
echo "## 5. presets: time per image beside quality (assetd only; ../shared/data/bgeval, read in place)"
echo "# default: the curve on the mask; best: + a pass on the mirrored image; fast: side 640;"
echo "# reference: the reference pipeline's mask at the same side. Paired counts are by MAE."
BGEVAL=${ASSETD_BGEVAL:-$ROOT/../shared/data/bgeval}
if [ -d "$BGEVAL/images" ]; then
    for p in int8 fp32; do
        echo "# precision $p"
        ASSETD_MODEL_PRECISION=$p build/bench/preset_bench "$BGEVAL"
    done
else
    echo "(no $BGEVAL: skipped)"
fi
echo
echo "## 6. output options on the 12 MP JPEG (CLI, one process each, wall time incl. model load)"
for opts in "" "--foreground on" "--bg_color white" "--crop true --max_side 1024" "--format webp" "--format jpg"; do
    t0=$(ms_now)
    build/assetd remove $opts "$IN/photo_12mp.jpg" "$OUT/opt.out" 2>/dev/null
    t1=$(ms_now)
    printf '%-30s %6s ms  %8s bytes\n' "${opts:-(none)}" "$((t1 - t0))" "$(stat -c %s "$OUT/opt.out")"
done

echo
echo "## 7. stored masks: a model pass once per image (the server over HTTP, cache off; bench/masks.sh)"
bench/masks.sh

echo
echo "## 8. delivery: public URLs read from the store, first renders beside sharp and nginx (bench/delivery.sh)"
bench/delivery.sh
