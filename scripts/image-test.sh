#!/usr/bin/env bash
# image-test.sh — `make image-test`: the image `make image` wrote, tested for
# real without a container engine (podman cannot run on this kind of
# machine: cgroups in hybrid mode):
#   - the archive: index.json -> manifest -> config and layer, every digest
#     and size checked, the layer's diff_id against its unpacked bytes;
#   - the config: entry point `assetd serve`, the non-root user, the
#     environment, port 8080, volume /data;
#   - the layer unpacked and its own `assetd serve` run under unshare (its
#     own mount and PID namespaces) + chroot as the image's user, settings
#     from the config's environment only: healthy without calibrating,
#     an upload and a cut-out over HTTP, the store written as that user
#     with private permissions;
#   - its size.
# Ends with "RESULT passed=N failed=M skipped=0".
# Usage: scripts/image-test.sh [IMAGE.tar]   (default build/assetd-image.tar; root)
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
IMAGE=${1:-build/assetd-image.tar}
passed=0 failed=0
ok() { echo "ok   $1"; passed=$((passed + 1)); }
bad() { echo "FAIL $1"; failed=$((failed + 1)); }
check() { local name=$1; shift; if "$@"; then ok "$name"; else bad "$name"; fi; }
finish() { echo "RESULT passed=$passed failed=$failed skipped=0"; [ $failed = 0 ]; exit $?; }

[ "$(id -u)" = 0 ] || { echo "run as root (unshare, chroot)"; bad "root"; finish; }
[ -f "$IMAGE" ] || { echo "$IMAGE: not there (make image)"; bad "image present"; finish; }
work=$(mktemp -d /tmp/assetd-image-test-XXXXXX)
pid=
# unshare ignores SIGTERM while it waits: the server (its child, the PID
# namespace's first process) is the one told to stop
stop_server() {
    [ -n "$pid" ] || return 0
    local child
    child=$(pgrep -P "$pid" | head -1)
    [ -n "$child" ] && kill -TERM "$child" 2>/dev/null
    wait "$pid" 2>/dev/null
    pid=
}
cleanup() {
    stop_server
    rm -rf "$work"
}
trap cleanup EXIT
tar -C "$work" -xf "$IMAGE"

# ---------------------------------------------- the archive and its config
python3 - "$work" > "$work/layer.txt" <<'EOF'
import hashlib, json, sys, os, gzip
d = sys.argv[1]
def blob(desc):
    algo, hexd = desc["digest"].split(":")
    p = os.path.join(d, "blobs", algo, hexd)
    data = open(p, "rb").read()
    assert hashlib.sha256(data).hexdigest() == hexd, "digest of " + hexd
    assert len(data) == desc["size"], "size of " + hexd
    return data, p
assert json.load(open(os.path.join(d, "oci-layout")))["imageLayoutVersion"] == "1.0.0"
index = json.load(open(os.path.join(d, "index.json")))
assert len(index["manifests"]) == 1
manifest = json.loads(blob(index["manifests"][0])[0])
assert manifest["config"]["mediaType"] == "application/vnd.oci.image.config.v1+json"
config = json.loads(blob(manifest["config"])[0])
assert len(manifest["layers"]) == 1
data, path = blob(manifest["layers"][0])
diff = "sha256:" + hashlib.sha256(gzip.decompress(data)).hexdigest()
assert config["rootfs"]["diff_ids"] == [diff], "diff_id"
docker = json.load(open(os.path.join(d, "manifest.json")))
assert docker[0]["Layers"] == ["blobs/" + manifest["layers"][0]["digest"].replace(":", "/")]
c = config["config"]
env = dict(e.split("=", 1) for e in c["Env"])
assert c["Entrypoint"] == ["/usr/bin/assetd"] and c["Cmd"] == ["serve"], "entry point"
assert c["User"] == "10001:10001", "user"
assert env["ASSETD_DATA_DIR"] == "/data" and env["ASSETD_LISTEN"] == "0.0.0.0:8080", "environment"
assert c["ExposedPorts"] == {"8080/tcp": {}}, "port"
assert c["Volumes"] == {"/data": {}}, "volume"
assert config["architecture"] == "amd64" and config["os"] == "linux"
print(path)
for k, v in env.items():
    print("ENV", k + "=" + v)
