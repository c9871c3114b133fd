/* meta_postgres.c — the metadata part in PostgreSQL (libpq), for many
 * assetd instances on one database: one connection per thread,
 * re-established when the server went away; write transactions at READ
 * COMMITTED, with the blob lock as a transaction-scoped advisory lock on
 * the address (the GC and a pin serialise on it: docs/store.md); jobs
 * claimed with FOR UPDATE SKIP LOCKED. The schema is versioned
 * (schema_migrations), migrated under a session advisory lock so that N
 * instances starting at once migrate exactly once.
 * The queues of background work (jobs, webhook deliveries) are in
 * meta_postgres_work.c; what the two files share is in meta_postgres_impl.h. */
#include <libpq-fe.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/breaker.h"
#include "base/clock.h"
#include "store/asset_query.h"
#include "store/custom_index.h"
#include "store/meta.h"
#include "store/meta_postgres_impl.h"

/* The key of the session lock migrations run under. */
#define MIGRATE_LOCK 4242001

static const char *const migrations[] = {
    /* 1: the whole schema of this release */
    "CREATE TABLE assets(id TEXT PRIMARY KEY, seq BIGINT GENERATED ALWAYS AS IDENTITY UNIQUE,"
    " filename TEXT NOT NULL, content_type TEXT NOT NULL, size BIGINT NOT NULL, sha256 TEXT NOT NULL,"
    " width INTEGER, height INTEGER, created_at TEXT NOT NULL, custom_data TEXT NOT NULL, source_asset_id TEXT);"
    "CREATE INDEX assets_sha ON assets(sha256);"
    "CREATE TABLE conversions(asset_id TEXT NOT NULL, name TEXT NOT NULL, content_type TEXT NOT NULL,"
    " size BIGINT NOT NULL, sha256 TEXT NOT NULL, created_at TEXT NOT NULL, PRIMARY KEY(asset_id, name));"
    "CREATE INDEX conversions_sha ON conversions(sha256);"
    "CREATE TABLE api_keys(sha256 TEXT PRIMARY KEY, id TEXT NOT NULL UNIQUE, label TEXT NOT NULL DEFAULT '',"
    " created_at TEXT NOT NULL, last_used_at TEXT, revoked_at TEXT);"
    "CREATE TABLE jobs(id TEXT PRIMARY KEY, kind TEXT NOT NULL, payload TEXT NOT NULL, status INTEGER NOT NULL,"
    " attempts INTEGER NOT NULL DEFAULT 0, error TEXT, result TEXT, created_at TEXT NOT NULL, finished_at TEXT,"
    " run_after BIGINT NOT NULL DEFAULT 0, owner TEXT, lease_until BIGINT NOT NULL DEFAULT 0);"
    "CREATE INDEX jobs_due ON jobs(status, run_after);"
    "CREATE TABLE blob_pins(sha256 TEXT NOT NULL, owner TEXT NOT NULL, expires_ms BIGINT NOT NULL,"
    " PRIMARY KEY(sha256, owner));"
    "CREATE INDEX blob_pins_owner ON blob_pins(owner);"
    "CREATE TABLE gc_queue(sha256 TEXT PRIMARY KEY, due_ms BIGINT NOT NULL);"
    "CREATE INDEX gc_queue_due ON gc_queue(due_ms);",
    /* 2: a delete finds the asset's children by index (their lineage is
     * set to null) */
    "CREATE INDEX assets_source ON assets(source_asset_id);",
    /* 3: derived blobs (stored masks, delivery variants): a row per key
     * naming the derived blob and its source; each kind's count and bytes
     * in a row of its own, so that neither a bound check nor a scrape scans */
    "CREATE TABLE derived(key TEXT PRIMARY KEY, kind TEXT NOT NULL, source_sha256 TEXT NOT NULL,"
    " blob_sha256 TEXT NOT NULL, bytes BIGINT NOT NULL, used_ms BIGINT NOT NULL);"
    "CREATE INDEX derived_source ON derived(source_sha256);"
    "CREATE INDEX derived_blob ON derived(blob_sha256);"
    "CREATE INDEX derived_used ON derived(kind, used_ms);"
    "CREATE TABLE derived_usage(kind TEXT PRIMARY KEY, count BIGINT NOT NULL, bytes BIGINT NOT NULL);"
    /* and keys with a scope: those of an older store keep what they could do */
    "ALTER TABLE api_keys ADD COLUMN scope TEXT NOT NULL DEFAULT 'admin';",
    /* 4: search and integrations (integrations.md): custom data as index
     * entries (store/custom_index.h) found by (path, key) in seq order and
     * by seq when rewritten (existing assets' are entered by index_all
     * after this step, in its transaction); the list's other filters by
     * index, text ranges in bytes' order (COLLATE "C"); jobs with their
     * asset and an insertion order; webhooks, their outbox and the log of
     * attempts */
    "CREATE TABLE custom_index(path TEXT NOT NULL, key TEXT NOT NULL, tag TEXT NOT NULL, seq BIGINT NOT NULL,"
    " PRIMARY KEY(path, key, seq));"
    "CREATE INDEX custom_index_seq ON custom_index(seq, path);"
    "CREATE INDEX assets_filename ON assets(filename COLLATE \"C\");"
    "CREATE INDEX assets_type ON assets(content_type, seq);"
    "CREATE INDEX assets_type_range ON assets(content_type COLLATE \"C\");"
    "CREATE INDEX assets_created ON assets(created_at COLLATE \"C\");"
    "CREATE INDEX conversions_name ON conversions(name, asset_id);"
    "ALTER TABLE jobs ADD COLUMN asset_id TEXT;"
    "ALTER TABLE jobs ADD COLUMN seq BIGINT GENERATED ALWAYS AS IDENTITY;"
    "UPDATE jobs SET asset_id = payload::jsonb->>'asset_id';"
    "CREATE INDEX jobs_seq ON jobs(seq);"
    "CREATE INDEX jobs_status_seq ON jobs(status, seq);"
    "CREATE INDEX jobs_asset ON jobs(asset_id, seq);"
    "CREATE TABLE webhooks(id TEXT PRIMARY KEY, url TEXT NOT NULL, events TEXT NOT NULL,"
    " description TEXT NOT NULL, secret TEXT NOT NULL, created_at TEXT NOT NULL);"
    "CREATE TABLE webhook_deliveries(seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY, webhook_id TEXT NOT NULL,"
    " event_id TEXT NOT NULL, type TEXT NOT NULL, body TEXT NOT NULL, state INTEGER NOT NULL DEFAULT 0,"
    " attempts INTEGER NOT NULL DEFAULT 0, next_ms BIGINT NOT NULL, created_ms BIGINT NOT NULL, owner TEXT,"
    " lease_until BIGINT NOT NULL DEFAULT 0);"
    "CREATE INDEX webhook_deliveries_due ON webhook_deliveries(state, next_ms);"
    "CREATE INDEX webhook_deliveries_done ON webhook_deliveries(state, created_ms);"
    "CREATE INDEX webhook_deliveries_hook ON webhook_deliveries(webhook_id);"
    "CREATE TABLE webhook_attempts(seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY, webhook_id TEXT NOT NULL,"
    " event_id TEXT NOT NULL, type TEXT NOT NULL, attempt INTEGER NOT NULL, status INTEGER NOT NULL, error TEXT,"
    " duration_ms BIGINT NOT NULL, at TEXT NOT NULL, at_ms BIGINT NOT NULL);"
    "CREATE INDEX webhook_attempts_hook ON webhook_attempts(webhook_id, seq);"
    "CREATE INDEX webhook_attempts_at ON webhook_attempts(at_ms);"
    /* and growth: pins found by expiry (the collector's candidates);
     * finished jobs (which only grow) counted by status in a row each, kept
     * by a trigger in the writing transaction (one row per transaction: no
     * lock order to get wrong), so a scrape reads two rows and the active
     * jobs by index, never the table; jobs found by their end for
     * retention */
    "CREATE INDEX blob_pins_expiry ON blob_pins(expires_ms);"
    "CREATE INDEX jobs_finished ON jobs(status, finished_at);"
    "CREATE TABLE job_counts(status INTEGER PRIMARY KEY, n BIGINT NOT NULL);"
    "INSERT INTO job_counts(status, n) SELECT s, (SELECT count(*) FROM jobs WHERE jobs.status = s)"
    " FROM generate_series(2, 3) s;"
    "CREATE FUNCTION jobs_count() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
    " IF TG_OP IN ('UPDATE', 'DELETE') AND OLD.status IN (2, 3) THEN"
    " UPDATE job_counts SET n = n - 1 WHERE status = OLD.status; END IF;"
    " IF TG_OP IN ('UPDATE', 'INSERT') AND NEW.status IN (2, 3) THEN"
    " UPDATE job_counts SET n = n + 1 WHERE status = NEW.status; END IF;"
    " RETURN NULL; END $$;"
    "CREATE TRIGGER jobs_count_insert AFTER INSERT OR DELETE ON jobs FOR EACH ROW EXECUTE FUNCTION jobs_count();"
    "CREATE TRIGGER jobs_count_update AFTER UPDATE OF status ON jobs FOR EACH ROW"
    " WHEN (OLD.status IS DISTINCT FROM NEW.status) EXECUTE FUNCTION jobs_count();",
};
/* The migration after which existing custom data is entered (index_all). */
#define MIGRATION_SEARCH 4
#define NMIGRATIONS (int)(sizeof migrations / sizeof migrations[0])

