/* outbox.c — the events outbox (integrations.md section 1). An event is
 * recorded by the wrapper of the change that causes it, in that change's
 * transaction (store.c calls ad_st_emit_*), as one pending delivery row
 * per subscribed endpoint: a change committed has its deliveries
 * committed, a change rolled back has none, and a kill -9 at any moment
 * loses nothing. With no endpoint subscribed to a type, recording costs
 * one count over the (small, bounded) webhooks table. The body is rendered
 * once, at the change, from the same records the API shows
 * (records_json.h); the deliverer (webhook/dispatch.c) sends it as it is.
 * It needs nothing of store.c but the transaction's struct: store.c calls
 * it, not the other way round. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "store/records_json.h"
#include "store/store_impl.h"

static int64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Record event type with data (taken) for every endpoint subscribed. */
static ad_status emit(ad_store_tx *tx, const char *type, json_t *data, ad_err *err)
{
    char id[AD_ID_LEN + 1], event_id[48], now[32];
    ad_status rc = ad_id_new(id, err);
    if (rc != AD_OK) {
        json_decref(data);
        return rc;
    }
    snprintf(event_id, sizeof event_id, "evt_%s", id);
    ad_time_rfc3339(now);
    json_t *ev = json_pack("{s:s, s:s, s:s, s:o}", "id", event_id, "type", type, "created_at", now, "data",
                           data ? data : json_null());
    char *body = ev ? json_dumps(ev, JSON_COMPACT) : NULL;
    json_decref(ev);
    if (body == NULL)
        return ad_err_set(err, AD_ENOMEM, "out of memory");
    rc = tx->s->meta->ops->enqueue_event(tx->mt, event_id, type, body, wall_ms(), err);
    free(body);
    return rc;
}

/* 1 when some endpoint wants type (0 also on error: *rc says). */
static int wanted(ad_store_tx *tx, const char *type, ad_status *rc, ad_err *err)
{
    int64_t n = 0;
    *rc = tx->s->meta->ops->webhook_subscribers(tx->s->meta, tx->mt, type, &n, err);
    return *rc == AD_OK && n > 0;
}

ad_status ad_st_emit_asset(ad_store_tx *tx, const char *type, const char *id, ad_err *err)
{
    ad_status rc;
    if (!wanted(tx, type, &rc, err))
        return rc;
    ad_asset a;
    if ((rc = tx->s->meta->ops->get_asset(tx->s->meta, tx->mt, id, &a, err)) != AD_OK)
        return rc;
    rc = emit(tx, type, ad_asset_to_json(&a), err);
    ad_asset_cleanup(&a);
    return rc;
}

ad_status ad_st_emit_conversion(ad_store_tx *tx, const char *type, const char *asset_id, const ad_conversion *c,
                                ad_err *err)
{
    ad_status rc;
    if (!wanted(tx, type, &rc, err))
        return rc;
    return emit(tx, type, json_pack("{s:s, s:o}", "asset_id", asset_id, "conversion", ad_conversion_to_json(c)), err);
}

ad_status ad_st_emit_job(ad_store_tx *tx, const char *type, const char *id, ad_err *err)
{
    ad_status rc;
    if (!wanted(tx, type, &rc, err))
        return rc;
    ad_job j;
    /* the job as this transaction left it (sqlite and postgres: a thread's
     * reads outside a transaction use the transaction's connection) */
    if ((rc = tx->s->meta->ops->get_job(tx->s->meta, id, &j, err)) != AD_OK)
        return rc;
    rc = emit(tx, type, ad_job_to_json(&j), err);
    ad_job_cleanup(&j);
    return rc;
}
