/* meta_sqlite_work.c — the SQLite backend's queues of background work:
 * jobs (durable saves: claimed under a lease, finished or failed in the
 * caller's transaction, counted by triggers, pruned by age) and webhooks
 * (subscriptions, the outbox of events written in the transaction of their
 * cause, deliveries claimed under a lease, attempts kept for the API). The
 * rest of the backend is meta_sqlite.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/meta_sqlite_impl.h"

/* ------------------------------------------------------------------- jobs */

#define JOB_COLS \
    "id, kind, payload, status, attempts, error, result, created_at, finished_at, owner, lease_until, asset_id, seq"

static void read_job(sqlite3_stmt *st, ad_job *j)
{
    memset(j, 0, sizeof *j);
    sq_copy_col(st, 0, j->id, sizeof j->id);
    sq_copy_col(st, 1, j->kind, sizeof j->kind);
    j->payload = sq_dup_col(st, 2);
    j->status = (ad_job_status)sqlite3_column_int(st, 3);
    j->attempts = sqlite3_column_int(st, 4);
    j->error = sq_dup_col(st, 5);
    j->result = sq_dup_col(st, 6);
    sq_copy_col(st, 7, j->created_at, sizeof j->created_at);
    sq_copy_col(st, 8, j->finished_at, sizeof j->finished_at);
    sq_copy_col(st, 9, j->owner, sizeof j->owner);
    j->lease_until_ms = sqlite3_column_int64(st, 10);
    sq_copy_col(st, 11, j->asset_id, sizeof j->asset_id);
    j->seq = sqlite3_column_int64(st, 12);
}

ad_status sq_insert_job(ad_meta_tx *base, const char *id, const char *kind, const char *payload, const char *asset_id,
                        ad_err *err)
{
    char now[32];
    ad_time_rfc3339(now);
    return sq_exec_sql(
        ((sq_tx *)base)->c, err, NULL,
        "INSERT INTO jobs(id, kind, payload, status, created_at, asset_id, seq) VALUES(?1, ?2, ?3, 0, ?4,"
        " ?5, (SELECT COALESCE(MAX(seq), 0) + 1 FROM jobs))",
        "ttttt", id, kind, payload, now, asset_id && asset_id[0] ? asset_id : NULL);
}

ad_status sq_list_job_page(ad_meta *base, const ad_job_filter *f, int64_t before, int limit, ad_job **out, int *n,
                           ad_err *err)
{
    conn_t *c;
    sqlite3_stmt *st;
    *out = NULL;
    *n = 0;
    /* one statement per combination (prep caches by the text's address) */
    static const char *const sql[4] = {
        "SELECT " JOB_COLS " FROM jobs WHERE seq < ?3 ORDER BY seq DESC LIMIT ?4",
        "SELECT " JOB_COLS " FROM jobs WHERE status = ?1 AND seq < ?3 ORDER BY seq DESC LIMIT ?4",
        "SELECT " JOB_COLS " FROM jobs WHERE asset_id = ?2 AND seq < ?3 ORDER BY seq DESC LIMIT ?4",
        "SELECT " JOB_COLS " FROM jobs WHERE status = ?1 AND asset_id = ?2 AND seq < ?3 ORDER BY seq DESC LIMIT ?4",
    };
    int which = (f->status >= 0 ? 1 : 0) | (f->asset_id[0] ? 2 : 0);
    ad_status rc = sq_conn((sq_meta *)base, &c, err);
    if (rc != AD_OK || (rc = sq_prep(c, &st, err, sql[which], "itii", (int64_t)f->status, f->asset_id,
                                     before > 0 ? before : INT64_MAX, (int64_t)limit)) != AD_OK)
        return rc;
    ad_job *v = calloc((size_t)limit + 1, sizeof *v);
    if (v == NULL) {
        sq_done(c, st);
        return ad_err_set(err, AD_ENOMEM, "out of memory");
    }
    int k = 0;
    while (k < limit && sqlite3_step(st) == SQLITE_ROW)
        read_job(st, &v[k++]);
    sq_done(c, st);
    *out = v;
    *n = k;
    return AD_OK;
}