/* A failed call: SQLSTATE to a status, the server's text kept. A lost
 * connection is "busy" (503, retry): it comes back. */
static ad_status pg_fail(PGconn *conn, const PGresult *res, ad_err *err, const char *what)
{
    const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    const char *msg = res && PQresultErrorMessage(res)[0] ? PQresultErrorMessage(res) : PQerrorMessage(conn);
    char line[200];
    snprintf(line, sizeof line, "%s", msg ? msg : "unknown error");
    line[strcspn(line, "\n")] = '\0';
    ad_status st = AD_EBACKEND;
    if (conn == NULL || PQstatus(conn) != CONNECTION_OK || (state && strncmp(state, "08", 2) == 0) ||
        (state && strncmp(state, "57P", 3) == 0))
        st = AD_EBUSY; /* connection lost, server shutting down */
    else if (state && strcmp(state, "23505") == 0)
        st = AD_ECONFLICT;
    else if (state && (strcmp(state, "40001") == 0 || strcmp(state, "40P01") == 0 || strcmp(state, "55P03") == 0))
        st = AD_EBUSY;
    else if (state && strncmp(state, "53", 2) == 0)
        st = AD_EIO;
    return ad_err_set(err, st, "postgres: %s: %s", what, line);
}

static void close_conn(void *p)
{
    pgc *c = p;
    if (c) {
        PQfinish(c->conn);
        free(c);
    }
}

/* This thread's connection, opened (or re-opened after the server went
 * away) on demand; refused at once while the breaker is open. */
ad_status pg_conn(pg_meta *m, pgc **out, ad_err *err)
{
    pgc *c = pthread_getspecific(m->conn_key);
    if (c && c->conn && PQstatus(c->conn) == CONNECTION_OK) {
        *out = c;
        return AD_OK;
    }
    if (c == NULL) {
        if ((c = calloc(1, sizeof *c)) == NULL)
            return ad_err_set(err, AD_ENOMEM, "out of memory");
        c->m = m;
        pthread_setspecific(m->conn_key, c);
    }
    PQfinish(c->conn);
    c->conn = NULL;
    char why[160];
    if (!ad_breaker_allow(&m->breaker)) {
        ad_breaker_down(&m->breaker, why, sizeof why);
        return ad_err_set(err, AD_EBUSY, "postgres is not answering (%s); retrying it in the background", why);
    }
    /* connect_timeout first: the URL's own, when it has one, wins */
    char secs[24];
    snprintf(secs, sizeof secs, "%lld", (long long)((m->timeout_ms > 0 ? m->timeout_ms : 30000) + 999) / 1000);
    const char *const keys[] = {"connect_timeout", "dbname", NULL};
    const char *const values[] = {secs, m->url, NULL};
    c->conn = PQconnectdbParams(keys, values, 1);
    if (c->conn == NULL || PQstatus(c->conn) != CONNECTION_OK) {
        char line[200];
        snprintf(line, sizeof line, "%s", c->conn ? PQerrorMessage(c->conn) : "out of memory");
        line[strcspn(line, "\n")] = '\0';
        PQfinish(c->conn);
        c->conn = NULL;
        ad_breaker_fail(&m->breaker, line);
        return ad_err_set(err, AD_EBUSY, "postgres: cannot connect: %s", line);
    }
    ad_breaker_ok(&m->breaker);
    PGresult *r = PQexec(c->conn, "SET client_min_messages=warning");
    PQclear(r);
    *out = c;
    return AD_OK;
}

/* The answer to the statement sent on c, waiting at most the deadline for
 * it to arrive; NULL (and the connection dropped) when it passed. */
static PGresult *answer_within(pgc *c, int64_t timeout_ms)
{
    PGresult *last = NULL, *r;
    double until = ad_clock_ms() + (double)timeout_ms;
    for (;;) {
        while (!PQisBusy(c->conn)) {
            if ((r = PQgetResult(c->conn)) == NULL)
                return last;
            PQclear(last);
            last = r;
        }
        double left = until - ad_clock_ms();
        struct pollfd p = {.fd = PQsocket(c->conn), .events = POLLIN};
        int k = left > 0 ? poll(&p, 1, (int)left + 1) : 0;
        if (k < 0)
            continue;
        if (k == 0) {
            /* no answer in time: the server is stopped, cut off or
             * swamped; a cancel would wait as long, so the connection goes
             * (the server rolls back what it held when it notices) */
            PQclear(last);
            PQfinish(c->conn);
            c->conn = NULL;
            return NULL;
        }
        if (!PQconsumeInput(c->conn))
            return last ? last : PQgetResult(c->conn);
    }
}

/* Run sql with text parameters (NULL: SQL NULL). *res (may be NULL) keeps
 * a result with rows for the caller to PQclear. A statement runs under the
 * store's deadline (--store-timeout); one that passes it, or a connection
 * lost, opens the breaker. */
