/* backup.c — backups of the embedded store (sqlite + fs) that restore
 * (docs/operate.md): taken online, beside a running server, and checked
 * byte by byte when restored.
 *
 * Backup, in an order that leaves no referenced blob behind whatever is
 * written meanwhile: (1) every blob file there is now is hard-linked (or
 * copied, across file systems) into the backup; (2) SQLite's online backup
 * API takes one consistent snapshot of the database; (3) every blob that
 * snapshot refers to (assets, conversions, stored masks and variants, the
 * blobs queued jobs hold) is checked in the backup, and the few written
 * between (1) and (2) are linked now (a blob referenced at (2) cannot be
 * collected before the grace period: seconds at least); (4) blobs the
 * snapshot does not refer to are dropped, and so are the pins of writers
 * in flight; (5) a manifest names the format, assetd's and the schema's
 * versions, the counts, and every file's size and SHA-256.
 *
 * Restore refuses before writing anything: a manifest of another format or
 * of a newer schema, a database whose SHA-256 or integrity check fails, a
 * blob missing or whose bytes do not hash to its name. Then it copies into
 * a new data dir (private modes) that `assetd serve` opens as it is. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/fsutil.h"
#include "base/id.h"
#include "base/sha256.h"
#include "base/version.h"
#include "store/backup.h"

#define FORMAT "assetd-backup/1"

static void blob_path(const char *root, const char *sha, char *out, size_t len)
{
    snprintf(out, len, "%s/blobs/%.2s/%.2s/%s", root, sha, sha + 2, sha);
}

static int mkdirs_for(const char *path)
{
    char buf[4200];
    snprintf(buf, sizeof buf, "%s", path);
    for (char *p = buf + 1; *p; p++)
        if (*p == '/') {
            *p = '\0';
            if (mkdir(buf, 0700) != 0 && errno != EEXIST)
                return -1;
            *p = '/';
        }
    return 0;
}

/* The file at from into to: a hard link, or a copy (fsynced) where links
 * cannot go. */
static ad_status link_or_copy(const char *from, const char *to, ad_err *err)
{
    if (mkdirs_for(to) != 0)
        return ad_err_set(err, AD_EIO, "cannot make the folder of %s: %s", to, strerror(errno));
    if (link(from, to) == 0 || errno == EEXIST)
        return AD_OK;
    if (errno != EXDEV && errno != EPERM && errno != EMLINK)
        return errno == ENOENT ? ad_err_set(err, AD_ENOTFOUND, "%s is gone", from)
                               : ad_err_set(err, AD_EIO, "cannot link %s: %s", from, strerror(errno));
    void *data = NULL;
    size_t len = 0;
    ad_status st = ad_file_read(from, (size_t)1 << 40, &data, &len, err);
    if (st == AD_OK)
        st = ad_file_write_atomic(to, data, len, 0600, err);
    free(data);
    return st;
}

typedef struct {
    const char *src, *dst;
    ad_status st;
    ad_err *err;
    int64_t n;
} walk_ctx;

/* Each blob file under root/blobs/xx/yy/, to fn. */
static void each_blob(const char *root, void (*fn)(void *ctx, const char *sha), void *ctx)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/blobs", root);
    DIR *d1 = opendir(path);
    struct dirent *a, *b, *c;
    while (d1 && (a = readdir(d1)) != NULL) {
        if (strlen(a->d_name) != 2)
            continue;
        snprintf(path, sizeof path, "%s/blobs/%s", root, a->d_name);
        DIR *d2 = opendir(path);
        while (d2 && (b = readdir(d2)) != NULL) {
            if (strlen(b->d_name) != 2)
                continue;
            snprintf(path, sizeof path, "%s/blobs/%s/%s", root, a->d_name, b->d_name);
            DIR *d3 = opendir(path);
            while (d3 && (c = readdir(d3)) != NULL)
                if (ad_sha256_valid(c->d_name))
                    fn(ctx, c->d_name);
            if (d3)
                closedir(d3);
        }
        if (d2)
            closedir(d2);
    }
    if (d1)
        closedir(d1);
}

static void link_one(void *ctx, const char *sha)
{
    walk_ctx *w = ctx;
    char from[4200], to[4200];
    if (w->st != AD_OK)
        return;
    blob_path(w->src, sha, from, sizeof from);
    blob_path(w->dst, sha, to, sizeof to);
    ad_status st = link_or_copy(from, to, w->err);
    if (st == AD_ENOTFOUND) { /* collected meanwhile: the snapshot will not need it */
        ad_err_clear(w->err);
        return;
    }
    w->st = st;
    w->n++;
}