static ad_status get_job_on(conn_t *c, const char *id, ad_job *out, ad_err *err)
{
    sqlite3_stmt *st;
    memset(out, 0, sizeof *out);
    ad_status rc = sq_prep(c, &st, err, "SELECT " JOB_COLS " FROM jobs WHERE id=?1", "t", id);
    if (rc != AD_OK)
        return rc;
    int r = sqlite3_step(st);
    if (r == SQLITE_ROW)
        read_job(st, out);
    else
        rc = r == SQLITE_DONE ? ad_err_set(err, AD_ENOTFOUND, "job %s not found", id) : sq_db_fail(c->db, err, "job");
    sq_done(c, st);
    return rc;
}

ad_status sq_get_job(ad_meta *base, const char *id, ad_job *out, ad_err *err)
{
    conn_t *c;
    ad_status rc = sq_conn((sq_meta *)base, &c, err);
    return rc == AD_OK ? get_job_on(c, id, out, err) : rc;
}

ad_status sq_claim_job(ad_meta *base, const char *owner, int64_t now, int64_t lease_ms, ad_job *out, ad_err *err)
{
    ad_meta_tx *tx;
    sqlite3_stmt *st;
    char id[AD_ID_LEN + 1] = "";
    memset(out, 0, sizeof *out);
    ad_status rc = sq_begin(base, &tx, err);
    if (rc != AD_OK)
        return rc;
    conn_t *c = ((sq_tx *)tx)->c;
    rc = sq_prep(c, &st, err,
                 "SELECT id FROM jobs WHERE (status=0 AND run_after<=?1) OR (status=1 AND lease_until<?1)"
                 " ORDER BY created_at LIMIT 1",
                 "i", now);
    if (rc == AD_OK) {
        int r = sqlite3_step(st);
        if (r == SQLITE_ROW)
            sq_copy_col(st, 0, id, sizeof id);
        else
            rc = r == SQLITE_DONE ? AD_ENOTFOUND : sq_db_fail(c->db, err, "claim");
        sq_done(c, st);
    }
    if (rc == AD_OK)
        rc = sq_exec_sql(c, err, NULL,
                         "UPDATE jobs SET status=1, owner=?2, lease_until=?3, attempts=attempts+1"
                         " WHERE id=?1",
                         "tti", id, owner, now + lease_ms);
    if (rc == AD_OK)
        rc = get_job_on(c, id, out, err);
    if (rc != AD_OK) {
        sq_rollback(tx); /* AD_ENOTFOUND: nothing due */
        return rc;
    }
    if ((rc = sq_commit(tx, err)) != AD_OK)
        ad_job_cleanup(out);
    return rc;
}

ad_status sq_renew_lease(ad_meta *base, const char *id, const char *owner, int64_t until, ad_err *err)
{
    ad_meta_tx *tx;
    int changes = 0;
    ad_status rc = sq_begin(base, &tx, err);
    if (rc != AD_OK)
        return rc;
    rc = sq_exec_sql(((sq_tx *)tx)->c, err, &changes,
                     "UPDATE jobs SET lease_until=?3 WHERE id=?1 AND status=1 AND owner=?2", "tti", id, owner, until);
    if (rc == AD_OK && changes == 0)
        rc = ad_err_set(err, AD_ECONFLICT, "job %s is no longer held by this instance", id);
    if (rc != AD_OK) {
        sq_rollback(tx);
        return rc;
    }
    return sq_commit(tx, err);
}

ad_status sq_finish_job(ad_meta_tx *base, const char *id, const char *owner, const char *result, ad_err *err)
{
    char now[32];
    int changes = 0;
    ad_time_rfc3339(now);
    ad_status rc = sq_exec_sql(((sq_tx *)base)->c, err, &changes,
                               "UPDATE jobs SET status=2, result=?3, error=NULL, finished_at=?4, owner=NULL,"
                               " lease_until=0 WHERE id=?1 AND status=1 AND owner=?2",
                               "tttt", id, owner, result, now);
    if (rc == AD_OK && changes == 0)
        rc = ad_err_set(err, AD_ECONFLICT, "job %s is no longer held by this instance", id);
    return rc;
}

ad_status sq_fail_job(ad_meta_tx *base, const char *id, const char *owner, const char *reason, int final,
                      int64_t run_after, ad_err *err)
{
    char now[32];
    int changes = 0;
    ad_time_rfc3339(now);
    ad_status rc = sq_exec_sql(((sq_tx *)base)->c, err, &changes,
                               "UPDATE jobs SET status=?3, error=?4, finished_at=?5, run_after=?6, owner=NULL,"
                               " lease_until=0 WHERE id=?1 AND status=1 AND owner=?2",
                               "ttitti", id, owner, (int64_t)(final ? 3 : 0), reason, final ? now : NULL, run_after);
    if (rc == AD_OK && changes == 0)
        rc = ad_err_set(err, AD_ECONFLICT, "job %s is no longer held by this instance", id);
    return rc;
}