ad_status pg_run(pgc *c, ad_err *err, PGresult **res, int *changes, const char *sql, int n, const char *const *p)
{
    if (res)
        *res = NULL;
    if (c->conn == NULL) /* a deadline passed earlier in this transaction */
        return ad_err_set(err, AD_EBUSY, "postgres: the connection was dropped (no answer in time)");
    /* an open connection to a server that stopped answering is no better
     * than a new one: the breaker is asked before every statement */
    if (!ad_breaker_allow(&c->m->breaker)) {
        char why[160];
        ad_breaker_down(&c->m->breaker, why, sizeof why);
        return ad_err_set(err, AD_EBUSY, "postgres is not answering (%s); retrying it in the background", why);
    }
    int64_t timeout = c->m->timeout_ms;
    PGresult *r;
    if (timeout <= 0) {
        r = PQexecParams(c->conn, sql, n, NULL, p, NULL, NULL, 0);
    } else if (!PQsendQueryParams(c->conn, sql, n, NULL, p, NULL, NULL, 0)) {
        r = NULL;
    } else if ((r = answer_within(c, timeout)) == NULL && c->conn == NULL) {
        char why[96];
        snprintf(why, sizeof why, "no answer within %.1f s", (double)timeout / 1000.0);
        ad_breaker_fail(&c->m->breaker, why);
        return ad_err_set(err, AD_EBUSY, "postgres: %s", why);
    }
    ExecStatusType st = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
        ad_status rc = pg_fail(c->conn, r, err, "query");
        /* the server's refusal of the statement is an answer; a
         * connection found closed (a server restarted since it was made)
         * says nothing of the server now: the next connect will, and
         * opens the breaker if it is refused */
        if (c->conn == NULL || PQstatus(c->conn) != CONNECTION_OK) {
            ad_breaker_release(&c->m->breaker);
            PQfinish(c->conn);
            c->conn = NULL;
        } else {
            ad_breaker_ok(&c->m->breaker);
        }
        PQclear(r);
        return rc;
    }
    ad_breaker_ok(&c->m->breaker);
    if (changes) {
        const char *t = PQcmdTuples(r);
        *changes = t && *t ? atoi(t) : 0;
    }
    if (res)
        *res = r;
    else
        PQclear(r);
    return AD_OK;
}

static const char *col(PGresult *r, int row, int i) { return PQgetisnull(r, row, i) ? NULL : PQgetvalue(r, row, i); }

void pg_copy_col(PGresult *r, int row, int i, char *buf, size_t len)
{
    const char *v = col(r, row, i);
    snprintf(buf, len, "%s", v ? v : "");
}

char *pg_dup_col(PGresult *r, int row, int i)
{
    const char *v = col(r, row, i);
    return v ? strdup(v) : NULL;
}

void pg_i64(char buf[24], int64_t v) { snprintf(buf, 24, "%lld", (long long)v); }

ad_status pg_read_conn(ad_meta *base, ad_meta_tx *tx, pgc **c, ad_err *err)
{
    if (tx) {
        *c = ((pg_tx *)tx)->c;
        return AD_OK;
    }
    return pg_conn((pg_meta *)base, c, err);
}

/* ----------------------------------------------------------- transactions */

ad_status pg_begin(ad_meta *base, ad_meta_tx **out, ad_err *err)
{
    pgc *c;
    *out = NULL;
    ad_status rc = pg_conn((pg_meta *)base, &c, err);
    if (rc != AD_OK)
        return rc;
    pg_tx *tx = calloc(1, sizeof *tx);
    if (tx == NULL)
        return ad_err_set(err, AD_ENOMEM, "out of memory");
    if ((rc = pg_run(c, err, NULL, NULL, "BEGIN", 0, NULL)) != AD_OK) {
        free(tx);
        return rc;
    }
    tx->base.meta = base;
    tx->c = c;
    *out = &tx->base;
    return AD_OK;
}

void pg_rollback(ad_meta_tx *base)
{
    pg_tx *tx = (pg_tx *)base;
    if (tx == NULL)
        return;
    ad_err ignore = AD_ERR_INIT; /* a dropped connection rolled back already */
    pg_run(tx->c, &ignore, NULL, NULL, "ROLLBACK", 0, NULL);
    free(tx);
}

ad_status pg_commit(ad_meta_tx *base, ad_err *err)
{
    pg_tx *tx = (pg_tx *)base;
    ad_status rc = pg_run(tx->c, err, NULL, NULL, "COMMIT", 0, NULL);
    if (rc != AD_OK) {
        pg_rollback(base);
        return rc;
    }
    free(tx);
    return AD_OK;
}

/* ----------------------------------------------------------------- assets */

#define ASSET_COLS \
    "id, filename, content_type, size, sha256, width, height, created_at, custom_data, source_asset_id, seq"
#define ASSET_COLS_A                                                                                      \
    "a.id, a.filename, a.content_type, a.size, a.sha256, a.width, a.height, a.created_at, a.custom_data," \
    " a.source_asset_id, a.seq"

static ad_status insert_conversion(pgc *c, const char *asset_id, const ad_conversion *cv, ad_err *err)
{
    char size[24];
    pg_i64(size, cv->size);
    const char *p[] = {asset_id, cv->name, cv->content_type, size, cv->sha256, cv->created_at};
    return pg_run(c, err, NULL, NULL,
                  "INSERT INTO conversions(asset_id, name, content_type, size, sha256, created_at)"
                  " VALUES($1, $2, $3, $4, $5, $6) ON CONFLICT(asset_id, name) DO UPDATE SET"
                  " content_type=excluded.content_type, size=excluded.size, sha256=excluded.sha256,"
                  " created_at=excluded.created_at",
                  6, p);
}

/* Rewrite the custom_index entries of the asset at seq (text) from its
 * custom data, in the caller's transaction. */
static ad_status index_custom(pgc *c, const char *seq, const char *json, ad_err *err)
{
    ad_custom_entry *e = NULL;
    int n = 0;
    const char *sp[] = {seq};
    ad_status rc = pg_run(c, err, NULL, NULL, "DELETE FROM custom_index WHERE seq=$1", 1, sp);
    if (rc == AD_OK)
        rc = ad_custom_index_entries(json, &e, &n, err);
    for (int i = 0; rc == AD_OK && i < n; i++) {
        const char *p[] = {e[i].path, e[i].key, e[i].tag, seq};
        rc =
            pg_run(c, err, NULL, NULL,
                   "INSERT INTO custom_index(path, key, tag, seq) VALUES($1, $2, $3, $4) ON CONFLICT DO NOTHING", 4, p);
    }
    free(e);
    return rc;
}

/* Enter every asset's custom data (migration MIGRATION_SEARCH, once). */
static ad_status index_all(pgc *c, ad_err *err)
{
    PGresult *r;
    ad_status rc = pg_run(c, err, &r, NULL, "SELECT seq, custom_data FROM assets", 0, NULL);
    if (rc != AD_OK)
        return rc;
    for (int i = 0; rc == AD_OK && i < PQntuples(r); i++)
        rc = index_custom(c, PQgetvalue(r, i, 0), PQgetvalue(r, i, 1), err);
    PQclear(r);
    return rc;
}

static ad_status pg_insert_asset(ad_meta_tx *base, const ad_asset *a, ad_err *err)
{
    pgc *c = ((pg_tx *)base)->c;
    char size[24], w[24], h[24];
    pg_i64(size, a->size);
    pg_i64(w, a->width);
    pg_i64(h, a->height);
    const char *p[] = {a->id,
                       a->filename,
                       a->content_type,
                       size,
                       a->sha256,
                       a->width < 0 ? NULL : w,
                       a->height < 0 ? NULL : h,
                       a->created_at,
                       a->custom_data ? a->custom_data : "{}",
                       a->source_asset_id[0] ? a->source_asset_id : NULL};
    PGresult *r = NULL;
    ad_status rc =
        pg_run(c, err, &r, NULL,
               "INSERT INTO assets(id, filename, content_type, size, sha256, width, height, created_at,"
               " custom_data, source_asset_id) VALUES($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING seq",
               10, p);
    if (rc == AD_ECONFLICT) {
        ad_err_clear(err);
        rc = ad_err_set(err, AD_ECONFLICT, "asset %s exists", a->id);
    }
    for (int i = 0; rc == AD_OK && i < a->nconversions; i++)
        rc = insert_conversion(c, a->id, &a->conversions[i], err);
    if (rc == AD_OK)
        rc = index_custom(c, PQgetvalue(r, 0, 0), a->custom_data ? a->custom_data : "{}", err);
    PQclear(r);
    return rc;
}

