/* meta_postgres_work.c — the PostgreSQL backend's queues of background
 * work, shared by every instance: jobs (durable saves: claimed with SKIP
 * LOCKED under a lease, finished or failed in the caller's transaction,
 * counted in rows kept by triggers, pruned by age) and webhooks
 * (subscriptions, the outbox of events written in the transaction of their
 * cause, deliveries claimed under a lease, attempts kept for the API). The
 * rest of the backend is meta_postgres.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/meta_postgres_impl.h"

/* ------------------------------------------------------------------- jobs */

#define JOB_COLS \
    "id, kind, payload, status, attempts, error, result, created_at, finished_at, owner, lease_until, asset_id, seq"

static void read_job(PGresult *r, int row, ad_job *j)
{
    memset(j, 0, sizeof *j);
    pg_copy_col(r, row, 0, j->id, sizeof j->id);
    pg_copy_col(r, row, 1, j->kind, sizeof j->kind);
    j->payload = pg_dup_col(r, row, 2);
    j->status = (ad_job_status)atoi(PQgetvalue(r, row, 3));
    j->attempts = atoi(PQgetvalue(r, row, 4));
    j->error = pg_dup_col(r, row, 5);
    j->result = pg_dup_col(r, row, 6);
    pg_copy_col(r, row, 7, j->created_at, sizeof j->created_at);
    pg_copy_col(r, row, 8, j->finished_at, sizeof j->finished_at);
    pg_copy_col(r, row, 9, j->owner, sizeof j->owner);
    j->lease_until_ms = atoll(PQgetvalue(r, row, 10));
    pg_copy_col(r, row, 11, j->asset_id, sizeof j->asset_id);
    j->seq = atoll(PQgetvalue(r, row, 12));
}

/* A result's rows as jobs into *out (freed with ad_job_cleanup each, then
 * free); r is cleared. */
static ad_status take_jobs(PGresult *r, ad_job **out, int *n, ad_err *err)
{
    int k = PQntuples(r);
    ad_job *v = calloc((size_t)k + 1, sizeof *v);
    if (v == NULL) {
        PQclear(r);
        return ad_err_set(err, AD_ENOMEM, "out of memory");
    }
    for (int i = 0; i < k; i++)
        read_job(r, i, &v[i]);
    PQclear(r);
    *out = v;
    *n = k;
    return AD_OK;
}

ad_status pg_insert_job(ad_meta_tx *base, const char *id, const char *kind, const char *payload, const char *asset_id,
                        ad_err *err)
{
    char now[32];
    pg_now_text(now);
    const char *p[] = {id, kind, payload, now, asset_id && asset_id[0] ? asset_id : NULL};
    return pg_run(((pg_tx *)base)->c, err, NULL, NULL,
                  "INSERT INTO jobs(id, kind, payload, status, created_at, asset_id) VALUES($1, $2, $3, 0, $4, $5)", 5,
                  p);
}

ad_status pg_list_job_page(ad_meta *base, const ad_job_filter *f, int64_t before, int limit, ad_job **out, int *n,
                           ad_err *err)
{
    pgc *c;
    PGresult *r;
    char st[16], b[24], l[24];
    snprintf(st, sizeof st, "%d", f->status);
    pg_i64(b, before > 0 ? before : INT64_MAX);
    pg_i64(l, limit);
    const char *p[] = {st, f->asset_id, b, l};
    *out = NULL;
    *n = 0;
    static const char *const sql[4] = {
        "SELECT " JOB_COLS " FROM jobs WHERE $1::int IS NOT NULL AND $2::text IS NOT NULL AND seq < $3"
        " ORDER BY seq DESC LIMIT $4",
        "SELECT " JOB_COLS " FROM jobs WHERE status = $1 AND $2::text IS NOT NULL AND seq < $3"
        " ORDER BY seq DESC LIMIT $4",
        "SELECT " JOB_COLS " FROM jobs WHERE $1::int IS NOT NULL AND asset_id = $2 AND seq < $3"
        " ORDER BY seq DESC LIMIT $4",
        "SELECT " JOB_COLS " FROM jobs WHERE status = $1 AND asset_id = $2 AND seq < $3 ORDER BY seq DESC LIMIT $4",
    };
    int which = (f->status >= 0 ? 1 : 0) | (f->asset_id[0] ? 2 : 0);
    ad_status rc = pg_conn((pg_meta *)base, &c, err);
    if (rc != AD_OK || (rc = pg_run(c, err, &r, NULL, sql[which], 4, p)) != AD_OK)
        return rc;
    return take_jobs(r, out, n, err);
}

