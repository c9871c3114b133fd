/* meta_sqlite.c — the metadata part in SQLite: DATA/assetd.db, WAL,
 * synchronous=FULL (an acknowledged commit survives power loss), one
 * connection per thread with its prepared statements kept, every write
 * transaction BEGIN IMMEDIATE (so writers queue on the busy timeout instead
 * of failing half-way, and a write transaction excludes every other one:
 * lock_blob needs nothing more). The schema is versioned with
 * PRAGMA user_version; see docs/store.md.
 * The queues of background work (jobs, webhook deliveries) are in
 * meta_sqlite_work.c; what the two files share is in meta_sqlite_impl.h. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/fsutil.h"
#include "store/asset_query.h"
#include "store/custom_index.h"
#include "store/meta.h"
#include "store/meta_sqlite_impl.h"

#define SCHEMA_VERSION 6

static const char schema_v2[] =
    "CREATE TABLE IF NOT EXISTS assets(id TEXT PRIMARY KEY, seq INTEGER NOT NULL UNIQUE, filename TEXT NOT NULL,"
    " content_type TEXT NOT NULL, size INTEGER NOT NULL, sha256 TEXT NOT NULL, width INTEGER, height INTEGER,"
    " created_at TEXT NOT NULL, custom_data TEXT NOT NULL, source_asset_id TEXT);"
    "CREATE TABLE IF NOT EXISTS conversions(asset_id TEXT NOT NULL, name TEXT NOT NULL,"
    " content_type TEXT NOT NULL, size INTEGER NOT NULL, sha256 TEXT NOT NULL, created_at TEXT NOT NULL,"
    " PRIMARY KEY(asset_id, name));"
    "CREATE TABLE IF NOT EXISTS api_keys(sha256 TEXT PRIMARY KEY, created_at TEXT NOT NULL);"
    "ALTER TABLE api_keys ADD COLUMN id TEXT;"
    "ALTER TABLE api_keys ADD COLUMN label TEXT NOT NULL DEFAULT '';"
    "ALTER TABLE api_keys ADD COLUMN last_used_at TEXT;"
    "ALTER TABLE api_keys ADD COLUMN revoked_at TEXT;"
    "UPDATE api_keys SET id=substr(sha256, 1, 16) WHERE id IS NULL;"
    "CREATE UNIQUE INDEX api_keys_id ON api_keys(id);"
    "CREATE TABLE jobs(id TEXT PRIMARY KEY, kind TEXT NOT NULL, payload TEXT NOT NULL, status INTEGER NOT NULL,"
    " attempts INTEGER NOT NULL DEFAULT 0, error TEXT, result TEXT, created_at TEXT NOT NULL, finished_at TEXT,"
    " run_after INTEGER NOT NULL DEFAULT 0, owner TEXT, lease_until INTEGER NOT NULL DEFAULT 0);"
    "CREATE TABLE blob_pins(sha256 TEXT NOT NULL, owner TEXT NOT NULL, expires_ms INTEGER NOT NULL,"
    " PRIMARY KEY(sha256, owner));"
    "CREATE TABLE gc_queue(sha256 TEXT PRIMARY KEY, due_ms INTEGER NOT NULL);"
    "CREATE INDEX jobs_due ON jobs(status, run_after);"
    "CREATE INDEX blob_pins_owner ON blob_pins(owner);"
    "CREATE INDEX gc_queue_due ON gc_queue(due_ms);"
    "CREATE INDEX IF NOT EXISTS assets_sha ON assets(sha256);"
    "CREATE INDEX IF NOT EXISTS conversions_sha ON conversions(sha256);";

/* Version 3: API keys with an id operators see, a label, last use and
 * revocation (the version-2 schema's keys get the first 16 hex digits of
 * their hash as id). */
static const char schema_v3_keys[] = "ALTER TABLE api_keys ADD COLUMN id TEXT;"
                                     "ALTER TABLE api_keys ADD COLUMN label TEXT NOT NULL DEFAULT '';"
                                     "ALTER TABLE api_keys ADD COLUMN last_used_at TEXT;"
                                     "ALTER TABLE api_keys ADD COLUMN revoked_at TEXT;"
                                     "UPDATE api_keys SET id=substr(sha256, 1, 16) WHERE id IS NULL;"
                                     "CREATE UNIQUE INDEX api_keys_id ON api_keys(id);";

/* Version 4: the children of an asset found by index (a delete sets
 * their source_asset_id to null). */
static const char schema_v4_lineage[] = "CREATE INDEX IF NOT EXISTS assets_source ON assets(source_asset_id);";

/* Version 5: keys' scopes; derived blobs (stored masks, delivery variants): a row per
 * key naming the derived blob and the source it was made from, found by
 * source when the source goes, by blob for its references, by kind and
 * last use for eviction; and each kind's count and bytes in a row of its
 * own, so that neither a bound check nor a scrape scans them. */
static const char schema_v5_derived[] =
    "CREATE TABLE derived(key TEXT PRIMARY KEY, kind TEXT NOT NULL, source_sha256 TEXT NOT NULL,"
    " blob_sha256 TEXT NOT NULL, bytes INTEGER NOT NULL, used_ms INTEGER NOT NULL);"
    "CREATE INDEX derived_source ON derived(source_sha256);"
    "CREATE INDEX derived_blob ON derived(blob_sha256);"
    "CREATE INDEX derived_used ON derived(kind, used_ms);"
    "CREATE TABLE derived_usage(kind TEXT PRIMARY KEY, count INTEGER NOT NULL, bytes INTEGER NOT NULL);"
    /* and keys with a scope: those of an older store keep what they could do */
    "ALTER TABLE api_keys ADD COLUMN scope TEXT NOT NULL DEFAULT 'admin';";

/* Version 6: search and integrations (integrations.md). Custom data as
 * index entries (store/custom_index.h), found by (path, key) in seq order
 * and by seq when rewritten; the list's other filters by index; jobs with
 * the asset they work on and an insertion order, listed newest first;
 * webhooks, their outbox (a delivery row per event and endpoint, written
 * in the change's transaction, found by state and due time) and the log
 * of attempts (by endpoint, and by age for pruning). The custom data of
 * existing assets is entered by the migration (index_all). */
static const char schema_v6_search[] =
    /* (a rowid table: SQLite 3.40's integrity_check misreads NOT NULL
     * columns of a WITHOUT ROWID table outside its key, and backups are
     * checked with it) */
    "CREATE TABLE custom_index(path TEXT NOT NULL, key TEXT NOT NULL, tag TEXT NOT NULL, seq INTEGER NOT NULL);"
    "CREATE UNIQUE INDEX custom_index_key ON custom_index(path, key, seq);"
    "CREATE INDEX custom_index_seq ON custom_index(seq, path);"
    "CREATE INDEX assets_filename ON assets(filename);"
    "CREATE INDEX assets_type ON assets(content_type, seq);"
    "CREATE INDEX assets_created ON assets(created_at);"
    "CREATE INDEX conversions_name ON conversions(name, asset_id);"
    "ALTER TABLE jobs ADD COLUMN seq INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE jobs ADD COLUMN asset_id TEXT;"
    "UPDATE jobs SET seq=rowid, asset_id=json_extract(payload, '$.asset_id');"
    "CREATE INDEX jobs_seq ON jobs(seq);"
    "CREATE INDEX jobs_status_seq ON jobs(status, seq);"
    "CREATE INDEX jobs_asset ON jobs(asset_id, seq);"
    "CREATE TABLE webhooks(id TEXT PRIMARY KEY, url TEXT NOT NULL, events TEXT NOT NULL,"
    " description TEXT NOT NULL, secret TEXT NOT NULL, created_at TEXT NOT NULL);"
    "CREATE TABLE webhook_deliveries(seq INTEGER PRIMARY KEY, webhook_id TEXT NOT NULL, event_id TEXT NOT NULL,"
    " type TEXT NOT NULL, body TEXT NOT NULL, state INTEGER NOT NULL DEFAULT 0, attempts INTEGER NOT NULL DEFAULT 0,"
    " next_ms INTEGER NOT NULL, created_ms INTEGER NOT NULL, owner TEXT, lease_until INTEGER NOT NULL DEFAULT 0);"
    "CREATE INDEX webhook_deliveries_due ON webhook_deliveries(state, next_ms);"
    "CREATE INDEX webhook_deliveries_done ON webhook_deliveries(state, created_ms);"
    "CREATE INDEX webhook_deliveries_hook ON webhook_deliveries(webhook_id);"
    "CREATE TABLE webhook_attempts(seq INTEGER PRIMARY KEY, webhook_id TEXT NOT NULL, event_id TEXT NOT NULL,"
    " type TEXT NOT NULL, attempt INTEGER NOT NULL, status INTEGER NOT NULL, error TEXT, duration_ms INTEGER NOT NULL,"
    " at TEXT NOT NULL, at_ms INTEGER NOT NULL);"
    "CREATE INDEX webhook_attempts_hook ON webhook_attempts(webhook_id, seq);"
    "CREATE INDEX webhook_attempts_at ON webhook_attempts(at_ms);"
    /* and growth: pins found by expiry (the collector's candidates);
     * finished jobs (which only grow) counted by status in a row each, kept
     * by triggers in the writing transaction, so a scrape reads two rows
     * and the active jobs by index, never the table; jobs found by their
     * end for retention */
    "CREATE INDEX blob_pins_expiry ON blob_pins(expires_ms);"
    "CREATE INDEX jobs_finished ON jobs(status, finished_at);"
    "CREATE TABLE job_counts(status INTEGER PRIMARY KEY, n INTEGER NOT NULL);"
    "INSERT INTO job_counts(status, n) VALUES(2, (SELECT count(*) FROM jobs WHERE status=2)),"
    " (3, (SELECT count(*) FROM jobs WHERE status=3));"
    "CREATE TRIGGER jobs_count_insert AFTER INSERT ON jobs WHEN new.status IN (2, 3) BEGIN"
    " UPDATE job_counts SET n=n+1 WHERE status=new.status; END;"
    "CREATE TRIGGER jobs_count_update AFTER UPDATE OF status ON jobs WHEN old.status <> new.status BEGIN"
    " UPDATE job_counts SET n=n-1 WHERE status=old.status; UPDATE job_counts SET n=n+1 WHERE status=new.status; END;"
    "CREATE TRIGGER jobs_count_delete AFTER DELETE ON jobs WHEN old.status IN (2, 3) BEGIN"
    " UPDATE job_counts SET n=n-1 WHERE status=old.status; END;";