ad_status sq_list_jobs(ad_meta *base, const char *after, int limit, ad_job **out, int *n, ad_err *err)
{
    conn_t *c;
    sqlite3_stmt *st;
    *out = NULL;
    *n = 0;
    ad_status rc = sq_conn((sq_meta *)base, &c, err);
    if (rc != AD_OK || (rc = sq_prep(c, &st, err, "SELECT " JOB_COLS " FROM jobs WHERE id > ?1 ORDER BY id LIMIT ?2",
                                     "ti", after, (int64_t)limit)) != AD_OK)
        return rc;
    ad_job *v = calloc((size_t)limit + 1, sizeof *v);
    if (v == NULL) {
        sq_done(c, st);
        return ad_err_set(err, AD_ENOMEM, "out of memory");
    }
    int k = 0;
    while (k < limit && sqlite3_step(st) == SQLITE_ROW)
        read_job(st, &v[k++]);
    sq_done(c, st);
    *out = v;
    *n = k;
    return AD_OK;
}

ad_status sq_count_jobs(ad_meta *base, int64_t counts[4], ad_err *err)
{
    conn_t *c;
    sqlite3_stmt *st;
    memset(counts, 0, 4 * sizeof counts[0]);
    ad_status rc = sq_conn((sq_meta *)base, &c, err);
    /* the active jobs by index (they are the work in hand), the finished
     * from their counters */
    if (rc != AD_OK || (rc = sq_prep(c, &st, err,
                                     "SELECT status, count(*) FROM jobs WHERE status IN (0, 1) GROUP BY status"
                                     " UNION ALL SELECT status, n FROM job_counts",
                                     "")) != AD_OK)
        return rc;
    while (sqlite3_step(st) == SQLITE_ROW) {
        int s = sqlite3_column_int(st, 0);
        if (s >= 0 && s < 4)
            counts[s] = sqlite3_column_int64(st, 1);
    }
    sq_done(c, st);
    return AD_OK;
}

ad_status sq_prune_jobs(ad_meta *base, const char *before, int max, int *n, ad_err *err)
{
    ad_meta_tx *tx;
    int changes = 0;
    *n = 0;
    ad_status rc = sq_begin(base, &tx, err);
    if (rc != AD_OK)
        return rc;
    rc = sq_exec_sql(
        ((sq_tx *)tx)->c, err, &changes,
        "DELETE FROM jobs WHERE rowid IN (SELECT rowid FROM jobs WHERE status IN (2, 3) AND finished_at < ?1"
        " LIMIT ?2)",
        "ti", before, (int64_t)max);
    if (rc != AD_OK) {
        sq_rollback(tx);
        return rc;
    }
    *n = changes;
    return sq_commit(tx, err);
}

ad_status sq_import_job(ad_meta_tx *base, const ad_job *j, ad_err *err)
{
    return sq_exec_sql(((sq_tx *)base)->c, err, NULL,
                       "INSERT OR IGNORE INTO jobs(id, kind, payload, status, attempts, error, result, created_at,"
                       " finished_at, asset_id, seq) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9,"
                       " json_extract(?3, '$.asset_id'), (SELECT COALESCE(MAX(seq), 0) + 1 FROM jobs))",
                       "tttiittt"
                       "t",
                       j->id, j->kind, j->payload, (int64_t)(j->status == AD_JOB_RUNNING ? AD_JOB_QUEUED : j->status),
                       (int64_t)j->attempts, j->error, j->result, j->created_at,
                       j->finished_at[0] ? j->finished_at : NULL);
}

ad_status sq_job_holds(ad_meta *base, const char *id, char (*shas)[65], int max, int *n, ad_err *err)
{
    conn_t *c;
    sqlite3_stmt *st;
    char owner[40];
    *n = 0;
    snprintf(owner, sizeof owner, "job:%s", id);
    ad_status rc = sq_conn((sq_meta *)base, &c, err);
    if (rc != AD_OK || (rc = sq_prep(c, &st, err, "SELECT sha256 FROM blob_pins WHERE owner=?1", "t", owner)) != AD_OK)
        return rc;
    while (*n < max && sqlite3_step(st) == SQLITE_ROW)
        sq_copy_col(st, 0, shas[(*n)++], 65);
    sq_done(c, st);
    return AD_OK;
}

