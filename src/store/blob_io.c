/* blob_io.c — the store's blobs: writers (staged, hashed, published, then
 * pinned for the writer until a transaction takes the reference), readers,
 * and pins a writer gives up. See store.h, "the blob rules". */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/store_impl.h"

ad_status ad_store_writer_new(ad_store *s, ad_store_writer **out, ad_err *err)
{
    *out = NULL;
    ad_store_writer *w = calloc(1, sizeof *w);
    if (w == NULL)
        return ad_err_set(err, AD_ENOMEM, "out of memory");
    w->s = s;
    ad_sha256_init(&w->hash);
    ad_status rc = ad_st_fault(s, "writer_new", err);
    if (rc == AD_OK)
        rc = s->blobs->ops->writer_new(s->blobs, &w->w, err);
    if (rc != AD_OK) {
        free(w);
        return rc;
    }
    *out = w;
    return AD_OK;
}

ad_status ad_store_writer_write(ad_store_writer *w, const void *data, size_t len, ad_err *err)
{
    ad_sha256_update(&w->hash, data, len);
    w->size += (int64_t)len;
    return len ? w->s->blobs->ops->write(w->w, data, len, err) : AD_OK;
}

int64_t ad_store_writer_size(const ad_store_writer *w) { return w->size; }

void ad_store_writer_abort(ad_store_writer *w)
{
    if (w == NULL)
        return;
    w->s->blobs->ops->abort(w->w);
    free(w);
}

static void hex(const uint8_t *d, int n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (int i = 0; i < n; i++) {
        out[2 * i] = digits[d[i] >> 4];
        out[2 * i + 1] = digits[d[i] & 15];
    }
    out[2 * n] = '\0';
}

static ad_status pin_fn(ad_store_tx *tx, const void *pin, const void *expires, const void *c, ad_err *err)
{
    (void)c;
    const ad_blob_pin *p = pin;
    const ad_meta_ops *m = tx->s->meta->ops;
    ad_status rc = m->lock_blob(tx->mt, p->sha256, err);
    return rc == AD_OK ? m->pin_blob(tx->mt, p->sha256, p->owner, *(const int64_t *)expires, err) : rc;
}

static ad_status writer_commit(ad_store_writer *w, ad_blob_pin *pin, ad_err *err)
{
    ad_store *s = w->s;
    uint8_t d[32];
    ad_sha256_final(&w->hash, d);
    hex(d, 32, pin->sha256);
    pin->size = w->size;
    ad_status rc = ad_id_new(pin->owner, err);
    int64_t expires = ad_st_now_ms() + s->pin_ttl_ms;
    /* pin first: from now on no collector may remove this address, so the
     * bytes published next (or found there already) stay */
    if (rc == AD_OK)
        rc = ad_st_in_tx(s, pin_fn, pin, &expires, NULL, err);
    if (rc != AD_OK) {
        s->blobs->ops->abort(w->w);
        free(w);
        return rc;
    }
    rc = ad_st_fault(s, "writer_commit", err);
    if (rc == AD_OK)
        rc = s->blobs->ops->commit(w->w, pin->sha256, err);
    else
        s->blobs->ops->abort(w->w);
    free(w);
    if (rc != AD_OK) {
        ad_store_unpin(s, pin);
        return rc;
    }
    int delay = __atomic_load_n(&s->publish_delay_ms, __ATOMIC_RELAXED);
    if (delay > 0) /* tests: widen the window before the caller's row commits */
        nanosleep(&(struct timespec){delay / 1000, (long)(delay % 1000) * 1000000}, NULL);
    return AD_OK;
}

ad_status ad_store_writer_commit(ad_store_writer *w, ad_blob_pin *pin, ad_err *err)
{
    ad_store *s = w->s;
    uint64_t t0 = ad_st_mono_us();
    ad_status st = writer_commit(w, pin, err);
    ad_st_account(s, t0, st);
    return st;
}

ad_status ad_store_put_blob(ad_store *s, const void *data, size_t len, ad_blob_pin *pin, ad_err *err)
{
    ad_store_writer *w;
    ad_status rc = ad_store_writer_new(s, &w, err);
    if (rc != AD_OK)
        return rc;
    if ((rc = ad_store_writer_write(w, data, len, err)) != AD_OK) {
        ad_store_writer_abort(w);
        return rc;
    }
    return ad_store_writer_commit(w, pin, err);
}