ad_status pg_get_job(ad_meta *base, const char *id, ad_job *out, ad_err *err)
{
    pgc *c;
    PGresult *r;
    const char *p[] = {id};
    memset(out, 0, sizeof *out);
    ad_status rc = pg_conn((pg_meta *)base, &c, err);
    if (rc != AD_OK || (rc = pg_run(c, err, &r, NULL, "SELECT " JOB_COLS " FROM jobs WHERE id=$1", 1, p)) != AD_OK)
        return rc;
    if (PQntuples(r) == 0)
        rc = ad_err_set(err, AD_ENOTFOUND, "job %s not found", id);
    else
        read_job(r, 0, out);
    PQclear(r);
    return rc;
}

ad_status pg_claim_job(ad_meta *base, const char *owner, int64_t now, int64_t lease_ms, ad_job *out, ad_err *err)
{
    pgc *c;
    PGresult *r;
    char t[24], until[24];
    pg_i64(t, now);
    pg_i64(until, now + lease_ms);
    const char *p[] = {owner, until, t};
    memset(out, 0, sizeof *out);
    ad_status rc = pg_conn((pg_meta *)base, &c, err);
    /* SKIP LOCKED: instances claiming at once take different jobs */
    if (rc != AD_OK ||
        (rc = pg_run(c, err, &r, NULL,
                     "UPDATE jobs SET status=1, owner=$1, lease_until=$2, attempts=attempts+1 WHERE id=("
                     " SELECT id FROM jobs WHERE (status=0 AND run_after<=$3) OR (status=1 AND lease_until<$3)"
                     " ORDER BY created_at LIMIT 1 FOR UPDATE SKIP LOCKED) RETURNING " JOB_COLS,
                     3, p)) != AD_OK)
        return rc;
    if (PQntuples(r) == 0)
        rc = AD_ENOTFOUND;
    else
        read_job(r, 0, out);
    PQclear(r);
    return rc;
}

ad_status pg_renew_lease(ad_meta *base, const char *id, const char *owner, int64_t until, ad_err *err)
{
    pgc *c;
    char u[24];
    int changes = 0;
    pg_i64(u, until);
    const char *p[] = {id, owner, u};
    ad_status rc = pg_conn((pg_meta *)base, &c, err);
    if (rc == AD_OK)
        rc = pg_run(c, err, NULL, &changes, "UPDATE jobs SET lease_until=$3 WHERE id=$1 AND status=1 AND owner=$2", 3,
                    p);
    if (rc == AD_OK && changes == 0)
        rc = ad_err_set(err, AD_ECONFLICT, "job %s is no longer held by this instance", id);
    return rc;
}

ad_status pg_finish_job(ad_meta_tx *base, const char *id, const char *owner, const char *result, ad_err *err)
{
    char now[32];
    int changes = 0;
    pg_now_text(now);
    const char *p[] = {id, owner, result, now};
    ad_status rc = pg_run(((pg_tx *)base)->c, err, NULL, &changes,
                          "UPDATE jobs SET status=2, result=$3, error=NULL, finished_at=$4, owner=NULL, lease_until=0"
                          " WHERE id=$1 AND status=1 AND owner=$2",
                          4, p);
    if (rc == AD_OK && changes == 0)
        rc = ad_err_set(err, AD_ECONFLICT, "job %s is no longer held by this instance", id);
    return rc;
}

