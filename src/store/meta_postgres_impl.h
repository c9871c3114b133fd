/* meta_postgres_impl.h — what the PostgreSQL metadata backend's files
 * share (meta_postgres.c: connections under a deadline and a breaker,
 * transactions, migrations, assets, keys, blobs and derived rows;
 * meta_postgres_work.c: the queues of background work, jobs and webhook
 * deliveries). Not a public header: the backend is reached through
 * ad_meta_postgres_ops (store/meta.h). */
#ifndef AD_STORE_META_POSTGRES_IMPL_H
#define AD_STORE_META_POSTGRES_IMPL_H

#include <libpq-fe.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "base/breaker.h"
#include "store/meta.h"

typedef struct {
    ad_meta base;
    char *url;
    pthread_key_t conn_key;
    /* a statement with no answer for timeout_ms fails, its connection is
     * dropped (a server that stopped answering answers no cancel either)
     * and the breaker fails the next calls at once; 0 while migrating */
    int64_t timeout_ms;
    ad_breaker breaker;
} pg_meta;

typedef struct {
    PGconn *conn; /* NULL after a deadline passed: opened again on demand */
    pg_meta *m;
} pgc;

typedef struct {
    ad_meta_tx base;
    pgc *c;
} pg_tx;

/* Helpers (meta_postgres.c). pg_run: sql with text parameters (NULL: SQL
 * NULL) under the store's deadline; *res (may be NULL) keeps a result with
 * rows for the caller to PQclear, *changes (may be NULL) the rows changed.
 * pg_copy_col: a column's text ("" for SQL NULL) into buf; pg_dup_col:
 * the text malloc'd, NULL for SQL NULL (caller frees); pg_i64: an integer
 * as a parameter's text; pg_read_conn: the transaction's connection, or
 * this thread's when tx is NULL; pg_now_text: the time now in RFC 3339, as
 * rows store it. */
ad_status pg_conn(pg_meta *m, pgc **out, ad_err *err);
ad_status pg_run(pgc *c, ad_err *err, PGresult **res, int *changes, const char *sql, int n, const char *const *p);
void pg_copy_col(PGresult *r, int row, int i, char *buf, size_t len);
char *pg_dup_col(PGresult *r, int row, int i);
void pg_i64(char buf[24], int64_t v);
ad_status pg_read_conn(ad_meta *base, ad_meta_tx *tx, pgc **c, ad_err *err);
ad_status pg_begin(ad_meta *base, ad_meta_tx **out, ad_err *err);
void pg_rollback(ad_meta_tx *base);
ad_status pg_commit(ad_meta_tx *base, ad_err *err);
void pg_now_text(char out[32]);

/* The work queues' operations (meta_postgres_work.c), in the table of
 * functions ad_meta_postgres_ops; store/meta.h says what each does. */
ad_status pg_insert_job(ad_meta_tx *base, const char *id, const char *kind, const char *payload, const char *asset_id,
                        ad_err *err);
ad_status pg_list_job_page(ad_meta *base, const ad_job_filter *f, int64_t before, int limit, ad_job **out, int *n,
                           ad_err *err);
ad_status pg_get_job(ad_meta *base, const char *id, ad_job *out, ad_err *err);
ad_status pg_claim_job(ad_meta *base, const char *owner, int64_t now, int64_t lease_ms, ad_job *out, ad_err *err);
ad_status pg_renew_lease(ad_meta *base, const char *id, const char *owner, int64_t until, ad_err *err);
ad_status pg_finish_job(ad_meta_tx *base, const char *id, const char *owner, const char *result, ad_err *err);
ad_status pg_fail_job(ad_meta_tx *base, const char *id, const char *owner, const char *reason, int final,
                      int64_t run_after, ad_err *err);
ad_status pg_count_jobs(ad_meta *base, int64_t counts[4], ad_err *err);
ad_status pg_list_jobs(ad_meta *base, const char *after, int limit, ad_job **out, int *n, ad_err *err);
ad_status pg_prune_jobs(ad_meta *base, const char *before, int max, int *n, ad_err *err);
ad_status pg_import_job(ad_meta_tx *base, const ad_job *j, ad_err *err);
ad_status pg_job_holds(ad_meta *base, const char *id, char (*shas)[65], int max, int *n, ad_err *err);
ad_status pg_add_webhook(ad_meta_tx *base, const ad_webhook *w, ad_err *err);
ad_status pg_list_webhooks(ad_meta *base, const char *id, ad_webhook **out, int *n, ad_err *err);
ad_status pg_delete_webhook(ad_meta_tx *base, const char *id, ad_err *err);
ad_status pg_webhook_subscribers(ad_meta *base, ad_meta_tx *tx, const char *type, int64_t *n, ad_err *err);
ad_status pg_enqueue_event(ad_meta_tx *base, const char *event_id, const char *type, const char *body, int64_t now,
                           ad_err *err);
ad_status pg_claim_deliveries(ad_meta *base, const char *owner, int64_t now, int64_t lease_ms, int max,
                              ad_webhook_delivery *out, int *n, ad_err *err);
ad_status pg_end_delivery(ad_meta *base, int64_t seq, const char *owner, ad_delivery_outcome o, int64_t next_ms,
                          const char *webhook_id, const ad_webhook_attempt *a, ad_err *err);
ad_status pg_list_attempts(ad_meta *base, const char *webhook_id, int64_t before, int limit, ad_webhook_attempt *out,
                           int *n, ad_err *err);
ad_status pg_prune_webhooks(ad_meta *base, int64_t before_ms, int max, ad_err *err);
ad_status pg_webhook_queue(ad_meta *base, int64_t *pending, int64_t *oldest_ms, ad_err *err);

#endif
