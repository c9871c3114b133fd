#!/usr/bin/env bash
# ceph-down.sh DIR — stop what ceph-up.sh DIR started and remove it.
D=${1:-/tmp/assetd-ceph}
[ -f "$D/pids" ] || { rm -rf "$D"; exit 0; }
pids=$(cat "$D/pids")
kill $pids 2>/dev/null || true
for _ in $(seq 1 50); do
    alive=0
    for p in $pids; do kill -0 "$p" 2>/dev/null && alive=1; done
    [ $alive = 0 ] && break
    sleep 0.2
done
kill -9 $pids 2>/dev/null || true
rm -rf "$D"
