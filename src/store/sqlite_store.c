/* sqlite_store.c — the embedded backend: metadata in SQLite (WAL, one
 * connection per thread, every write transaction BEGIN IMMEDIATE,
 * synchronous=FULL so an acknowledged commit survives power loss), blobs as
 * files under blobs/ab/cd/<sha256>, written with fsync + rename + directory
 * fsync before any row refers to them. See docs/store.md. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/fsutil.h"
#include "base/sha256.h"
#include "store/store.h"

typedef struct {
    ad_store base;
    char root[3072]; /* short enough that every blob path fits PATH_MAX */
    char db_path[3200];
    pthread_key_t conn_key; /* this thread's sqlite3 connection */
} sq_store;

static const char schema[] =
    "CREATE TABLE IF NOT EXISTS assets(id TEXT PRIMARY KEY, seq INTEGER NOT NULL UNIQUE, filename TEXT NOT NULL,"
    " content_type TEXT NOT NULL, size INTEGER NOT NULL, sha256 TEXT NOT NULL, width INTEGER, height INTEGER,"
    " created_at TEXT NOT NULL, custom_data TEXT NOT NULL, source_asset_id TEXT);"
    "CREATE TABLE IF NOT EXISTS conversions(asset_id TEXT NOT NULL, name TEXT NOT NULL,"
    " content_type TEXT NOT NULL, size INTEGER NOT NULL, sha256 TEXT NOT NULL, created_at TEXT NOT NULL,"
    " PRIMARY KEY(asset_id, name));"
    "CREATE TABLE IF NOT EXISTS api_keys(sha256 TEXT PRIMARY KEY, created_at TEXT NOT NULL);"
    "CREATE TABLE IF NOT EXISTS jobs(id TEXT PRIMARY KEY, kind TEXT NOT NULL, status INTEGER NOT NULL,"
    " attempts INTEGER NOT NULL DEFAULT 0, error TEXT, result TEXT, created_at TEXT NOT NULL, finished_at TEXT,"
    " run_after INTEGER NOT NULL DEFAULT 0, asset_id TEXT NOT NULL, new_asset INTEGER NOT NULL,"
    " conversion_name TEXT, new_asset_id TEXT, inherit INTEGER NOT NULL, png_sha256 TEXT NOT NULL,"
    " png_size INTEGER NOT NULL, width INTEGER NOT NULL, height INTEGER NOT NULL);"
    "CREATE INDEX IF NOT EXISTS jobs_due ON jobs(status, run_after);"
    "CREATE INDEX IF NOT EXISTS assets_sha ON assets(sha256);"
    "CREATE INDEX IF NOT EXISTS conversions_sha ON conversions(sha256);";

static ad_status db_fail(sqlite3 *db, ad_err *err, const char *what)
{
    int code = sqlite3_extended_errcode(db);
    ad_status st = (code & 0xff) == SQLITE_BUSY ? AD_EBUSY : (code & 0xff) == SQLITE_FULL ? AD_EIO : AD_EBACKEND;
    return ad_err_set(err, st, "sqlite: %s: %s", what, sqlite3_errmsg(db));
}

static void close_conn(void *p) { sqlite3_close_v2(p); }

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static ad_status conn(sq_store *s, sqlite3 **out, ad_err *err)
{
    sqlite3 *db = pthread_getspecific(s->conn_key);
    if (db) {
        *out = db;
        return AD_OK;
    }
    if (sqlite3_open_v2(s->db_path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL) !=
        SQLITE_OK) {
        ad_status rc = ad_err_set(err, AD_EBACKEND, "sqlite: open %s: %s", s->db_path,
                                  db ? sqlite3_errmsg(db) : "out of memory");
        sqlite3_close_v2(db);
        return rc;
    }
    sqlite3_busy_timeout(db, 10000);
    if (sqlite3_exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;", NULL, NULL,
                     NULL) != SQLITE_OK) {
        ad_status rc = db_fail(db, err, "pragmas");
        sqlite3_close_v2(db);
        return rc;
    }
    pthread_setspecific(s->conn_key, db);
    *out = db;
    return AD_OK;
}

/* Prepared statement with text/int binds given as a format: 't' text,
 * 'i' int64, 'n' NULL. Caller finalises. */
static ad_status prep(sqlite3 *db, sqlite3_stmt **st, ad_err *err, const char *sql, const char *fmt, ...)
{
    if (sqlite3_prepare_v2(db, sql, -1, st, NULL) != SQLITE_OK)
        return db_fail(db, err, "prepare");
    va_list ap;
    va_start(ap, fmt);
    for (int i = 0; fmt && fmt[i]; i++) {
        int r = SQLITE_OK;
        if (fmt[i] == 't')
            r = sqlite3_bind_text(*st, i + 1, va_arg(ap, const char *), -1, SQLITE_TRANSIENT);
        else if (fmt[i] == 'i')
            r = sqlite3_bind_int64(*st, i + 1, va_arg(ap, int64_t));
        else
            r = sqlite3_bind_null(*st, i + 1);
        if (r != SQLITE_OK) {
            va_end(ap);
            sqlite3_finalize(*st);
            *st = NULL;
            return db_fail(db, err, "bind");
        }
    }
    va_end(ap);
    return AD_OK;
}