/* --------------------------------------------------------------- webhooks */

#define HOOK_MATCH "(events = '*' OR instr(',' || events || ',', ',' || ?1 || ',') > 0)"

static void read_webhook(sqlite3_stmt *st, ad_webhook *w)
{
    memset(w, 0, sizeof *w);
    sq_copy_col(st, 0, w->id, sizeof w->id);
    w->url = sq_dup_col(st, 1);
    sq_copy_col(st, 2, w->events, sizeof w->events);
    w->description = sq_dup_col(st, 3);
    sq_copy_col(st, 4, w->secret, sizeof w->secret);
    sq_copy_col(st, 5, w->created_at, sizeof w->created_at);
}

ad_status sq_add_webhook(ad_meta_tx *base, const ad_webhook *w, ad_err *err)
{
    return sq_exec_sql(((sq_tx *)base)->c, err, NULL,
                       "INSERT INTO webhooks(id, url, events, description, secret, created_at)"
                       " VALUES(?1, ?2, ?3, ?4, ?5, ?6)",
                       "tttttt", w->id, w->url, w->events, w->description ? w->description : "", w->secret,
                       w->created_at);
}

ad_status sq_list_webhooks(ad_meta *base, const char *id, ad_webhook **out, int *n, ad_err *err)
{
    conn_t *c;
    sqlite3_stmt *st;
    *out = NULL;
    *n = 0;
    ad_status rc = sq_conn((sq_meta *)base, &c, err);
    if (rc != AD_OK)
        return rc;
    rc = id ? sq_prep(c, &st, err, "SELECT id, url, events, description, secret, created_at FROM webhooks WHERE id=?1",
                      "t", id)
            : sq_prep(c, &st, err,
                      "SELECT id, url, events, description, secret, created_at FROM webhooks ORDER BY created_at, id",
                      NULL);
    if (rc != AD_OK)
        return rc;
    int r;
    while ((r = sqlite3_step(st)) == SQLITE_ROW) {
        ad_webhook *g = realloc(*out, sizeof *g * (size_t)(*n + 1));
        if (g == NULL) {
            rc = ad_err_set(err, AD_ENOMEM, "out of memory");
            break;
        }
        *out = g;
        read_webhook(st, &g[(*n)++]);
    }
    if (rc == AD_OK && r != SQLITE_DONE)
        rc = sq_db_fail(c->db, err, "webhooks");
    sq_done(c, st);
    return rc;
}

ad_status sq_delete_webhook(ad_meta_tx *base, const char *id, ad_err *err)
{
    conn_t *c = ((sq_tx *)base)->c;
    int changes = 0;
    ad_status rc = sq_exec_sql(c, err, &changes, "DELETE FROM webhooks WHERE id=?1", "t", id);
    if (rc == AD_OK && changes == 0)
        rc = ad_err_set(err, AD_ENOTFOUND, "webhook %s not found", id);
    /* nothing is sent to an endpoint deleted; its log goes with it */
    if (rc == AD_OK)
        rc = sq_exec_sql(c, err, NULL, "DELETE FROM webhook_deliveries WHERE webhook_id=?1", "t", id);
    if (rc == AD_OK)
        rc = sq_exec_sql(c, err, NULL, "DELETE FROM webhook_attempts WHERE webhook_id=?1", "t", id);
    return rc;
}

static ad_status count_one(conn_t *c, sqlite3_stmt *st, int64_t *n, ad_err *err)
{
    int r = sqlite3_step(st);
    ad_status rc = AD_OK;
    if (r == SQLITE_ROW)
        *n = sqlite3_column_int64(st, 0);
    else
        rc = sq_db_fail(c->db, err, "count");
    sq_done(c, st);
    return rc;
}

