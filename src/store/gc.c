/* gc.c — the collector: blobs that lost their last reference are queued
 * by the transaction that dropped it (store.c) and removed here, under the
 * blob's lock, once nothing refers to them and the grace period is over.
 * See store.h and docs/store.md. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/store_impl.h"

/* Release the pins that could not be released when their writers gave up. */
static void retry_unpins(ad_store *s)
{
    for (;;) {
        ad_blob_pin pin;
        pthread_mutex_lock(&s->unpin_lock);
        int have = s->nunpins > 0;
        if (have)
            pin = s->unpins[--s->nunpins];
        pthread_mutex_unlock(&s->unpin_lock);
        if (!have)
            return;
        ad_err err = AD_ERR_INIT;
        if (ad_st_in_tx(s, ad_st_unpin_fn, &pin, NULL, NULL, &err) != AD_OK) {
            pthread_mutex_lock(&s->unpin_lock);
            if (s->nunpins < s->cap_unpins)
                s->unpins[s->nunpins++] = pin; /* still away: next time */
            pthread_mutex_unlock(&s->unpin_lock);
            return;
        }
    }
}

ad_status ad_store_gc_run(ad_store *s, int *removed, ad_err *err)
{
    char shas[64][65];
    int n = 0;
    *removed = 0;
    retry_unpins(s);
    do {
        ad_status rc = s->meta->ops->gc_due(s->meta, ad_st_now_ms(), 64, shas, &n, err);
        if (rc != AD_OK)
            return rc;
        for (int i = 0; i < n; i++)
            ad_st_gc_one(s, shas[i], s->grace_ms, removed);
    } while (n == 64);
    return AD_OK;
}

typedef struct {
    ad_store *s;
    int64_t grace, now;
    int *removed;
} sweep_ctx;

static int sweep_cb(void *ctx, const char *sha, const ad_blob_info *info)
{
    sweep_ctx *c = ctx;
    if (c->grace == 0 || c->now - info->mtime_ms >= c->grace)
        ad_st_gc_one(c->s, sha, c->grace, c->removed);
    return 0;
}

ad_status ad_store_gc_sweep(ad_store *s, int at_start, int *removed, ad_err *err)
{
    sweep_ctx c = {s, at_start && s->exclusive ? 0 : s->grace_ms, ad_st_now_ms(), removed};
    *removed = 0;
    CALL(s, "gc_sweep", s->blobs->ops->list(s->blobs, sweep_cb, &c, err));
}