ad_status pg_fail_job(ad_meta_tx *base, const char *id, const char *owner, const char *reason, int final,
                      int64_t run_after, ad_err *err)
{
    char now[32], ra[24];
    int changes = 0;
    pg_now_text(now);
    pg_i64(ra, run_after);
    const char *p[] = {id, owner, final ? "3" : "0", reason, final ? now : NULL, ra};
    ad_status rc = pg_run(((pg_tx *)base)->c, err, NULL, &changes,
                          "UPDATE jobs SET status=$3, error=$4, finished_at=$5, run_after=$6, owner=NULL, lease_until=0"
                          " WHERE id=$1 AND status=1 AND owner=$2",
                          6, p);
    if (rc == AD_OK && changes == 0)
        rc = ad_err_set(err, AD_ECONFLICT, "job %s is no longer held by this instance", id);
    return rc;
}

ad_status pg_count_jobs(ad_meta *base, int64_t counts[4], ad_err *err)
{
    pgc *c;
    PGresult *r;
    memset(counts, 0, 4 * sizeof counts[0]);
    ad_status rc = pg_conn((pg_meta *)base, &c, err);
    if (rc != AD_OK || (rc = pg_run(c, err, &r, NULL,
                                    "SELECT status, count(*) FROM jobs WHERE status IN (0, 1) GROUP BY status"
                                    " UNION ALL SELECT status, n FROM job_counts",
                                    0, NULL)) != AD_OK)
        return rc;
    for (int i = 0; i < PQntuples(r); i++) {
        int s = atoi(PQgetvalue(r, i, 0));
        if (s >= 0 && s < 4)
            counts[s] = atoll(PQgetvalue(r, i, 1));
    }
    PQclear(r);
    return AD_OK;
}

ad_status pg_list_jobs(ad_meta *base, const char *after, int limit, ad_job **out, int *n, ad_err *err)
{
    pgc *c;
    PGresult *r;
    char l[24];
    pg_i64(l, limit);
    const char *p[] = {after, l};
    *out = NULL;
    *n = 0;
    ad_status rc = pg_conn((pg_meta *)base, &c, err);
    if (rc != AD_OK || (rc = pg_run(c, err, &r, NULL,
                                    "SELECT " JOB_COLS " FROM jobs WHERE id > $1 ORDER BY id LIMIT $2", 2, p)) != AD_OK)
        return rc;
    return take_jobs(r, out, n, err);
}

ad_status pg_prune_jobs(ad_meta *base, const char *before, int max, int *n, ad_err *err)
{
    pgc *c;
    char l[24];
    int changes = 0;
    pg_i64(l, max);
    const char *p[] = {before, l};
    *n = 0;
    ad_status rc = pg_conn((pg_meta *)base, &c, err);
    if (rc == AD_OK)
        rc = pg_run(c, err, NULL, &changes,
                    "DELETE FROM jobs WHERE id IN (SELECT id FROM jobs WHERE status IN (2, 3) AND finished_at < $1"
                    " LIMIT $2 FOR UPDATE SKIP LOCKED)",
                    2, p);
    *n = changes;
    return rc;
}

ad_status pg_import_job(ad_meta_tx *base, const ad_job *j, ad_err *err)
{
    char st[8], at[16];
    snprintf(st, sizeof st, "%d", j->status == AD_JOB_RUNNING ? AD_JOB_QUEUED : j->status);
    snprintf(at, sizeof at, "%d", j->attempts);
    const char *p[] = {j->id,
                       j->kind,
                       j->payload,
                       st,
                       at,
                       j->error,
                       j->result,
                       j->created_at,
                       j->finished_at[0] ? j->finished_at : NULL};
    return pg_run(
        ((pg_tx *)base)->c, err, NULL, NULL,
        "INSERT INTO jobs(id, kind, payload, status, attempts, error, result, created_at, finished_at, asset_id)"
        " VALUES($1, $2, $3, $4, $5, $6, $7, $8, $9, ($3::text)::jsonb->>'asset_id') ON CONFLICT DO NOTHING",
        9, p);
}

ad_status pg_job_holds(ad_meta *base, const char *id, char (*shas)[65], int max, int *n, ad_err *err)
{
    pgc *c;
    PGresult *r;
    char owner[40];
    snprintf(owner, sizeof owner, "job:%s", id);
    const char *p[] = {owner};
    *n = 0;
    ad_status rc = pg_conn((pg_meta *)base, &c, err);
    if (rc != AD_OK || (rc = pg_run(c, err, &r, NULL, "SELECT sha256 FROM blob_pins WHERE owner=$1", 1, p)) != AD_OK)
        return rc;
    for (int i = 0; i < PQntuples(r) && *n < max; i++)
        pg_copy_col(r, i, 0, shas[(*n)++], 65);
    PQclear(r);
    return AD_OK;
}

