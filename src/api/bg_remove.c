/* bg_remove.c — GET /api/v1/assets/:asset_id/addons/bg_remove, as
 * ../shared/spec/bg_remove.md says. The query is validated and the asset
 * looked up on the I/O thread (cheap, and every refusal is immediate); the
 * cut-out itself runs on the work pool, and the save after it:
 *   save_image          blob + metadata committed, then the JSON answer
 *   get_image_and_save  blob spooled + job recorded, then the PNG answer;
 *                       the job runner performs the save (job/runner.h) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/bg_params.h"
#include "api/internal.h"
#include "base/clock.h"
#include "base/fsutil.h"
#include "base/log.h"
#include "base/lru.h"
#include "cutout/cutout.h"

typedef struct {
    ad_api *api;
    ad_http_req *req;
    ad_bg_request bg;
    char asset_id[AD_ID_LEN + 1];
    char sha256[65];
    double queued_at; /* ms, ad_clock_ms */
    int width, height; /* the asset's, oriented: the cut-out's size */
} cutout_task;

/* Record the save (spooled PNG + what to do with it). For save_image the
 * save is applied now; for get_image_and_save it becomes a durable job. */
static ad_http_resp *save(cutout_task *t, const void *png, size_t len, int width, int height, char job_id[AD_ID_LEN + 1],
                          ad_save *sv)
{
    ad_store *s = t->api->cfg.store;
    ad_err err = AD_ERR_INIT;
    memset(sv, 0, sizeof *sv);
    memcpy(sv->asset_id, t->asset_id, sizeof sv->asset_id);
    sv->new_asset = t->bg.disposition == AD_BG_ADD_NEW_ASSET;
    snprintf(sv->conversion_name, sizeof sv->conversion_name, "%s", t->bg.conversion_name);
    sv->inherit = t->bg.inherit;
    sv->png_size = (int64_t)len;
    sv->width = width;
    sv->height = height;
    ad_status st = AD_OK;
    if (sv->new_asset)
        st = ad_id_new(sv->new_asset_id, &err);
    if (st == AD_OK)
        st = s->ops->put_blob(s, png, len, sv->png_sha256, &err);
    if (st == AD_OK && t->bg.mode == AD_BG_SAVE_IMAGE)
        st = s->ops->apply_save(s, sv, &err);
    if (st == AD_OK && t->bg.mode == AD_BG_GET_IMAGE_AND_SAVE && (st = ad_id_new(job_id, &err)) == AD_OK &&
        (st = s->ops->insert_job(s, job_id, sv, &err)) == AD_OK)
        ad_jobrunner_kick(t->api->jobs);
    if (st == AD_ENOTFOUND)
        return ad_reply_error(404, "not_found", "asset_id", "the asset was deleted while it was being processed");
    if (st != AD_OK)
        return ad_reply_status(st, &err, NULL);
    return NULL;
}

static ad_http_resp *save_image_json(const cutout_task *t, const ad_save *sv)
{
    json_t *j;
    if (t->bg.disposition == AD_BG_ADD_CONVERSION)
        j = json_pack("{s:s, s:s, s:s, s:s, s:s}", "status", "ok", "mode", "save_image", "disposition",
                      "add_conversion", "asset_id", t->asset_id, "conversion_name", t->bg.conversion_name);
    else if (t->bg.inherit) /* lineage was set: say so (spec decision 2) */
        j = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "status", "ok", "mode", "save_image", "disposition",
                      "add_new_asset", "source_asset_id", t->asset_id, "metadata", "inherit", "new_asset_id",
                      sv->new_asset_id);
    else
        j = json_pack("{s:s, s:s, s:s, s:s}", "status", "ok", "mode", "save_image", "disposition", "add_new_asset",
                      "new_asset_id", sv->new_asset_id);
    ad_http_resp *r = ad_reply_json(200, j);
    ad_http_resp_header(r, "Cache-Control", "no-store");
    return r;
}

/* The answer once the PNG exists (just made, or from the cache): the save
 * for the save modes, then the JSON or the image. Takes png (freed). */