/* Version 1 (before jobs had kinds and payloads) kept bg_remove's save in
 * columns of jobs; its rows become payloads in the format api/save.c reads,
 * and unfinished jobs pin their blob as they do now. */
static const char migrate_v1[] =
    "INSERT INTO jobs(id, kind, payload, status, attempts, error, result, created_at, finished_at, run_after)"
    " SELECT id, kind, json_object('asset_id', asset_id, 'disposition',"
    "  CASE new_asset WHEN 1 THEN 'add_new_asset' ELSE 'add_conversion' END, 'conversion_name', conversion_name,"
    "  'new_asset_id', new_asset_id, 'inherit', inherit, 'blob', png_sha256, 'size', png_size, 'width', width,"
    "  'height', height, 'content_type', 'image/png'),"
    " CASE status WHEN 1 THEN 0 ELSE status END, attempts, error, result, created_at, finished_at, 0 FROM jobs_v1;"
    "INSERT OR IGNORE INTO blob_pins(sha256, owner, expires_ms) SELECT png_sha256, 'job:' || id, 0 FROM jobs_v1"
    " WHERE status < 2;"
    "DROP TABLE jobs_v1;";

ad_status sq_db_fail(sqlite3 *db, ad_err *err, const char *what)
{
    int code = sqlite3_extended_errcode(db) & 0xff;
    ad_status st = code == SQLITE_BUSY || code == SQLITE_LOCKED                             ? AD_EBUSY
                   : code == SQLITE_FULL || code == SQLITE_IOERR || code == SQLITE_READONLY ? AD_EIO
                                                                                            : AD_EBACKEND;
    return ad_err_set(err, st, "sqlite: %s: %s", what, sqlite3_errmsg(db));
}

static void close_conn(void *p)
{
    conn_t *c = p;
    for (int i = 0; i < c->n; i++)
        sqlite3_finalize(c->cache[i].st);
    sqlite3_close_v2(c->db);
    free(c);
}

ad_status sq_conn(sq_meta *m, conn_t **out, ad_err *err)
{
    conn_t *c = pthread_getspecific(m->conn_key);
    if (c) {
        *out = c;
        return AD_OK;
    }
    if ((c = calloc(1, sizeof *c)) == NULL)
        return ad_err_set(err, AD_ENOMEM, "out of memory");
    if (sqlite3_open_v2(m->db_path, &c->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL) !=
        SQLITE_OK) {
        ad_status rc = ad_err_set(err, AD_EBACKEND, "sqlite: cannot open the database: %s",
                                  c->db ? sqlite3_errmsg(c->db) : "out of memory");
        close_conn(c);
        return rc;
    }
    sqlite3_busy_timeout(c->db, 10000);
    if (sqlite3_exec(c->db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;", NULL, NULL,
                     NULL) != SQLITE_OK) {
        ad_status rc = sq_db_fail(c->db, err, "pragmas");
        close_conn(c);
        return rc;
    }
    pthread_setspecific(m->conn_key, c);
    *out = c;
    return AD_OK;
}

/* The statement for sql on this connection, reset, with binds given as a
 * format: 't' text, 'i' int64, 'n' NULL (its argument is skipped). Release
 * with sq_done(). */
ad_status sq_prep(conn_t *c, sqlite3_stmt **st, ad_err *err, const char *sql, const char *fmt, ...)
{
    *st = NULL;
    for (int i = 0; i < c->n; i++)
        if (c->cache[i].sql == sql) {
            *st = c->cache[i].st;
            break;
        }
    if (*st == NULL) {
        if (sqlite3_prepare_v3(c->db, sql, -1, SQLITE_PREPARE_PERSISTENT, st, NULL) != SQLITE_OK)
            return sq_db_fail(c->db, err, "prepare");
        if (c->n < STMT_CACHE)
            c->cache[c->n++] = (cached_stmt){sql, *st};
    }
    sqlite3_reset(*st);
    sqlite3_clear_bindings(*st);
    va_list ap;
    va_start(ap, fmt);
    for (int i = 0; fmt && fmt[i]; i++) {
        int r;
        if (fmt[i] == 't') {
            const char *v = va_arg(ap, const char *);
            r = v ? sqlite3_bind_text(*st, i + 1, v, -1, SQLITE_TRANSIENT) : sqlite3_bind_null(*st, i + 1);
        } else if (fmt[i] == 'i') {
            r = sqlite3_bind_int64(*st, i + 1, va_arg(ap, int64_t));
        } else {
            (void)va_arg(ap, void *);
            r = sqlite3_bind_null(*st, i + 1);
        }
        if (r != SQLITE_OK) {
            va_end(ap);
            return sq_db_fail(c->db, err, "bind");
        }
    }
    va_end(ap);
    return AD_OK;
}

/* Release a statement from prep: cached ones are reset, others finalised. */
void sq_done(conn_t *c, sqlite3_stmt *st)
{
    if (st == NULL)
        return;
    for (int i = 0; i < c->n; i++)
        if (c->cache[i].st == st) {
            sqlite3_reset(st);
            return;
        }
    sqlite3_finalize(st);
}

/* Run a statement that returns no rows; *changes (may be NULL) gets the
 * rows it changed. */
ad_status sq_exec_sql(conn_t *c, ad_err *err, int *changes, const char *sql, const char *fmt, ...)
{
    sqlite3_stmt *st = NULL;
    ad_status rc = AD_OK;
    va_list ap;
    va_start(ap, fmt);
    /* prep takes varargs; forward them one by one through a copy */
    const void *args[16] = {0};
    int64_t ints[16] = {0};
    for (int i = 0; fmt && fmt[i] && i < 16; i++) {
        if (fmt[i] == 'i')
            ints[i] = va_arg(ap, int64_t);
        else
            args[i] = va_arg(ap, const void *);
    }
    va_end(ap);
    if ((rc = sq_prep(c, &st, err, sql, NULL)) != AD_OK)
        return rc;
    for (int i = 0; fmt && fmt[i] && i < 16; i++) {
        int r = fmt[i] == 'i'              ? sqlite3_bind_int64(st, i + 1, ints[i])
                : fmt[i] == 't' && args[i] ? sqlite3_bind_text(st, i + 1, args[i], -1, SQLITE_TRANSIENT)
                                           : sqlite3_bind_null(st, i + 1);
        if (r != SQLITE_OK) {
            sq_done(c, st);
            return sq_db_fail(c->db, err, "bind");
        }
    }
    int r = sqlite3_step(st);
    if (r == SQLITE_DONE || r == SQLITE_ROW) {
        if (changes)
            *changes = sqlite3_changes(c->db);
    } else if ((sqlite3_extended_errcode(c->db) & 0xff) == SQLITE_CONSTRAINT) {
        rc = ad_err_set(err, AD_ECONFLICT, "sqlite: %s", sqlite3_errmsg(c->db));
    } else {
        rc = sq_db_fail(c->db, err, "step");
    }
    sq_done(c, st);
    return rc;
}

