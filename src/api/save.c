/* save.c — see save.h. A job's payload is this module's alone: a JSON
 * object {asset_id, disposition, conversion_name | new_asset_id, inherit,
 * blob, size, width, height, content_type}. */
#include "api/save.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "image/image.h"

void ad_save_filename(const char *source, const char *content_type, char *out, size_t len)
{
    const char *stem = source && *source ? source : "asset";
    const char *dot = strrchr(stem, '.');
    int stem_len = dot && dot != stem ? (int)(dot - stem) : (int)strlen(stem);
    const char *ext = ad_image_extension(content_type) ? ad_image_extension(content_type) : "png";
    snprintf(out, len, "%.*s.bg_removed.%s", stem_len > 200 ? 200 : stem_len, stem, ext);
}

/* The save's effect inside tx. in_job: the save was acknowledged already
 * (get_image_and_save), so an add_new_asset whose source vanished still
 * creates the asset (without lineage: there is nothing to inherit from);
 * save_image answers 404 instead. */
static ad_status apply(ad_store_tx *tx, const ad_save *sv, int in_job, ad_err *err)
{
    ad_asset src;
    char now[32];
    ad_time_rfc3339(now);
    ad_status rc = ad_store_tx_get_asset(tx, sv->asset_id, &src, err);
    if (rc != AD_OK && (rc != AD_ENOTFOUND || !sv->new_asset || !in_job))
        return rc;
    int have_src = rc == AD_OK;
    ad_err_clear(err);
    if (!sv->new_asset) {
        ad_conversion c = {0};
        snprintf(c.name, sizeof c.name, "%s", sv->conversion_name);
        snprintf(c.content_type, sizeof c.content_type, "%s", sv->content_type);
        c.size = sv->result.size;
        memcpy(c.sha256, sv->result.sha256, sizeof c.sha256);
        memcpy(c.created_at, now, sizeof now);
        rc = ad_store_tx_upsert_conversion(tx, sv->asset_id, &c, err);
        ad_asset_cleanup(&src);
        return rc;
    }
    ad_asset exists;
    ad_err e2 = AD_ERR_INIT;
    if (ad_store_tx_get_asset(tx, sv->new_asset_id, &exists, &e2) == AD_OK) {
        ad_asset_cleanup(&exists);
        ad_asset_cleanup(&src);
        return AD_OK; /* a re-run of a save that committed */
    }
    /* the lineage names the source: hold it, so that a delete running now
     * either waits and then unlinks this child, or came first (then there
     * is no source to name) */
    if (sv->inherit && have_src && (rc = ad_store_tx_lock_asset(tx, sv->asset_id, err)) != AD_OK) {
        if (rc != AD_ENOTFOUND || !in_job) {
            ad_asset_cleanup(&src);
            return rc;
        }
        ad_err_clear(err);
        ad_asset_cleanup(&src);
        have_src = 0;
    }
    char fname[300];
    ad_save_filename(have_src ? src.filename : NULL, sv->content_type, fname, sizeof fname);
    ad_asset na = {0};
    memcpy(na.id, sv->new_asset_id, sizeof na.id);
    na.filename = fname;
    na.content_type = (char *)sv->content_type;
    na.size = sv->result.size;
    memcpy(na.sha256, sv->result.sha256, sizeof na.sha256);
    na.width = sv->width;
    na.height = sv->height;
    memcpy(na.created_at, now, sizeof now);
    na.custom_data = sv->inherit && have_src ? src.custom_data : (char *)"{}";
    if (sv->inherit && have_src)
        memcpy(na.source_asset_id, sv->asset_id, sizeof na.source_asset_id);
    rc = ad_store_tx_insert_asset(tx, &na, err);
    ad_asset_cleanup(&src);
    return rc;
}

ad_status ad_save_now(ad_store *s, const ad_save *sv, ad_err *err)
{
    ad_store_tx *tx;
    ad_status rc = ad_store_begin(s, &tx, err);
    if (rc == AD_OK && (rc = apply(tx, sv, 0, err)) == AD_OK &&
        (rc = ad_store_tx_release(tx, &sv->result, err)) == AD_OK)
        return ad_store_commit(tx, err);
    ad_store_rollback(tx);
    ad_store_unpin(s, &sv->result);
    return rc;
}

static char *payload_of(const ad_save *sv)
{
    json_t *j = json_pack("{s:s, s:s, s:s, s:s, s:b, s:s, s:I, s:i, s:i, s:s}", "asset_id", sv->asset_id, "disposition",
                          sv->new_asset ? "add_new_asset" : "add_conversion", "conversion_name", sv->conversion_name,
                          "new_asset_id", sv->new_asset_id, "inherit", sv->inherit, "blob", sv->result.sha256, "size",
                          (json_int_t)sv->result.size, "width", sv->width, "height", sv->height, "content_type",
                          sv->content_type);
    if (j && sv->mask[0])
        json_object_set_new(j, "mask", json_string(sv->mask));
    char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    return text;
}