/* Run a statement that returns no rows. */
static ad_status exec_stmt(sqlite3 *db, ad_err *err, const char *sql, const char *fmt, ...);

static ad_status exec_v(sqlite3 *db, ad_err *err, const char *sql, const char *fmt, va_list ap)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
        return db_fail(db, err, "prepare");
    for (int i = 0; fmt && fmt[i]; i++) {
        if (fmt[i] == 't')
            sqlite3_bind_text(st, i + 1, va_arg(ap, const char *), -1, SQLITE_TRANSIENT);
        else if (fmt[i] == 'i')
            sqlite3_bind_int64(st, i + 1, va_arg(ap, int64_t));
        else
            sqlite3_bind_null(st, i + 1);
    }
    int r = sqlite3_step(st);
    ad_status rc = (r == SQLITE_DONE || r == SQLITE_ROW) ? AD_OK : db_fail(db, err, "step");
    sqlite3_finalize(st);
    return rc;
}

static ad_status exec_stmt(sqlite3 *db, ad_err *err, const char *sql, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    ad_status rc = exec_v(db, err, sql, fmt, ap);
    va_end(ap);
    return rc;
}

static ad_status begin(sqlite3 *db, ad_err *err) { return exec_stmt(db, err, "BEGIN IMMEDIATE", NULL); }
static ad_status commit(sqlite3 *db, ad_err *err) { return exec_stmt(db, err, "COMMIT", NULL); }
static void rollback(sqlite3 *db) { sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL); }

/* This thread's connection, with a write transaction open. */
static ad_status write_begin(sq_store *s, sqlite3 **db, ad_err *err)
{
    ad_status rc = conn(s, db, err);
    return rc != AD_OK ? rc : begin(*db, err);
}

/* End a write transaction: commit when rc is AD_OK, else roll back (also
 * when the commit fails). Returns the outcome. */
static ad_status write_end(sqlite3 *db, ad_status rc, ad_err *err)
{
    if (rc == AD_OK)
        rc = commit(db, err);
    if (rc != AD_OK)
        rollback(db);
    return rc;
}

static char *dup_col(sqlite3_stmt *st, int i)
{
    const unsigned char *t = sqlite3_column_text(st, i);
    return t ? strdup((const char *)t) : NULL;
}

static void copy_col(sqlite3_stmt *st, int i, char *buf, size_t len)
{
    const unsigned char *t = sqlite3_column_text(st, i);
    snprintf(buf, len, "%s", t ? (const char *)t : "");
}

/* ------------------------------------------------------------------ blobs */

static void blob_file(sq_store *s, const char *sha, char *buf, size_t len)
{
    snprintf(buf, len, "%s/blobs/%.2s/%.2s/%s", s->root, sha, sha + 2, sha);
}

static ad_status mkdir_synced(const char *path, ad_err *err)
{
    if (mkdir(path, 0755) == 0)
        return ad_dir_sync_for(path, err);
    if (errno == EEXIST)
        return AD_OK;
    return ad_err_set(err, AD_EIO, "mkdir %s: %s", path, strerror(errno));
}

static ad_status sq_put_blob(ad_store *base, const void *data, size_t len, char sha[65], ad_err *err)
{
    sq_store *s = (sq_store *)base;
    char path[PATH_MAX], dir[PATH_MAX];
    ad_status rc;
    ad_sha256_hex(data, len, sha);
    snprintf(dir, sizeof dir, "%s/blobs/%.2s", s->root, sha);
    if ((rc = mkdir_synced(dir, err)) != AD_OK)
        return rc;
    snprintf(dir, sizeof dir, "%s/blobs/%.2s/%.2s", s->root, sha, sha + 2);
    if ((rc = mkdir_synced(dir, err)) != AD_OK)
        return rc;
    blob_file(s, sha, path, sizeof path);
    /* Always (re)write: a concurrent delete may be unlinking an identical
     * blob; rows are only inserted after checking the file in their
     * transaction (see blob_present). */
    return ad_file_write_atomic(path, data, len, err);
}

static ad_status sq_blob_path(ad_store *base, const char *sha, char *buf, size_t len, ad_err *err)
{
    if (!ad_sha256_valid(sha))
        return ad_err_set(err, AD_EINVAL, "bad blob address");
    blob_file((sq_store *)base, sha, buf, len);
    return AD_OK;
}

static int blob_present(sq_store *s, const char *sha)
{
    char path[PATH_MAX];
    blob_file(s, sha, path, sizeof path);
    return access(path, F_OK) == 0;
}

/* Remove a blob if nothing refers to it. Called *after* the transaction
 * that dropped a reference has committed: unlinking inside it would lose the
 * bytes of a row that a crash before the commit brings back. The check and
 * the unlink run under a write transaction of their own, so no insert can
 * slip in between (inserts check blob_present inside their write
 * transaction). A crash between the commit and this leaves an unreferenced
 * file, which the start-up sweep removes. */
static int64_t blob_refs(sqlite3 *db, const char *sha);

