#!/usr/bin/env bash
# bench/masks.sh — `make bench` section 7, stored masks (issue 26): the real
# server over HTTP, the result cache off so every answer is made.
#   - a first cut-out with the mask store off and on, alternating round by
#     round on fresh source bytes each time: what writing the mask adds;
#   - a finishing-option variant (crop=true) once the mask is stored, on
#     the same instance and after a restart, as a share of the first, with
#     its stages (mask read, decode, finishing + encode) from /metrics;
#   - with PostgreSQL + radosgw (scripts/pg-up.sh, ceph-up.sh): the variant
#     on a second instance of the store that never saw the image;
#   - the bytes a mask takes in the store.
# Times are the server's X-Processing-Time-Ms (decode to encoded answer,
# mask read or model pass and mask write included), medians of ROUNDS.
#
#   bench/masks.sh            ROUNDS=3, photos: 512x600, 3 MP, 12 MP JPEG
#   BENCH_PG=0 bench/masks.sh without the postgres part
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
ROUNDS=${ROUNDS:-3}
KEY=bench-key-0123456789abcdef
OUT=$(mktemp -d /tmp/assetd-masks-XXXXXX)
PIDS=()
PG_TMP=
cleanup() {
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    [ -n "$PG_TMP" ] && PG_TMP=$PG_TMP scripts/pg-down.sh >/dev/null 2>&1
    [ -d "$OUT/ceph" ] && scripts/ceph-down.sh "$OUT/ceph" >/dev/null 2>&1
    rm -rf "$OUT"
}
trap cleanup EXIT
mkdir -p deps/bench
[ -f deps/bench/photo_3mp.jpg ] || build/tests/mkimage resize deps/testdata/coffee.png deps/bench/photo_3mp.jpg 2000 1500
[ -f deps/bench/photo_12mp.jpg ] || build/tests/mkimage resize deps/testdata/chelsea.png deps/bench/photo_12mp.jpg 4000 3000
photos=(deps/testdata/grace_hopper.jpg deps/bench/photo_3mp.jpg deps/bench/photo_12mp.jpg)

# start NAME PORT ARGS...: a server in the background, its pid remembered
start() {
    local name=$1 port=$2
    shift 2
    ASSETD_API_KEY=$KEY build/assetd serve --listen "127.0.0.1:$port" --data-dir "$OUT/$name" --cache-mb 0 \
        "$@" >>"$OUT/$name.log" 2>&1 &
    PIDS+=($!)
    eval "PID_$name=$!"
    for _ in $(seq 600); do
        curl -sf "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && return 0
        sleep 0.1
    done
    echo "server $name did not start"; tail "$OUT/$name.log"; exit 1
}
stop() { local v="PID_$1"; kill "${!v}"; wait "${!v}" 2>/dev/null || true; }

# upload PORT FILE N: the photo with N after its end (new bytes, same
# pixels: a new source whose mask is not stored yet); prints the asset id
upload() {
    { cat "$2"; printf '%015d' "$3"; } >"$OUT/up.jpg"
    curl -sf -H "Authorization: Bearer $KEY" -H 'Content-Type: image/jpeg' --data-binary @"$OUT/up.jpg" \
        "http://127.0.0.1:$1/api/v1/assets?filename=p.jpg" | sed -E 's/.*"id":"([0-9a-f]+)".*/\1/'
}

# cutout PORT ID QUERY: prints "ms mask megapixels"
cutout() {
    curl -sf -o /dev/null -D - -H "Authorization: Bearer $KEY" \
        "http://127.0.0.1:$1/api/v1/assets/$2/addons/bg_remove?$3" |
        awk -F': ' 'tolower($1) == "x-processing-time-ms" { ms = $2 + 0 } tolower($1) == "x-mask" { m = $2 }
                    tolower($1) == "x-width" { w = $2 + 0 } tolower($1) == "x-height" { h = $2 + 0 }
                    END { sub(/\r/, "", m); printf "%d %s %.1f\n", ms, m, w * h / 1e6 }'
}
median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
pct() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.1f%%", 100 * a / b; else printf "-" }'; }
metric() { curl -sf "http://127.0.0.1:$1/metrics" | awk -v n="$2" '$1 == n { print $2 }'; }
# stages PORT: the stage sums "mask decode encode" in ms
stages() {
    curl -sf "http://127.0.0.1:$1/metrics" | awk '
        $1 ~ /^assetd_cutout_stage_seconds_sum/ { split($1, a, "\""); s[a[2]] = $2 * 1000 }
        END { printf "%.1f %.1f %.1f %.1f\n", s["mask"], s["decode"], s["encode"], s["mask_write"] }'
}

