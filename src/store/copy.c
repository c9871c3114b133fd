/* copy.c — see copy.h. Built from the ad_store_* wrappers only: it works
 * between any two kinds of store. */
#include "store/copy.h"

#include <stdlib.h>
#include <string.h>

#include "base/sha256.h"

/* Stream one blob across; its bytes must hash to its address. */
static ad_status copy_blob(ad_store *from, ad_store *to, const char *sha, ad_blob_pin *pin, ad_copy_report *rep,
                           ad_err *err)
{
    ad_store_reader *r = NULL;
    ad_store_writer *w = NULL;
    static __thread char buf[1 << 20];
    ad_status rc = ad_store_reader_open(from, sha, &r, err);
    if (rc == AD_OK)
        rc = ad_store_writer_new(to, &w, err);
    uint64_t at = 0;
    for (size_t got = 1; rc == AD_OK && got > 0; at += got) {
        rc = ad_store_reader_read(r, at, buf, sizeof buf, &got, err);
        if (rc == AD_OK && got)
            rc = ad_store_writer_write(w, buf, got, err);
    }
    ad_store_reader_close(r);
    if (rc != AD_OK) {
        ad_store_writer_abort(w);
        return rc;
    }
    if ((rc = ad_store_writer_commit(w, pin, err)) != AD_OK)
        return rc;
    if (strcmp(pin->sha256, sha) != 0) {
        ad_store_unpin(to, pin);
        return ad_err_set(err, AD_EIO, "blob %s does not match its address (the source is damaged)", sha);
    }
    rep->blobs++;
    rep->bytes += pin->size;
    return AD_OK;
}

static void unpin_all(ad_store *to, ad_blob_pin *pins, int n)
{
    for (int i = 0; i < n; i++)
        ad_store_unpin(to, &pins[i]);
}

static ad_status copy_asset(ad_store *from, ad_store *to, const ad_asset *a, ad_copy_report *rep, ad_err *err)
{
    ad_asset there;
    ad_err e2 = AD_ERR_INIT;
    if (ad_store_get_asset(to, a->id, &there, &e2) == AD_OK) {
        ad_asset_cleanup(&there);
        rep->assets_there++;
        return AD_OK;
    }
    int n = 1 + a->nconversions;
    ad_blob_pin *pins = calloc((size_t)n, sizeof *pins);
    if (pins == NULL)
        return ad_err_set(err, AD_ENOMEM, "out of memory");
    ad_status rc = copy_blob(from, to, a->sha256, &pins[0], rep, err);
    int have = rc == AD_OK;
    for (int i = 0; rc == AD_OK && i < a->nconversions; i++, have++)
        rc = copy_blob(from, to, a->conversions[i].sha256, &pins[i + 1], rep, err);
    ad_store_tx *tx = NULL;
    if (rc == AD_OK)
        rc = ad_store_begin(to, &tx, err);
    if (rc == AD_OK)
        rc = ad_store_tx_insert_asset(tx, a, err);
    for (int i = 0; rc == AD_OK && i < n; i++)
        rc = ad_store_tx_release(tx, &pins[i], err);
    if (rc == AD_OK) {
        rc = ad_store_commit(tx, err);
        if (rc == AD_OK)
            rep->assets++;
        else
            unpin_all(to, pins, have);
    } else {
        ad_store_rollback(tx);
        unpin_all(to, pins, have);
    }
    free(pins);
    return rc;
}

static ad_status copy_job(ad_store *from, ad_store *to, const ad_job *j, ad_copy_report *rep, ad_err *err)
{
    ad_job there;
    ad_err e2 = AD_ERR_INIT;
    if (ad_store_get_job(to, j->id, &there, &e2) == AD_OK) {
        ad_job_cleanup(&there);
        rep->jobs_there++;
        return AD_OK;
    }
    char holds[8][65];
    ad_blob_pin pins[8];
    int n = 0, have = 0;
    ad_status rc = ad_store_job_holds(from, j->id, holds, 8, &n, err);
    for (; rc == AD_OK && have < n; have++)
        rc = copy_blob(from, to, holds[have], &pins[have], rep, err);
    ad_store_tx *tx = NULL;
    if (rc == AD_OK)
        rc = ad_store_begin(to, &tx, err);
    if (rc == AD_OK)
        rc = ad_store_tx_import_job(tx, j, pins, n, err);
    if (rc == AD_OK) {
        rc = ad_store_commit(tx, err);
        if (rc == AD_OK)
            rep->jobs++;
    } else {
        ad_store_rollback(tx);
    }
    if (rc != AD_OK)
        unpin_all(to, pins, have);
    return rc;
}

ad_status ad_store_copy(ad_store *from, ad_store *to, void (*progress)(void *ctx, const ad_copy_report *r), void *ctx,
                        ad_copy_report *rep, ad_err *err)
{
    memset(rep, 0, sizeof *rep);
    ad_status rc = AD_OK;
    int64_t before = 0;
    for (;;) {
        ad_asset *v;
        int n;
        if ((rc = ad_store_list_assets(from, NULL, before, 100, &v, &n, err)) != AD_OK)
            return rc;
        for (int i = 0; rc == AD_OK && i < n; i++) {
            rc = copy_asset(from, to, &v[i], rep, err);
            if (rc == AD_OK && progress)
                progress(ctx, rep);
        }
        if (n > 0)
            before = v[n - 1].seq;
        for (int i = 0; i < n; i++)
            ad_asset_cleanup(&v[i]);
        free(v);
        if (rc != AD_OK)
            return rc;
        if (n < 100)
            break;
    }
    ad_key_info *keys;
    int nk;
    if ((rc = ad_store_list_keys(from, &keys, &nk, err)) != AD_OK)
        return rc;
    for (int i = 0; rc == AD_OK && i < nk; i++)
        rc = ad_store_import_key(to, &keys[i], err);
    rep->keys = nk;
    free(keys);
    char after[AD_ID_LEN + 1] = "";
    for (int more = 1; rc == AD_OK && more;) {
        ad_job *v;
        int n;
        if ((rc = ad_store_list_jobs(from, after, 100, &v, &n, err)) != AD_OK)
            return rc;
        for (int i = 0; rc == AD_OK && i < n; i++)
            rc = copy_job(from, to, &v[i], rep, err);
        if (n > 0)
            memcpy(after, v[n - 1].id, sizeof after);
        for (int i = 0; i < n; i++)
            ad_job_cleanup(&v[i]);
        free(v);
        more = n == 100;
    }
    return rc;
}
