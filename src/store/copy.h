/* copy.h — moving a store to another: every asset with its conversions,
 * custom data and lineage, every API key hash, every job (with the blobs
 * it holds). Each blob is streamed across and its SHA-256 checked against
 * its address. What is at the destination already is left alone, so a
 * copy that stopped half-way is resumed by running it again, and a second
 * run copies nothing. The source should not change meanwhile (stop its
 * server). */
#ifndef AD_STORE_COPY_H
#define AD_STORE_COPY_H

#include "store/store.h"

typedef struct {
    int assets, assets_there; /* copied, found at the destination already */
    int blobs;
    int64_t bytes;
    int keys;
    int jobs, jobs_there;
} ad_copy_report;

/* Copy from into to. progress (may be NULL) is called after each asset.
 * Errors: the first failure (nothing half-written: each asset or job is
 * one transaction at the destination). */
ad_status ad_store_copy(ad_store *from, ad_store *to, void (*progress)(void *ctx, const ad_copy_report *r), void *ctx,
                        ad_copy_report *report, ad_err *err);

#endif