char *sq_dup_col(sqlite3_stmt *st, int i)
{
    const unsigned char *t = sqlite3_column_text(st, i);
    return t ? strdup((const char *)t) : NULL;
}

void sq_copy_col(sqlite3_stmt *st, int i, char *buf, size_t len)
{
    const unsigned char *t = sqlite3_column_text(st, i);
    snprintf(buf, len, "%s", t ? (const char *)t : "");
}

/* The connection of tx, or of this thread for a read outside one. */
ad_status sq_read_conn(ad_meta *base, ad_meta_tx *tx, conn_t **c, ad_err *err)
{
    if (tx) {
        *c = ((sq_tx *)tx)->c;
        return AD_OK;
    }
    return sq_conn((sq_meta *)base, c, err);
}

/* ----------------------------------------------------------- transactions */

ad_status sq_begin(ad_meta *base, ad_meta_tx **out, ad_err *err)
{
    conn_t *c;
    *out = NULL;
    ad_status rc = sq_conn((sq_meta *)base, &c, err);
    if (rc != AD_OK)
        return rc;
    sq_tx *tx = calloc(1, sizeof *tx);
    if (tx == NULL)
        return ad_err_set(err, AD_ENOMEM, "out of memory");
    if ((rc = sq_exec_sql(c, err, NULL, "BEGIN IMMEDIATE", NULL)) != AD_OK) {
        free(tx);
        return rc;
    }
    tx->base.meta = base;
    tx->c = c;
    *out = &tx->base;
    return AD_OK;
}

void sq_rollback(ad_meta_tx *base)
{
    sq_tx *tx = (sq_tx *)base;
    if (tx == NULL)
        return;
    sqlite3_exec(tx->c->db, "ROLLBACK", NULL, NULL, NULL);
    free(tx);
}

ad_status sq_commit(ad_meta_tx *base, ad_err *err)
{
    sq_tx *tx = (sq_tx *)base;
    ad_status rc = sq_exec_sql(tx->c, err, NULL, "COMMIT", NULL);
    if (rc != AD_OK) {
        sq_rollback(base);
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

/* Rewrite the custom_index entries of the asset at seq from its custom
 * data (store/custom_index.h), in the caller's transaction. */
static ad_status index_custom(conn_t *c, int64_t seq, const char *json, ad_err *err)
{
    ad_custom_entry *e = NULL;
    int n = 0;
    ad_status rc = sq_exec_sql(c, err, NULL, "DELETE FROM custom_index WHERE seq=?1", "i", seq);
    if (rc == AD_OK)
        rc = ad_custom_index_entries(json, &e, &n, err);
    for (int i = 0; rc == AD_OK && i < n; i++)
        rc =
            sq_exec_sql(c, err, NULL, "INSERT OR REPLACE INTO custom_index(path, key, tag, seq) VALUES(?1, ?2, ?3, ?4)",
                        "ttti", e[i].path, e[i].key, e[i].tag, seq);
    free(e);
    return rc;
}

/* The seq of asset id (AD_ENOTFOUND when there is none). */
static ad_status asset_seq(conn_t *c, const char *id, int64_t *seq, ad_err *err)
{
    sqlite3_stmt *st;
    ad_status rc = sq_prep(c, &st, err, "SELECT seq FROM assets WHERE id=?1", "t", id);
    if (rc != AD_OK)
        return rc;
    int r = sqlite3_step(st);
    if (r == SQLITE_ROW)
        *seq = sqlite3_column_int64(st, 0);
    else
        rc = r == SQLITE_DONE ? ad_err_set(err, AD_ENOTFOUND, "asset %s not found", id) : sq_db_fail(c->db, err, "seq");
    sq_done(c, st);
    return rc;
}

/* Enter every asset's custom data (the migration to version 6, once). */
static ad_status index_all(conn_t *c, ad_err *err)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(c->db, "SELECT seq, custom_data FROM assets", -1, &st, NULL) != SQLITE_OK)
        return sq_db_fail(c->db, err, "index custom data");
    ad_status rc = AD_OK;
    int r;
    while (rc == AD_OK && (r = sqlite3_step(st)) == SQLITE_ROW)
        rc = index_custom(c, sqlite3_column_int64(st, 0), (const char *)sqlite3_column_text(st, 1), err);
    sqlite3_finalize(st);
    return rc;
}

static ad_status insert_conversion(conn_t *c, const char *asset_id, const ad_conversion *cv, ad_err *err)
{
    return sq_exec_sql(c, err, NULL,
                       "INSERT OR REPLACE INTO conversions(asset_id, name, content_type, size, sha256, created_at)"
                       " VALUES(?1, ?2, ?3, ?4, ?5, ?6)",
                       "tttitt", asset_id, cv->name, cv->content_type, cv->size, cv->sha256, cv->created_at);
}

static ad_status sq_insert_asset(ad_meta_tx *base, const ad_asset *a, ad_err *err)
{
    conn_t *c = ((sq_tx *)base)->c;
    sqlite3_stmt *st;
    ad_status rc =
        sq_prep(c, &st, err,
                "INSERT INTO assets(id, seq, filename, content_type, size, sha256, width, height, created_at,"
                " custom_data, source_asset_id) VALUES(?1, (SELECT COALESCE(MAX(seq), 0) + 1 FROM assets),"
                " ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
                "tttitiitt", a->id, a->filename, a->content_type, a->size, a->sha256, (int64_t)a->width,
                (int64_t)a->height, a->created_at, a->custom_data ? a->custom_data : "{}");
    if (rc != AD_OK)
        return rc;
    if (a->width < 0) {
        sqlite3_bind_null(st, 6);
        sqlite3_bind_null(st, 7);
    }
    if (a->source_asset_id[0])
        sqlite3_bind_text(st, 10, a->source_asset_id, -1, SQLITE_TRANSIENT);
    int r = sqlite3_step(st);
    if (r != SQLITE_DONE)
        rc = (sqlite3_extended_errcode(c->db) & 0xff) == SQLITE_CONSTRAINT
                 ? ad_err_set(err, AD_ECONFLICT, "asset %s exists", a->id)
                 : sq_db_fail(c->db, err, "insert asset");
    sq_done(c, st);
    for (int i = 0; rc == AD_OK && i < a->nconversions; i++)
        rc = insert_conversion(c, a->id, &a->conversions[i], err);
    int64_t seq = 0;
    if (rc == AD_OK && (rc = asset_seq(c, a->id, &seq, err)) == AD_OK)
        rc = index_custom(c, seq, a->custom_data ? a->custom_data : "{}", err);
    return rc;
}

static void read_asset(sqlite3_stmt *st, ad_asset *a)
{
    memset(a, 0, sizeof *a);
    sq_copy_col(st, 0, a->id, sizeof a->id);
    a->filename = sq_dup_col(st, 1);
    a->content_type = sq_dup_col(st, 2);
    a->size = sqlite3_column_int64(st, 3);
    sq_copy_col(st, 4, a->sha256, sizeof a->sha256);
    a->width = sqlite3_column_type(st, 5) == SQLITE_NULL ? -1 : sqlite3_column_int(st, 5);
    a->height = sqlite3_column_type(st, 6) == SQLITE_NULL ? -1 : sqlite3_column_int(st, 6);
    sq_copy_col(st, 7, a->created_at, sizeof a->created_at);
    a->custom_data = sq_dup_col(st, 8);
    sq_copy_col(st, 9, a->source_asset_id, sizeof a->source_asset_id);
    a->seq = sqlite3_column_int64(st, 10);
}

/* The conversions of a page of assets (k of them; one asset: k = 1) in one
 * query, not one per asset. */