ad_status ad_save_enqueue(ad_store *s, const ad_save *sv, char job_id[AD_ID_LEN + 1], ad_err *err)
{
    ad_store_tx *tx = NULL;
    char *payload = payload_of(sv);
    ad_status rc = payload ? ad_id_new(job_id, err) : ad_err_set(err, AD_ENOMEM, "out of memory");
    if (rc == AD_OK)
        rc = ad_store_begin(s, &tx, err);
    if (rc == AD_OK)
        rc = ad_store_tx_insert_job(tx, job_id, ad_save_job_kind.name, payload, sv->asset_id, &sv->result, err);
    free(payload);
    if (rc == AD_OK)
        return ad_store_commit(tx, err);
    ad_store_rollback(tx);
    ad_store_unpin(s, &sv->result);
    return rc;
}

static const char *jtext(json_t *j, const char *k)
{
    const char *v = json_string_value(json_object_get(j, k));
    return v ? v : "";
}

static ad_status parse_payload(const char *payload, ad_save *sv, ad_err *err)
{
    json_t *j = json_loads(payload ? payload : "", 0, NULL);
    memset(sv, 0, sizeof *sv);
    if (!json_is_object(j)) {
        json_decref(j);
        return ad_err_set(err, AD_EINVAL, "malformed payload");
    }
    snprintf(sv->asset_id, sizeof sv->asset_id, "%s", jtext(j, "asset_id"));
    sv->new_asset = strcmp(jtext(j, "disposition"), "add_new_asset") == 0;
    snprintf(sv->conversion_name, sizeof sv->conversion_name, "%s", jtext(j, "conversion_name"));
    snprintf(sv->new_asset_id, sizeof sv->new_asset_id, "%s", jtext(j, "new_asset_id"));
    json_t *inh = json_object_get(j, "inherit");
    sv->inherit = json_is_true(inh) || (json_is_integer(inh) && json_integer_value(inh) != 0);
    snprintf(sv->result.sha256, sizeof sv->result.sha256, "%s", jtext(j, "blob"));
    sv->result.size = json_integer_value(json_object_get(j, "size"));
    sv->width = (int)json_integer_value(json_object_get(j, "width"));
    sv->height = (int)json_integer_value(json_object_get(j, "height"));
    snprintf(sv->content_type, sizeof sv->content_type, "%s", jtext(j, "content_type"));
    snprintf(sv->mask, sizeof sv->mask, "%s", jtext(j, "mask"));
    json_decref(j);
    if (!ad_id_valid(sv->asset_id) || !ad_sha256_valid(sv->result.sha256) ||
        (sv->new_asset ? !ad_id_valid(sv->new_asset_id) : !sv->conversion_name[0]))
        return ad_err_set(err, AD_EINVAL, "malformed payload");
    return AD_OK;
}

/* Outside the transaction: the payload, and the blob the job holds. If
 * that is gone anyway (a disk fault), say so (and retry: space or time may
 * cure it) rather than record a row without bytes. */
static ad_status prepare_job(void *ctx, ad_store *s, const ad_job *job, void **state, int *final, ad_err *err)
{
    (void)ctx;
    ad_blob_info info;
    ad_save *sv = malloc(sizeof *sv);
    if (sv == NULL)
        return ad_err_set(err, AD_ENOMEM, "out of memory");
    ad_status rc = parse_payload(job->payload, sv, err);
    if (rc != AD_OK) {
        *final = 1;
        free(sv);
        return rc;
    }
    rc = ad_store_blob_stat(s, sv->result.sha256, &info, err);
    if (rc == AD_ENOTFOUND) {
        ad_err_clear(err);
        rc = ad_err_set(err, AD_EIO, "result blob %s missing", sv->result.sha256);
    }
    if (rc != AD_OK) {
        free(sv);
        return rc;
    }
    *state = sv;
    return AD_OK;
}

static ad_status apply_job(void *ctx, ad_store_tx *tx, const ad_job *job, void *state, char **result, int *final,
                           ad_err *err)
{
    (void)ctx, (void)job;
    const ad_save *sv = state;
    ad_status rc = apply(tx, sv, 1, err);
    if (rc != AD_OK) {
        *final = rc == AD_ENOTFOUND; /* the asset to add a conversion to is gone */
        return rc;
    }
    json_t *j = sv->new_asset
                    ? json_pack("{s:s}", "new_asset_id", sv->new_asset_id)
                    : json_pack("{s:s, s:s}", "asset_id", sv->asset_id, "conversion_name", sv->conversion_name);
    if (j && sv->mask[0]) /* the model pass: made for this save, or read from the store */
        json_object_set_new(j, "mask", json_string(sv->mask));
    *result = j ? json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(j);
    return *result ? AD_OK : ad_err_set(err, AD_ENOMEM, "out of memory");
}

const ad_job_kind ad_save_job_kind = {"bg_remove_save", prepare_job, apply_job, free, NULL};