static void read_asset(PGresult *r, int row, ad_asset *a)
{
    memset(a, 0, sizeof *a);
    pg_copy_col(r, row, 0, a->id, sizeof a->id);
    a->filename = pg_dup_col(r, row, 1);
    a->content_type = pg_dup_col(r, row, 2);
    a->size = atoll(PQgetvalue(r, row, 3));
    pg_copy_col(r, row, 4, a->sha256, sizeof a->sha256);
    a->width = col(r, row, 5) ? atoi(col(r, row, 5)) : -1;
    a->height = col(r, row, 6) ? atoi(col(r, row, 6)) : -1;
    pg_copy_col(r, row, 7, a->created_at, sizeof a->created_at);
    a->custom_data = pg_dup_col(r, row, 8);
    pg_copy_col(r, row, 9, a->source_asset_id, sizeof a->source_asset_id);
    a->seq = atoll(PQgetvalue(r, row, 10));
}

/* The conversions of a page of assets (k of them; one asset: k = 1) in one
 * query, not one per asset. */
static ad_status load_conversions_page(pgc *c, ad_asset *v, int k, ad_err *err)
{
    if (k <= 0)
        return AD_OK;
    char *ids = malloc((size_t)k * (AD_ID_LEN + 1) + 3), *p = ids;
    if (ids == NULL)
        return ad_err_set(err, AD_ENOMEM, "out of memory");
    *p++ = '{';
    for (int i = 0; i < k; i++)
        p += sprintf(p, "%s%s", i ? "," : "", v[i].id); /* ids are hex: nothing to quote */
    strcpy(p, "}");
    const char *prm[] = {ids};
    PGresult *r;
    ad_status rc = pg_run(c, err, &r, NULL,
                          "SELECT asset_id, name, content_type, size, sha256, created_at FROM conversions"
                          " WHERE asset_id = ANY($1::text[]) ORDER BY asset_id, name",
                          1, prm);
    free(ids);
    if (rc != AD_OK)
        return rc;
    for (int row = 0; row < PQntuples(r) && rc == AD_OK; row++) {
        const char *aid = PQgetvalue(r, row, 0);
        ad_asset *a = NULL;
        for (int i = 0; i < k && !a; i++)
            if (strcmp(v[i].id, aid) == 0)
                a = &v[i];
        if (a == NULL)
            continue;
        ad_conversion *cv = realloc(a->conversions, sizeof *cv * (size_t)(a->nconversions + 1));
        if (cv == NULL) {
            rc = ad_err_set(err, AD_ENOMEM, "out of memory");
            break;
        }
        a->conversions = cv;
        cv += a->nconversions++;
        pg_copy_col(r, row, 1, cv->name, sizeof cv->name);
        pg_copy_col(r, row, 2, cv->content_type, sizeof cv->content_type);
        cv->size = atoll(PQgetvalue(r, row, 3));
        pg_copy_col(r, row, 4, cv->sha256, sizeof cv->sha256);
        pg_copy_col(r, row, 5, cv->created_at, sizeof cv->created_at);
    }
    PQclear(r);
    return rc;
}

static ad_status pg_get_asset(ad_meta *base, ad_meta_tx *tx, const char *id, ad_asset *out, ad_err *err)
{
    pgc *c;
    PGresult *r;
    memset(out, 0, sizeof *out);
    ad_status rc = pg_read_conn(base, tx, &c, err);
    const char *p[] = {id};
    if (rc != AD_OK || (rc = pg_run(c, err, &r, NULL, "SELECT " ASSET_COLS " FROM assets WHERE id=$1", 1, p)) != AD_OK)
        return rc;
    if (PQntuples(r) == 0)
        rc = ad_err_set(err, AD_ENOTFOUND, "asset %s not found", id);
    else
        read_asset(r, 0, out);
    PQclear(r);
    if (rc == AD_OK && (rc = load_conversions_page(c, out, 1, err)) != AD_OK)
        ad_asset_cleanup(out);
    return rc;
}

static ad_status pg_list_assets(ad_meta *base, const ad_asset_filter *f, int64_t cursor, int limit, ad_asset **out,
                                int *n, ad_err *err)
{
    pgc *c;
    PGresult *r;
    ad_asset_query q;
    *out = NULL;
    *n = 0;
    ad_status rc = pg_conn((pg_meta *)base, &c, err);
    if (rc != AD_OK ||
        (rc = ad_asset_query_build(f, cursor, limit, '$', " COLLATE \"C\"", ASSET_COLS_A, 0, &q, err)) != AD_OK)
        return rc;
    rc = pg_run(c, err, &r, NULL, q.sql, q.nparams, (const char *const *)q.param);
    ad_asset_query_cleanup(&q);
    if (rc != AD_OK)
        return rc;
    int k = PQntuples(r);
    ad_asset *v = calloc((size_t)k + 1, sizeof *v);
    if (v == NULL) {
        PQclear(r);
        return ad_err_set(err, AD_ENOMEM, "out of memory");
    }
    for (int i = 0; i < k; i++)
        read_asset(r, i, &v[i]);
    PQclear(r);
    rc = load_conversions_page(c, v, k, err);
    if (rc != AD_OK) {
        for (int i = 0; i < k; i++)
            ad_asset_cleanup(&v[i]);
        free(v);
        return rc;
    }
    *out = v;
    *n = k;
    return AD_OK;
}

/* Each blob the rows of sql hold, to dropped. */
static ad_status each_sha(pgc *c, const char *sql, int n, const char *const *p, ad_meta_dropped_fn dropped, void *ctx,
                          ad_err *err)
{
    PGresult *r;
    ad_status rc = pg_run(c, err, &r, NULL, sql, n, p);
    if (rc != AD_OK)
        return rc;
    for (int i = 0; dropped && i < PQntuples(r); i++)
        dropped(ctx, PQgetvalue(r, i, 0));
    PQclear(r);
    return AD_OK;
}

static ad_status pg_delete_asset(ad_meta_tx *base, const char *id, ad_meta_dropped_fn dropped, void *ctx, ad_err *err)
{
    pgc *c = ((pg_tx *)base)->c;
    PGresult *r;
    const char *p[] = {id};
    /* the asset row first: its lock makes a concurrent save wait, then
     * find it gone */
    ad_status rc = pg_run(c, err, &r, NULL, "DELETE FROM assets WHERE id=$1 RETURNING sha256, seq", 1, p);
    if (rc != AD_OK)
        return rc;
    if (PQntuples(r) == 0) {
        rc = ad_err_set(err, AD_ENOTFOUND, "asset %s not found", id);
    } else {
        if (dropped)
            dropped(ctx, PQgetvalue(r, 0, 0));
        const char *sp[] = {PQgetvalue(r, 0, 1)};
        rc = pg_run(c, err, NULL, NULL, "DELETE FROM custom_index WHERE seq=$1", 1, sp);
    }
    PQclear(r);
    if (rc == AD_OK)
        rc = each_sha(c, "DELETE FROM conversions WHERE asset_id=$1 RETURNING sha256", 1, p, dropped, ctx, err);
    /* no child keeps a link to nothing; a child being saved holds this row
     * (lock_asset), so this statement, after the DELETE waited for it,
     * sees the child too */
    if (rc == AD_OK)
        rc = pg_run(c, err, NULL, NULL, "UPDATE assets SET source_asset_id=NULL WHERE source_asset_id=$1", 1, p);
    return rc;
}