static ad_status load_conversions_page(conn_t *c, ad_asset *v, int k, ad_err *err)
{
    if (k <= 0)
        return AD_OK;
    char *ids = malloc((size_t)k * (AD_ID_LEN + 3) + 3), *p = ids;
    if (ids == NULL)
        return ad_err_set(err, AD_ENOMEM, "out of memory");
    *p++ = '[';
    for (int i = 0; i < k; i++)
        p += sprintf(p, "%s\"%s\"", i ? "," : "", v[i].id); /* ids are hex: nothing to escape */
    strcpy(p, "]");
    sqlite3_stmt *st;
    ad_status rc = sq_prep(c, &st, err,
                           "SELECT asset_id, name, content_type, size, sha256, created_at FROM conversions"
                           " WHERE asset_id IN (SELECT value FROM json_each(?1)) ORDER BY asset_id, name",
                           "t", ids);
    free(ids);
    if (rc != AD_OK)
        return rc;
    int r;
    while ((r = sqlite3_step(st)) == SQLITE_ROW) {
        const char *aid = (const char *)sqlite3_column_text(st, 0);
        ad_asset *a = NULL;
        for (int i = 0; i < k && !a; i++)
            if (aid && strcmp(v[i].id, aid) == 0)
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
        sq_copy_col(st, 1, cv->name, sizeof cv->name);
        sq_copy_col(st, 2, cv->content_type, sizeof cv->content_type);
        cv->size = sqlite3_column_int64(st, 3);
        sq_copy_col(st, 4, cv->sha256, sizeof cv->sha256);
        sq_copy_col(st, 5, cv->created_at, sizeof cv->created_at);
    }
    if (rc == AD_OK && r != SQLITE_DONE)
        rc = sq_db_fail(c->db, err, "conversions");
    sq_done(c, st);
    return rc;
}

static ad_status sq_get_asset(ad_meta *base, ad_meta_tx *tx, const char *id, ad_asset *out, ad_err *err)
{
    conn_t *c;
    sqlite3_stmt *st;
    memset(out, 0, sizeof *out);
    ad_status rc = sq_read_conn(base, tx, &c, err);
    if (rc != AD_OK || (rc = sq_prep(c, &st, err, "SELECT " ASSET_COLS " FROM assets WHERE id=?1", "t", id)) != AD_OK)
        return rc;
    int r = sqlite3_step(st);
    if (r == SQLITE_ROW)
        read_asset(st, out);
    else
        rc = r == SQLITE_DONE ? ad_err_set(err, AD_ENOTFOUND, "asset %s not found", id) : sq_db_fail(c->db, err, "get");
    sq_done(c, st);
    if (rc == AD_OK && (rc = load_conversions_page(c, out, 1, err)) != AD_OK)
        ad_asset_cleanup(out);
    return rc;
}

/* Whether f's range filter is dense (asset_query.h): counted through its
 * index, up to AD_QUERY_DENSE_AT rows. */
static ad_status dense_ranges(conn_t *c, const ad_asset_filter *f, int *flags, ad_err *err)
{
    ad_asset_query q;
    sqlite3_stmt *st = NULL;
    ad_status rc = ad_asset_query_range_count(f, '?', "", &q, err);
    if (rc == AD_ENOTFOUND)
        return AD_OK;
    if (rc != AD_OK)
        return rc;
    if (sqlite3_prepare_v2(c->db, q.sql, -1, &st, NULL) != SQLITE_OK) {
        rc = sq_db_fail(c->db, err, "count");
        goto out;
    }
    for (int i = 0; i < q.nparams; i++)
        sqlite3_bind_text(st, i + 1, q.param[i], -1, SQLITE_STATIC);
    if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_int(st, 0) >= AD_QUERY_DENSE_AT)
        *flags |= AD_QUERY_DENSE_RANGES;
out:
    sqlite3_finalize(st);
    ad_asset_query_cleanup(&q);
    return rc;
}

static ad_status sq_list_assets(ad_meta *base, const ad_asset_filter *f, int64_t cursor, int limit, ad_asset **out,
                                int *n, ad_err *err)
{
    conn_t *c;
    sqlite3_stmt *st = NULL;
    ad_asset_query q;
    *out = NULL;
    *n = 0;
    ad_status rc = sq_conn((sq_meta *)base, &c, err);
    int flags = 0;
    if (rc == AD_OK && (rc = dense_ranges(c, f, &flags, err)) != AD_OK)
        return rc;
    if ((rc = ad_asset_query_build(f, cursor, limit, '?', "", ASSET_COLS_A, flags, &q, err)) != AD_OK)
        return rc;
    /* not prep's cache: it knows statements by their text's address */
    if (sqlite3_prepare_v2(c->db, q.sql, -1, &st, NULL) != SQLITE_OK) {
        rc = sq_db_fail(c->db, err, "list");
        goto out;
    }
    for (int i = 0; i < q.nparams; i++)
        if (sqlite3_bind_text(st, i + 1, q.param[i], -1, SQLITE_STATIC) != SQLITE_OK) {
            rc = sq_db_fail(c->db, err, "bind");
            goto out;
        }
    ad_asset *v = calloc((size_t)limit + 1, sizeof *v);
    if (v == NULL) {
        rc = ad_err_set(err, AD_ENOMEM, "out of memory");
        goto out;
    }
    int k = 0, r = SQLITE_DONE;
    while (k < limit && (r = sqlite3_step(st)) == SQLITE_ROW)
        read_asset(st, &v[k++]);
    if (k < limit && r != SQLITE_DONE)
        rc = sq_db_fail(c->db, err, "list");
    sqlite3_finalize(st);
    st = NULL;
    if (rc == AD_OK)
        rc = load_conversions_page(c, v, k, err);
    if (rc != AD_OK) {
        for (int i = 0; i < k; i++)
            ad_asset_cleanup(&v[i]);
        free(v);
        goto out;
    }
    *out = v;
    *n = k;
out:
    sqlite3_finalize(st);
    ad_asset_query_cleanup(&q);
    return rc;
}

/* Each distinct blob the rows of sql (one text bind) hold, to dropped. */
static ad_status each_sha(conn_t *c, const char *sql, const char *arg, const char *arg2, ad_meta_dropped_fn dropped,
                          void *ctx, ad_err *err)
{
    sqlite3_stmt *st;
    ad_status rc = sq_prep(c, &st, err, sql, arg2 ? "tt" : "t", arg, arg2);
    if (rc != AD_OK)
        return rc;
    /* collect first: the callback may run statements of its own */
    char(*v)[65] = NULL;
    int n = 0, r;
    while ((r = sqlite3_step(st)) == SQLITE_ROW) {
        char(*g)[65] = realloc(v, sizeof *v * (size_t)(n + 1));
        if (g == NULL) {
            rc = ad_err_set(err, AD_ENOMEM, "out of memory");
            break;
        }
        v = g;
        sq_copy_col(st, 0, v[n++], 65);
    }
    if (rc == AD_OK && r != SQLITE_DONE)
        rc = sq_db_fail(c->db, err, "collect blobs");
    sq_done(c, st);
    for (int i = 0; rc == AD_OK && dropped && i < n; i++)
        dropped(ctx, v[i]);
    free(v);
    return rc;
}

static ad_status sq_delete_asset(ad_meta_tx *base, const char *id, ad_meta_dropped_fn dropped, void *ctx, ad_err *err)
{
    conn_t *c = ((sq_tx *)base)->c;
    int changes = 0;
    ad_status rc = each_sha(c,
                            "SELECT sha256 FROM assets WHERE id=?1 UNION SELECT sha256 FROM conversions"
                            " WHERE asset_id=?1",
                            id, NULL, dropped, ctx, err);
    if (rc == AD_OK)
        rc = sq_exec_sql(c, err, NULL, "DELETE FROM conversions WHERE asset_id=?1", "t", id);
    if (rc == AD_OK)
        rc = sq_exec_sql(c, err, NULL, "DELETE FROM custom_index WHERE seq=(SELECT seq FROM assets WHERE id=?1)", "t",
                         id);
    if (rc == AD_OK)
        rc = sq_exec_sql(c, err, &changes, "DELETE FROM assets WHERE id=?1", "t", id);
    if (rc == AD_OK && changes == 0)
        rc = ad_err_set(err, AD_ENOTFOUND, "asset %s not found", id);
    /* no child keeps a link to nothing (assets_source finds them) */
    if (rc == AD_OK)
        rc = sq_exec_sql(c, err, NULL, "UPDATE assets SET source_asset_id=NULL WHERE source_asset_id=?1", "t", id);
    return rc;
}