ad_status sq_webhook_subscribers(ad_meta *base, ad_meta_tx *tx, const char *type, int64_t *n, ad_err *err)
{
    conn_t *c;
    sqlite3_stmt *st;
    *n = 0;
    ad_status rc = sq_read_conn(base, tx, &c, err);
    if (rc != AD_OK)
        return rc;
    rc = type ? sq_prep(c, &st, err, "SELECT count(*) FROM webhooks WHERE " HOOK_MATCH, "t", type)
              : sq_prep(c, &st, err, "SELECT count(*) FROM webhooks", NULL);
    return rc == AD_OK ? count_one(c, st, n, err) : rc;
}

ad_status sq_enqueue_event(ad_meta_tx *base, const char *event_id, const char *type, const char *body, int64_t now,
                           ad_err *err)
{
    return sq_exec_sql(((sq_tx *)base)->c, err, NULL,
                       "INSERT INTO webhook_deliveries(webhook_id, event_id, type, body, next_ms, created_ms)"
                       " SELECT id, ?2, ?1, ?3, ?4, ?4 FROM webhooks WHERE " HOOK_MATCH,
                       "ttti", type, event_id, body, now);
}

ad_status sq_claim_deliveries(ad_meta *base, const char *owner, int64_t now, int64_t lease_ms, int max,
                              ad_webhook_delivery *out, int *n, ad_err *err)
{
    ad_meta_tx *tx;
    sqlite3_stmt *st;
    *n = 0;
    ad_status rc = sq_begin(base, &tx, err);
    if (rc != AD_OK)
        return rc;
    conn_t *c = ((sq_tx *)tx)->c;
    rc = sq_exec_sql(c, err, NULL,
                     "UPDATE webhook_deliveries SET owner=?1, lease_until=?2, attempts=attempts+1 WHERE seq IN"
                     " (SELECT seq FROM webhook_deliveries WHERE state=0 AND next_ms<=?3 AND lease_until<?3"
                     " ORDER BY next_ms LIMIT ?4)",
                     "tiii", owner, now + lease_ms, now, (int64_t)max);
    if (rc == AD_OK)
        rc = sq_prep(c, &st, err,
                     "SELECT d.seq, d.webhook_id, d.event_id, d.type, d.body, d.attempts, d.created_ms, w.url, w.secret"
                     " FROM webhook_deliveries d JOIN webhooks w ON w.id=d.webhook_id"
                     " WHERE d.state=0 AND d.owner=?1 AND d.lease_until=?2 ORDER BY d.next_ms",
                     "ti", owner, now + lease_ms);
    if (rc == AD_OK) {
        while (*n < max && sqlite3_step(st) == SQLITE_ROW) {
            ad_webhook_delivery *d = &out[(*n)++];
            memset(d, 0, sizeof *d);
            d->seq = sqlite3_column_int64(st, 0);
            sq_copy_col(st, 1, d->webhook_id, sizeof d->webhook_id);
            sq_copy_col(st, 2, d->event_id, sizeof d->event_id);
            sq_copy_col(st, 3, d->type, sizeof d->type);
            d->body = sq_dup_col(st, 4);
            d->attempts = sqlite3_column_int(st, 5);
            d->created_ms = sqlite3_column_int64(st, 6);
            d->url = sq_dup_col(st, 7);
            sq_copy_col(st, 8, d->secret, sizeof d->secret);
        }
        sq_done(c, st);
    }
    if (rc == AD_OK)
        rc = sq_commit(tx, err);
    else
        sq_rollback(tx);
    if (rc != AD_OK) {
        for (int i = 0; i < *n; i++)
            ad_webhook_delivery_cleanup(&out[i]);
        *n = 0;
    }
    return rc;
}

ad_status sq_end_delivery(ad_meta *base, int64_t seq, const char *owner, ad_delivery_outcome o, int64_t next_ms,
                          const char *webhook_id, const ad_webhook_attempt *a, ad_err *err)
{
    ad_meta_tx *tx;
    int changes = 0;
    ad_status rc = sq_begin(base, &tx, err);
    if (rc != AD_OK)
        return rc;
    conn_t *c = ((sq_tx *)tx)->c;
    rc = sq_exec_sql(c, err, &changes,
                     "UPDATE webhook_deliveries SET state=?3, next_ms=?4, owner=NULL, lease_until=0"
                     " WHERE seq=?1 AND owner=?2 AND state=0",
                     "itii", seq, owner,
                     (int64_t)(o == AD_DELIVERY_SUCCEEDED ? 1
                               : o == AD_DELIVERY_GAVE_UP ? 2
                                                          : 0),
                     next_ms);
    if (rc == AD_OK && changes == 0)
        rc = ad_err_set(err, AD_ECONFLICT, "delivery %lld is no longer held by this instance", (long long)seq);
    if (rc == AD_OK)
        rc = sq_exec_sql(c, err, NULL,
                         "INSERT INTO webhook_attempts(webhook_id, event_id, type, attempt, status, error, duration_ms,"
                         " at, at_ms) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                         "tttiititi", webhook_id, a->event_id, a->type, (int64_t)a->attempt, (int64_t)a->status,
                         a->error[0] ? a->error : NULL, a->duration_ms, a->at, a->at_ms);
    if (rc != AD_OK) {
        sq_rollback(tx);
        return rc;
    }
    return sq_commit(tx, err);
}

