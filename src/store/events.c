/* events.c — the wrappers of webhooks' rows and of their deliveries
 * (claimed, ended, listed, pruned), of the jobs list and of job retention.
 * Events themselves are recorded by outbox.c, with the changes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "store/store_impl.h"

/* ---- endpoints ------------------------------------------------------- */

static ad_status add_webhook_fn(ad_store_tx *tx, const void *w, const void *max, const void *c, ad_err *err)
{
    (void)c;
    int64_t n = 0;
    ad_status rc = tx->s->meta->ops->webhook_subscribers(tx->s->meta, tx->mt, NULL, &n, err);
    if (rc == AD_OK && n >= *(const int *)max)
        rc = ad_err_set(err, AD_ETOOBIG, "this store has %d webhooks, the most it keeps", *(const int *)max);
    return rc == AD_OK ? tx->s->meta->ops->add_webhook(tx->mt, w, err) : rc;
}

ad_status ad_store_add_webhook(ad_store *s, const ad_webhook *w, int max, ad_err *err)
{
    if (!ad_id_valid(w->id) || w->url == NULL || !w->events[0] || strncmp(w->secret, "whsec_", 6) != 0)
        return ad_err_set(err, AD_EINVAL, "malformed webhook");
    CALL(s, "add_webhook", ad_st_in_tx(s, add_webhook_fn, w, &max, NULL, err));
}

ad_status ad_store_list_webhooks(ad_store *s, const char *id, ad_webhook **out, int *n, ad_err *err)
{
    *out = NULL;
    *n = 0;
    if (id && !ad_id_valid(id))
        return AD_OK;
    CALL(s, "list_webhooks", s->meta->ops->list_webhooks(s->meta, id, out, n, err));
}

static ad_status delete_webhook_fn(ad_store_tx *tx, const void *id, const void *b, const void *c, ad_err *err)
{
    (void)b, (void)c;
    return tx->s->meta->ops->delete_webhook(tx->mt, id, err);
}

ad_status ad_store_delete_webhook(ad_store *s, const char *id, ad_err *err)
{
    if (!ad_id_valid(id))
        return ad_err_set(err, AD_ENOTFOUND, "webhook not found");
    CALL(s, "delete_webhook", ad_st_in_tx(s, delete_webhook_fn, id, NULL, NULL, err));
}

/* ---- deliveries ------------------------------------------------------ */

static ad_status claim(ad_store *s, const char *lease, int64_t lease_ms, int max, ad_webhook_delivery *out, int *n,
                       ad_err *err)
{
    ad_status rc = s->meta->ops->claim_deliveries(s->meta, lease, ad_st_now_ms(), lease_ms, max, out, n, err);
    for (int i = 0; rc == AD_OK && i < *n; i++)
        memcpy(out[i].lease, lease, sizeof out[i].lease);
    return rc;
}

ad_status ad_store_claim_deliveries(ad_store *s, int64_t lease_ms, int max, ad_webhook_delivery *out, int *n,
                                    ad_err *err)
{
    *n = 0;
    /* each claim holds its rows under a token of its own, so that two
     * threads of one instance claiming in the same millisecond cannot see
     * each other's rows as theirs */
    char lease[AD_ID_LEN + 1];
    ad_status rc = ad_id_new(lease, err);
    if (rc != AD_OK)
        return rc;
    CALL(s, "claim_deliveries", claim(s, lease, lease_ms, max, out, n, err));
}

ad_status ad_store_end_delivery(ad_store *s, const ad_webhook_delivery *d, ad_delivery_outcome o, int64_t next_ms,
                                const ad_webhook_attempt *a, ad_err *err)
{
    CALL(s, "end_delivery", s->meta->ops->end_delivery(s->meta, d->seq, d->lease, o, next_ms, d->webhook_id, a, err));
}

ad_status ad_store_list_attempts(ad_store *s, const char *webhook_id, int64_t before, int limit,
                                 ad_webhook_attempt *out, int *n, ad_err *err)
{
    *n = 0;
    if (!ad_id_valid(webhook_id))
        return AD_OK;
    CALL(s, "list_attempts", s->meta->ops->list_attempts(s->meta, webhook_id, before, limit, out, n, err));
}

ad_status ad_store_prune_webhooks(ad_store *s, int64_t before_ms, int max, ad_err *err)
{
    CALL(s, "prune_webhooks", s->meta->ops->prune_webhooks(s->meta, before_ms, max, err));
}

ad_status ad_store_webhook_queue(ad_store *s, int64_t *pending, int64_t *oldest_ms, ad_err *err)
{
    CALL(s, "webhook_queue", s->meta->ops->webhook_queue(s->meta, pending, oldest_ms, err));
}

ad_status ad_store_list_job_page(ad_store *s, const ad_job_filter *f, int64_t before, int limit, ad_job **out, int *n,
                                 ad_err *err)
{
    *out = NULL;
    *n = 0;
    if (limit < 1 || limit > 1000 || (f->asset_id[0] && !ad_id_valid(f->asset_id)))
        return ad_err_set(err, AD_EINVAL, "bad jobs list");
    CALL(s, "list_job_page", s->meta->ops->list_job_page(s->meta, f, before, limit, out, n, err));
}

ad_status ad_store_prune_jobs(ad_store *s, int64_t older_than_ms, int max, int *n, ad_err *err)
{
    char before[32];
    time_t t = (time_t)((ad_st_now_ms() - older_than_ms) / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(before, sizeof before, "%Y-%m-%dT%H:%M:%S.000Z", &tm);
    *n = 0;
    CALL(s, "prune_jobs", s->meta->ops->prune_jobs(s->meta, before, max, n, err));
}