static ad_status sq_set_custom_data(ad_meta_tx *base, const char *id, const char *json, ad_err *err)
{
    conn_t *c = ((sq_tx *)base)->c;
    int changes = 0;
    int64_t seq = 0;
    ad_status rc = sq_exec_sql(c, err, &changes, "UPDATE assets SET custom_data=?2 WHERE id=?1", "tt", id, json);
    if (rc == AD_OK && changes == 0)
        rc = ad_err_set(err, AD_ENOTFOUND, "asset %s not found", id);
    if (rc == AD_OK && (rc = asset_seq(c, id, &seq, err)) == AD_OK)
        rc = index_custom(c, seq, json, err);
    return rc;
}

/* ------------------------------------------------------------ conversions */

static ad_status sq_get_conversion(ad_meta *base, ad_meta_tx *tx, const char *asset_id, const char *name,
                                   ad_conversion *out, ad_err *err)
{
    conn_t *c;
    sqlite3_stmt *st;
    ad_status rc = sq_read_conn(base, tx, &c, err);
    if (rc != AD_OK || (rc = sq_prep(c, &st, err,
                                     "SELECT name, content_type, size, sha256, created_at FROM conversions"
                                     " WHERE asset_id=?1 AND name=?2",
                                     "tt", asset_id, name)) != AD_OK)
        return rc;
    int r = sqlite3_step(st);
    if (r == SQLITE_ROW) {
        sq_copy_col(st, 0, out->name, sizeof out->name);
        sq_copy_col(st, 1, out->content_type, sizeof out->content_type);
        out->size = sqlite3_column_int64(st, 2);
        sq_copy_col(st, 3, out->sha256, sizeof out->sha256);
        sq_copy_col(st, 4, out->created_at, sizeof out->created_at);
    } else {
        rc = r == SQLITE_DONE ? ad_err_set(err, AD_ENOTFOUND, "conversion %s not found", name)
                              : sq_db_fail(c->db, err, "get conversion");
    }
    sq_done(c, st);
    return rc;
}

static ad_status asset_exists(conn_t *c, const char *id, ad_err *err)
{
    sqlite3_stmt *st;
    ad_status rc = sq_prep(c, &st, err, "SELECT 1 FROM assets WHERE id=?1", "t", id);
    if (rc != AD_OK)
        return rc;
    int r = sqlite3_step(st);
    rc = r == SQLITE_ROW    ? AD_OK
         : r == SQLITE_DONE ? ad_err_set(err, AD_ENOTFOUND, "asset %s not found", id)
                            : sq_db_fail(c->db, err, "asset");
    sq_done(c, st);
    return rc;
}

/* The write transaction is the database's only one: seeing the row is
 * holding it. */
static ad_status sq_lock_asset(ad_meta_tx *base, const char *id, int for_update, ad_err *err)
{
    (void)for_update;
    return asset_exists(((sq_tx *)base)->c, id, err);
}

static ad_status sq_upsert_conversion(ad_meta_tx *base, const char *asset_id, const ad_conversion *cv,
                                      ad_meta_dropped_fn dropped, void *ctx, ad_err *err)
{
    conn_t *c = ((sq_tx *)base)->c;
    ad_status rc = asset_exists(c, asset_id, err);
    if (rc == AD_OK)
        rc = each_sha(c, "SELECT sha256 FROM conversions WHERE asset_id=?1 AND name=?2", asset_id, cv->name, dropped,
                      ctx, err);
    return rc == AD_OK ? insert_conversion(c, asset_id, cv, err) : rc;
}

static ad_status sq_delete_conversion(ad_meta_tx *base, const char *asset_id, const char *name,
                                      ad_meta_dropped_fn dropped, void *ctx, ad_err *err)
{
    conn_t *c = ((sq_tx *)base)->c;
    int changes = 0;
    ad_status rc =
        each_sha(c, "SELECT sha256 FROM conversions WHERE asset_id=?1 AND name=?2", asset_id, name, dropped, ctx, err);
    if (rc == AD_OK)
        rc = sq_exec_sql(c, err, &changes, "DELETE FROM conversions WHERE asset_id=?1 AND name=?2", "tt", asset_id,
                         name);
    if (rc == AD_OK && changes == 0)
        rc = ad_err_set(err, AD_ENOTFOUND, "conversion %s not found", name);
    return rc;
}

/* ------------------------------------------------------------------- keys */

static ad_status sq_add_key(ad_meta_tx *base, const char *key_sha, const char *id, const char *label, int scope,
                            ad_err *err)
{
    char now[32];
    ad_time_rfc3339(now);
    return sq_exec_sql(
        ((sq_tx *)base)->c, err, NULL,
        "INSERT OR IGNORE INTO api_keys(sha256, created_at, id, label, scope) VALUES(?1, ?2, ?3, ?4, ?5)", "ttttt",
        key_sha, now, id, label ? label : "", ad_scope_name(scope));
}

static ad_status sq_has_key(ad_meta *base, const char *key_sha, char id_out[17], int *scope_out, ad_err *err)
{
    conn_t *c;
    sqlite3_stmt *st;
    ad_status rc = sq_conn((sq_meta *)base, &c, err);
    if (rc != AD_OK ||
        (rc = sq_prep(c, &st, err, "SELECT id, scope FROM api_keys WHERE sha256=?1 AND revoked_at IS NULL", "t",
                      key_sha)) != AD_OK)
        return rc;
    int r = sqlite3_step(st);
    if (r == SQLITE_ROW) {
        sq_copy_col(st, 0, id_out, 17);
        int sc = ad_scope_parse((const char *)sqlite3_column_text(st, 1));
        *scope_out = sc < 0 ? AD_SCOPE_READ : sc; /* a value no release writes: the least */
    }
    rc = r == SQLITE_ROW ? AD_OK : r == SQLITE_DONE ? AD_ENOTFOUND : sq_db_fail(c->db, err, "key");
    sq_done(c, st);
    return rc;
}

static ad_status sq_touch_key(ad_meta_tx *base, const char *id, const char *when, ad_err *err)
{
    return sq_exec_sql(((sq_tx *)base)->c, err, NULL, "UPDATE api_keys SET last_used_at=?2 WHERE id=?1", "tt", id,
                       when);
}

static ad_status sq_revoke_key(ad_meta_tx *base, const char *id, ad_err *err)
{
    char now[32];
    int changes = 0;
    ad_time_rfc3339(now);
    ad_status rc = sq_exec_sql(((sq_tx *)base)->c, err, &changes,
                               "UPDATE api_keys SET revoked_at=COALESCE(revoked_at, ?2) WHERE id=?1", "tt", id, now);
    if (rc == AD_OK && changes == 0)
        rc = ad_err_set(err, AD_ENOTFOUND, "no key with id %s", id);
    return rc;
}

static ad_status sq_list_keys(ad_meta *base, ad_key_info **out, int *n, ad_err *err)
{
    conn_t *c;
    sqlite3_stmt *st;
    *out = NULL;
    *n = 0;
    ad_status rc = sq_conn((sq_meta *)base, &c, err);
    if (rc != AD_OK ||
        (rc = sq_prep(c, &st, err,
                      "SELECT id, label, created_at, last_used_at, revoked_at, sha256, scope FROM api_keys"
                      " ORDER BY created_at, id",
                      NULL)) != AD_OK)
        return rc;
    int r;
    while ((r = sqlite3_step(st)) == SQLITE_ROW) {
        ad_key_info *v = realloc(*out, sizeof *v * (size_t)(*n + 1));
        if (v == NULL) {
            rc = ad_err_set(err, AD_ENOMEM, "out of memory");
            break;
        }
        *out = v;
        ad_key_info *k = &v[(*n)++];
        sq_copy_col(st, 0, k->id, sizeof k->id);
        sq_copy_col(st, 1, k->label, sizeof k->label);
        sq_copy_col(st, 2, k->created_at, sizeof k->created_at);
        sq_copy_col(st, 3, k->last_used_at, sizeof k->last_used_at);
        sq_copy_col(st, 4, k->revoked_at, sizeof k->revoked_at);
        sq_copy_col(st, 5, k->sha256, sizeof k->sha256);
        int sc = ad_scope_parse((const char *)sqlite3_column_text(st, 6));
        k->scope = sc < 0 ? AD_SCOPE_READ : sc;
    }
    if (rc == AD_OK && r != SQLITE_DONE)
        rc = sq_db_fail(c->db, err, "keys");
    sq_done(c, st);
    if (rc != AD_OK) {
        free(*out);
        *out = NULL;
        *n = 0;
    }
    return rc;
}

