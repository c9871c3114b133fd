#!/usr/bin/env bash
# bench/delivery.sh — `make bench` section 8, delivery (../shared/spec/delivery.md
# section 4), side by side in one run, wrk on loopback:
#   a. a stored variant read (~30 KB WebP: 560 px of coffee_2400.jpg,
#      STORED_W to change it): GET /d/... from the store;
#   b. an uncached resize of a 2400x1600 JPEG to 400 px WebP, c=4: assetd
#      (--variant-store-mb 0 and a distinct URL per request, so every one
#      renders) beside a node server using sharp (libvips from npm, the
#      peer's) and nginx's image_filter (Debian's module; it keeps the
#      input's format, so it makes a 400 px JPEG);
#   c. a bg_remove variant whose mask is stored against the same variant
#      computed from scratch (curl, the server's X-Processing-Time-Ms is not
#      on /d/ answers: wall time).
#   DURATION=5 bench/delivery.sh
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
DURATION=${DURATION:-5}
KEY=bench-key-0123456789abcdef
PEER="$ROOT/deps/peer"
OUT=$(mktemp -d /tmp/assetd-delivery-XXXXXX)
PIDS=()
cleanup() {
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$OUT"
}
trap cleanup EXIT
mkdir -p deps/bench
SRC=../shared/peers/images/coffee_2400.jpg
[ -f "$SRC" ] || { [ -f deps/bench/coffee_2400.jpg ] ||
    build/tests/mkimage resize deps/testdata/coffee.png deps/bench/coffee_2400.jpg 2400 1600; SRC=deps/bench/coffee_2400.jpg; }

start() { # NAME PORT ARGS...
    local name=$1 port=$2
    shift 2
    ASSETD_API_KEY=$KEY build/assetd serve --listen "127.0.0.1:$port" --data-dir "$OUT/$name" "$@" \
        >>"$OUT/$name.log" 2>&1 &
    PIDS+=($!)
    for _ in $(seq 600); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && return 0; sleep 0.1; done
    echo "assetd did not start"; tail "$OUT/$name.log"; exit 1
}
upload() { curl -sf -H "Authorization: Bearer $KEY" -H 'Content-Type: image/jpeg' --data-binary @"$2" \
    "http://127.0.0.1:$1/api/v1/assets?filename=p.jpg" | sed -E 's/.*"id":"([0-9a-f]+)".*/\1/'; }