/* --------------------------------------------------------------- webhooks */

#define HOOK_MATCH "(events = '*' OR position(',' || $1 || ',' in ',' || events || ',') > 0)"

ad_status pg_add_webhook(ad_meta_tx *base, const ad_webhook *w, ad_err *err)
{
    const char *p[] = {w->id, w->url, w->events, w->description ? w->description : "", w->secret, w->created_at};
    return pg_run(
        ((pg_tx *)base)->c, err, NULL, NULL,
        "INSERT INTO webhooks(id, url, events, description, secret, created_at) VALUES($1, $2, $3, $4, $5, $6)", 6, p);
}

ad_status pg_list_webhooks(ad_meta *base, const char *id, ad_webhook **out, int *n, ad_err *err)
{
    pgc *c;
    PGresult *r;
    const char *p[] = {id};
    *out = NULL;
    *n = 0;
    ad_status rc = pg_conn((pg_meta *)base, &c, err);
    if (rc != AD_OK)
        return rc;
    rc = id ? pg_run(c, err, &r, NULL,
                     "SELECT id, url, events, description, secret, created_at FROM webhooks WHERE id=$1", 1, p)
            : pg_run(c, err, &r, NULL,
                     "SELECT id, url, events, description, secret, created_at FROM webhooks ORDER BY created_at, id", 0,
                     NULL);
    if (rc != AD_OK)
        return rc;
    int k = PQntuples(r);
    ad_webhook *v = calloc((size_t)k + 1, sizeof *v);
    if (v == NULL) {
        PQclear(r);
        return ad_err_set(err, AD_ENOMEM, "out of memory");
    }
    for (int i = 0; i < k; i++) {
        pg_copy_col(r, i, 0, v[i].id, sizeof v[i].id);
        v[i].url = pg_dup_col(r, i, 1);
        pg_copy_col(r, i, 2, v[i].events, sizeof v[i].events);
        v[i].description = pg_dup_col(r, i, 3);
        pg_copy_col(r, i, 4, v[i].secret, sizeof v[i].secret);
        pg_copy_col(r, i, 5, v[i].created_at, sizeof v[i].created_at);
    }
    PQclear(r);
    *out = v;
    *n = k;
    return AD_OK;
}

ad_status pg_delete_webhook(ad_meta_tx *base, const char *id, ad_err *err)
{
    pgc *c = ((pg_tx *)base)->c;
    const char *p[] = {id};
    int changes = 0;
    ad_status rc = pg_run(c, err, NULL, &changes, "DELETE FROM webhooks WHERE id=$1", 1, p);
    if (rc == AD_OK && changes == 0)
        rc = ad_err_set(err, AD_ENOTFOUND, "webhook %s not found", id);
    if (rc == AD_OK)
        rc = pg_run(c, err, NULL, NULL, "DELETE FROM webhook_deliveries WHERE webhook_id=$1", 1, p);
    if (rc == AD_OK)
        rc = pg_run(c, err, NULL, NULL, "DELETE FROM webhook_attempts WHERE webhook_id=$1", 1, p);
    return rc;
}

ad_status pg_webhook_subscribers(ad_meta *base, ad_meta_tx *tx, const char *type, int64_t *n, ad_err *err)
{
    pgc *c;
    PGresult *r;
    const char *p[] = {type};
    *n = 0;
    ad_status rc = pg_read_conn(base, tx, &c, err);
    if (rc != AD_OK)
        return rc;
    rc = type ? pg_run(c, err, &r, NULL, "SELECT count(*) FROM webhooks WHERE " HOOK_MATCH, 1, p)
              : pg_run(c, err, &r, NULL, "SELECT count(*) FROM webhooks", 0, NULL);
    if (rc != AD_OK)
        return rc;
    *n = atoll(PQgetvalue(r, 0, 0));
    PQclear(r);
    return AD_OK;
}