static ad_status sq_import_key(ad_meta_tx *base, const ad_key_info *k, ad_err *err)
{
    return sq_exec_sql(((sq_tx *)base)->c, err, NULL,
                       "INSERT OR IGNORE INTO api_keys(sha256, id, label, created_at, last_used_at, revoked_at, scope)"
                       " VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                       "ttttttt", k->sha256, k->id, k->label, k->created_at,
                       k->last_used_at[0] ? k->last_used_at : NULL, k->revoked_at[0] ? k->revoked_at : NULL,
                       ad_scope_name(k->scope));
}

/* ----------------------------------------------------- blob bookkeeping */

static ad_status sq_lock_blob(ad_meta_tx *tx, const char *sha, ad_err *err)
{
    (void)tx, (void)sha, (void)err;
    return AD_OK; /* BEGIN IMMEDIATE already excludes every other writer */
}

static ad_status sq_pin_blob(ad_meta_tx *base, const char *sha, const char *owner, int64_t expires_ms, ad_err *err)
{
    return sq_exec_sql(((sq_tx *)base)->c, err, NULL,
                       "INSERT OR REPLACE INTO blob_pins(sha256, owner, expires_ms) VALUES(?1, ?2, ?3)", "tti", sha,
                       owner, expires_ms);
}

static ad_status sq_unpin(ad_meta_tx *base, const char *sha, const char *owner, ad_meta_dropped_fn dropped, void *ctx,
                          ad_err *err)
{
    conn_t *c = ((sq_tx *)base)->c;
    if (sha) {
        ad_status rc =
            sq_exec_sql(c, err, NULL, "DELETE FROM blob_pins WHERE sha256=?1 AND owner=?2", "tt", sha, owner);
        if (rc == AD_OK && dropped)
            dropped(ctx, sha);
        return rc;
    }
    ad_status rc = each_sha(c, "SELECT sha256 FROM blob_pins WHERE owner=?1", owner, NULL, dropped, ctx, err);
    return rc == AD_OK ? sq_exec_sql(c, err, NULL, "DELETE FROM blob_pins WHERE owner=?1", "t", owner) : rc;
}

static ad_status sq_blob_refs(ad_meta *base, ad_meta_tx *tx, const char *sha, int64_t now, int64_t *n, ad_err *err)
{
    conn_t *c;
    sqlite3_stmt *st;
    ad_status rc = sq_read_conn(base, tx, &c, err);
    if (rc != AD_OK || (rc = sq_prep(c, &st, err,
                                     "SELECT (SELECT count(*) FROM assets WHERE sha256=?1) +"
                                     " (SELECT count(*) FROM conversions WHERE sha256=?1) +"
                                     " (SELECT count(*) FROM derived WHERE blob_sha256=?1) +"
                                     " (SELECT count(*) FROM blob_pins WHERE sha256=?1 AND"
                                     "  (expires_ms = 0 OR expires_ms > ?2))",
                                     "ti", sha, now)) != AD_OK)
        return rc;
    if (sqlite3_step(st) == SQLITE_ROW)
        *n = sqlite3_column_int64(st, 0);
    else
        rc = sq_db_fail(c->db, err, "blob refs");
    sq_done(c, st);
    return rc;
}

static ad_status sq_gc_enqueue(ad_meta_tx *base, const char *sha, int64_t due, ad_err *err)
{
    return sq_exec_sql(((sq_tx *)base)->c, err, NULL,
                       "INSERT INTO gc_queue(sha256, due_ms) VALUES(?1, ?2)"
                       " ON CONFLICT(sha256) DO UPDATE SET due_ms=max(due_ms, excluded.due_ms)",
                       "ti", sha, due);
}

static ad_status sq_gc_dequeue(ad_meta_tx *base, const char *sha, ad_err *err)
{
    return sq_exec_sql(((sq_tx *)base)->c, err, NULL, "DELETE FROM gc_queue WHERE sha256=?1", "t", sha);
}

static ad_status sq_gc_defer(ad_meta_tx *base, const char *sha, int64_t due, ad_err *err)
{
    return sq_exec_sql(((sq_tx *)base)->c, err, NULL, "UPDATE gc_queue SET due_ms=?2 WHERE sha256=?1", "ti", sha, due);
}

static ad_status sq_gc_due(ad_meta *base, int64_t now, int64_t lease_ms, int max, char (*shas)[65], int *n, ad_err *err)
{
    ad_meta_tx *tx;
    sqlite3_stmt *st;
    *n = 0;
    ad_status rc = sq_begin(base, &tx, err);
    if (rc != AD_OK)
        return rc;
    conn_t *c = ((sq_tx *)tx)->c;
    if ((rc = sq_prep(c, &st, err, "SELECT sha256 FROM gc_queue WHERE due_ms <= ?1 ORDER BY due_ms LIMIT ?2", "ii", now,
                      (int64_t)max)) == AD_OK) {
        while (*n < max && sqlite3_step(st) == SQLITE_ROW)
            sq_copy_col(st, 0, shas[(*n)++], 65);
        sq_done(c, st);
    }
    for (int i = 0; rc == AD_OK && i < *n; i++)
        rc = sq_exec_sql(c, err, NULL, "UPDATE gc_queue SET due_ms=?2 WHERE sha256=?1", "ti", shas[i], now + lease_ms);
    if (rc != AD_OK) {
        sq_rollback(tx);
        *n = 0;
        return rc;
    }
    return sq_commit(tx, err);
}

static ad_status sq_expire_pins(ad_meta *base, int64_t now, int max, int *n, ad_err *err)
{
    ad_meta_tx *tx;
    int changes = 0;
    *n = 0;
    ad_status rc = sq_begin(base, &tx, err);
    if (rc != AD_OK)
        return rc;
    conn_t *c = ((sq_tx *)tx)->c;
    rc = sq_exec_sql(c, err, NULL,
                     "INSERT OR IGNORE INTO gc_queue(sha256, due_ms) SELECT DISTINCT sha256, ?1 FROM (SELECT sha256"
                     " FROM blob_pins WHERE expires_ms > 0 AND expires_ms < ?1 ORDER BY expires_ms, rowid LIMIT ?2)",
                     "ii", now, (int64_t)max);
    if (rc == AD_OK)
        rc = sq_exec_sql(c, err, &changes,
                         "DELETE FROM blob_pins WHERE rowid IN (SELECT rowid FROM blob_pins WHERE expires_ms > 0"
                         " AND expires_ms < ?1 ORDER BY expires_ms, rowid LIMIT ?2)",
                         "ii", now, (int64_t)max);
    if (rc != AD_OK) {
        sq_rollback(tx);
        return rc;
    }
    *n = changes;
    return sq_commit(tx, err);
}

/* ------------------------------------------------------------- open/close */

/* One writer process per data dir: start-up recovery (pins of dead
 * writers, leases of dead runners, the full blob sweep) assumes no other
 * process writes. Held as long as the store is open. */
static ad_status take_lock(sq_meta *m, const char *dir, ad_err *err)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/serve.lock", dir);
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0)
        return ad_err_set(err, AD_EIO, "cannot open the data dir's lock file: %s", strerror(errno));
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        close(fd);
        return ad_err_set(err, AD_ECONFLICT, "another assetd serve is running on %s", dir);
    }
    m->lock_fd = fd;
    return AD_OK;
}