start on 18641
start off 18642 --mask-store-mb 0
printf '%-18s %5s | %9s %9s %7s %6s %6s | %8s %6s  %5s %6s %7s | %8s %6s\n' photo MP first_off first_on A/B write share variant share mask decode encode restart share
n=0
declare -A ids
for img in "${photos[@]}"; do
    name=$(basename "$img")
    offs=() ons=() vars=() sm=() sd=() se=() ws=()
    for r in $(seq "$ROUNDS"); do
        n=$((n + 1))
        # alternate which store goes first, so drift hits both
        if [ $((r % 2)) = 1 ]; then order="off on"; else order="on off"; fi
        for which in $order; do
            port=18641; [ "$which" = off ] && port=18642
            id=$(upload "$port" "$img" "$n")
            read -r _ _ _ w0 <<<"$(stages "$port")"
            read -r ms mask mp <<<"$(cutout "$port" "$id" "")"
            read -r _ _ _ w1 <<<"$(stages "$port")"
            if [ "$which" = off ]; then offs+=("$ms"); else
                ons+=("$ms"); ids[$name]=$id
                ws+=("$(awk -v a="$w0" -v b="$w1" 'BEGIN { printf "%.1f", b - a }')")
            fi
        done
        read -r m0 d0 e0 _ <<<"$(stages 18641)"
        read -r ms mask _ <<<"$(cutout 18641 "${ids[$name]}" "crop=true")"
        read -r m1 d1 e1 _ <<<"$(stages 18641)"
        [ "$mask" = stored ] || echo "  (variant answered X-Mask: $mask)"
        vars+=("$ms")
        sm+=("$(awk -v a="$m0" -v b="$m1" 'BEGIN { printf "%.1f", b - a }')")
        sd+=("$(awk -v a="$d0" -v b="$d1" 'BEGIN { printf "%.0f", b - a }')")
        se+=("$(awk -v a="$e0" -v b="$e1" 'BEGIN { printf "%.0f", b - a }')")
    done
    off=$(printf '%s\n' "${offs[@]}" | median)
    on=$(printf '%s\n' "${ons[@]}" | median)
    var=$(printf '%s\n' "${vars[@]}" | median)
    echo "$name $mp $off $on $(printf '%s\n' "${ws[@]}" | median) $var $(printf '%s\n' "${sm[@]}" | median)" \
        "$(printf '%s\n' "${sd[@]}" | median) $(printf '%s\n' "${se[@]}" | median)" >>"$OUT/rows"
done
bytes=$(metric 18641 assetd_mask_store_bytes)
masks=$(metric 18641 assetd_mask_store_masks)
stop on
stop off
start on 18641
while read -r name mp off on wr var vm vd ve; do
    rs=()
    for _ in $(seq "$ROUNDS"); do
        read -r ms mask _ <<<"$(cutout 18641 "${ids[$name]}" "bg_color=white&foreground=off")"
        rs+=("$ms")
    done
    after=$(printf '%s\n' "${rs[@]}" | median)
    printf '%-18s %5s | %9s %9s %7s %6s %6s | %8s %6s  %5s %6s %7s | %8s %6s\n' "$name" "$mp" "$off" "$on" \
        "$(pct "$((on - off))" "$off")" "$wr" "$(pct "$wr" "$on")" "$var" "$(pct "$var" "$on")" "$vm" "$vd" "$ve" \
        "$after" "$(pct "$after" "$on")"
done <"$OUT/rows"
echo "# first_off/first_on: a first cut-out (model pass) with the mask store off / on, alternating (A/B:"
echo "# their difference, mostly noise); write: the mask's encode + blob + row, timed in the server"
echo "# (stage mask_write), and its share of first_on. variant: crop=true from the stored mask on the same instance, with its"
echo "# stages in ms (mask: reading and checking the stored mask; encode: upscale, crop, PNG). restart:"
echo "# bg_color=white&foreground=off after a restart. share: of first_on. What is left is the decode and"
echo "# the encode of a full-size image, which the first cut-out pays too: at 12 MP the PNG encode dominates."
awk -v b="$bytes" -v m="$masks" 'BEGIN { if (m > 0) printf "# mask store: %d masks, %.0f bytes each on average (the model side squared, deflated: it depends on\n# the mask, not on the photo'"'"'s megapixels)\n", m, b / m }'

if [ "${BENCH_PG:-1}" != 0 ] && pg_env=$(scripts/pg-up.sh 2>/dev/null) && eval "$pg_env" &&
    scripts/ceph-up.sh "$OUT/ceph" >/dev/null 2>&1; then
    url="postgres://postgres@127.0.0.1:$PGPORT/postgres"
    pg=(--store postgres --database-url "$url" --s3-endpoint http://127.0.0.1:7480 --s3-bucket masksbench
        --s3-access-key AK --s3-secret-key SK --delivery-secrets bench-delivery-secret-0123456789)
    start pa 18643 "${pg[@]}"
    start pb 18644 "${pg[@]}"
    echo
    printf '%-18s | %12s | %15s %7s\n' "postgres + s3" first_on_A variant_on_B share
    for img in "${photos[@]}"; do
        fs=() vs=()
        for r in $(seq "$ROUNDS"); do
            n=$((n + 1))
            id=$(upload 18643 "$img" "$n")
            read -r ms mask _ <<<"$(cutout 18643 "$id" "")"
            fs+=("$ms")
            read -r ms mask _ <<<"$(cutout 18644 "$id" "crop=true")"
            [ "$mask" = stored ] || echo "  (instance B answered X-Mask: $mask)"
            vs+=("$ms")
        done
        f=$(printf '%s\n' "${fs[@]}" | median)
        v=$(printf '%s\n' "${vs[@]}" | median)
        printf '%-18s | %12s | %15s %7s\n' "$(basename "$img")" "$f" "$v" "$(pct "$v" "$f")"
    done
    echo "# B never saw the image: it reads A's mask from PostgreSQL + radosgw (the source blob too)."
else
    echo "(postgres + radosgw not started: the second-instance figures are skipped)"
fi
