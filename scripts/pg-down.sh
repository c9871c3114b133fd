#!/usr/bin/env bash
# pg-down.sh — stop and remove the cluster pg-up.sh made (PG_TMP).
[ -n "${PG_TMP:-}" ] && [ -d "$PG_TMP" ] || exit 0
as_pg=()
[ "$(id -u)" = 0 ] && as_pg=(runuser -u postgres --)
"${as_pg[@]}" /usr/lib/postgresql/15/bin/pg_ctl -D "$PG_TMP/data" -m immediate -w stop >/dev/null 2>&1 || true
rm -rf "$PG_TMP"