static ad_http_resp *finish(cutout_task *t, void *png, size_t png_len, int width, int height)
{
    ad_save sv;
    char job_id[AD_ID_LEN + 1] = "";
    ad_http_resp *r;
    if (t->bg.mode != AD_BG_GET_IMAGE && (r = save(t, png, png_len, width, height, job_id, &sv))) {
        free(png);
        return r;
    }
    if (t->bg.mode == AD_BG_SAVE_IMAGE) {
        free(png);
        return save_image_json(t, &sv);
    }
    r = ad_http_resp_take(200, "image/png", png, png_len);
    if (t->bg.mode == AD_BG_GET_IMAGE_AND_SAVE) {
        ad_http_resp_header(r, "X-Job-Id", job_id);
        if (sv.new_asset)
            ad_http_resp_header(r, "X-New-Asset-Id", sv.new_asset_id);
        ad_http_resp_header(r, "Cache-Control", "no-store");
    }
    return r;
}

/* Cut-outs depend on the source bytes and the model only (the asset's bytes
 * never change under its sha256; the model is fixed for the process). */
static void cache_key(const ad_api *api, const char *sha256, char key[160])
{
    snprintf(key, 160, "%s:%s", sha256, api->cfg.model_id ? api->cfg.model_id : "");
}

/* The answer from a cut-out already in the cache, or NULL on a miss. The
 * PNG is copied out: the cache may evict it while the answer is sent. */
static ad_http_resp *answer_from_cache(cutout_task *t)
{
    if (t->api->cfg.cache == NULL)
        return NULL;
    char key[160];
    cache_key(t->api, t->sha256, key);
    ad_lru_value *hit = ad_lru_get(t->api->cfg.cache, key);
    if (hit == NULL)
        return NULL;
    size_t len;
    const void *data = ad_lru_data(hit, &len);
    void *png = malloc(len ? len : 1);
    if (png)
        memcpy(png, data, len);
    ad_lru_value_unref(hit);
    if (png == NULL)
        return ad_reply_error(503, "out_of_memory", NULL, "out of memory");
    ad_http_resp *r = finish(t, png, len, t->width, t->height);
    ad_http_resp_header(r, "X-Cache", "hit");
    return r;
}

static void run_cutout(void *arg)
{
    cutout_task *t = arg;
    ad_api *api = t->api;
    ad_err err = AD_ERR_INIT;
    ad_http_resp *r = NULL;
    void *src = NULL, *png = NULL;
    size_t src_len = 0, png_len = 0;
    char path[4096];
    ad_cutout_timing timing = {0};
    ad_status st = AD_ETIMEOUT;
    double waited = ad_clock_ms() - t->queued_at;
    if (api->cfg.max_queue_wait_ms > 0 && waited > api->cfg.max_queue_wait_ms) {
        /* the client has likely given up; do not spend a model run on it */
        r = ad_reply_error(503, "busy", NULL, "waited %.0f ms for a free worker; retry later", waited);
        ad_http_resp_header(r, "Retry-After", "2");
        goto out;
    }
    /* a request for the same bytes may have finished while this one waited */
    if ((r = answer_from_cache(t)) != NULL) {
        st = AD_OK;
        goto out;
    }
    st = api->cfg.store->ops->blob_path(api->cfg.store, t->sha256, path, sizeof path, &err);
    if (st == AD_OK)
        st = ad_file_read(path, api->cfg.max_body, &src, &src_len, &err);
    if (st != AD_OK) {
        r = st == AD_ENOTFOUND ? ad_reply_error(404, "not_found", "asset_id", "the asset was deleted")
                               : ad_reply_status(st, &err, NULL);
        goto out;
    }
    ad_cutout_options opt = {.max_pixels = api->cfg.max_pixels, .threads = api->cfg.cutout_threads};
    st = ad_cutout_run(api->model, src, src_len, &opt, &png, &png_len, &timing, &err);
    if (st == AD_EUNSUPPORTED) {
        r = ad_reply_error(422, "unprocessable_image", "asset_id", "the asset's image cannot be decoded: %s", err.msg);
        goto out;
    }
    if (st == AD_ETOOBIG) {
        r = ad_reply_error(413, "too_many_pixels", "asset_id", "%s", err.msg);
        goto out;
    }
    if (st != AD_OK) {
        r = ad_reply_status(st, &err, NULL);
        goto out;
    }
    if (api->cfg.cache) {
        char key[160];
        cache_key(api, t->sha256, key);
        ad_lru_put(api->cfg.cache, key, png, png_len);
    }
    r = finish(t, png, png_len, timing.width, timing.height);
    png = NULL;
out:
    ad_log(AD_LOG_INFO, "bg_remove", "asset=%s mode=%s status=%s ms=%.0f infer_ms=%.0f%s%s", t->asset_id,
           ad_bg_mode_name(t->bg.mode), ad_status_name(st), timing.total, timing.infer, err.msg[0] ? " error=" : "",
           err.msg);
    free(src);
    free(png);
    ad_http_respond(t->req, r);
    free(t);
}