/* The blobs a database refers to, each once, into *out (malloc'd). */
static ad_status referenced(sqlite3 *db, char (**out)[65], int64_t *n, ad_err *err)
{
    static const char *sql = "SELECT sha256 FROM assets UNION SELECT sha256 FROM conversions"
                             " UNION SELECT blob_sha256 FROM derived UNION SELECT sha256 FROM blob_pins";
    sqlite3_stmt *st;
    *out = NULL;
    *n = 0;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
        return ad_err_set(err, AD_EBACKEND, "sqlite: %s", sqlite3_errmsg(db));
    int64_t cap = 0;
    ad_status rc = AD_OK;
    while (sqlite3_step(st) == SQLITE_ROW) {
        const char *sha = (const char *)sqlite3_column_text(st, 0);
        if (sha == NULL || !ad_sha256_valid(sha))
            continue;
        if (*n == cap) {
            cap = cap ? cap * 2 : 1024;
            char(*g)[65] = realloc(*out, sizeof **out * (size_t)cap);
            if (g == NULL) {
                rc = ad_err_set(err, AD_ENOMEM, "out of memory");
                break;
            }
            *out = g;
        }
        memcpy((*out)[(*n)++], sha, 65);
    }
    sqlite3_finalize(st);
    return rc;
}

static int cmp_sha(const void *a, const void *b) { return strcmp(a, b); }

typedef struct {
    const char *root;
    char (*keep)[65];
    int64_t nkeep;
    int64_t dropped;
} prune_ctx;

static void drop_unreferenced(void *ctx, const char *sha)
{
    prune_ctx *p = ctx;
    if (bsearch(sha, p->keep, (size_t)p->nkeep, 65, cmp_sha))
        return;
    char path[4200];
    blob_path(p->root, sha, path, sizeof path);
    if (unlink(path) == 0)
        p->dropped++;
}

static int64_t count_rows(sqlite3 *db, const char *table)
{
    char sql[128];
    sqlite3_stmt *st;
    int64_t n = -1;
    snprintf(sql, sizeof sql, "SELECT count(*) FROM %s", table);
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
        n = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return n;
}

static int schema_version(sqlite3 *db)
{
    sqlite3_stmt *st;
    int v = -1;
    if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    return v;
}

/* SHA-256 hex and size of a file, streamed. */
static ad_status hash_file(const char *path, char hex[65], int64_t *size, ad_err *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT ? ad_err_set(err, AD_ENOTFOUND, "%s is missing", path)
                               : ad_err_set(err, AD_EIO, "cannot read %s: %s", path, strerror(errno));
    ad_sha256 h;
    ad_sha256_init(&h);
    char buf[65536];
    ssize_t k;
    *size = 0;
    while ((k = read(fd, buf, sizeof buf)) > 0) {
        ad_sha256_update(&h, buf, (size_t)k);
        *size += k;
    }
    close(fd);
    if (k < 0)
        return ad_err_set(err, AD_EIO, "cannot read %s", path);
    uint8_t d[32];
    ad_sha256_final(&h, d);
    for (int i = 0; i < 32; i++)
        snprintf(hex + 2 * i, 3, "%02x", d[i]);
    return AD_OK;
}