static ad_status pg_lock_asset(ad_meta_tx *base, const char *id, int for_update, ad_err *err)
{
    pgc *c = ((pg_tx *)base)->c;
    PGresult *r;
    const char *p[] = {id};
    /* KEY SHARE: conflicts with a DELETE, not with a custom-data update;
     * UPDATE: with every other writer of the row */
    ad_status rc = pg_run(c, err, &r, NULL,
                          for_update ? "SELECT 1 FROM assets WHERE id=$1 FOR UPDATE"
                                     : "SELECT 1 FROM assets WHERE id=$1 FOR KEY SHARE",
                          1, p);
    if (rc != AD_OK)
        return rc;
    if (PQntuples(r) == 0)
        rc = ad_err_set(err, AD_ENOTFOUND, "asset %s not found", id);
    PQclear(r);
    return rc;
}

static ad_status pg_set_custom_data(ad_meta_tx *base, const char *id, const char *json, ad_err *err)
{
    pgc *c = ((pg_tx *)base)->c;
    const char *p[] = {id, json};
    PGresult *r;
    ad_status rc = pg_run(c, err, &r, NULL, "UPDATE assets SET custom_data=$2 WHERE id=$1 RETURNING seq", 2, p);
    if (rc != AD_OK)
        return rc;
    if (PQntuples(r) == 0)
        rc = ad_err_set(err, AD_ENOTFOUND, "asset %s not found", id);
    else
        rc = index_custom(c, PQgetvalue(r, 0, 0), json, err);
    PQclear(r);
    return rc;
}

/* ------------------------------------------------------------ conversions */

static ad_status pg_get_conversion(ad_meta *base, ad_meta_tx *tx, const char *asset_id, const char *name,
                                   ad_conversion *out, ad_err *err)
{
    pgc *c;
    PGresult *r;
    const char *p[] = {asset_id, name};
    ad_status rc = pg_read_conn(base, tx, &c, err);
    if (rc != AD_OK || (rc = pg_run(c, err, &r, NULL,
                                    "SELECT name, content_type, size, sha256, created_at FROM conversions"
                                    " WHERE asset_id=$1 AND name=$2",
                                    2, p)) != AD_OK)
        return rc;
    if (PQntuples(r) == 0) {
        rc = ad_err_set(err, AD_ENOTFOUND, "conversion %s not found", name);
    } else {
        pg_copy_col(r, 0, 0, out->name, sizeof out->name);
        pg_copy_col(r, 0, 1, out->content_type, sizeof out->content_type);
        out->size = atoll(PQgetvalue(r, 0, 2));
        pg_copy_col(r, 0, 3, out->sha256, sizeof out->sha256);
        pg_copy_col(r, 0, 4, out->created_at, sizeof out->created_at);
    }
    PQclear(r);
    return rc;
}

static ad_status pg_upsert_conversion(ad_meta_tx *base, const char *asset_id, const ad_conversion *cv,
                                      ad_meta_dropped_fn dropped, void *ctx, ad_err *err)
{
    pgc *c = ((pg_tx *)base)->c;
    PGresult *r;
    const char *p[] = {asset_id};
    /* the asset row is locked, so a concurrent delete waits for this save */
    ad_status rc = pg_run(c, err, &r, NULL, "SELECT 1 FROM assets WHERE id=$1 FOR UPDATE", 1, p);
    if (rc != AD_OK)
        return rc;
    int found = PQntuples(r) > 0;
    PQclear(r);
    if (!found)
        return ad_err_set(err, AD_ENOTFOUND, "asset %s not found", asset_id);
    const char *q[] = {asset_id, cv->name};
    rc = each_sha(c, "SELECT sha256 FROM conversions WHERE asset_id=$1 AND name=$2", 2, q, dropped, ctx, err);
    return rc == AD_OK ? insert_conversion(c, asset_id, cv, err) : rc;
}

static ad_status pg_delete_conversion(ad_meta_tx *base, const char *asset_id, const char *name,
                                      ad_meta_dropped_fn dropped, void *ctx, ad_err *err)
{
    pgc *c = ((pg_tx *)base)->c;
    PGresult *r;
    const char *p[] = {asset_id, name};
    ad_status rc =
        pg_run(c, err, &r, NULL, "DELETE FROM conversions WHERE asset_id=$1 AND name=$2 RETURNING sha256", 2, p);
    if (rc != AD_OK)
        return rc;
    if (PQntuples(r) == 0)
        rc = ad_err_set(err, AD_ENOTFOUND, "conversion %s not found", name);
    else if (dropped)
        dropped(ctx, PQgetvalue(r, 0, 0));
    PQclear(r);
    return rc;
}

/* ------------------------------------------------------------------- keys */

void pg_now_text(char out[32]) { ad_time_rfc3339(out); }

static ad_status pg_add_key(ad_meta_tx *base, const char *key_sha, const char *id, const char *label, int scope,
                            ad_err *err)
{
    char now[32];
    pg_now_text(now);
    const char *p[] = {key_sha, id, label ? label : "", now, ad_scope_name(scope)};
    return pg_run(((pg_tx *)base)->c, err, NULL, NULL,
                  "INSERT INTO api_keys(sha256, id, label, created_at, scope) VALUES($1, $2, $3, $4, $5)"
                  " ON CONFLICT(sha256) DO NOTHING",
                  5, p);
}

static ad_status pg_has_key(ad_meta *base, const char *key_sha, char id_out[17], int *scope_out, ad_err *err)
{
    pgc *c;
    PGresult *r;
    const char *p[] = {key_sha};
    ad_status rc = pg_conn((pg_meta *)base, &c, err);
    if (rc != AD_OK ||
        (rc = pg_run(c, err, &r, NULL, "SELECT id, scope FROM api_keys WHERE sha256=$1 AND revoked_at IS NULL", 1,
                     p)) != AD_OK)
        return rc;
    if (PQntuples(r) == 0) {
        rc = AD_ENOTFOUND;
    } else {
        pg_copy_col(r, 0, 0, id_out, 17);
        int sc = ad_scope_parse(PQgetvalue(r, 0, 1));
        *scope_out = sc < 0 ? AD_SCOPE_READ : sc;
    }
    PQclear(r);
    return rc;
}

static ad_status pg_touch_key(ad_meta_tx *base, const char *id, const char *when, ad_err *err)
{
    const char *p[] = {id, when};
    return pg_run(((pg_tx *)base)->c, err, NULL, NULL, "UPDATE api_keys SET last_used_at=$2 WHERE id=$1", 2, p);
}

static ad_status pg_revoke_key(ad_meta_tx *base, const char *id, ad_err *err)
{
    char now[32];
    int changes = 0;
    pg_now_text(now);
    const char *p[] = {id, now};
    ad_status rc = pg_run(((pg_tx *)base)->c, err, NULL, &changes,
                          "UPDATE api_keys SET revoked_at=COALESCE(revoked_at, $2) WHERE id=$1", 2, p);
    if (rc == AD_OK && changes == 0)
        rc = ad_err_set(err, AD_ENOTFOUND, "no key with id %s", id);
    return rc;
}