static ad_status migrate(conn_t *c, ad_err *err)
{
    sqlite3_stmt *st;
    int version = 0, has_v1_jobs = 0;
    ad_status rc = sq_exec_sql(c, err, NULL, "BEGIN IMMEDIATE", NULL);
    if (rc != AD_OK)
        return rc;
    if (sqlite3_prepare_v2(c->db, "PRAGMA user_version", -1, &st, NULL) == SQLITE_OK) {
        if (sqlite3_step(st) == SQLITE_ROW)
            version = sqlite3_column_int(st, 0);
        sqlite3_finalize(st);
    }
    if (version > SCHEMA_VERSION) {
        rc = ad_err_set(err, AD_EUNSUPPORTED, "the database has schema version %d; this assetd knows up to %d", version,
                        SCHEMA_VERSION);
        goto out;
    }
    if (version == SCHEMA_VERSION)
        goto out;
    if (version == 2) { /* keys gain an id, a label, their last use and revocation */
        if (sqlite3_exec(c->db, schema_v3_keys, NULL, NULL, NULL) != SQLITE_OK) {
            rc = sq_db_fail(c->db, err, "migrate keys");
            goto out;
        }
        version = 3;
    }
    if (version == 3) { /* a delete unlinks the children it finds by index */
        if (sqlite3_exec(c->db, schema_v4_lineage, NULL, NULL, NULL) != SQLITE_OK) {
            rc = sq_db_fail(c->db, err, "migrate lineage");
            goto out;
        }
        version = 4;
    }
    if (version == 4) { /* derived blobs */
        if (sqlite3_exec(c->db, schema_v5_derived, NULL, NULL, NULL) != SQLITE_OK) {
            rc = sq_db_fail(c->db, err, "migrate derived blobs");
            goto out;
        }
        version = 5;
    }
    if (version == 5) { /* search, jobs list, webhooks */
        if (sqlite3_exec(c->db, schema_v6_search, NULL, NULL, NULL) != SQLITE_OK) {
            rc = sq_db_fail(c->db, err, "migrate search");
            goto out;
        }
        if ((rc = index_all(c, err)) == AD_OK &&
            sqlite3_exec(c->db, "PRAGMA user_version=6", NULL, NULL, NULL) != SQLITE_OK)
            rc = sq_db_fail(c->db, err, "migrate search");
        goto out;
    }
    if (sqlite3_prepare_v2(c->db, "SELECT 1 FROM pragma_table_info('jobs') WHERE name='png_sha256'", -1, &st, NULL) ==
        SQLITE_OK) {
        has_v1_jobs = sqlite3_step(st) == SQLITE_ROW;
        sqlite3_finalize(st);
    }
    if (has_v1_jobs && sqlite3_exec(c->db, "ALTER TABLE jobs RENAME TO jobs_v1; DROP INDEX IF EXISTS jobs_due;", NULL,
                                    NULL, NULL) != SQLITE_OK) {
        rc = sq_db_fail(c->db, err, "migrate");
        goto out;
    }
    if (sqlite3_exec(c->db, schema_v2, NULL, NULL, NULL) != SQLITE_OK ||
        (has_v1_jobs && sqlite3_exec(c->db, migrate_v1, NULL, NULL, NULL) != SQLITE_OK) ||
        sqlite3_exec(c->db, schema_v4_lineage, NULL, NULL, NULL) != SQLITE_OK ||
        sqlite3_exec(c->db, schema_v5_derived, NULL, NULL, NULL) != SQLITE_OK ||
        sqlite3_exec(c->db, schema_v6_search, NULL, NULL, NULL) != SQLITE_OK ||
        sqlite3_exec(c->db, "PRAGMA user_version=6", NULL, NULL, NULL) != SQLITE_OK)
        rc = sq_db_fail(c->db, err, "schema");
out:
    if (rc == AD_OK)
        rc = sq_exec_sql(c, err, NULL, "COMMIT", NULL);
    if (rc != AD_OK)
        sqlite3_exec(c->db, "ROLLBACK", NULL, NULL, NULL);
    return rc;
}

/* One line per schema version, for `assetd migrate --dry-run`. */
static const char *const schema_steps[SCHEMA_VERSION] = {
    "1: assets, conversions, API keys, jobs",
    "2: jobs with kinds and payloads, blob pins, the GC queue",
    "3: API keys with an id, a label, last use and revocation",
    "4: lineage found by index",
    "5: stored masks and delivery variants (derived blobs); key scopes",
    ("6: search (custom data index entries, list filters' indexes), the jobs list, webhooks and their outbox, "
     "job counters and retention (existing custom data and jobs are filled in)"),
};

static ad_status sq_schema_plan(const ad_store_config *cfg, int *have, int *want, const char *const **steps,
                                ad_err *err)
{
    char path[PATH_MAX];
    sqlite3 *db = NULL;
    sqlite3_stmt *st;
    *have = 0;
    *want = SCHEMA_VERSION;
    *steps = schema_steps;
    snprintf(path, sizeof path, "%s/assetd.db", cfg->data_dir ? cfg->data_dir : ".");
    if (access(path, F_OK) != 0)
        return AD_OK; /* no store yet: made whole at the first open */
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
        ad_status rc = ad_err_set(err, AD_EBACKEND, "sqlite: cannot open %s", path);
        sqlite3_close(db);
        return rc;
    }
    if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
        *have = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return AD_OK;
}

static void sq_close(ad_meta *base)
{
    sq_meta *m = (sq_meta *)base;
    if (m == NULL)
        return;
    /* other threads' connections close at their exit (key destructor) */
    conn_t *c = pthread_getspecific(m->conn_key);
    if (c) {
        close_conn(c);
        pthread_setspecific(m->conn_key, NULL);
    }
    pthread_key_delete(m->conn_key);
    if (m->lock_fd >= 0)
        close(m->lock_fd);
    free(m);
}

