#!/usr/bin/env bash
# ceph-up.sh DIR — a single-node Ceph (one memstore OSD) with radosgw on
# 127.0.0.1:7480, for the tests: a strict S3 (SigV4, payload hashes).
# Access key AK, secret SK. ~11 s. Recipe and pitfalls:
# ../shared/infra/NOTES.md (fixed OSD uuid and crush entry; daemons in the
# foreground as our own background jobs).
set -euo pipefail
D=${1:-/tmp/assetd-ceph}
if ss -ltn | grep -qE ":(6789|7480) "; then echo "ceph-up: port 6789/7480 busy: stale ceph?" >&2; exit 1; fi
rm -rf "$D"; mkdir -p "$D"/{run,log,mon.a,osd.0,rgw}
FSID=$(cat /proc/sys/kernel/random/uuid)
C="$D/ceph.conf"
cat > "$C" <<CONF
[global]
fsid = $FSID
mon host = v1:127.0.0.1:6789
mon initial members = a
public network = 127.0.0.0/8
auth cluster required = none
auth service required = none
auth client required = none
auth allow insecure global id reclaim = false
run dir = $D/run
admin socket = $D/run/\$name.asok
log file = $D/log/\$name.log
mon data = $D/mon.\$id
osd data = $D/osd.\$id
osd objectstore = memstore
memstore device bytes = 1073741824
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pgp num = 8
osd pool default pg autoscale mode = off
mon allow pool size one = true
mon warn on pool no redundancy = false
osd crush chooseleaf type = 0
mon max pg per osd = 1000
osd class update on start = false
osd crush update on start = false
[client.rgw.gw]
rgw frontends = beast endpoint=127.0.0.1:7480
rgw data = $D/rgw
CONF
monmaptool --create --addv a "[v1:127.0.0.1:6789]" --fsid "$FSID" "$D/monmap" >/dev/null
ceph-authtool --create-keyring "$D/keyring" --gen-key -n mon. --cap mon 'allow *' >/dev/null
ceph-mon -c "$C" --mkfs -i a --monmap "$D/monmap" --keyring "$D/keyring"
ceph-mon -c "$C" -i a -f >>"$D/log/mon.out" 2>&1 & echo $! >> "$D/pids"
OSD_UUID=$(cat /proc/sys/kernel/random/uuid)
ceph -c "$C" osd new "$OSD_UUID" >/dev/null
ceph -c "$C" osd crush add osd.0 1.0 root=default host=localhost >/dev/null 2>&1
ceph-osd -c "$C" -i 0 --mkfs --osd-uuid "$OSD_UUID" >>"$D/log/mkfs.log" 2>&1
ceph-osd -c "$C" -i 0 -f >>"$D/log/osd.out" 2>&1 & echo $! >> "$D/pids"
radosgw -c "$C" -n client.rgw.gw -f >>"$D/log/rgw.out" 2>&1 & echo $! >> "$D/pids"
for _ in $(seq 1 600); do curl -s -o /dev/null http://127.0.0.1:7480/ && break; sleep 0.1; done
curl -s -o /dev/null http://127.0.0.1:7480/ || { echo "ceph-up: radosgw did not come up" >&2; exit 1; }
radosgw-admin -c "$C" user create --uid=ci --display-name=ci --access-key=AK --secret-key=SK >/dev/null