static void reap_blob(sq_store *s, sqlite3 *db, const char *sha)
{
    if (!sha || !*sha || begin(db, NULL) != AD_OK)
        return;
    if (blob_refs(db, sha) == 0) {
        char path[PATH_MAX];
        blob_file(s, sha, path, sizeof path);
        if (unlink(path) == 0)
            ad_dir_sync_for(path, NULL);
    }
    rollback(db); /* nothing was written */
}

/* ----------------------------------------------------------------- assets */

static ad_status insert_asset_tx(sq_store *s, sqlite3 *db, const ad_asset *a, ad_err *err)
{
    if (!blob_present(s, a->sha256))
        return ad_err_set(err, AD_ECONFLICT, "blob %s vanished before insert; retry", a->sha256);
    sqlite3_stmt *st;
    ad_status rc = prep(db, &st, err,
                        "INSERT INTO assets(id, seq, filename, content_type, size, sha256, width, height, created_at,"
                        " custom_data, source_asset_id) VALUES(?1, (SELECT COALESCE(MAX(seq), 0) + 1 FROM assets),"
                        " ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
                        "tttitiitt", a->id, a->filename, a->content_type, (int64_t)a->size, a->sha256,
                        (int64_t)a->width, (int64_t)a->height, a->created_at,
                        a->custom_data ? a->custom_data : "{}");
    if (rc != AD_OK)
        return rc;
    if (a->width < 0) {
        sqlite3_bind_null(st, 6);
        sqlite3_bind_null(st, 7);
    }
    if (a->source_asset_id[0])
        sqlite3_bind_text(st, 10, a->source_asset_id, -1, SQLITE_TRANSIENT);
    else
        sqlite3_bind_null(st, 10);
    int r = sqlite3_step(st);
    if (r == SQLITE_CONSTRAINT || (sqlite3_extended_errcode(db) & 0xff) == SQLITE_CONSTRAINT)
        rc = ad_err_set(err, AD_ECONFLICT, "asset %s exists", a->id);
    else if (r != SQLITE_DONE)
        rc = db_fail(db, err, "insert asset");
    sqlite3_finalize(st);
    return rc;
}

static ad_status sq_insert_asset(ad_store *base, const ad_asset *a, ad_err *err)
{
    sq_store *s = (sq_store *)base;
    sqlite3 *db;
    ad_status rc = write_begin(s, &db, err);
    if (rc != AD_OK)
        return rc;
    return write_end(db, insert_asset_tx(s, db, a, err), err);
}

#define ASSET_COLS "id, filename, content_type, size, sha256, width, height, created_at, custom_data, source_asset_id, seq"

static void read_asset(sqlite3_stmt *st, ad_asset *a)
{
    memset(a, 0, sizeof *a);
    copy_col(st, 0, a->id, sizeof a->id);
    a->filename = dup_col(st, 1);
    a->content_type = dup_col(st, 2);
    a->size = sqlite3_column_int64(st, 3);
    copy_col(st, 4, a->sha256, sizeof a->sha256);
    a->width = sqlite3_column_type(st, 5) == SQLITE_NULL ? -1 : sqlite3_column_int(st, 5);
    a->height = sqlite3_column_type(st, 6) == SQLITE_NULL ? -1 : sqlite3_column_int(st, 6);
    copy_col(st, 7, a->created_at, sizeof a->created_at);
    a->custom_data = dup_col(st, 8);
    copy_col(st, 9, a->source_asset_id, sizeof a->source_asset_id);
    a->seq = sqlite3_column_int64(st, 10);
}

static ad_status load_conversions(sqlite3 *db, ad_asset *a, ad_err *err)
{
    sqlite3_stmt *st;
    ad_status rc = prep(db, &st, err,
                        "SELECT name, content_type, size, sha256, created_at FROM conversions WHERE asset_id=?1"
                        " ORDER BY name",
                        "t", a->id);
    if (rc != AD_OK)
        return rc;
    int r;
    while ((r = sqlite3_step(st)) == SQLITE_ROW) {
        ad_conversion *c = realloc(a->conversions, sizeof *c * (size_t)(a->nconversions + 1));
        if (c == NULL) {
            rc = ad_err_set(err, AD_ENOMEM, "out of memory");
            break;
        }
        a->conversions = c;
        c += a->nconversions++;
        copy_col(st, 0, c->name, sizeof c->name);
        copy_col(st, 1, c->content_type, sizeof c->content_type);
        c->size = sqlite3_column_int64(st, 2);
        copy_col(st, 3, c->sha256, sizeof c->sha256);
        copy_col(st, 4, c->created_at, sizeof c->created_at);
    }
    if (rc == AD_OK && r != SQLITE_DONE)
        rc = db_fail(db, err, "conversions");
    sqlite3_finalize(st);
    return rc;
}