static ad_status pg_list_keys(ad_meta *base, ad_key_info **out, int *n, ad_err *err)
{
    pgc *c;
    PGresult *r;
    *out = NULL;
    *n = 0;
    ad_status rc = pg_conn((pg_meta *)base, &c, err);
    if (rc != AD_OK ||
        (rc = pg_run(c, err, &r, NULL,
                     "SELECT id, label, created_at, last_used_at, revoked_at, sha256, scope FROM api_keys"
                     " ORDER BY created_at, id",
                     0, NULL)) != AD_OK)
        return rc;
    int k = PQntuples(r);
    if (k > 0 && (*out = calloc((size_t)k, sizeof **out)) == NULL) {
        PQclear(r);
        return ad_err_set(err, AD_ENOMEM, "out of memory");
    }
    for (int i = 0; i < k; i++) {
        ad_key_info *ki = &(*out)[i];
        pg_copy_col(r, i, 0, ki->id, sizeof ki->id);
        pg_copy_col(r, i, 1, ki->label, sizeof ki->label);
        pg_copy_col(r, i, 2, ki->created_at, sizeof ki->created_at);
        pg_copy_col(r, i, 3, ki->last_used_at, sizeof ki->last_used_at);
        pg_copy_col(r, i, 4, ki->revoked_at, sizeof ki->revoked_at);
        pg_copy_col(r, i, 5, ki->sha256, sizeof ki->sha256);
        int sc = ad_scope_parse(PQgetvalue(r, i, 6));
        ki->scope = sc < 0 ? AD_SCOPE_READ : sc;
    }
    *n = k;
    PQclear(r);
    return AD_OK;
}

static ad_status pg_import_key(ad_meta_tx *base, const ad_key_info *k, ad_err *err)
{
    const char *p[] = {k->sha256,
                       k->id,
                       k->label,
                       k->created_at,
                       k->last_used_at[0] ? k->last_used_at : NULL,
                       k->revoked_at[0] ? k->revoked_at : NULL,
                       ad_scope_name(k->scope)};
    return pg_run(((pg_tx *)base)->c, err, NULL, NULL,
                  "INSERT INTO api_keys(sha256, id, label, created_at, last_used_at, revoked_at, scope)"
                  " VALUES($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING",
                  7, p);
}

/* ----------------------------------------------------- blob bookkeeping */

static ad_status pg_lock_blob(ad_meta_tx *base, const char *sha, ad_err *err)
{
    const char *p[] = {sha};
    return pg_run(((pg_tx *)base)->c, err, NULL, NULL, "SELECT pg_advisory_xact_lock(hashtextextended($1, 7))", 1, p);
}

static ad_status pg_pin_blob(ad_meta_tx *base, const char *sha, const char *owner, int64_t expires_ms, ad_err *err)
{
    char e[24];
    pg_i64(e, expires_ms);
    const char *p[] = {sha, owner, e};
    return pg_run(((pg_tx *)base)->c, err, NULL, NULL,
                  "INSERT INTO blob_pins(sha256, owner, expires_ms) VALUES($1, $2, $3)"
                  " ON CONFLICT(sha256, owner) DO UPDATE SET expires_ms=excluded.expires_ms",
                  3, p);
}

static ad_status pg_unpin(ad_meta_tx *base, const char *sha, const char *owner, ad_meta_dropped_fn dropped, void *ctx,
                          ad_err *err)
{
    pgc *c = ((pg_tx *)base)->c;
    if (sha) {
        const char *p[] = {sha, owner};
        ad_status rc = pg_run(c, err, NULL, NULL, "DELETE FROM blob_pins WHERE sha256=$1 AND owner=$2", 2, p);
        if (rc == AD_OK && dropped)
            dropped(ctx, sha);
        return rc;
    }
    const char *p[] = {owner};
    return each_sha(c, "DELETE FROM blob_pins WHERE owner=$1 RETURNING sha256", 1, p, dropped, ctx, err);
}

static ad_status pg_blob_refs(ad_meta *base, ad_meta_tx *tx, const char *sha, int64_t now, int64_t *n, ad_err *err)
{
    pgc *c;
    PGresult *r;
    char t[24];
    pg_i64(t, now);
    const char *p[] = {sha, t};
    ad_status rc = pg_read_conn(base, tx, &c, err);
    if (rc != AD_OK || (rc = pg_run(c, err, &r, NULL,
                                    "SELECT (SELECT count(*) FROM assets WHERE sha256=$1) +"
                                    " (SELECT count(*) FROM conversions WHERE sha256=$1) +"
                                    " (SELECT count(*) FROM derived WHERE blob_sha256=$1) +"
                                    " (SELECT count(*) FROM blob_pins WHERE sha256=$1 AND"
                                    "  (expires_ms = 0 OR expires_ms > $2))",
                                    2, p)) != AD_OK)
        return rc;
    *n = atoll(PQgetvalue(r, 0, 0));
    PQclear(r);
    return AD_OK;
}

static ad_status pg_gc_enqueue(ad_meta_tx *base, const char *sha, int64_t due, ad_err *err)
{
    char d[24];
    pg_i64(d, due);
    const char *p[] = {sha, d};
    return pg_run(((pg_tx *)base)->c, err, NULL, NULL,
                  "INSERT INTO gc_queue(sha256, due_ms) VALUES($1, $2)"
                  " ON CONFLICT(sha256) DO UPDATE SET due_ms=GREATEST(gc_queue.due_ms, excluded.due_ms)",
                  2, p);
}

static ad_status pg_gc_dequeue(ad_meta_tx *base, const char *sha, ad_err *err)
{
    const char *p[] = {sha};
    return pg_run(((pg_tx *)base)->c, err, NULL, NULL, "DELETE FROM gc_queue WHERE sha256=$1", 1, p);
}

static ad_status pg_gc_defer(ad_meta_tx *base, const char *sha, int64_t due, ad_err *err)
{
    char d[24];
    pg_i64(d, due);
    const char *p[] = {sha, d};
    return pg_run(((pg_tx *)base)->c, err, NULL, NULL, "UPDATE gc_queue SET due_ms=$2 WHERE sha256=$1", 2, p);
}

static ad_status pg_gc_due(ad_meta *base, int64_t now, int64_t lease_ms, int max, char (*shas)[65], int *n, ad_err *err)
{
    pgc *c;
    PGresult *r;
    char t[24], l[24], until[24];
    pg_i64(t, now);
    pg_i64(l, max);
    pg_i64(until, now + lease_ms);
    const char *p[] = {t, l, until};
    *n = 0;
    ad_status rc = pg_conn((pg_meta *)base, &c, err);
    /* claimed: instances collecting at once each take other blobs */
    if (rc != AD_OK ||
        (rc = pg_run(c, err, &r, NULL,
                     "UPDATE gc_queue q SET due_ms = $3 FROM (SELECT sha256 FROM gc_queue WHERE due_ms <= $1"
                     " ORDER BY due_ms LIMIT $2 FOR UPDATE SKIP LOCKED) d WHERE q.sha256 = d.sha256 RETURNING q.sha256",
                     3, p)) != AD_OK)
        return rc;
    for (int i = 0; i < PQntuples(r) && *n < max; i++)
        pg_copy_col(r, i, 0, shas[(*n)++], 65);
    PQclear(r);
    return AD_OK;
}

static ad_status pg_expire_pins(ad_meta *base, int64_t now, int max, int *n, ad_err *err)
{
    pgc *c;
    char t[24], l[24];
    int changes = 0;
    pg_i64(t, now);
    pg_i64(l, max);
    const char *p[] = {t, l};
    *n = 0;
    ad_status rc = pg_conn((pg_meta *)base, &c, err);
    if (rc == AD_OK)
        rc = pg_run(c, err, NULL, &changes,
                    "WITH gone AS (DELETE FROM blob_pins WHERE ctid IN (SELECT ctid FROM blob_pins WHERE expires_ms > 0"
                    " AND expires_ms < $1 ORDER BY expires_ms LIMIT $2 FOR UPDATE SKIP LOCKED) RETURNING sha256)"
                    " INSERT INTO gc_queue(sha256, due_ms) SELECT DISTINCT sha256, $1 FROM gone"
                    " ON CONFLICT(sha256) DO NOTHING",
                    2, p);
    *n = changes;
    return rc;
}

