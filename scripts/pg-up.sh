#!/usr/bin/env bash
# pg-up.sh — a throwaway PostgreSQL 15 cluster for the tests, in a temporary
# folder, on 127.0.0.1:PGPORT (default 55432), trust auth. fsync is off (it
# is thrown away, and a killed process loses nothing the kernel holds) but
# commits are synchronous: the tests kill the server and count on every
# acknowledged commit. Prints shell assignments: eval "$(scripts/pg-up.sh)".
# initdb and pg_ctl refuse root: they run as the postgres user.
set -euo pipefail
PGBIN=/usr/lib/postgresql/15/bin
PGPORT=${PGPORT:-55432}
PG_TMP=$(mktemp -d /tmp/assetd-pg.XXXXXX)
chmod 700 "$PG_TMP"
as_pg=()
if [ "$(id -u)" = 0 ]; then
    chown postgres:postgres "$PG_TMP"
    as_pg=(runuser -u postgres --)
fi
"${as_pg[@]}" "$PGBIN/initdb" -D "$PG_TMP/data" -U postgres --auth=trust --encoding=UTF8 --locale=C.UTF-8 -N \
    >"$PG_TMP/initdb.log" 2>&1
"${as_pg[@]}" "$PGBIN/pg_ctl" -D "$PG_TMP/data" -l "$PG_TMP/pg.log" -w -t 30 \
    -o "-c listen_addresses=127.0.0.1 -p $PGPORT -c unix_socket_directories=$PG_TMP -c fsync=off -c full_page_writes=off -c max_connections=300" \
    start >/dev/null
echo "export PG_TMP=$PG_TMP PGHOST=127.0.0.1 PGPORT=$PGPORT PGUSER=postgres PGDATABASE=postgres"