static ad_status sq_get_asset(ad_store *base, const char *id, ad_asset *out, ad_err *err)
{
    sq_store *s = (sq_store *)base;
    sqlite3 *db;
    sqlite3_stmt *st;
    memset(out, 0, sizeof *out);
    ad_status rc = conn(s, &db, err);
    if (rc != AD_OK || (rc = prep(db, &st, err, "SELECT " ASSET_COLS " FROM assets WHERE id=?1", "t", id)) != AD_OK)
        return rc;
    int r = sqlite3_step(st);
    if (r == SQLITE_ROW)
        read_asset(st, out);
    else
        rc = r == SQLITE_DONE ? ad_err_set(err, AD_ENOTFOUND, "asset %s not found", id) : db_fail(db, err, "get");
    sqlite3_finalize(st);
    if (rc == AD_OK && (rc = load_conversions(db, out, err)) != AD_OK)
        ad_asset_cleanup(out);
    return rc;
}

static ad_status sq_list_assets(ad_store *base, int64_t before, int limit, ad_asset **out, int *n, ad_err *err)
{
    sq_store *s = (sq_store *)base;
    sqlite3 *db;
    sqlite3_stmt *st;
    *out = NULL;
    *n = 0;
    ad_status rc = conn(s, &db, err);
    if (rc != AD_OK ||
        (rc = prep(db, &st, err, "SELECT " ASSET_COLS " FROM assets WHERE seq < ?1 ORDER BY seq DESC LIMIT ?2", "ii",
                   before > 0 ? before : INT64_MAX, (int64_t)limit)) != AD_OK)
        return rc;
    ad_asset *v = calloc((size_t)limit + 1, sizeof *v);
    if (v == NULL) {
        sqlite3_finalize(st);
        return ad_err_set(err, AD_ENOMEM, "out of memory");
    }
    int r, k = 0;
    while (k < limit && (r = sqlite3_step(st)) == SQLITE_ROW)
        read_asset(st, &v[k++]);
    sqlite3_finalize(st);
    for (int i = 0; i < k && rc == AD_OK; i++)
        rc = load_conversions(db, &v[i], err);
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

/* Collect the blob addresses an asset holds, to collect after deleting it. */
static int collect_shas(sqlite3 *db, const char *id, char (*shas)[65], int max)
{
    sqlite3_stmt *st;
    int n = 0;
    if (prep(db, &st, NULL,
             "SELECT sha256 FROM assets WHERE id=?1 UNION SELECT sha256 FROM conversions WHERE asset_id=?1", "t",
             id) != AD_OK)
        return 0;
    while (n < max && sqlite3_step(st) == SQLITE_ROW)
        copy_col(st, 0, shas[n++], 65);
    sqlite3_finalize(st);
    return n;
}

static ad_status sq_delete_asset(ad_store *base, const char *id, ad_err *err)
{
    sq_store *s = (sq_store *)base;
    sqlite3 *db;
    ad_status rc = write_begin(s, &db, err);
    if (rc != AD_OK)
        return rc;
    /* one original + its conversions; heap, so concurrent stores never share it */
    char(*shas)[65] = malloc(1024 * sizeof *shas);
    if (shas == NULL) {
        rollback(db);
        return ad_err_set(err, AD_ENOMEM, "out of memory");
    }
    int n = collect_shas(db, id, shas, 1024);
    if ((rc = exec_stmt(db, err, "DELETE FROM conversions WHERE asset_id=?1", "t", id)) == AD_OK &&
        (rc = exec_stmt(db, err, "DELETE FROM assets WHERE id=?1", "t", id)) == AD_OK) {
        if (sqlite3_changes(db) == 0)
            rc = ad_err_set(err, AD_ENOTFOUND, "asset %s not found", id);
    }
    if ((rc = write_end(db, rc, err)) == AD_OK)
        for (int i = 0; i < n; i++)
            reap_blob(s, db, shas[i]);
    free(shas);
    return rc;
}

static ad_status sq_set_custom_data(ad_store *base, const char *id, const char *json, ad_err *err)
{
    sq_store *s = (sq_store *)base;
    sqlite3 *db;
    ad_status rc = write_begin(s, &db, err);
    if (rc != AD_OK)
        return rc;
    rc = exec_stmt(db, err, "UPDATE assets SET custom_data=?2 WHERE id=?1", "tt", id, json);
    if (rc == AD_OK && sqlite3_changes(db) == 0)
        rc = ad_err_set(err, AD_ENOTFOUND, "asset %s not found", id);
    return write_end(db, rc, err);
}

static ad_status sq_get_conversion(ad_store *base, const char *asset_id, const char *name, ad_conversion *out,
                                   ad_err *err)
{
    sq_store *s = (sq_store *)base;
    sqlite3 *db;
    sqlite3_stmt *st;
    ad_status rc = conn(s, &db, err);
    if (rc != AD_OK || (rc = prep(db, &st, err,
                                  "SELECT name, content_type, size, sha256, created_at FROM conversions"
                                  " WHERE asset_id=?1 AND name=?2",
                                  "tt", asset_id, name)) != AD_OK)
        return rc;
    int r = sqlite3_step(st);
    if (r == SQLITE_ROW) {
        copy_col(st, 0, out->name, sizeof out->name);
        copy_col(st, 1, out->content_type, sizeof out->content_type);
        out->size = sqlite3_column_int64(st, 2);
        copy_col(st, 3, out->sha256, sizeof out->sha256);
        copy_col(st, 4, out->created_at, sizeof out->created_at);
    } else {
        rc = r == SQLITE_DONE ? ad_err_set(err, AD_ENOTFOUND, "conversion %s not found", name)
                              : db_fail(db, err, "get conversion");
    }
    sqlite3_finalize(st);
    return rc;
}

static ad_status sq_delete_conversion(ad_store *base, const char *asset_id, const char *name, ad_err *err)
{
    sq_store *s = (sq_store *)base;
    sqlite3 *db;
    ad_conversion c;
    ad_status rc = write_begin(s, &db, err);
    if (rc != AD_OK)
        return rc;
    if ((rc = sq_get_conversion(base, asset_id, name, &c, err)) == AD_OK)
        rc = exec_stmt(db, err, "DELETE FROM conversions WHERE asset_id=?1 AND name=?2", "tt", asset_id, name);
    if ((rc = write_end(db, rc, err)) == AD_OK)
        reap_blob(s, db, c.sha256);
    return rc;
}

/* ------------------------------------------------------------------ saves */

/* replaced[65] receives the blob of a conversion this save replaced ("" if
 * none), to reap after the commit. */
static ad_status apply_save_tx(sq_store *s, sqlite3 *db, const ad_save *sv, char replaced[65], ad_err *err)
{
    replaced[0] = '\0';
    ad_asset src;
    ad_status rc = sq_get_asset(&s->base, sv->asset_id, &src, err);
    char now[32];
    ad_time_rfc3339(now);
    if (!sv->new_asset) {
        if (rc != AD_OK)
            return rc;
        if (!blob_present(s, sv->png_sha256)) {
            ad_asset_cleanup(&src);
            return ad_err_set(err, AD_EIO, "result blob %s missing", sv->png_sha256);
        }
        char old[65] = "";
        for (int i = 0; i < src.nconversions; i++)
            if (strcmp(src.conversions[i].name, sv->conversion_name) == 0)
                memcpy(old, src.conversions[i].sha256, 65);
        rc = exec_stmt(db, err,
                       "INSERT OR REPLACE INTO conversions(asset_id, name, content_type, size, sha256, created_at)"
                       " VALUES(?1, ?2, 'image/png', ?3, ?4, ?5)",
                       "ttitt", sv->asset_id, sv->conversion_name, sv->png_size, sv->png_sha256, now);
        if (rc == AD_OK && old[0] && strcmp(old, sv->png_sha256) != 0)
            memcpy(replaced, old, 65);
        ad_asset_cleanup(&src);
        return rc;
    }
    /* add_new_asset: the id was decided up front, so a second run finds it */
    ad_asset exists;
    ad_err e2 = AD_ERR_INIT;
    if (sq_get_asset(&s->base, sv->new_asset_id, &exists, &e2) == AD_OK) {
        ad_asset_cleanup(&exists);
        ad_asset_cleanup(&src);
        return AD_OK;
    }
    if (rc != AD_OK && sv->inherit)
        return rc; /* lineage needs the source */
    ad_err_clear(err);
    char fname[300];
    const char *stem = rc == AD_OK && src.filename ? src.filename : "asset";
    const char *dot = strrchr(stem, '.');
    int stem_len = dot && dot != stem ? (int)(dot - stem) : (int)strlen(stem);
    snprintf(fname, sizeof fname, "%.*s.bg_removed.png", stem_len > 200 ? 200 : stem_len, stem);
    ad_asset na = {0};
    memcpy(na.id, sv->new_asset_id, sizeof na.id);
    na.filename = fname;
    na.content_type = (char *)"image/png";
    na.size = sv->png_size;
    memcpy(na.sha256, sv->png_sha256, 65);
    na.width = sv->width;
    na.height = sv->height;
    memcpy(na.created_at, now, sizeof now);
    na.custom_data = sv->inherit && rc == AD_OK ? src.custom_data : (char *)"{}";
    if (sv->inherit)
        memcpy(na.source_asset_id, sv->asset_id, sizeof na.source_asset_id);
    rc = insert_asset_tx(s, db, &na, err);
    ad_asset_cleanup(&src);
    return rc;
}

static ad_status sq_apply_save(ad_store *base, const ad_save *sv, ad_err *err)
{
    sq_store *s = (sq_store *)base;
    sqlite3 *db;
    ad_status rc = write_begin(s, &db, err);
    if (rc != AD_OK)
        return rc;
    char replaced[65];
    if ((rc = write_end(db, apply_save_tx(s, db, sv, replaced, err), err)) == AD_OK)
        reap_blob(s, db, replaced);
    return rc;
}

/* ------------------------------------------------------------------- keys */

static ad_status sq_add_key(ad_store *base, const char *key_sha, ad_err *err)
{
    sqlite3 *db;
    char now[32];
    ad_time_rfc3339(now);
    ad_status rc = write_begin((sq_store *)base, &db, err);
    if (rc != AD_OK)
        return rc;
    rc = exec_stmt(db, err, "INSERT OR IGNORE INTO api_keys(sha256, created_at) VALUES(?1, ?2)", "tt", key_sha, now);
    return write_end(db, rc, err);
}

static ad_status sq_has_key(ad_store *base, const char *key_sha, ad_err *err)
{
    sqlite3 *db;
    sqlite3_stmt *st;
    ad_status rc = conn((sq_store *)base, &db, err);
    if (rc != AD_OK || (rc = prep(db, &st, err, "SELECT 1 FROM api_keys WHERE sha256=?1", "t", key_sha)) != AD_OK)
        return rc;
    int r = sqlite3_step(st);
    rc = r == SQLITE_ROW ? AD_OK : r == SQLITE_DONE ? AD_ENOTFOUND : db_fail(db, err, "key");
    sqlite3_finalize(st);
    return rc;
}

/* ------------------------------------------------------------------- jobs */

static ad_status sq_insert_job(ad_store *base, const char *id, const ad_save *sv, ad_err *err)
{
    sqlite3 *db;
    char now[32];
    ad_time_rfc3339(now);
    ad_status rc = write_begin((sq_store *)base, &db, err);
    if (rc != AD_OK)
        return rc;
    rc = exec_stmt(db, err,
                   "INSERT INTO jobs(id, kind, status, created_at, asset_id, new_asset, conversion_name,"
                   " new_asset_id, inherit, png_sha256, png_size, width, height)"
                   " VALUES(?1, 'bg_remove_save', 0, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
                   "tttittitiii", id, now, sv->asset_id, (int64_t)sv->new_asset, sv->conversion_name,
                   sv->new_asset_id, (int64_t)sv->inherit, sv->png_sha256, sv->png_size, (int64_t)sv->width,
                   (int64_t)sv->height);
    return write_end(db, rc, err);
}

#define JOB_SAVE_COLS "asset_id, new_asset, conversion_name, new_asset_id, inherit, png_sha256, png_size, width, height"

static void read_save(sqlite3_stmt *st, int at, ad_save *sv)
{
    memset(sv, 0, sizeof *sv);
    copy_col(st, at, sv->asset_id, sizeof sv->asset_id);
    sv->new_asset = sqlite3_column_int(st, at + 1);
    copy_col(st, at + 2, sv->conversion_name, sizeof sv->conversion_name);
    copy_col(st, at + 3, sv->new_asset_id, sizeof sv->new_asset_id);
    sv->inherit = sqlite3_column_int(st, at + 4);
    copy_col(st, at + 5, sv->png_sha256, sizeof sv->png_sha256);
    sv->png_size = sqlite3_column_int64(st, at + 6);
    sv->width = sqlite3_column_int(st, at + 7);
    sv->height = sqlite3_column_int(st, at + 8);
}

static ad_status sq_get_job(ad_store *base, const char *id, ad_job *out, ad_err *err)
{
    sqlite3 *db;
    sqlite3_stmt *st;
    memset(out, 0, sizeof *out);
    ad_status rc = conn((sq_store *)base, &db, err);
    if (rc != AD_OK || (rc = prep(db, &st, err,
                                  "SELECT id, kind, status, attempts, error, result, created_at, finished_at, "
                                  JOB_SAVE_COLS " FROM jobs WHERE id=?1",
                                  "t", id)) != AD_OK)
        return rc;
    int r = sqlite3_step(st);
    if (r == SQLITE_ROW) {
        copy_col(st, 0, out->id, sizeof out->id);
        copy_col(st, 1, out->kind, sizeof out->kind);
        out->status = (ad_job_status)sqlite3_column_int(st, 2);
        out->attempts = sqlite3_column_int(st, 3);
        out->error = dup_col(st, 4);
        out->result = dup_col(st, 5);
        copy_col(st, 6, out->created_at, sizeof out->created_at);
        copy_col(st, 7, out->finished_at, sizeof out->finished_at);
        ad_save sv;
        read_save(st, 8, &sv);
        char buf[512];
        if (sv.new_asset)
            snprintf(buf, sizeof buf,
                     "{\"asset_id\":\"%s\",\"disposition\":\"add_new_asset\",\"new_asset_id\":\"%s\"%s}", sv.asset_id,
                     sv.new_asset_id, sv.inherit ? ",\"metadata\":\"inherit\"" : "");
        else
            snprintf(buf, sizeof buf,
                     "{\"asset_id\":\"%s\",\"disposition\":\"add_conversion\",\"conversion_name\":\"%s\"}",
                     sv.asset_id, sv.conversion_name);
        out->params = strdup(buf);
    } else {
        rc = r == SQLITE_DONE ? ad_err_set(err, AD_ENOTFOUND, "job %s not found", id) : db_fail(db, err, "job");
    }
    sqlite3_finalize(st);
    return rc;
}

static ad_status sq_claim_job(ad_store *base, char id_out[AD_ID_LEN + 1], ad_save *sv, int *attempts, ad_err *err)
{
    sqlite3 *db;
    sqlite3_stmt *st;
    ad_status rc = write_begin((sq_store *)base, &db, err);
    if (rc != AD_OK)
        return rc;
    rc = prep(db, &st, err,
              "SELECT id, attempts, " JOB_SAVE_COLS " FROM jobs WHERE status=0 AND run_after<=?1"
              " ORDER BY created_at LIMIT 1",
              "i", now_ms());
    if (rc == AD_OK) {
        int r = sqlite3_step(st);
        if (r == SQLITE_ROW) {
            copy_col(st, 0, id_out, AD_ID_LEN + 1);
            *attempts = sqlite3_column_int(st, 1) + 1;
            read_save(st, 2, sv);
        } else {
            rc = r == SQLITE_DONE ? AD_ENOTFOUND : db_fail(db, err, "claim");
        }
        sqlite3_finalize(st);
    }
    if (rc == AD_OK)
        rc = exec_stmt(db, err, "UPDATE jobs SET status=1, attempts=attempts+1 WHERE id=?1", "t", id_out);
    return write_end(db, rc, err); /* AD_ENOTFOUND: nothing due, rolled back */
}

static ad_status sq_complete_job(ad_store *base, const char *id, const ad_save *sv, ad_err *err)
{
    sq_store *s = (sq_store *)base;
    sqlite3 *db;
    char now[32], result[256];
    ad_time_rfc3339(now);
    if (sv->new_asset)
        snprintf(result, sizeof result, "{\"new_asset_id\":\"%s\"}", sv->new_asset_id);
    else
        snprintf(result, sizeof result, "{\"asset_id\":\"%s\",\"conversion_name\":\"%s\"}", sv->asset_id,
                 sv->conversion_name);
    ad_status rc = write_begin(s, &db, err);
    if (rc != AD_OK)
        return rc;
    /* The save and the job's end commit together: a crash leaves neither,
     * and the job runs again; so it takes effect exactly once. */
    char replaced[65];
    rc = apply_save_tx(s, db, sv, replaced, err);
    if (rc == AD_OK)
        rc = exec_stmt(db, err, "UPDATE jobs SET status=2, result=?2, error=NULL, finished_at=?3 WHERE id=?1", "ttt",
                       id, result, now);
    if ((rc = write_end(db, rc, err)) == AD_OK) {
        reap_blob(s, db, replaced);
        reap_blob(s, db, sv->png_sha256); /* kept by the new row, or freed if the target vanished */
    }
    return rc;
}

static ad_status sq_fail_job(ad_store *base, const char *id, const char *reason, int final, int64_t delay_ms,
                             ad_err *err)
{
    sq_store *s = (sq_store *)base;
    sqlite3 *db;
    char now[32];
    ad_time_rfc3339(now);
    ad_status rc = write_begin(s, &db, err);
    if (rc != AD_OK)
        return rc;
    char sha[65] = "";
    if (final) {
        rc = exec_stmt(db, err, "UPDATE jobs SET status=3, error=?2, finished_at=?3 WHERE id=?1", "ttt", id, reason,
                       now);
        sqlite3_stmt *st;
        if (rc == AD_OK && prep(db, &st, NULL, "SELECT png_sha256 FROM jobs WHERE id=?1", "t", id) == AD_OK) {
            if (sqlite3_step(st) == SQLITE_ROW)
                copy_col(st, 0, sha, sizeof sha);
            sqlite3_finalize(st);
        }
    } else {
        rc = exec_stmt(db, err, "UPDATE jobs SET status=0, error=?2, run_after=?3 WHERE id=?1", "tti", id, reason,
                       now_ms() + delay_ms);
    }
    if ((rc = write_end(db, rc, err)) == AD_OK)
        reap_blob(s, db, sha);
    return rc;
}

static ad_status sq_recover_jobs(ad_store *base, int *n, ad_err *err)
{
    sqlite3 *db;
    ad_status rc = write_begin((sq_store *)base, &db, err);
    if (rc != AD_OK)
        return rc;
    rc = exec_stmt(db, err, "UPDATE jobs SET status=0, run_after=0 WHERE status=1", NULL);
    *n = sqlite3_changes(db);
    return write_end(db, rc, err);
}

/* Count references to a blob (assets, conversions, unfinished jobs). */
static int64_t blob_refs(sqlite3 *db, const char *sha)
{
    sqlite3_stmt *st;
    int64_t n = -1;
    if (prep(db, &st, NULL,
             "SELECT (SELECT count(*) FROM assets WHERE sha256=?1) +"
             " (SELECT count(*) FROM conversions WHERE sha256=?1) +"
             " (SELECT count(*) FROM jobs WHERE png_sha256=?1 AND status<2)",
             "t", sha) != AD_OK)
        return -1;
    if (sqlite3_step(st) == SQLITE_ROW)
        n = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return n;
}

static ad_status sq_sweep_orphans(ad_store *base, int *n, ad_err *err)
{
    sq_store *s = (sq_store *)base;
    sqlite3 *db;
    char l1[PATH_MAX], l2[PATH_MAX], f[PATH_MAX];
    *n = 0;
    ad_status rc = conn(s, &db, err);
    if (rc != AD_OK)
        return rc;
    snprintf(l1, sizeof l1, "%s/blobs", s->root);
    DIR *d1 = opendir(l1);
    if (d1 == NULL)
        return AD_OK;
    struct dirent *a, *b, *c;
    while ((a = readdir(d1))) {
        if (a->d_name[0] == '.' || strlen(a->d_name) != 2)
            continue;
        snprintf(l2, sizeof l2, "%.3100s/%.2s", l1, a->d_name);
        DIR *d2 = opendir(l2);
        while (d2 && (b = readdir(d2))) {
            if (b->d_name[0] == '.' || strlen(b->d_name) != 2)
                continue;
            snprintf(f, sizeof f, "%.3200s/%.2s", l2, b->d_name);
            DIR *d3 = opendir(f);
            while (d3 && (c = readdir(d3))) {
                if (!ad_sha256_valid(c->d_name))
                    continue;
                char p[PATH_MAX];
                blob_file(s, c->d_name, p, sizeof p);
                if (blob_refs(db, c->d_name) == 0 && unlink(p) == 0) {
                    ad_dir_sync_for(p, NULL);
                    (*n)++;
                }
            }
            if (d3)
                closedir(d3);
        }
        if (d2)
            closedir(d2);
    }
    closedir(d1);
    return AD_OK;
}

/* ------------------------------------------------------------- open/close */

/* Temporary files are left only by a crash between create and rename. */
static void sweep_temporaries(const char *dir, int depth)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    if (d == NULL)
        return;
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.')
            continue;
        char p[PATH_MAX];
        snprintf(p, sizeof p, "%s/%s", dir, de->d_name);
        if (strstr(de->d_name, ".tmp."))
            unlink(p);
        else if (depth < 2 && de->d_type == DT_DIR)
            sweep_temporaries(p, depth + 1);
    }
    closedir(d);
}