/* ------------------------------------------------------------- open/close */

/* Apply the migrations not yet applied, under a session advisory lock: N
 * instances starting at once migrate exactly once (the others wait, then
 * find nothing to do). */
static ad_status migrate(pgc *c, ad_err *err)
{
    PGresult *r;
    char lock[32];
    snprintf(lock, sizeof lock, "%d", MIGRATE_LOCK);
    const char *lp[] = {lock};
    ad_status rc = pg_run(c, err, NULL, NULL, "SELECT pg_advisory_lock($1)", 1, lp);
    if (rc != AD_OK)
        return rc;
    rc = pg_run(c, err, NULL, NULL,
                "CREATE TABLE IF NOT EXISTS schema_migrations(version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)",
                0, NULL);
    int have = 0;
    if (rc == AD_OK &&
        (rc = pg_run(c, err, &r, NULL, "SELECT COALESCE(MAX(version), 0) FROM schema_migrations", 0, NULL)) == AD_OK) {
        have = atoi(PQgetvalue(r, 0, 0));
        PQclear(r);
    }
    if (rc == AD_OK && have > NMIGRATIONS)
        rc = ad_err_set(err, AD_EUNSUPPORTED, "the database has schema version %d; this assetd knows up to %d", have,
                        NMIGRATIONS);
    for (int v = have + 1; rc == AD_OK && v <= NMIGRATIONS; v++) {
        char ver[16], now[32];
        snprintf(ver, sizeof ver, "%d", v);
        pg_now_text(now);
        const char *vp[] = {ver, now};
        if ((rc = pg_run(c, err, NULL, NULL, "BEGIN", 0, NULL)) != AD_OK)
            break;
        r = PQexec(c->conn, migrations[v - 1]);
        if (PQresultStatus(r) != PGRES_COMMAND_OK)
            rc = pg_fail(c->conn, r, err, "migrate");
        PQclear(r);
        if (rc == AD_OK && v == MIGRATION_SEARCH)
            rc = index_all(c, err);
        if (rc == AD_OK)
            rc = pg_run(c, err, NULL, NULL, "INSERT INTO schema_migrations(version, applied_at) VALUES($1, $2)", 2, vp);
        if (rc == AD_OK)
            rc = pg_run(c, err, NULL, NULL, "COMMIT", 0, NULL);
        else
            PQclear(PQexec(c->conn, "ROLLBACK"));
    }
    ad_err e2 = AD_ERR_INIT;
    pg_run(c, &e2, NULL, NULL, "SELECT pg_advisory_unlock($1)", 1, lp);
    return rc;
}

static void pg_close(ad_meta *base)
{
    pg_meta *m = (pg_meta *)base;
    if (m == NULL)
        return;
    pgc *c = pthread_getspecific(m->conn_key);
    if (c) {
        close_conn(c);
        pthread_setspecific(m->conn_key, NULL);
    }
    pthread_key_delete(m->conn_key);
    ad_breaker_destroy(&m->breaker);
    free(m->url);
    free(m);
}

static int pg_down(ad_meta *base, char *why, size_t len)
{
    return ad_breaker_down(&((pg_meta *)base)->breaker, why, len);
}

static ad_status pg_open(const ad_store_config *cfg, ad_meta **out, ad_err *err)
{
    pgc *c;
    *out = NULL;
    if (cfg->database_url == NULL || cfg->database_url[0] == '\0')
        return ad_err_set(err, AD_EINVAL, "the postgres store needs a database URL (--database-url)");
    pg_meta *m = calloc(1, sizeof *m);
    if (m == NULL || (m->url = strdup(cfg->database_url)) == NULL) {
        free(m);
        return ad_err_set(err, AD_ENOMEM, "out of memory");
    }
    m->base.ops = &ad_meta_postgres_ops;
    /* a probe every second while the database does not answer */
    ad_breaker_init(&m->breaker, 1000.0);
    if (pthread_key_create(&m->conn_key, close_conn) != 0) {
        ad_breaker_destroy(&m->breaker);
        free(m->url);
        free(m);
        return ad_err_set(err, AD_ENOMEM, "no thread key");
    }
    /* migrations (a backfill may be long) run without the deadline */
    ad_status rc = pg_conn(m, &c, err);
    if (rc == AD_OK)
        rc = migrate(c, err);
    if (rc != AD_OK) {
        pg_close(&m->base);
        return rc;
    }
    m->timeout_ms = cfg->timeout_ms > 0 ? cfg->timeout_ms : 5000;
    *out = &m->base;
    return AD_OK;
}

/* One line per migration, for `assetd migrate --dry-run`. */
static const char *const migration_steps[NMIGRATIONS] = {
    "1: assets, conversions, API keys, jobs, blob pins, the GC queue",
    "2: lineage found by index",
    "3: stored masks and delivery variants (derived blobs); key scopes",
    ("4: search (custom data index entries, list filters' indexes), the jobs list, webhooks and their outbox, "
     "job counters and retention (existing custom data and jobs are filled in)"),
};

static ad_status pg_schema_plan(const ad_store_config *cfg, int *have, int *want, const char *const **steps,
                                ad_err *err)
{
    *have = 0;
    *want = NMIGRATIONS;
    *steps = migration_steps;
    PGconn *c = PQconnectdb(cfg->database_url ? cfg->database_url : "");
    if (c == NULL || PQstatus(c) != CONNECTION_OK) {
        ad_status rc = ad_err_set(err, AD_EBUSY, "postgres: cannot connect");
        PQfinish(c);
        return rc;
    }
    PGresult *r = PQexec(c, "SELECT COALESCE(MAX(version), 0) FROM schema_migrations");
    if (PQresultStatus(r) == PGRES_TUPLES_OK)
        *have = atoi(PQgetvalue(r, 0, 0)); /* else no table yet: nothing applied */
    PQclear(r);
    PQfinish(c);
    return AD_OK;
}

ad_status ad_meta_postgres_migrate(const char *url, ad_err *err)
{
    ad_store_config cfg = {.database_url = url};
    ad_meta *m;
    ad_status rc = pg_open(&cfg, &m, err);
    if (rc == AD_OK)
        pg_close(m);
    return rc;
}

/* ---------------------------------------------------------- derived blobs */

/* a derived blob's last use is written at most this often (reads stay reads) */
#define DERIVED_TOUCH_MS 60000

static ad_status pg_get_derived(ad_meta *base, const char *key, int64_t now, char blob_sha[65], ad_err *err)
{
    pgc *c;
    PGresult *r;
    const char *p[] = {key};
    ad_status rc = pg_conn((pg_meta *)base, &c, err);
    if (rc != AD_OK ||
        (rc = pg_run(c, err, &r, NULL, "SELECT blob_sha256, used_ms FROM derived WHERE key=$1", 1, p)) != AD_OK)
        return rc;
    if (PQntuples(r) == 0) {
        PQclear(r);
        return ad_err_set(err, AD_ENOTFOUND, "no such derived blob");
    }
    pg_copy_col(r, 0, 0, blob_sha, 65);
    int64_t used = atoll(PQgetvalue(r, 0, 1));
    PQclear(r);
    if (now - used > DERIVED_TOUCH_MS) {
        char t[24];
        pg_i64(t, now);
        const char *q[] = {key, t};
        ad_err e2 = AD_ERR_INIT; /* a missed touch only ages it sooner */
        pg_run(c, &e2, NULL, NULL, "UPDATE derived SET used_ms=$2 WHERE key=$1", 2, q);
    }
    return AD_OK;
}

