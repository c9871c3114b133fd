#!/usr/bin/env bash
# image.sh — `make image`: an OCI image of assetd made from Debian packages
# and this checkout, with no registry but Debian's archive (and npm, for
# what scripts/setup.sh already fetched): podman load / docker load take it.
#
#   1. `make install PREFIX=/usr` into a staging folder: the binary, both
#      models, ONNX Runtime, the calibration photos, /etc/assetd/assetd.conf.
#   2. mmdebstrap: a Debian 12 root file system of the essential packages
#      plus the packages that hold the libraries the binary and ONNX Runtime
#      link (read off their ELF headers: nothing listed twice), without
#      documentation, manuals or locales.
#   3. In it: the staged files, a user assetd (10001), /data for the store
#      (0700, the user's), and the int8 model prepared by the image's own
#      binary at build time (`assetd prepare` in a chroot), so a container's
#      first start does not calibrate (~1.5 min on 2 cores). The optimised
#      graph is kept too; a CPU of another kind rebuilds it at its first
#      start (seconds) into /var/cache/assetd, which is the user's.
#   4. The layer (gzip -n), the image config (entry point `assetd serve`,
#      user, environment, port 8080, volume /data) and the manifest, as an
#      OCI layout in one tar (with a docker-load manifest.json beside it).
#
# Reproducible where mmdebstrap allows: SOURCE_DATE_EPOCH (the last
# commit's time unless set) fixes every time stamp; the same archive state
# and the same CPU kind (the prepared graph) give the same bytes.
#
# Usage: scripts/image.sh [OUT.tar]   (default build/assetd-image.tar; root)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
OUT=${1:-build/assetd-image.tar}
VERSION=$(sed -n 's/.*AD_VERSION "\(.*\)".*/\1/p' src/base/version.h)
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || date +%s)}
UID_=10001