ad_status ad_backup_take(const char *data_dir, const char *to, ad_backup_report *r, ad_err *err)
{
    memset(r, 0, sizeof *r);
    char path[4200], src_db[4200];
    if (mkdir(to, 0700) != 0)
        return ad_err_set(err, errno == EEXIST ? AD_ECONFLICT : AD_EIO, "cannot make %s: %s", to,
                          errno == EEXIST ? "it exists (a backup goes into a new folder)" : strerror(errno));
    snprintf(src_db, sizeof src_db, "%s/assetd.db", data_dir);
    if (access(src_db, R_OK) != 0)
        return ad_err_set(err, AD_ENOTFOUND, "%s has no embedded store (assetd.db)", data_dir);
    /* (1) the blobs there are now */
    walk_ctx w = {data_dir, to, AD_OK, err, 0};
    each_blob(data_dir, link_one, &w);
    if (w.st != AD_OK)
        return w.st;
    /* (2) one consistent snapshot of the database */
    sqlite3 *src = NULL, *dst = NULL;
    ad_status rc = AD_OK;
    snprintf(path, sizeof path, "%s/assetd.db", to);
    if (sqlite3_open_v2(src_db, &src, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK ||
        sqlite3_open(path, &dst) != SQLITE_OK) {
        rc = ad_err_set(err, AD_EBACKEND, "sqlite: cannot open the databases");
        goto out;
    }
    sqlite3_busy_timeout(src, 10000);
    sqlite3_backup *b = sqlite3_backup_init(dst, "main", src, "main");
    if (b == NULL) {
        rc = ad_err_set(err, AD_EBACKEND, "sqlite backup: %s", sqlite3_errmsg(dst));
        goto out;
    }
    int step;
    while ((step = sqlite3_backup_step(b, -1)) == SQLITE_BUSY || step == SQLITE_LOCKED)
        sqlite3_sleep(50);
    sqlite3_backup_finish(b);
    if (step != SQLITE_DONE) {
        rc = ad_err_set(err, AD_EBACKEND, "sqlite backup: %s", sqlite3_errstr(step));
        goto out;
    }
    /* writers in flight are not part of it: their pins go */
    sqlite3_exec(dst, "PRAGMA journal_mode=DELETE; DELETE FROM blob_pins WHERE expires_ms > 0;", NULL, NULL, NULL);
    /* (3) every blob the snapshot refers to is in the backup */
    char(*keep)[65] = NULL;
    int64_t nkeep = 0;
    if ((rc = referenced(dst, &keep, &nkeep, err)) != AD_OK)
        goto out;
    qsort(keep, (size_t)nkeep, 65, cmp_sha);
    for (int64_t i = 0; i < nkeep && rc == AD_OK; i++) {
        char from[4200], dest[4200];
        blob_path(to, keep[i], dest, sizeof dest);
        if (access(dest, F_OK) == 0)
            continue;
        blob_path(data_dir, keep[i], from, sizeof from);
        if ((rc = link_or_copy(from, dest, err)) == AD_ENOTFOUND)
            rc = ad_err_set(err, AD_EIO, "blob %s is referenced but absent from %s: the store is damaged", keep[i],
                            data_dir);
    }
    /* (4) what it does not refer to goes */
    prune_ctx p = {to, keep, nkeep, 0};
    if (rc == AD_OK)
        each_blob(to, drop_unreferenced, &p);
    /* (5) the manifest */
    json_t *blobs = json_array();
    for (int64_t i = 0; i < nkeep && rc == AD_OK; i++) {
        char dest[4200], hex[65];
        int64_t size;
        blob_path(to, keep[i], dest, sizeof dest);
        if ((rc = hash_file(dest, hex, &size, err)) == AD_OK) {
            if (strcmp(hex, keep[i]) != 0)
                rc = ad_err_set(err, AD_EIO, "blob %s in %s does not hash to its name: the store is damaged", keep[i],
                                data_dir);
            json_array_append_new(blobs, json_pack("{s:s, s:I}", "sha256", keep[i], "size", (json_int_t)size));
            r->bytes += size;
        }
    }
    free(keep);
    sqlite3_close(dst);
    dst = NULL;
    char db_hex[65], now[32];
    int64_t db_size = 0;
    if (rc == AD_OK)
        rc = hash_file(path, db_hex, &db_size, err);
    if (rc == AD_OK) {
        sqlite3 *snap = NULL;
        sqlite3_open_v2(path, &snap, SQLITE_OPEN_READONLY, NULL);
        r->assets = count_rows(snap, "assets");
        r->blobs = nkeep;
        ad_time_rfc3339(now);
        json_t *m = json_pack("{s:s, s:s, s:i, s:s, s:{s:I, s:I, s:I, s:I, s:I}, s:{s:s, s:I}, s:o}", "format", FORMAT,
                              "assetd_version", AD_VERSION, "schema_version", schema_version(snap), "created_at", now,
                              "counts", "assets", (json_int_t)r->assets, "conversions",
                              (json_int_t)count_rows(snap, "conversions"), "jobs", (json_int_t)count_rows(snap, "jobs"),
                              "api_keys", (json_int_t)count_rows(snap, "api_keys"), "blobs", (json_int_t)nkeep,
                              "database", "sha256", db_hex, "size", (json_int_t)db_size, "blobs", blobs);
        blobs = NULL;
        sqlite3_close(snap);
        char *text = json_dumps(m, JSON_INDENT(1));
        json_decref(m);
        snprintf(path, sizeof path, "%s/manifest.json", to);
        rc = text ? ad_file_write_atomic(path, text, strlen(text), 0600, err) : ad_err_set(err, AD_ENOMEM, "oom");
        free(text);
    }
    json_decref(blobs);
out:
    sqlite3_close(src);
    sqlite3_close(dst);
    return rc;
}

ad_status ad_backup_restore(const char *from, const char *data_dir, ad_backup_report *r, ad_err *err)
{
    memset(r, 0, sizeof *r);
    char path[4200], hex[65];
    snprintf(path, sizeof path, "%s/manifest.json", from);
    json_error_t je;
    json_t *m = json_load_file(path, JSON_REJECT_DUPLICATES, &je);
    ad_status rc = AD_OK;
    if (m == NULL) {
        rc = ad_err_set(err, AD_EINVAL, "%s is not a backup: its manifest.json is %s", from,
                        access(path, F_OK) == 0 ? "not JSON" : "missing");
        goto out;
    }
    const char *format = json_string_value(json_object_get(m, "format"));
    if (format == NULL || strcmp(format, FORMAT) != 0) {
        rc = ad_err_set(err, AD_EINVAL, "%s is not a backup of this format (%s)", from, format ? format : "none");
        goto out;
    }
    int schema = (int)json_integer_value(json_object_get(m, "schema_version"));
    if (schema > AD_BACKUP_SCHEMA_MAX) {
        rc = ad_err_set(err, AD_EUNSUPPORTED, "the backup has schema version %d; this assetd knows up to %d", schema,
                        AD_BACKUP_SCHEMA_MAX);
        goto out;
    }
    /* everything checked before anything is written */
    json_t *db = json_object_get(m, "database");
    int64_t size = 0;
    snprintf(path, sizeof path, "%s/assetd.db", from);
    if ((rc = hash_file(path, hex, &size, err)) != AD_OK)
        goto out;
    if (strcmp(hex, json_string_value(json_object_get(db, "sha256")) ? json_string_value(json_object_get(db, "sha256"))
                                                                     : "") != 0) {
        rc = ad_err_set(err, AD_EINVAL, "the backup's database is damaged: its SHA-256 is not the manifest's");
        goto out;
    }
    sqlite3 *snap = NULL;
    sqlite3_stmt *st = NULL;
    int intact = sqlite3_open_v2(path, &snap, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
                 sqlite3_prepare_v2(snap, "PRAGMA integrity_check", -1, &st, NULL) == SQLITE_OK &&
                 sqlite3_step(st) == SQLITE_ROW && strcmp((const char *)sqlite3_column_text(st, 0), "ok") == 0;
    sqlite3_finalize(st);
    sqlite3_close(snap);
    if (!intact) {
        rc = ad_err_set(err, AD_EINVAL, "the backup's database fails SQLite's integrity check");
        goto out;
    }
    json_t *blobs = json_object_get(m, "blobs"), *b;
    size_t i;
    json_array_foreach(blobs, i, b)
    {
        const char *sha = json_string_value(json_object_get(b, "sha256"));
        if (sha == NULL || !ad_sha256_valid(sha)) {
            rc = ad_err_set(err, AD_EINVAL, "the manifest names a blob badly");
            goto out;
        }
        blob_path(from, sha, path, sizeof path);
        if ((rc = hash_file(path, hex, &size, err)) != AD_OK) {
            ad_err_clear(err);
            rc = ad_err_set(err, AD_EINVAL, "the backup is damaged: blob %s is missing", sha);
            goto out;
        }
        if (strcmp(hex, sha) != 0 || size != json_integer_value(json_object_get(b, "size"))) {
            rc = ad_err_set(err, AD_EINVAL, "the backup is damaged: blob %s's bytes hash to %s", sha, hex);
            goto out;
        }
        r->blobs++;
        r->bytes += size;
    }
    /* then the copy, into a new data dir */
    if (mkdir(data_dir, 0700) != 0) {
        DIR *d = opendir(data_dir);
        int empty = d != NULL;
        struct dirent *e;
        while (d && (e = readdir(d)) != NULL)
            if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, ".."))
                empty = 0;
        if (d)
            closedir(d);
        if (!empty) {
            rc = ad_err_set(err, AD_ECONFLICT, "%s exists and is not empty: restore into a new data dir", data_dir);
            goto out;
        }
    }
    json_array_foreach(blobs, i, b)
    {
        const char *sha = json_string_value(json_object_get(b, "sha256"));
        char dest[4200];
        void *data = NULL;
        size_t len = 0;
        blob_path(from, sha, path, sizeof path);
        blob_path(data_dir, sha, dest, sizeof dest);
        if (mkdirs_for(dest) != 0)
            rc = ad_err_set(err, AD_EIO, "cannot make the folder of %s", dest);
        if (rc == AD_OK && (rc = ad_file_read(path, (size_t)1 << 40, &data, &len, err)) == AD_OK)
            rc = ad_file_write_atomic(dest, data, len, 0600, err);
        free(data);
        if (rc != AD_OK)
            goto out;
    }
    void *data = NULL;
    size_t len = 0;
    char dest[4200];
    snprintf(path, sizeof path, "%s/assetd.db", from);
    snprintf(dest, sizeof dest, "%s/assetd.db", data_dir);
    if ((rc = ad_file_read(path, (size_t)1 << 40, &data, &len, err)) == AD_OK)
        rc = ad_file_write_atomic(dest, data, len, 0600, err);
    free(data);
    r->assets = json_integer_value(json_object_get(json_object_get(m, "counts"), "assets"));
out:
    json_decref(m);
    return rc;
}