void ad_store_unpin(ad_store *s, const ad_blob_pin *pin)
{
    if (pin == NULL || !ad_sha256_valid(pin->sha256))
        return;
    ad_err err = AD_ERR_INIT;
    if (ad_st_in_tx(s, ad_st_unpin_fn, pin, NULL, NULL, &err) == AD_OK)
        return;
    /* the metadata part is away: the collector tries again (and were this
     * process to die first, the pin would expire by itself) */
    pthread_mutex_lock(&s->unpin_lock);
    if (s->nunpins == s->cap_unpins && s->cap_unpins < 65536) {
        int cap = s->cap_unpins ? s->cap_unpins * 2 : 64;
        ad_blob_pin *v = realloc(s->unpins, sizeof *v * (size_t)cap);
        if (v) {
            s->unpins = v;
            s->cap_unpins = cap;
        }
    }
    if (s->nunpins < s->cap_unpins)
        s->unpins[s->nunpins++] = *pin;
    pthread_mutex_unlock(&s->unpin_lock);
}

ad_status ad_store_reader_open(ad_store *s, const char *sha256, ad_store_reader **out, ad_err *err)
{
    *out = NULL;
    if (!ad_st_sha_ok(sha256, err))
        return AD_EINVAL;
    ad_store_reader *r = calloc(1, sizeof *r);
    if (r == NULL)
        return ad_err_set(err, AD_ENOMEM, "out of memory");
    r->s = s;
    uint64_t t0 = ad_st_mono_us();
    ad_status rc = ad_st_fault(s, "reader_open", err);
    if (rc == AD_OK)
        rc = s->blobs->ops->open_reader(s->blobs, sha256, &r->r, err);
    ad_st_account(s, t0, rc);
    if (rc != AD_OK) {
        free(r);
        return rc;
    }
    *out = r;
    return AD_OK;
}

int64_t ad_store_reader_size(const ad_store_reader *r) { return r->s->blobs->ops->size(r->r); }
int ad_store_reader_fd(const ad_store_reader *r) { return r->s->blobs->ops->fd(r->r); }

ad_status ad_store_reader_read(ad_store_reader *r, uint64_t offset, void *buf, size_t len, size_t *got, ad_err *err)
{
    *got = 0;
    CALL(r->s, "reader_read", r->s->blobs->ops->read(r->r, offset, buf, len, got, err));
}

void ad_store_reader_close(ad_store_reader *r)
{
    if (r == NULL)
        return;
    r->s->blobs->ops->close_reader(r->r);
    free(r);
}

ad_status ad_store_blob_read_all(ad_store *s, const char *sha256, size_t max, void **out, size_t *len, ad_err *err)
{
    ad_store_reader *r;
    char *buf = NULL;
    *out = NULL;
    *len = 0;
    ad_status rc = ad_store_reader_open(s, sha256, &r, err);
    if (rc != AD_OK)
        return rc;
    int64_t size = ad_store_reader_size(r);
    if (size < 0 || (uint64_t)size > max) {
        rc = ad_err_set(err, AD_ETOOBIG, "the stored file has %lld bytes; the limit is %zu", (long long)size, max);
        goto out;
    }
    if ((buf = malloc(size ? (size_t)size : 1)) == NULL) {
        rc = ad_err_set(err, AD_ENOMEM, "out of memory");
        goto out;
    }
    for (size_t have = 0, got; have < (size_t)size; have += got) {
        if ((rc = ad_store_reader_read(r, have, buf + have, (size_t)size - have, &got, err)) != AD_OK)
            goto out;
        if (got == 0) {
            rc = ad_err_set(err, AD_EIO, "the stored file is shorter than recorded");
            goto out;
        }
    }
    *out = buf;
    *len = (size_t)size;
    buf = NULL;
out:
    free(buf);
    ad_store_reader_close(r);
    return rc;
}

ad_status ad_store_blob_stat(ad_store *s, const char *sha256, ad_blob_info *out, ad_err *err)
{
    if (!ad_st_sha_ok(sha256, err))
        return AD_EINVAL;
    CALL(s, "blob_stat", s->blobs->ops->stat(s->blobs, sha256, out, err));
}