static ad_status sq_open(const ad_store_config *cfg, ad_meta **out, ad_err *err)
{
    const char *dir = cfg->data_dir;
    sq_meta *m = calloc(1, sizeof *m);
    conn_t *c;
    ad_status rc;
    *out = NULL;
    if (m == NULL)
        return ad_err_set(err, AD_ENOMEM, "out of memory");
    m->base.ops = &ad_meta_sqlite_ops;
    m->lock_fd = -1;
    if (strlen(dir) > 3000) {
        free(m);
        return ad_err_set(err, AD_EINVAL, "data dir path too long");
    }
    snprintf(m->db_path, sizeof m->db_path, "%s/assetd.db", dir);
    if (pthread_key_create(&m->conn_key, close_conn) != 0) {
        free(m);
        return ad_err_set(err, AD_ENOMEM, "no thread key");
    }
    /* the data dir is the service's alone: the database holds key hashes */
    if (mkdir(dir, 0700) == 0) {
        if ((rc = ad_dir_sync_for(dir, err)) != AD_OK)
            goto fail;
    } else if (errno != EEXIST) {
        rc = ad_err_set(err, AD_EIO, "cannot create data dir %s: %s", dir, strerror(errno));
        goto fail;
    }
    /* say plainly when the folder cannot be written (read-only mount, wrong
     * owner), rather than let SQLite's "unable to open database file" do it */
    char probe[PATH_MAX];
    snprintf(probe, sizeof probe, "%s/.write-probe.tmp.%d", dir, (int)getpid());
    int pfd = open(probe, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (pfd < 0) {
        rc = ad_err_set(err, AD_EIO, "data dir %s is not writable: %s", dir, strerror(errno));
        goto fail;
    }
    close(pfd);
    unlink(probe);
    /* SQLite gives its -wal and -shm files the database file's mode */
    int dbfd = open(m->db_path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (dbfd >= 0)
        close(dbfd);
    if (cfg->exclusive && (rc = take_lock(m, dir, err)) != AD_OK)
        goto fail;
    if ((rc = sq_conn(m, &c, err)) != AD_OK || (rc = migrate(c, err)) != AD_OK)
        goto fail;
    if (cfg->exclusive) {
        /* nobody else writes: a writer's pin or a runner's lease left in the
         * database belongs to a process that is gone (its blob, published
         * or not, becomes the collector's candidate: no sweep of the blobs
         * is needed to find it) */
        if ((rc = sq_exec_sql(c, err, NULL,
                              "INSERT OR IGNORE INTO gc_queue(sha256, due_ms) SELECT DISTINCT sha256, 0 FROM blob_pins"
                              " WHERE expires_ms > 0",
                              NULL)) != AD_OK ||
            (rc = sq_exec_sql(c, err, NULL, "DELETE FROM blob_pins WHERE expires_ms > 0", NULL)) != AD_OK ||
            (rc = sq_exec_sql(c, err, NULL, "UPDATE jobs SET lease_until=0 WHERE status=1", NULL)) != AD_OK ||
            (rc = sq_exec_sql(c, err, NULL,
                              "UPDATE webhook_deliveries SET owner=NULL, lease_until=0 WHERE state=0 AND lease_until>0",
                              NULL)) != AD_OK)
            goto fail;
    }
    *out = &m->base;
    return AD_OK;
fail:
    sq_close(&m->base);
    return rc;
}

/* ---------------------------------------------------------- derived blobs */

/* a derived blob's last use is written at most this often (reads stay reads) */
#define DERIVED_TOUCH_MS 60000

static ad_status sq_get_derived(ad_meta *base, const char *key, int64_t now, char blob_sha[65], ad_err *err)
{
    conn_t *c;
    sqlite3_stmt *st;
    int64_t used = 0;
    ad_status rc = sq_conn((sq_meta *)base, &c, err);
    if (rc != AD_OK ||
        (rc = sq_prep(c, &st, err, "SELECT blob_sha256, used_ms FROM derived WHERE key=?1", "t", key)) != AD_OK)
        return rc;
    int r = sqlite3_step(st);
    if (r == SQLITE_ROW) {
        sq_copy_col(st, 0, blob_sha, 65);
        used = sqlite3_column_int64(st, 1);
    } else {
        rc = r == SQLITE_DONE ? ad_err_set(err, AD_ENOTFOUND, "no such derived blob")
                              : sq_db_fail(c->db, err, "get derived");
    }
    sq_done(c, st);
    if (rc == AD_OK && now - used > DERIVED_TOUCH_MS) {
        ad_err e2 = AD_ERR_INIT; /* a missed touch only ages it sooner */
        sq_exec_sql(c, &e2, NULL, "UPDATE derived SET used_ms=?2 WHERE key=?1", "ti", key, now);
    }
    return rc;
}

/* Remove the rows a SELECT of (key, kind, blob_sha256, bytes) finds, their
 * bytes off their kind's total, their blobs to dropped. */
static ad_status drop_derived_rows(conn_t *c, const char *sql, const char *arg, const char *arg2,
                                   ad_meta_dropped_fn dropped, void *ctx, ad_err *err)
{
    sqlite3_stmt *st;
    ad_status rc = sq_prep(c, &st, err, sql, arg2 ? "tt" : "t", arg, arg2);
    if (rc != AD_OK)
        return rc;
    struct row {
        char key[65], kind[16], sha[65];
        int64_t bytes;
    } *v = NULL;
    int n = 0, r;
    while ((r = sqlite3_step(st)) == SQLITE_ROW) {
        struct row *g = realloc(v, sizeof *v * (size_t)(n + 1));
        if (g == NULL) {
            rc = ad_err_set(err, AD_ENOMEM, "out of memory");
            break;
        }
        v = g;
        sq_copy_col(st, 0, v[n].key, sizeof v[n].key);
        sq_copy_col(st, 1, v[n].kind, sizeof v[n].kind);
        sq_copy_col(st, 2, v[n].sha, sizeof v[n].sha);
        v[n++].bytes = sqlite3_column_int64(st, 3);
    }
    if (rc == AD_OK && r != SQLITE_DONE)
        rc = sq_db_fail(c->db, err, "derived");
    sq_done(c, st);
    for (int i = 0; rc == AD_OK && i < n; i++) {
        rc = sq_exec_sql(c, err, NULL, "DELETE FROM derived WHERE key=?1", "t", v[i].key);
        if (rc == AD_OK)
            rc = sq_exec_sql(c, err, NULL, "UPDATE derived_usage SET count=count-1, bytes=bytes-?2 WHERE kind=?1", "ti",
                             v[i].kind, v[i].bytes);
        if (rc == AD_OK && dropped)
            dropped(ctx, v[i].sha);
    }
    free(v);
    return rc;
}

static ad_status sq_derived_usage(ad_meta *base, ad_meta_tx *tx, const char *kind, int64_t *count, int64_t *bytes,
                                  ad_err *err)
{
    conn_t *c;
    sqlite3_stmt *st;
    *count = *bytes = 0;
    ad_status rc = sq_read_conn(base, tx, &c, err);
    if (rc != AD_OK ||
        (rc = sq_prep(c, &st, err, "SELECT count, bytes FROM derived_usage WHERE kind=?1", "t", kind)) != AD_OK)
        return rc;
    int r = sqlite3_step(st);
    if (r == SQLITE_ROW) {
        *count = sqlite3_column_int64(st, 0);
        *bytes = sqlite3_column_int64(st, 1);
    } else if (r != SQLITE_DONE) {
        rc = sq_db_fail(c->db, err, "derived usage");
    }
    sq_done(c, st);
    return rc;
}

static ad_status sq_put_derived(ad_meta_tx *base, const ad_derived_row *d, int64_t max_bytes, int *inserted,
                                ad_meta_dropped_fn dropped, void *ctx, ad_err *err)
{
    conn_t *c = ((sq_tx *)base)->c;
    int changes = 0;
    *inserted = 0;
    ad_status rc = sq_exec_sql(c, err, &changes,
                               "INSERT INTO derived(key, kind, source_sha256, blob_sha256, bytes, used_ms)"
                               " VALUES(?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT(key) DO NOTHING",
                               "ttttii", d->key, d->kind, d->source_sha256, d->blob_sha256, d->bytes, d->used_ms);
    if (rc != AD_OK || changes == 0)
        return rc;
    *inserted = 1;
    if ((rc = sq_exec_sql(c, err, NULL,
                          "INSERT INTO derived_usage(kind, count, bytes) VALUES(?1, 1, ?2)"
                          " ON CONFLICT(kind) DO UPDATE SET count=count+1, bytes=bytes+excluded.bytes",
                          "ti", d->kind, d->bytes)) != AD_OK)
        return rc;
    /* over the bound: the least recently used go, a few per insert (each
     * insert adds one, so a few keep the total at the bound) */
    for (int i = 0; rc == AD_OK && max_bytes > 0 && i < 16; i++) {
        int64_t count, bytes;
        if ((rc = sq_derived_usage(base->meta, base, d->kind, &count, &bytes, err)) != AD_OK || bytes <= max_bytes ||
            count <= 1)
            break;
        rc = drop_derived_rows(c,
                               "SELECT key, kind, blob_sha256, bytes FROM derived WHERE kind=?2 AND key <> ?1"
                               " ORDER BY used_ms, key LIMIT 1",
                               d->key, d->kind, dropped, ctx, err);
    }
    return rc;
}

static ad_status sq_drop_derived(ad_meta_tx *base, const char *key, const char *source, ad_meta_dropped_fn dropped,
                                 void *ctx, ad_err *err)
{
    conn_t *c = ((sq_tx *)base)->c;
    return key ? drop_derived_rows(c, "SELECT key, kind, blob_sha256, bytes FROM derived WHERE key=?1", key, NULL,
                                   dropped, ctx, err)
               : drop_derived_rows(c, "SELECT key, kind, blob_sha256, bytes FROM derived WHERE source_sha256=?1",
                                   source, NULL, dropped, ctx, err);
}

const ad_meta_ops ad_meta_sqlite_ops = {
    .name = "sqlite",
    .remote = 0,
    .single_writer = 1,
    .open = sq_open,
    .schema_plan = sq_schema_plan,
    .close = sq_close,
    .begin = sq_begin,
    .commit = sq_commit,
    .rollback = sq_rollback,
    .insert_asset = sq_insert_asset,
    .get_asset = sq_get_asset,
    .list_assets = sq_list_assets,
    .delete_asset = sq_delete_asset,
    .lock_asset = sq_lock_asset,
    .set_custom_data = sq_set_custom_data,
    .upsert_conversion = sq_upsert_conversion,
    .get_conversion = sq_get_conversion,
    .delete_conversion = sq_delete_conversion,
    .add_key = sq_add_key,
    .has_key = sq_has_key,
    .touch_key = sq_touch_key,
    .revoke_key = sq_revoke_key,
    .list_keys = sq_list_keys,
    .import_key = sq_import_key,
    .list_jobs = sq_list_jobs,
    .count_jobs = sq_count_jobs,
    .import_job = sq_import_job,
    .job_holds = sq_job_holds,
    .lock_blob = sq_lock_blob,
    .pin_blob = sq_pin_blob,
    .unpin = sq_unpin,
    .blob_refs = sq_blob_refs,
    .gc_enqueue = sq_gc_enqueue,
    .gc_dequeue = sq_gc_dequeue,
    .gc_defer = sq_gc_defer,
    .gc_due = sq_gc_due,
    .expire_pins = sq_expire_pins,
    .prune_jobs = sq_prune_jobs,
    .get_derived = sq_get_derived,
    .put_derived = sq_put_derived,
    .drop_derived = sq_drop_derived,
    .derived_usage = sq_derived_usage,
    .insert_job = sq_insert_job,
    .get_job = sq_get_job,
    .claim_job = sq_claim_job,
    .renew_lease = sq_renew_lease,
    .finish_job = sq_finish_job,
    .fail_job = sq_fail_job,
    .list_job_page = sq_list_job_page,
    .add_webhook = sq_add_webhook,
    .list_webhooks = sq_list_webhooks,
    .delete_webhook = sq_delete_webhook,
    .webhook_subscribers = sq_webhook_subscribers,
    .enqueue_event = sq_enqueue_event,
    .claim_deliveries = sq_claim_deliveries,
    .end_delivery = sq_end_delivery,
    .list_attempts = sq_list_attempts,
    .prune_webhooks = sq_prune_webhooks,
    .webhook_queue = sq_webhook_queue,
};
