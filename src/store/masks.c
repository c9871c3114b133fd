/* masks.c — the store's side of stored masks (api/masks.c decides what a
 * mask is and when to keep one): a row per key naming the mask's blob and
 * the source blob it was made from. The blob rules are those of every
 * blob (store.h): the mask's blob is pinned from its write until the row
 * that refers to it commits, and collected once no row does. A mask lives
 * as long as its source: the collector drops a source's masks in the
 * transaction that finds the source unreferenced (store.c, ad_st_gc_one),
 * and a mask is only recorded while, under the source's lock, something
 * still refers to the source. */
#include <string.h>

#include "store/store_impl.h"

static int key_ok(const char *key, ad_err *err)
{
    if (key && ad_sha256_valid(key))
        return 1;
    ad_err_set(err, AD_EINVAL, "bad mask key");
    return 0;
}

ad_status ad_store_get_mask(ad_store *s, const char *key, char mask_sha[65], ad_err *err)
{
    mask_sha[0] = '\0';
    if (!key_ok(key, err))
        return AD_EINVAL;
    CALL(s, "get_mask", s->meta->ops->get_mask(s->meta, key, ad_st_now_ms(), mask_sha, err));
}

typedef struct {
    const ad_mask_row *row;
    int64_t max_bytes;
    int *stored;
} put_args;

static ad_status put_mask_fn(ad_store_tx *tx, const void *a, const void *pin, const void *c, ad_err *err)
{
    (void)c;
    const put_args *p = a;
    const ad_meta_ops *m = tx->s->meta->ops;
    int64_t refs = 0;
    /* under the source's lock the collector cannot be removing it: were it
     * unreferenced now, its masks would already be gone, and this one
     * would outlive it */
    ad_status rc = m->lock_blob(tx->mt, p->row->source_sha256, err);
    if (rc == AD_OK)
        rc = m->blob_refs(tx->s->meta, tx->mt, p->row->source_sha256, ad_st_now_ms(), &refs, err);
    if (rc == AD_OK && refs > 0)
        rc = m->put_mask(tx->mt, p->row, p->max_bytes, p->stored, ad_st_note_dropped, tx, err);
    if (rc == AD_OK)
        rc = ad_st_unpin_fn(tx, pin, NULL, NULL, err);
    return rc;
}

ad_status ad_store_put_mask(ad_store *s, const char *key, const char *source, const ad_blob_pin *pin, int64_t max_bytes,
                            int *stored, ad_err *err)
{
    *stored = 0;
    if (!key_ok(key, err) || !ad_st_sha_ok(source, err) || !ad_st_sha_ok(pin->sha256, err))
        return AD_EINVAL;
    ad_mask_row row = {.bytes = pin->size, .used_ms = ad_st_now_ms()};
    memcpy(row.key, key, sizeof row.key);
    memcpy(row.source_sha256, source, sizeof row.source_sha256);
    memcpy(row.mask_sha256, pin->sha256, sizeof row.mask_sha256);
    put_args a = {&row, max_bytes, stored};
    uint64_t t0 = ad_st_mono_us();
    ad_status st = ad_st_fault(s, "put_mask", err);
    if (st == AD_OK)
        st = ad_st_in_tx(s, put_mask_fn, &a, pin, NULL, err);
    ad_st_account(s, t0, st);
    if (st != AD_OK) {
        *stored = 0;
        ad_store_unpin(s, pin); /* the blob becomes collectable */
    }
    return st;
}

static ad_status drop_mask_fn(ad_store_tx *tx, const void *key, const void *b, const void *c, ad_err *err)
{
    (void)b, (void)c;
    return tx->s->meta->ops->drop_masks(tx->mt, key, NULL, ad_st_note_dropped, tx, err);
}

ad_status ad_store_drop_mask(ad_store *s, const char *key, const char *mask_sha, ad_err *err)
{
    if (!key_ok(key, err))
        return AD_EINVAL;
    uint64_t t0 = ad_st_mono_us();
    ad_status st = ad_st_fault(s, "drop_mask", err);
    if (st == AD_OK)
        st = ad_st_in_tx(s, drop_mask_fn, key, NULL, NULL, err);
    /* the damaged bytes go now, whatever their age, unless something else
     * refers to them: a new write of the same mask would otherwise find
     * them at its address and keep them */
    if (st == AD_OK && mask_sha && ad_sha256_valid(mask_sha))
        ad_st_gc_one(s, mask_sha, 0, NULL);
    ad_st_account(s, t0, st);
    return st;
}

ad_status ad_store_mask_usage(ad_store *s, int64_t *count, int64_t *bytes, ad_err *err)
{
    *count = *bytes = 0;
    CALL(s, "mask_usage", s->meta->ops->mask_usage(s->meta, NULL, count, bytes, err));
}