ad_status sq_list_attempts(ad_meta *base, const char *webhook_id, int64_t before, int limit, ad_webhook_attempt *out,
                           int *n, ad_err *err)
{
    conn_t *c;
    sqlite3_stmt *st;
    *n = 0;
    ad_status rc = sq_conn((sq_meta *)base, &c, err);
    if (rc != AD_OK || (rc = sq_prep(c, &st, err,
                                     "SELECT seq, event_id, type, attempt, status, error, duration_ms, at, at_ms"
                                     " FROM webhook_attempts WHERE webhook_id=?1 AND seq<?2 ORDER BY seq DESC LIMIT ?3",
                                     "tii", webhook_id, before > 0 ? before : INT64_MAX, (int64_t)limit)) != AD_OK)
        return rc;
    while (*n < limit && sqlite3_step(st) == SQLITE_ROW) {
        ad_webhook_attempt *a = &out[(*n)++];
        memset(a, 0, sizeof *a);
        a->seq = sqlite3_column_int64(st, 0);
        sq_copy_col(st, 1, a->event_id, sizeof a->event_id);
        sq_copy_col(st, 2, a->type, sizeof a->type);
        a->attempt = sqlite3_column_int(st, 3);
        a->status = sqlite3_column_int(st, 4);
        sq_copy_col(st, 5, a->error, sizeof a->error);
        a->duration_ms = sqlite3_column_int64(st, 6);
        sq_copy_col(st, 7, a->at, sizeof a->at);
        a->at_ms = sqlite3_column_int64(st, 8);
    }
    sq_done(c, st);
    return AD_OK;
}

ad_status sq_prune_webhooks(ad_meta *base, int64_t before_ms, int max, ad_err *err)
{
    ad_meta_tx *tx;
    ad_status rc = sq_begin(base, &tx, err);
    if (rc != AD_OK)
        return rc;
    conn_t *c = ((sq_tx *)tx)->c;
    rc = sq_exec_sql(c, err, NULL,
                     "DELETE FROM webhook_attempts WHERE seq IN (SELECT seq FROM webhook_attempts WHERE at_ms<?1"
                     " ORDER BY at_ms LIMIT ?2)",
                     "ii", before_ms, (int64_t)max);
    for (int64_t state = 1; rc == AD_OK && state <= 2; state++)
        rc = sq_exec_sql(c, err, NULL,
                         "DELETE FROM webhook_deliveries WHERE seq IN (SELECT seq FROM webhook_deliveries"
                         " WHERE state=?3 AND created_ms<?1 ORDER BY created_ms LIMIT ?2)",
                         "iii", before_ms, (int64_t)max, state);
    if (rc != AD_OK) {
        sq_rollback(tx);
        return rc;
    }
    return sq_commit(tx, err);
}

ad_status sq_webhook_queue(ad_meta *base, int64_t *pending, int64_t *oldest_ms, ad_err *err)
{
    conn_t *c;
    sqlite3_stmt *st;
    *pending = *oldest_ms = 0;
    ad_status rc = sq_conn((sq_meta *)base, &c, err);
    if (rc != AD_OK ||
        (rc = sq_prep(c, &st, err,
                      "SELECT count(*), COALESCE(MIN(created_ms), 0) FROM webhook_deliveries WHERE state=0", NULL)) !=
            AD_OK)
        return rc;
    if (sqlite3_step(st) == SQLITE_ROW) {
        *pending = sqlite3_column_int64(st, 0);
        *oldest_ms = sqlite3_column_int64(st, 1);
    } else {
        rc = sq_db_fail(c->db, err, "webhook queue");
    }
    sq_done(c, st);
    return rc;
}