EOF
if [ $? = 0 ]; then ok "the archive's digests, sizes and diff_id; the config's entry point, user, env, port, volume"
else bad "the archive and its config"; finish; fi
layer=$(head -1 "$work/layer.txt")

# ------------------------------------------------------------ the layer
rootfs=$work/rootfs
mkdir -p "$rootfs"
tar -C "$rootfs" -xzf "$layer"
check "runs as no one but its user: /data is 10001's, 0700" \
    test "$(stat -c '%u:%g %a' "$rootfs/data")" = "10001:10001 700"
check "the int8 model is prepared in the image (calibration ranges and graph)" \
    sh -c "ls '$rootfs'/var/cache/assetd/calib-*.txt && ls '$rootfs'/var/cache/assetd/isnet-*.onnx" >/dev/null
check "nothing a runtime does not need: no compiler, no apt, no docs but licences and assetd's own" \
    sh -c "! test -e '$rootfs/usr/bin/gcc' && ! test -e '$rootfs/usr/bin/apt-get' && \
           test -z \"\$(find '$rootfs/usr/share/doc' -type f ! -name copyright ! -path '*/doc/assetd/*' | head -1)\""

graphs_before=$(ls "$rootfs"/var/cache/assetd/isnet-*.onnx 2>/dev/null | sort)

# its own server, in its own namespaces, as its own user, with the config's
# environment (the port is the test's)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
envs=(env -i $(sed -n 's/^ENV //p' "$work/layer.txt") "ASSETD_LISTEN=127.0.0.1:$port" "ASSETD_API_KEY=image-test-key-0123456789")
unshare --mount --pid --fork --kill-child sh -c "
    mount --rbind /dev '$rootfs/dev' && mount -t proc proc '$rootfs/proc' &&
    exec chroot --userspec=10001:10001 '$rootfs' ${envs[*]} /usr/bin/assetd serve" > "$work/serve.log" 2>&1 &
pid=$!
healthy=0
for _ in $(seq 1 300); do
    if curl -fs "http://127.0.0.1:$port/healthz" >/dev/null 2>&1; then healthy=1; break; fi
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
done
check "its assetd serve starts from the config's entry point and is healthy" test $healthy = 1
check "its first start did not calibrate (prepared at build time)" sh -c "! grep -q calibrating '$work/serve.log'"
key="Authorization: Bearer image-test-key-0123456789"
id=$(curl -fs -H "$key" -H 'Content-Type: image/jpeg' --data-binary @deps/testdata/grace_hopper.jpg \
     "http://127.0.0.1:$port/api/v1/assets?filename=g.jpg" | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
check "an upload over HTTP" test ${#id} = 32
curl -fs -H "$key" -o "$work/cut.png" "http://127.0.0.1:$port/api/v1/assets/$id/addons/bg_remove"
check "a cut-out over HTTP: a PNG with alpha" python3 - "$work/cut.png" <<'EOF'
import sys, struct
b = open(sys.argv[1], "rb").read()
assert b[:8] == b"\x89PNG\r\n\x1a\n" and b[12:16] == b"IHDR"
w, h, depth, ctype = struct.unpack(">IIBB", b[16:26])
assert w > 0 and h > 0 and ctype == 6
EOF
check "the cut-out used the graph prepared at build time (none made at the first start)" \
    test "$(ls "$rootfs"/var/cache/assetd/isnet-*.onnx 2>/dev/null | sort)" = "$graphs_before"
server_uid=$(stat -c %u "/proc/$(pgrep -P "$pid" | head -1)" 2>/dev/null)
check "the server process runs as uid 10001" test "$server_uid" = 10001
check "the store it wrote is the user's and private" \
    sh -c "test \"\$(stat -c '%u %a' '$rootfs/data/assetd.db')\" = '10001 600'"
stop_server
echo "    image: $(du -m "$IMAGE" | cut -f1) MiB compressed, $(du -sm "$rootfs" | cut -f1) MiB unpacked"
finish