ad_status pg_enqueue_event(ad_meta_tx *base, const char *event_id, const char *type, const char *body, int64_t now,
                           ad_err *err)
{
    char t[24];
    pg_i64(t, now);
    const char *p[] = {type, event_id, body, t};
    return pg_run(((pg_tx *)base)->c, err, NULL, NULL,
                  "INSERT INTO webhook_deliveries(webhook_id, event_id, type, body, next_ms, created_ms)"
                  " SELECT id, $2, $1, $3, $4, $4 FROM webhooks WHERE " HOOK_MATCH,
                  4, p);
}

ad_status pg_claim_deliveries(ad_meta *base, const char *owner, int64_t now, int64_t lease_ms, int max,
                              ad_webhook_delivery *out, int *n, ad_err *err)
{
    pgc *c;
    PGresult *r;
    char until[24], t[24], m[24];
    pg_i64(until, now + lease_ms);
    pg_i64(t, now);
    pg_i64(m, max);
    const char *p[] = {owner, until, t, m};
    *n = 0;
    ad_status rc = pg_conn((pg_meta *)base, &c, err);
    /* SKIP LOCKED: instances claiming at once each take other rows */
    if (rc != AD_OK ||
        (rc = pg_run(c, err, &r, NULL,
                     "WITH due AS (SELECT seq FROM webhook_deliveries WHERE state=0 AND next_ms<=$3 AND lease_until<$3"
                     " ORDER BY next_ms LIMIT $4 FOR UPDATE SKIP LOCKED),"
                     " claimed AS (UPDATE webhook_deliveries d SET owner=$1, lease_until=$2, attempts=d.attempts+1"
                     " FROM due WHERE d.seq=due.seq RETURNING d.seq, d.webhook_id, d.event_id, d.type, d.body,"
                     " d.attempts, d.created_ms)"
                     " SELECT claimed.*, w.url, w.secret FROM claimed JOIN webhooks w ON w.id=claimed.webhook_id",
                     4, p)) != AD_OK)
        return rc;
    for (int i = 0; i < PQntuples(r) && *n < max; i++) {
        ad_webhook_delivery *d = &out[(*n)++];
        memset(d, 0, sizeof *d);
        d->seq = atoll(PQgetvalue(r, i, 0));
        pg_copy_col(r, i, 1, d->webhook_id, sizeof d->webhook_id);
        pg_copy_col(r, i, 2, d->event_id, sizeof d->event_id);
        pg_copy_col(r, i, 3, d->type, sizeof d->type);
        d->body = pg_dup_col(r, i, 4);
        d->attempts = atoi(PQgetvalue(r, i, 5));
        d->created_ms = atoll(PQgetvalue(r, i, 6));
        d->url = pg_dup_col(r, i, 7);
        pg_copy_col(r, i, 8, d->secret, sizeof d->secret);
    }
    PQclear(r);
    return AD_OK;
}