mint() { printf '%s\n' "$(curl -sf -X POST -H "Authorization: Bearer $KEY" -d "$3" \
    "http://127.0.0.1:$1/api/v1/assets/$2/delivery_urls" | sed -E 's/.*"path":"([^"]+)".*/\1/')"; }
# wrk over the paths in a file (one per line, in turn), c connections:
# prints "req/s p99_ms"
WRK_LUA="$OUT/paths.lua"
cat >"$WRK_LUA" <<'LUA'
local paths, i = {}, 0
init = function(args) for line in io.lines(args[1]) do paths[#paths + 1] = line end end
request = function()
  i = i % #paths + 1
  return wrk.format("GET", paths[i], { ["Accept"] = "image/webp" })
end
done = function(summary, latency, requests)
  io.write(string.format("RESULT %.1f %.2f %d\n", summary.requests / (summary.duration / 1e6),
    latency:percentile(99) / 1000, summary.errors.status + summary.errors.connect + summary.errors.read))
end
LUA
load() { # URL_BASE PATHS_FILE CONNECTIONS
    wrk -t2 -c"$3" -d"${DURATION}s" -s "$WRK_LUA" "$1" -- "$2" 2>/dev/null | awk '$1 == "RESULT" { print $2, $3, $4 }'
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a > 0 && b > 0) printf "%.2fx", a / b; else printf "-" }'; }

start store 18651
ID=$(upload 18651 "$SRC")
P=$(mint 18651 "$ID" "{\"options\":{\"w\":${STORED_W:-560},\"format\":\"webp\"}}")
curl -sf -o "$OUT/v.webp" "http://127.0.0.1:18651$P"
echo "$P" >"$OUT/stored.txt"
# the same photo as first renders: 400 URLs that differ by their quality
start render 18652 --variant-store-mb 0
RID=$(upload 18652 "$SRC")
for q in $(seq 1 100); do mint 18652 "$RID" "{\"options\":{\"w\":400,\"format\":\"webp\",\"q\":$q}}"; done >"$OUT/render.txt"
# a. stored variant: as many connections as a browser fleet opens
read -r s_rate s_p99 s_err <<<"$(load http://127.0.0.1:18651 "$OUT/stored.txt" 32)"
# b. uncached resizes at c=4, each server alone in turn
read -r a_rate a_p99 a_err <<<"$(load http://127.0.0.1:18652 "$OUT/render.txt" 4)"
sh_rate='' ng_rate=''
if [ -f "$PEER/node_modules/sharp/package.json" ]; then
    cp -f bench/peer/sharp_resize.mjs "$PEER/"
    (cd "$PEER" && node sharp_resize.mjs 18653 "$ROOT/$SRC" >"$OUT/sharp.log" 2>&1) &
    PIDS+=($!)
    for _ in $(seq 100); do curl -sf -o /dev/null http://127.0.0.1:18653/ && break; sleep 0.1; done
    for i in $(seq 1 100); do echo "/r?$i"; done >"$OUT/peer.txt"
    read -r sh_rate sh_p99 sh_err <<<"$(load http://127.0.0.1:18653 "$OUT/peer.txt" 4)"
fi
NGX_MOD=/usr/lib/nginx/modules/ngx_http_image_filter_module.so
if command -v nginx >/dev/null && [ -f "$NGX_MOD" ]; then
    mkdir -p "$OUT/nginx/www"
    cp "$SRC" "$OUT/nginx/www/photo.jpg"
    # workers of a root nginx run as www-data, who cannot read the bench's
    # private folder
    [ "$(id -u)" = 0 ] && NGX_USER="user root;" || NGX_USER=""
    cat >"$OUT/nginx/nginx.conf" <<NGX
$NGX_USER
load_module $NGX_MOD;
worker_processes 2;
pid $OUT/nginx/nginx.pid;
error_log $OUT/nginx/error.log;
events { worker_connections 256; }
http {
    access_log off;
    client_body_temp_path $OUT/nginx/tmp; proxy_temp_path $OUT/nginx/tmp; fastcgi_temp_path $OUT/nginx/tmp;
    uwsgi_temp_path $OUT/nginx/tmp; scgi_temp_path $OUT/nginx/tmp;
    server {
        listen 127.0.0.1:18654;
        location /r {
            alias $OUT/nginx/www/photo.jpg;
            image_filter resize 400 -;
            image_filter_jpeg_quality 82;
            image_filter_buffer 20M;
        }
    }
}
NGX
    mkdir -p "$OUT/nginx/tmp"
    nginx -c "$OUT/nginx/nginx.conf" -e "$OUT/nginx/error.log" 2>/dev/null &&
        read -r ng_rate ng_p99 ng_err <<<"$(load http://127.0.0.1:18654 "$OUT/peer.txt" 4)"
    [ -f "$OUT/nginx/nginx.pid" ] && kill "$(cat "$OUT/nginx/nginx.pid")" 2>/dev/null || true
fi
printf '%-58s %9s %8s\n' "" "req/s" "p99_ms"
printf '%-58s %9s %8s   (%s bytes; %s errors)\n' "a. stored variant read, c=32" "$s_rate" "$s_p99" \
    "$(stat -c %s "$OUT/v.webp")" "$s_err"
printf '%-58s %9s %8s   stored/render %s (%s errors)\n' "b. assetd: uncached 2400x1600 JPEG -> 400 px WebP, c=4" \
    "$a_rate" "$a_p99" "$(ratio "$s_rate" "$a_rate")" "$a_err"
[ -n "$sh_rate" ] && printf '%-58s %9s %8s   assetd/sharp %s (%s errors)\n' "   node + sharp: the same resize, c=4" \
    "$sh_rate" "$sh_p99" "$(ratio "$a_rate" "$sh_rate")" "$sh_err"
[ -n "$ng_rate" ] && printf '%-58s %9s %8s   assetd/nginx %s (%s errors)\n' "   nginx image_filter: 400 px JPEG, c=4" \
    "$ng_rate" "$ng_p99" "$(ratio "$a_rate" "$ng_rate")" "$ng_err"
[ -z "$sh_rate" ] && echo "   (no deps/peer: sharp not measured; make bench installs the peer)"

# c. a bg_remove variant: mask computed now vs stored
ms() { curl -sf -o /dev/null -w '%{time_total}' -H 'Accept: image/webp' "http://127.0.0.1:18651$1" |
    awk '{ printf "%.0f", $1 * 1000 }'; }
printf '\n%-22s %14s %14s %7s\n' "c. bg_remove variant" "computed_ms" "stored_ms" "share"
for img in ../shared/peers/images/grace_hopper.jpg "$SRC"; do
    [ -f "$img" ] || img=deps/testdata/grace_hopper.jpg
    id=$(upload 18651 "$img")
    p1=$(mint 18651 "$id" '{"variant":"bg_remove","options":{"w":400,"bg_color":"white"}}')
    p2=$(mint 18651 "$id" '{"variant":"bg_remove","options":{"w":401,"bg_color":"white"}}')
    c=$(ms "$p1")
    s=$(ms "$p2")
    printf '%-22s %14s %14s %7s\n' "$(basename "$img")" "$c" "$s" \
        "$(awk -v a="$s" -v b="$c" 'BEGIN { printf "%.1f%%", 100 * a / b }')"
done