/* Run a DELETE ... RETURNING kind, blob_sha256, bytes: the rows' bytes off
 * their kind's total, their blobs to dropped. */
static ad_status drop_derived_rows(pgc *c, const char *sql, int n, const char *const *p, ad_meta_dropped_fn dropped,
                                   void *ctx, ad_err *err)
{
    PGresult *r;
    ad_status rc = pg_run(c, err, &r, NULL, sql, n, p);
    if (rc != AD_OK)
        return rc;
    for (int i = 0; rc == AD_OK && i < PQntuples(r); i++) {
        const char *q[] = {PQgetvalue(r, i, 0), PQgetvalue(r, i, 2)};
        rc = pg_run(c, err, NULL, NULL, "UPDATE derived_usage SET count=count-1, bytes=bytes-$2 WHERE kind=$1", 2, q);
        if (rc == AD_OK && dropped)
            dropped(ctx, PQgetvalue(r, i, 1));
    }
    PQclear(r);
    return rc;
}

static ad_status pg_derived_usage(ad_meta *base, ad_meta_tx *tx, const char *kind, int64_t *count, int64_t *bytes,
                                  ad_err *err)
{
    pgc *c;
    PGresult *r;
    const char *p[] = {kind};
    *count = *bytes = 0;
    ad_status rc = pg_read_conn(base, tx, &c, err);
    if (rc != AD_OK ||
        (rc = pg_run(c, err, &r, NULL, "SELECT count, bytes FROM derived_usage WHERE kind=$1", 1, p)) != AD_OK)
        return rc;
    if (PQntuples(r) == 1) {
        *count = atoll(PQgetvalue(r, 0, 0));
        *bytes = atoll(PQgetvalue(r, 0, 1));
    }
    PQclear(r);
    return AD_OK;
}

static ad_status pg_put_derived(ad_meta_tx *base, const ad_derived_row *d, int64_t max_bytes, int *inserted,
                                ad_meta_dropped_fn dropped, void *ctx, ad_err *err)
{
    pgc *c = ((pg_tx *)base)->c;
    char b[24], u[24];
    int changes = 0;
    pg_i64(b, d->bytes);
    pg_i64(u, d->used_ms);
    const char *p[] = {d->key, d->kind, d->source_sha256, d->blob_sha256, b, u};
    *inserted = 0;
    ad_status rc = pg_run(c, err, NULL, &changes,
                          "INSERT INTO derived(key, kind, source_sha256, blob_sha256, bytes, used_ms)"
                          " VALUES($1, $2, $3, $4, $5, $6) ON CONFLICT(key) DO NOTHING",
                          6, p);
    if (rc != AD_OK || changes == 0)
        return rc;
    *inserted = 1;
    const char *q[] = {d->kind, b};
    if ((rc = pg_run(c, err, NULL, NULL,
                     "INSERT INTO derived_usage(kind, count, bytes) VALUES($1, 1, $2)"
                     " ON CONFLICT(kind) DO UPDATE SET count=derived_usage.count+1,"
                     " bytes=derived_usage.bytes+excluded.bytes",
                     2, q)) != AD_OK)
        return rc;
    /* over the bound: the least recently used go, a few per insert (each
     * insert adds one, so a few keep the total at the bound); rows another
     * instance is evicting are skipped, not waited for */
    for (int i = 0; rc == AD_OK && max_bytes > 0 && i < 16; i++) {
        int64_t count, bytes;
        if ((rc = pg_derived_usage(base->meta, base, d->kind, &count, &bytes, err)) != AD_OK || bytes <= max_bytes ||
            count <= 1)
            break;
        const char *e[] = {d->key, d->kind};
        rc = drop_derived_rows(c,
                               "DELETE FROM derived WHERE key IN (SELECT key FROM derived WHERE kind=$2 AND key <> $1"
                               " ORDER BY used_ms, key LIMIT 1 FOR UPDATE SKIP LOCKED)"
                               " RETURNING kind, blob_sha256, bytes",
                               2, e, dropped, ctx, err);
    }
    return rc;
}

static ad_status pg_drop_derived(ad_meta_tx *base, const char *key, const char *source, ad_meta_dropped_fn dropped,
                                 void *ctx, ad_err *err)
{
    pgc *c = ((pg_tx *)base)->c;
    const char *p[] = {key ? key : source};
    return drop_derived_rows(c,
                             key ? "DELETE FROM derived WHERE key=$1 RETURNING kind, blob_sha256, bytes"
                                 : "DELETE FROM derived WHERE source_sha256=$1 RETURNING kind, blob_sha256, bytes",
                             1, p, dropped, ctx, err);
}

const ad_meta_ops ad_meta_postgres_ops = {
    .name = "postgres",
    .remote = 1,
    .single_writer = 0,
    .open = pg_open,
    .schema_plan = pg_schema_plan,
    .close = pg_close,
    .down = pg_down,
    .begin = pg_begin,
    .commit = pg_commit,
    .rollback = pg_rollback,
    .insert_asset = pg_insert_asset,
    .get_asset = pg_get_asset,
    .list_assets = pg_list_assets,
    .delete_asset = pg_delete_asset,
    .lock_asset = pg_lock_asset,
    .set_custom_data = pg_set_custom_data,
    .upsert_conversion = pg_upsert_conversion,
    .get_conversion = pg_get_conversion,
    .delete_conversion = pg_delete_conversion,
    .add_key = pg_add_key,
    .has_key = pg_has_key,
    .touch_key = pg_touch_key,
    .revoke_key = pg_revoke_key,
    .list_keys = pg_list_keys,
    .import_key = pg_import_key,
    .list_jobs = pg_list_jobs,
    .count_jobs = pg_count_jobs,
    .import_job = pg_import_job,
    .job_holds = pg_job_holds,
    .lock_blob = pg_lock_blob,
    .pin_blob = pg_pin_blob,
    .unpin = pg_unpin,
    .blob_refs = pg_blob_refs,
    .gc_enqueue = pg_gc_enqueue,
    .gc_dequeue = pg_gc_dequeue,
    .gc_defer = pg_gc_defer,
    .gc_due = pg_gc_due,
    .get_derived = pg_get_derived,
    .put_derived = pg_put_derived,
    .drop_derived = pg_drop_derived,
    .derived_usage = pg_derived_usage,
    .insert_job = pg_insert_job,
    .get_job = pg_get_job,
    .claim_job = pg_claim_job,
    .renew_lease = pg_renew_lease,
    .finish_job = pg_finish_job,
    .fail_job = pg_fail_job,
    .list_job_page = pg_list_job_page,
    .expire_pins = pg_expire_pins,
    .prune_jobs = pg_prune_jobs,
    .add_webhook = pg_add_webhook,
    .list_webhooks = pg_list_webhooks,
    .delete_webhook = pg_delete_webhook,
    .webhook_subscribers = pg_webhook_subscribers,
    .enqueue_event = pg_enqueue_event,
    .claim_deliveries = pg_claim_deliveries,
    .end_delivery = pg_end_delivery,
    .list_attempts = pg_list_attempts,
    .prune_webhooks = pg_prune_webhooks,
    .webhook_queue = pg_webhook_queue,
};