ad_status pg_end_delivery(ad_meta *base, int64_t seq, const char *owner, ad_delivery_outcome o, int64_t next_ms,
                          const char *webhook_id, const ad_webhook_attempt *a, ad_err *err)
{
    ad_meta_tx *tx;
    char sq[24], state[8], next[24], attempt[16], status[16], dur[24], at_ms[24];
    pg_i64(sq, seq);
    snprintf(state, sizeof state, "%d", o == AD_DELIVERY_SUCCEEDED ? 1 : o == AD_DELIVERY_GAVE_UP ? 2 : 0);
    pg_i64(next, next_ms);
    snprintf(attempt, sizeof attempt, "%d", a->attempt);
    snprintf(status, sizeof status, "%d", a->status);
    pg_i64(dur, a->duration_ms);
    pg_i64(at_ms, a->at_ms);
    ad_status rc = pg_begin(base, &tx, err);
    if (rc != AD_OK)
        return rc;
    pgc *c = ((pg_tx *)tx)->c;
    const char *p[] = {sq, owner, state, next};
    int changes = 0;
    rc = pg_run(c, err, NULL, &changes,
                "UPDATE webhook_deliveries SET state=$3, next_ms=$4, owner=NULL, lease_until=0"
                " WHERE seq=$1 AND owner=$2 AND state=0",
                4, p);
    if (rc == AD_OK && changes == 0)
        rc = ad_err_set(err, AD_ECONFLICT, "delivery %s is no longer held by this instance", sq);
    const char *lp[] = {webhook_id, a->event_id, a->type, attempt, status, a->error[0] ? a->error : NULL,
                        dur,        a->at,       at_ms};
    if (rc == AD_OK)
        rc = pg_run(c, err, NULL, NULL,
                    "INSERT INTO webhook_attempts(webhook_id, event_id, type, attempt, status, error, duration_ms, at,"
                    " at_ms) VALUES($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                    9, lp);
    if (rc != AD_OK) {
        pg_rollback(tx);
        return rc;
    }
    return pg_commit(tx, err);
}

ad_status pg_list_attempts(ad_meta *base, const char *webhook_id, int64_t before, int limit, ad_webhook_attempt *out,
                           int *n, ad_err *err)
{
    pgc *c;
    PGresult *r;
    char b[24], l[24];
    pg_i64(b, before > 0 ? before : INT64_MAX);
    pg_i64(l, limit);
    const char *p[] = {webhook_id, b, l};
    *n = 0;
    ad_status rc = pg_conn((pg_meta *)base, &c, err);
    if (rc != AD_OK || (rc = pg_run(c, err, &r, NULL,
                                    "SELECT seq, event_id, type, attempt, status, error, duration_ms, at, at_ms"
                                    " FROM webhook_attempts WHERE webhook_id=$1 AND seq<$2 ORDER BY seq DESC LIMIT $3",
                                    3, p)) != AD_OK)
        return rc;
    for (int i = 0; i < PQntuples(r) && *n < limit; i++) {
        ad_webhook_attempt *a = &out[(*n)++];
        memset(a, 0, sizeof *a);
        a->seq = atoll(PQgetvalue(r, i, 0));
        pg_copy_col(r, i, 1, a->event_id, sizeof a->event_id);
        pg_copy_col(r, i, 2, a->type, sizeof a->type);
        a->attempt = atoi(PQgetvalue(r, i, 3));
        a->status = atoi(PQgetvalue(r, i, 4));
        pg_copy_col(r, i, 5, a->error, sizeof a->error);
        a->duration_ms = atoll(PQgetvalue(r, i, 6));
        pg_copy_col(r, i, 7, a->at, sizeof a->at);
        a->at_ms = atoll(PQgetvalue(r, i, 8));
    }
    PQclear(r);
    return AD_OK;
}

ad_status pg_prune_webhooks(ad_meta *base, int64_t before_ms, int max, ad_err *err)
{
    pgc *c;
    char b[24], m[24];
    pg_i64(b, before_ms);
    pg_i64(m, max);
    const char *p[] = {b, m};
    ad_status rc = pg_conn((pg_meta *)base, &c, err);
    if (rc == AD_OK)
        rc = pg_run(c, err, NULL, NULL,
                    "DELETE FROM webhook_attempts WHERE seq IN (SELECT seq FROM webhook_attempts WHERE at_ms<$1"
                    " ORDER BY at_ms LIMIT $2)",
                    2, p);
    if (rc == AD_OK)
        rc = pg_run(c, err, NULL, NULL,
                    "DELETE FROM webhook_deliveries WHERE seq IN (SELECT seq FROM webhook_deliveries"
                    " WHERE state IN (1, 2) AND created_ms<$1 ORDER BY created_ms LIMIT $2)",
                    2, p);
    return rc;
}

ad_status pg_webhook_queue(ad_meta *base, int64_t *pending, int64_t *oldest_ms, ad_err *err)
{
    pgc *c;
    PGresult *r;
    *pending = *oldest_ms = 0;
    ad_status rc = pg_conn((pg_meta *)base, &c, err);
    if (rc != AD_OK ||
        (rc = pg_run(c, err, &r, NULL,
                     "SELECT count(*), COALESCE(MIN(created_ms), 0) FROM webhook_deliveries WHERE state=0", 0, NULL)) !=
            AD_OK)
        return rc;
    *pending = atoll(PQgetvalue(r, 0, 0));
    *oldest_ms = atoll(PQgetvalue(r, 0, 1));
    PQclear(r);
    return AD_OK;
}