static ad_status sq_open(const char *location, ad_store **out, ad_err *err)
{
    sq_store *s = calloc(1, sizeof *s);
    ad_status rc;
    *out = NULL;
    if (s == NULL)
        return ad_err_set(err, AD_ENOMEM, "out of memory");
    s->base.ops = &ad_store_sqlite_ops;
    if (strlen(location) >= sizeof s->root) {
        free(s);
        return ad_err_set(err, AD_EINVAL, "data dir path too long");
    }
    snprintf(s->root, sizeof s->root, "%s", location);
    snprintf(s->db_path, sizeof s->db_path, "%s/assetd.db", location);
    if (pthread_key_create(&s->conn_key, close_conn) != 0) {
        free(s);
        return ad_err_set(err, AD_ENOMEM, "no thread key");
    }
    char blobs[PATH_MAX];
    snprintf(blobs, sizeof blobs, "%s/blobs", location);
    if ((rc = mkdir_synced(location, err)) != AD_OK || (rc = mkdir_synced(blobs, err)) != AD_OK)
        goto fail;
    sweep_temporaries(location, -1); /* the folder itself, blobs/, ab/, cd/ */
    /* say plainly when the folder cannot be written (read-only mount, wrong
     * owner), rather than let SQLite's "unable to open database file" do it */
    char probe[PATH_MAX];
    snprintf(probe, sizeof probe, "%s/.write-probe.tmp.%d", location, (int)getpid());
    int pfd = open(probe, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (pfd < 0) {
        rc = ad_err_set(err, AD_EIO, "data dir %s is not writable: %s", location, strerror(errno));
        goto fail;
    }
    close(pfd);
    unlink(probe);
    sqlite3 *db;
    if ((rc = conn(s, &db, err)) != AD_OK)
        goto fail;
    if (sqlite3_exec(db, schema, NULL, NULL, NULL) != SQLITE_OK) {
        rc = db_fail(db, err, "schema");
        goto fail;
    }
    *out = &s->base;
    return AD_OK;
fail:
    sqlite3_close_v2(pthread_getspecific(s->conn_key));
    pthread_setspecific(s->conn_key, NULL);
    pthread_key_delete(s->conn_key);
    free(s);
    return rc;
}

static void sq_close(ad_store *base)
{
    sq_store *s = (sq_store *)base;
    /* other threads' connections close at their exit (key destructor) */
    sqlite3 *db = pthread_getspecific(s->conn_key);
    if (db) {
        sqlite3_close_v2(db);
        pthread_setspecific(s->conn_key, NULL);
    }
    pthread_key_delete(s->conn_key);
    free(s);
}

const ad_store_ops ad_store_sqlite_ops = {
    .name = "sqlite",
    .open = sq_open,
    .close = sq_close,
    .put_blob = sq_put_blob,
    .blob_path = sq_blob_path,
    .insert_asset = sq_insert_asset,
    .get_asset = sq_get_asset,
    .list_assets = sq_list_assets,
    .delete_asset = sq_delete_asset,
    .set_custom_data = sq_set_custom_data,
    .get_conversion = sq_get_conversion,
    .delete_conversion = sq_delete_conversion,
    .apply_save = sq_apply_save,
    .add_key = sq_add_key,
    .has_key = sq_has_key,
    .insert_job = sq_insert_job,
    .get_job = sq_get_job,
    .claim_job = sq_claim_job,
    .complete_job = sq_complete_job,
    .fail_job = sq_fail_job,
    .recover_jobs = sq_recover_jobs,
    .sweep_orphans = sq_sweep_orphans,
};
