/* gc.c — the collector: blobs that lost their last reference are queued
 * by the transaction that dropped it (store.c) and removed here, under the
 * blob's lock, once nothing refers to them and the grace period is over.
 * See store.h and docs/store.md. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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

/* A claimed candidate is this instance's for this long (then any
 * instance's again: one that died mid-collection leaves nothing behind). */
#define GC_LEASE_MS 60000

ad_status ad_store_gc_run(ad_store *s, int *removed, ad_err *err)
{
    char shas[64][65];
    int n = 0, expired = 0;
    *removed = 0;
    retry_unpins(s);
    /* candidates from writers that died between publishing a blob and
     * taking its reference: their pins expire */
    do {
        ad_status rc = s->meta->ops->expire_pins(s->meta, ad_st_now_ms(), 256, &expired, err);
        if (rc != AD_OK)
            return rc;
    } while (expired == 256);
    do {
        ad_status rc = s->meta->ops->gc_due(s->meta, ad_st_now_ms(), GC_LEASE_MS, 64, shas, &n, err);
        if (rc != AD_OK)
            return rc;
        int before = *removed;
        for (int i = 0; i < n; i++)
            ad_st_gc_one(s, shas[i], s->grace_ms, removed);
        /* what this instance claimed: N instances share the queue, and
         * these sum to the candidates there were (each claimed once) */
        __atomic_add_fetch(&s->gc_candidates, (uint64_t)n, __ATOMIC_RELAXED);
        __atomic_add_fetch(&s->gc_removed, (uint64_t)(*removed - before), __ATOMIC_RELAXED);
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

/* ---- assetd store check: the full reconciliation, on demand ---------- */

typedef struct {
    ad_store *s;
    int repair;
    double per_s;
    uint64_t t0_us;
    int64_t now;
    ad_store_check_report *r;
} check_ctx;

static int check_cb(void *ctx, const char *sha, const ad_blob_info *info)
{
    check_ctx *c = ctx;
    ad_store_check_report *r = c->r;
    r->blobs++;
    if (c->per_s > 0) { /* rate-limited: the store serves its users meanwhile */
        uint64_t due = c->t0_us + (uint64_t)(r->blobs / c->per_s * 1e6), now = ad_st_mono_us();
        if (due > now)
            usleep((useconds_t)(due - now < 1000000 ? due - now : 1000000));
    }
    if (c->now - info->mtime_ms < c->s->grace_ms)
        return 0; /* young: a writer may be about to refer to it */
    int64_t refs = 1;
    ad_err err = AD_ERR_INIT;
    if (c->s->meta->ops->blob_refs(c->s->meta, NULL, sha, ad_st_now_ms(), &refs, &err) != AD_OK || refs > 0)
        return 0;
    r->orphans++;
    r->orphan_bytes += info->size;
    if (c->repair) {
        int removed = 0;
        ad_st_gc_one(c->s, sha, c->s->grace_ms, &removed);
        r->removed += removed;
    }
    return 0;
}

ad_status ad_store_check(ad_store *s, int repair, double per_s, ad_store_check_report *r, ad_err *err)
{
    memset(r, 0, sizeof *r);
    check_ctx c = {s, repair, per_s, ad_st_mono_us(), ad_st_now_ms(), r};
    ad_status rc = s->blobs->ops->list(s->blobs, check_cb, &c, err);
    if (rc != AD_OK)
        return rc;
    /* the other way: every row's blob is there (a page of assets at a time) */
    int64_t cursor = 0;
    for (;;) {
        ad_asset *v = NULL;
        int n = 0;
        if ((rc = s->meta->ops->list_assets(s->meta, &(ad_asset_filter){0}, cursor, 100, &v, &n, err)) != AD_OK)
            return rc;
        for (int i = 0; i < n; i++) {
            ad_blob_info info;
            ad_err e2 = AD_ERR_INIT;
            r->rows++;
            if (s->blobs->ops->stat(s->blobs, v[i].sha256, &info, &e2) == AD_ENOTFOUND)
                r->missing++;
            for (int k = 0; k < v[i].nconversions; k++)
                if (s->blobs->ops->stat(s->blobs, v[i].conversions[k].sha256, &info, &e2) == AD_ENOTFOUND)
                    r->missing++;
            cursor = v[i].seq;
            ad_asset_cleanup(&v[i]);
        }
        free(v);
        if (n < 100)
            return AD_OK;
    }
}
