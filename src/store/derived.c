/* derived.c — derived blobs: bytes made from a source blob and kept to be
 * used again (stored masks, api/masks.c; delivery variants,
 * api/delivery.c — they decide what is made and when to keep it): a row
 * per key naming the derived blob and the source blob it was made from.
 * The blob rules are those of every blob (store.h): the derived blob is
 * pinned from its write until the row that refers to it commits, and
 * collected once no row does. A derived blob lives as long as its source:
 * the collector drops a source's derived rows in the transaction that
 * finds the source unreferenced (store.c, ad_st_gc_one), and one is only
 * recorded while, under the source's lock, something still refers to the
 * source. Each kind has its own bound, least recently used out first. */
#include <stdio.h>
#include <string.h>

#include "store/store_impl.h"

static int key_ok(const char *key, ad_err *err)
{
    if (key && ad_sha256_valid(key))
        return 1;
    ad_err_set(err, AD_EINVAL, "bad derived blob key");
    return 0;
}

static int kind_ok(const char *kind, ad_err *err)
{
    if (kind && *kind && strlen(kind) < sizeof((ad_derived_row *)0)->kind)
        return 1;
    ad_err_set(err, AD_EINVAL, "bad derived blob kind");
    return 0;
}

ad_status ad_store_get_derived(ad_store *s, const char *key, char blob_sha[65], ad_err *err)
{
    blob_sha[0] = '\0';
    if (!key_ok(key, err))
        return AD_EINVAL;
    CALL(s, "get_derived", s->meta->ops->get_derived(s->meta, key, ad_st_now_ms(), blob_sha, err));
}

typedef struct {
    const ad_derived_row *row;
    int64_t max_bytes;
    int *stored;
} put_args;

static ad_status put_derived_fn(ad_store_tx *tx, const void *a, const void *pin, const void *c, ad_err *err)
{
    (void)c;
    const put_args *p = a;
    const ad_meta_ops *m = tx->s->meta->ops;
    int64_t refs = 0;
    /* under the source's lock the collector cannot be removing it: were it
     * unreferenced now, what was made from it would already be gone, and
     * this would outlive it */
    ad_status rc = m->lock_blob(tx->mt, p->row->source_sha256, err);
    if (rc == AD_OK)
        rc = m->blob_refs(tx->s->meta, tx->mt, p->row->source_sha256, ad_st_now_ms(), &refs, err);
    if (rc == AD_OK && refs > 0)
        rc = m->put_derived(tx->mt, p->row, p->max_bytes, p->stored, ad_st_note_dropped, tx, err);
    if (rc == AD_OK)
        rc = ad_st_unpin_fn(tx, pin, NULL, NULL, err);
    return rc;
}

ad_status ad_store_put_derived(ad_store *s, const char *kind, const char *key, const char *source,
                               const ad_blob_pin *pin, int64_t max_bytes, int *stored, ad_err *err)
{
    *stored = 0;
    if (!kind_ok(kind, err) || !key_ok(key, err) || !ad_st_sha_ok(source, err) || !ad_st_sha_ok(pin->sha256, err)) {
        ad_store_unpin(s, pin);
        return AD_EINVAL;
    }
    ad_derived_row row = {.bytes = pin->size, .used_ms = ad_st_now_ms()};
    snprintf(row.kind, sizeof row.kind, "%s", kind);
    memcpy(row.key, key, sizeof row.key);
    memcpy(row.source_sha256, source, sizeof row.source_sha256);
    memcpy(row.blob_sha256, pin->sha256, sizeof row.blob_sha256);
    put_args a = {&row, max_bytes, stored};
    uint64_t t0 = ad_st_mono_us();
    ad_status st = ad_st_fault(s, "put_derived", err);
    if (st == AD_OK)
        st = ad_st_in_tx(s, put_derived_fn, &a, pin, NULL, err);
    ad_st_account(s, t0, st);
    if (st != AD_OK) {
        *stored = 0;
        ad_store_unpin(s, pin); /* the blob becomes collectable */
    }
    return st;
}

static ad_status drop_derived_fn(ad_store_tx *tx, const void *key, const void *b, const void *c, ad_err *err)
{
    (void)b, (void)c;
    return tx->s->meta->ops->drop_derived(tx->mt, key, NULL, ad_st_note_dropped, tx, err);
}

ad_status ad_store_drop_derived(ad_store *s, const char *key, const char *blob_sha, ad_err *err)
{
    if (!key_ok(key, err))
        return AD_EINVAL;
    uint64_t t0 = ad_st_mono_us();
    ad_status st = ad_st_fault(s, "drop_derived", err);
    if (st == AD_OK)
        st = ad_st_in_tx(s, drop_derived_fn, key, NULL, NULL, err);
    /* the damaged bytes go now, whatever their age, unless something else
     * refers to them: a new write of the same bytes would otherwise find
     * them at its address and keep them */
    if (st == AD_OK && blob_sha && ad_sha256_valid(blob_sha))
        ad_st_gc_one(s, blob_sha, 0, NULL);
    ad_st_account(s, t0, st);
    return st;
}

ad_status ad_store_derived_usage(ad_store *s, const char *kind, int64_t *count, int64_t *bytes, ad_err *err)
{
    *count = *bytes = 0;
    if (!kind_ok(kind, err))
        return AD_EINVAL;
    CALL(s, "derived_usage", s->meta->ops->derived_usage(s->meta, NULL, kind, count, bytes, err));
}