ad_http_resp *ad_handle_bg_remove(ad_api *api, ad_http_req *req, const char *id)
{
    ad_query q = {0};
    ad_err err = AD_ERR_INIT;
    ad_bg_error be;
    ad_bg_request bg;
    ad_http_resp *r = NULL;
    ad_asset a = {0};
    cutout_task *t = NULL;
    if (ad_query_parse(ad_http_query(req), 32, &q, &err) != AD_OK) {
        r = ad_reply_error(400, "invalid_parameter", NULL, "malformed query string: %s", err.msg);
        goto out;
    }
    if (ad_bg_params_parse(&q, &bg, &be) != AD_OK) {
        r = ad_reply_error(400, be.code, be.param, "%s", be.message);
        goto out;
    }
    ad_status st = api->cfg.store->ops->get_asset(api->cfg.store, id, &a, &err);
    if (st == AD_ENOTFOUND) {
        r = ad_reply_error(404, "not_found", "asset_id", "no asset with this id");
        goto out;
    }
    if (st != AD_OK) {
        r = ad_reply_status(st, &err, NULL);
        goto out;
    }
    if (a.width < 0) {
        r = ad_reply_error(415, "unsupported_media_type", "asset_id",
                           "the asset (%s) is not an image this service can decode", a.content_type);
        goto out;
    }
    if ((uint64_t)a.width * (uint64_t)a.height > api->cfg.max_pixels) {
        r = ad_reply_error(413, "too_many_pixels", "asset_id", "the image has %dx%d pixels; the limit is %llu",
                           a.width, a.height, (unsigned long long)api->cfg.max_pixels);
        goto out;
    }
    if ((t = calloc(1, sizeof *t)) == NULL) {
        r = ad_reply_error(503, "out_of_memory", NULL, "out of memory");
        goto out;
    }
    t->api = api;
    t->req = req;
    t->queued_at = ad_clock_ms();
    t->bg = bg;
    memcpy(t->asset_id, a.id, sizeof t->asset_id);
    memcpy(t->sha256, a.sha256, sizeof t->sha256);
    t->width = a.width;
    t->height = a.height;
    /* the same bytes through the same model: answer from memory, on this
     * thread (a copy and, for saves, a store write, like an upload) */
    if ((r = answer_from_cache(t)) != NULL) {
        free(t);
        goto out;
    }
    ad_http_defer(req);
    if (ad_workpool_submit(api->cfg.pool, run_cutout, t) != AD_OK) {
        free(t);
        int wait = ad_workpool_load(api->cfg.pool) * 2 / (api->cfg.workers > 0 ? api->cfg.workers : 1);
        char ra[16];
        snprintf(ra, sizeof ra, "%d", wait > 1 ? wait : 1);
        r = ad_reply_error(503, "busy", NULL, "all cut-out workers are busy and the queue is full; retry later");
        ad_http_resp_header(r, "Retry-After", ra);
        goto out;
    }
    /* the worker owns t and answers */
out:
    ad_asset_cleanup(&a);
    ad_query_cleanup(&q);
    return r;
}