log() { printf 'image: %s\n' "$*" >&2; }
die() { printf 'image: error: %s\n' "$*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "run as root (mmdebstrap's root mode, chroot)"
[ -f deps/models/isnet-medium.onnx ] || die "run scripts/setup.sh first (the models, ONNX Runtime)"
if ! command -v mmdebstrap >/dev/null 2>&1; then
    log "apt-get install mmdebstrap"
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends mmdebstrap >/dev/null
fi
make -s -j"$(nproc)" all

work=$(mktemp -d /tmp/assetd-image-XXXXXX)
trap 'rm -rf "$work"' EXIT

# ------------------------------------------------------------ 1. staging
make -s install PREFIX=/usr DESTDIR="$work/stage" >/dev/null
rm -rf "$work/stage/usr/lib/systemd" # a container has no systemd

# ------------------------------------------- 2. the packages the ELF needs
needed() { objdump -p "$1" | awk '/NEEDED/{print $2}'; }
pkgs=()
for lib in $( (needed build/assetd; needed deps/onnxruntime/lib/libonnxruntime.so) | sort -u); do
    path=$(ldconfig -p | awk -v l="$lib" '$1 == l && /x86-64/ && !f {print $NF; f = 1}')
    [ -n "$path" ] || die "$lib: not found on this machine"
    pkg=$(dpkg -S "$(readlink -f "$path")" 2>/dev/null || dpkg -S "$path" 2>/dev/null) || die "$lib: no package"
    pkgs+=("${pkg%%:*}")
done
pkgs+=(ca-certificates) # https to S3 and webhooks
include=$(printf '%s\n' "${pkgs[@]}" | sort -u | paste -sd, -)
log "packages: $include"

# ------------------------------------------------- 3. the root file system
# The hooks run with the new root in $1; mmdebstrap mounts /proc and /dev
# there for them in root mode.
mmdebstrap --mode=root --variant=essential --format=directory \
    --include="$include" \
    --dpkgopt='path-exclude=/usr/share/doc/*' \
    --dpkgopt='path-include=/usr/share/doc/*/copyright' \
    --dpkgopt='path-exclude=/usr/share/man/*' \
    --dpkgopt='path-exclude=/usr/share/info/*' \
    --dpkgopt='path-exclude=/usr/share/locale/*' \
    --dpkgopt='path-exclude=/usr/share/lintian/*' \
    --customize-hook="tar -C '$work/stage' -c . | tar -C \"\$1\" -x" \
    --customize-hook="echo 'assetd:x:$UID_:$UID_:assetd:/data:/usr/sbin/nologin' >> \"\$1/etc/passwd\"" \
    --customize-hook="echo 'assetd:x:$UID_:' >> \"\$1/etc/group\"" \
    --customize-hook="mkdir -p \"\$1/data\" \"\$1/var/cache/assetd\"" \
    --customize-hook="chroot \"\$1\" env ASSETD_MODEL_CACHE_DIR=/var/cache/assetd /usr/bin/assetd prepare >&2" \
    --customize-hook="chown -R $UID_:$UID_ \"\$1/data\" \"\$1/var/cache/assetd\"" \
    --customize-hook="chmod 0700 \"\$1/data\" \"\$1/var/cache/assetd\"" \
    --customize-hook="rm -rf \"\$1/var/log/\"* \"\$1/var/cache/ldconfig/aux-cache\" \"\$1/root/.cache\"" \
    --customize-hook="find \"\$1\" -xdev -newermt @$SOURCE_DATE_EPOCH ! -path \"\$1/proc\" ! -path \"\$1/sys\" ! -path \"\$1/dev\" -print0 | xargs -0r touch --no-dereference --date=@$SOURCE_DATE_EPOCH" \
    bookworm "$work/rootfs" >&2
# the layer: in name order, numeric owners, no access or change times (tar
# of a directory, not mmdebstrap's own, whose order varies between runs)
tar -C "$work/rootfs" --sort=name --numeric-owner --mtime="@$SOURCE_DATE_EPOCH" --clamp-mtime \
    --pax-option=exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime -cf "$work/rootfs.tar" .
rm -rf "$work/rootfs"

# ------------------------------------------------------- 4. the OCI layout
oci=$work/oci
mkdir -p "$oci/blobs/sha256"
sha() { sha256sum "$1" | cut -d' ' -f1; }
size() { stat -c %s "$1"; }
diff_id=$(sha "$work/rootfs.tar")
gzip -n -6 -c "$work/rootfs.tar" > "$work/layer.tar.gz"
layer=$(sha "$work/layer.tar.gz")
mv "$work/layer.tar.gz" "$oci/blobs/sha256/$layer"
created=$(date -u -d "@$SOURCE_DATE_EPOCH" +%Y-%m-%dT%H:%M:%SZ)
cat > "$work/config.json" <<EOF
{"architecture":"amd64","os":"linux","created":"$created","config":{"User":"$UID_:$UID_","Entrypoint":["/usr/bin/assetd"],"Cmd":["serve"],"Env":["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin","ASSETD_LISTEN=0.0.0.0:8080","ASSETD_DATA_DIR=/data","ASSETD_MODEL_CACHE_DIR=/var/cache/assetd"],"ExposedPorts":{"8080/tcp":{}},"Volumes":{"/data":{}},"WorkingDir":"/data","StopSignal":"SIGTERM","Labels":{"org.opencontainers.image.title":"assetd","org.opencontainers.image.version":"$VERSION","org.opencontainers.image.description":"digital assets with AI background removal"}},"rootfs":{"type":"layers","diff_ids":["sha256:$diff_id"]},"history":[{"created":"$created","created_by":"scripts/image.sh (mmdebstrap bookworm + make install)"}]}
EOF
config=$(sha "$work/config.json")
cp "$work/config.json" "$oci/blobs/sha256/$config"
cat > "$work/manifest.json" <<EOF
{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:$config","size":$(size "$work/config.json")},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"sha256:$layer","size":$(size "$oci/blobs/sha256/$layer")}]}
EOF
manifest=$(sha "$work/manifest.json")
cp "$work/manifest.json" "$oci/blobs/sha256/$manifest"
printf '{"imageLayoutVersion":"1.0.0"}\n' > "$oci/oci-layout"
cat > "$oci/index.json" <<EOF
{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:$manifest","size":$(size "$work/manifest.json"),"annotations":{"org.opencontainers.image.ref.name":"$VERSION","io.containerd.image.name":"localhost/assetd:$VERSION"}}]}
EOF
# docker load before 25 reads this one
cat > "$oci/manifest.json" <<EOF
[{"Config":"blobs/sha256/$config","RepoTags":["localhost/assetd:$VERSION"],"Layers":["blobs/sha256/$layer"]}]
EOF
mkdir -p "$(dirname "$OUT")"
find "$oci" -print0 | xargs -0 touch --no-dereference --date="@$SOURCE_DATE_EPOCH"
tar -C "$oci" --sort=name --owner=0 --group=0 --numeric-owner --mtime="@$SOURCE_DATE_EPOCH" -cf "$OUT" \
    oci-layout index.json manifest.json blobs
log "$OUT: $(du -m "$OUT" | cut -f1) MiB compressed, $(( $(size "$work/rootfs.tar") >> 20 )) MiB unpacked; sha256 $(sha "$OUT")"
log "load it: podman load -i $OUT   (or docker load -i $OUT); run it:"
log "  podman run -p 8080:8080 -v assetd-data:/data -e ASSETD_API_KEY=... localhost/assetd:$VERSION"
