/* meta_sqlite_impl.h — what the SQLite metadata backend's files share
 * (meta_sqlite.c: connections, transactions, the schema, assets, keys,
 * blobs and derived rows; meta_sqlite_work.c: the queues of background
 * work, jobs and webhook deliveries). Not a public header: the backend is
 * reached through ad_meta_sqlite_ops (store/meta.h). */
#ifndef AD_STORE_META_SQLITE_IMPL_H
#define AD_STORE_META_SQLITE_IMPL_H

#include <limits.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stddef.h>

#include "store/meta.h"

#define STMT_CACHE 64

typedef struct {
    const char *sql; /* the literal: statements are cached by its address */
    sqlite3_stmt *st;
} cached_stmt;

/* A thread's connection and the statements prepared on it. */
typedef struct {
    sqlite3 *db;
    int n;
    cached_stmt cache[STMT_CACHE];
} conn_t;

typedef struct {
    ad_meta base;
    char db_path[PATH_MAX];
    pthread_key_t conn_key;
    int lock_fd; /* the one-writer lock (exclusive), or -1 */
} sq_meta;

typedef struct {
    ad_meta_tx base;
    conn_t *c;
} sq_tx;

/* Helpers (meta_sqlite.c). sq_conn: this thread's connection, opened on
 * first use; sq_prep: a statement, cached by its literal's address, with
 * its parameters bound by fmt ("t" text, NULL for SQL NULL; "i" int64;
 * anything else NULL); sq_done releases it (cached ones are reset);
 * sq_exec_sql: prepare, bind, step to the end (*changes: rows changed);
 * sq_dup_col: a column as a malloc'd string (caller frees); sq_read_conn:
 * the transaction's connection, or this thread's when tx is NULL. */
ad_status sq_db_fail(sqlite3 *db, ad_err *err, const char *what);
ad_status sq_conn(sq_meta *m, conn_t **out, ad_err *err);
ad_status sq_prep(conn_t *c, sqlite3_stmt **st, ad_err *err, const char *sql, const char *fmt, ...);
void sq_done(conn_t *c, sqlite3_stmt *st);
ad_status sq_exec_sql(conn_t *c, ad_err *err, int *changes, const char *sql, const char *fmt, ...);
char *sq_dup_col(sqlite3_stmt *st, int i);
void sq_copy_col(sqlite3_stmt *st, int i, char *buf, size_t len);
ad_status sq_read_conn(ad_meta *base, ad_meta_tx *tx, conn_t **c, ad_err *err);
ad_status sq_begin(ad_meta *base, ad_meta_tx **out, ad_err *err);
void sq_rollback(ad_meta_tx *base);
ad_status sq_commit(ad_meta_tx *base, ad_err *err);

/* The work queues' operations (meta_sqlite_work.c), in the table of
 * functions ad_meta_sqlite_ops; store/meta.h says what each does. */
ad_status sq_insert_job(ad_meta_tx *base, const char *id, const char *kind, const char *payload, const char *asset_id,
                        ad_err *err);
ad_status sq_list_job_page(ad_meta *base, const ad_job_filter *f, int64_t before, int limit, ad_job **out, int *n,
                           ad_err *err);
ad_status sq_get_job(ad_meta *base, const char *id, ad_job *out, ad_err *err);
ad_status sq_claim_job(ad_meta *base, const char *owner, int64_t now, int64_t lease_ms, ad_job *out, ad_err *err);
ad_status sq_renew_lease(ad_meta *base, const char *id, const char *owner, int64_t until, ad_err *err);
ad_status sq_finish_job(ad_meta_tx *base, const char *id, const char *owner, const char *result, ad_err *err);
ad_status sq_fail_job(ad_meta_tx *base, const char *id, const char *owner, const char *reason, int final,
                      int64_t run_after, ad_err *err);
ad_status sq_list_jobs(ad_meta *base, const char *after, int limit, ad_job **out, int *n, ad_err *err);
ad_status sq_count_jobs(ad_meta *base, int64_t counts[4], ad_err *err);
ad_status sq_prune_jobs(ad_meta *base, const char *before, int max, int *n, ad_err *err);
ad_status sq_import_job(ad_meta_tx *base, const ad_job *j, ad_err *err);
ad_status sq_job_holds(ad_meta *base, const char *id, char (*shas)[65], int max, int *n, ad_err *err);
ad_status sq_add_webhook(ad_meta_tx *base, const ad_webhook *w, ad_err *err);
ad_status sq_list_webhooks(ad_meta *base, const char *id, ad_webhook **out, int *n, ad_err *err);
ad_status sq_delete_webhook(ad_meta_tx *base, const char *id, ad_err *err);
ad_status sq_webhook_subscribers(ad_meta *base, ad_meta_tx *tx, const char *type, int64_t *n, ad_err *err);
ad_status sq_enqueue_event(ad_meta_tx *base, const char *event_id, const char *type, const char *body, int64_t now,
                           ad_err *err);
ad_status sq_claim_deliveries(ad_meta *base, const char *owner, int64_t now, int64_t lease_ms, int max,
                              ad_webhook_delivery *out, int *n, ad_err *err);
ad_status sq_end_delivery(ad_meta *base, int64_t seq, const char *owner, ad_delivery_outcome o, int64_t next_ms,
                          const char *webhook_id, const ad_webhook_attempt *a, ad_err *err);
ad_status sq_list_attempts(ad_meta *base, const char *webhook_id, int64_t before, int limit, ad_webhook_attempt *out,
                           int *n, ad_err *err);
ad_status sq_prune_webhooks(ad_meta *base, int64_t before_ms, int max, ad_err *err);
ad_status sq_webhook_queue(ad_meta *base, int64_t *pending, int64_t *oldest_ms, ad_err *err);

#endif
