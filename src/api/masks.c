/* masks.c — see masks.h. */
#include "api/masks.h"

#include "api/internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "base/sha256.h"
#include "matte/mask_blob.h"

/* a stored mask is a model side squared, deflated: far below this */
#define MASK_BLOB_MAX (64u << 20)

const char *ad_mask_origin_name(ad_mask_origin o) { return o == AD_MASK_STORED ? "stored" : "computed"; }

void ad_masks_key(const ad_api *api, const char *source_sha256, int preset, char key[65])
{
    char id[400];
    const char *model = ad_api_model_id_for(api, preset);
    const ad_preset_def *p = ad_cutout_preset(preset);
    /* "v1": the mask's meaning; a change to what a pass makes is a new
     * version, and the old masks age out */
    int n = snprintf(id, sizeof id, "assetd-mask-v1\n%s\n%s\n%s", source_sha256, model ? model : "", p ? p->name : "");
    ad_sha256_hex(id, (size_t)n, key);
}

void ad_masks_count(ad_api *api, const char *result)
{
    if (api->cfg.metrics) {
        char l[40];
        snprintf(l, sizeof l, "result=\"%s\"", result);
        ad_metrics_add(api->cfg.metrics, "assetd_cutout_mask_total", l, 1);
    }
}

ad_status ad_masks_load(ad_api *api, const char *key, int preset, ad_cutout_mask *mask)
{
    ad_store *s = api->cfg.store;
    ad_err err = AD_ERR_INIT;
    char sha[65], got[65];
    void *blob = NULL;
    size_t len = 0;
    int side = api->cfg.model_side[preset];
    memset(mask, 0, sizeof *mask);
    if (api->cfg.mask_store_bytes <= 0 || side <= 0)
        return AD_ENOTFOUND;
    ad_status st = ad_store_get_derived(s, key, sha, &err);
    if (st != AD_OK) {
        if (st != AD_ENOTFOUND)
            ad_log(AD_LOG_WARN, "masks", "lookup failed (computing instead): %s", err.msg);
        return AD_ENOTFOUND;
    }
    st = ad_store_blob_read_all(s, sha, MASK_BLOB_MAX, &blob, &len, &err);
    if (st == AD_OK) {
        /* the address is the bytes' SHA-256: anything else is damage */
        ad_sha256_hex(blob, len, got);
        if (strcmp(got, sha) != 0)
            st = ad_err_set(&err, AD_EINVAL, "stored mask damaged (its bytes do not match their SHA-256)");
    }
    if (st == AD_OK)
        st = ad_mask_blob_decode(blob, len, side, side, &mask->data, &err);
    free(blob);
    if (st == AD_OK) {
        mask->side = side;
        return AD_OK;
    }
    if (st == AD_EINVAL || st == AD_ENOTFOUND) {
        /* damaged or gone: never used; dropped so that the next cut-out
         * stores a good one */
        ad_log(AD_LOG_WARN, "masks", "mask %s dropped: %s", sha, err.msg);
        ad_masks_count(api, "damaged");
        ad_err e2 = AD_ERR_INIT;
        ad_store_drop_derived(s, key, sha, &e2);
    } else {
        ad_log(AD_LOG_WARN, "masks", "mask %s unreadable (computing instead): %s", sha, err.msg);
    }
    return AD_ENOTFOUND;
}

void ad_masks_keep(ad_api *api, const char *key, const char *source_sha256, const ad_cutout_mask *mask)
{
    ad_err err = AD_ERR_INIT;
    void *blob = NULL;
    size_t len = 0;
    ad_blob_pin pin;
    int stored = 0;
    if (api->cfg.mask_store_bytes <= 0 || mask->data == NULL)
        return;
    ad_status st = ad_mask_blob_encode(mask->data, mask->side, mask->side, &blob, &len, &err);
    if (st == AD_OK)
        st = ad_store_put_blob(api->cfg.store, blob, len, &pin, &err);
    free(blob);
    if (st == AD_OK)
        st = ad_store_put_derived(api->cfg.store, "mask", key, source_sha256, &pin, api->cfg.mask_store_bytes, &stored,
                                  &err);
    if (st != AD_OK)
        ad_log(AD_LOG_WARN, "masks", "mask not stored (the next cut-out computes it again): %s", err.msg);
}
