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
#include <unistd.h>

#include "api/bg_params.h"
#include "api/internal.h"
#include "api/masks.h"
#include "api/save.h"
#include "base/clock.h"
#include "base/log.h"
#include "base/lru.h"
#include "cutout/cutout.h"

typedef struct {
    ad_api *api;
    ad_http_req *req;
    ad_bg_request bg;
    ad_cutout_options opt;
    char asset_id[AD_ID_LEN + 1];
    char sha256[65];
    double queued_at;      /* ms, ad_clock_ms */
    int width, height;     /* the asset's, oriented: the cut-out's size */
    ad_mask_origin origin; /* where the result's mask came from (X-Mask) */
} cutout_task;

/* Record the save of a result: for save_image it is applied now; for
 * get_image_and_save it becomes a durable job. The blob is pinned from the
 * moment it is written until the row or the job holding it commits. */
static ad_http_resp *save(cutout_task *t, const ad_cutout_result *res, char job_id[AD_ID_LEN + 1], ad_save *sv)
{
    ad_store *s = t->api->cfg.store;
    ad_err err = AD_ERR_INIT;
    memset(sv, 0, sizeof *sv);
    memcpy(sv->asset_id, t->asset_id, sizeof sv->asset_id);
    sv->new_asset = t->bg.disposition == AD_BG_ADD_NEW_ASSET;
    snprintf(sv->conversion_name, sizeof sv->conversion_name, "%s", t->bg.conversion_name);
    sv->inherit = t->bg.inherit;
    snprintf(sv->content_type, sizeof sv->content_type, "%s", res->content_type);
    sv->width = res->width;
    sv->height = res->height;
    snprintf(sv->mask, sizeof sv->mask, "%s", ad_mask_origin_name(t->origin));
    ad_status st = AD_OK;
    if (sv->new_asset)
        st = ad_id_new(sv->new_asset_id, &err);
    if (st == AD_OK)
        st = ad_store_put_blob(s, res->data, res->len, &sv->result, &err);
    if (st == AD_OK && t->bg.mode == AD_BG_SAVE_IMAGE)
        st = ad_save_now(s, sv, &err);
    if (st == AD_OK && t->bg.mode == AD_BG_GET_IMAGE_AND_SAVE && (st = ad_save_enqueue(s, sv, job_id, &err)) == AD_OK)
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

/* remove.bg's headers: the result's size, where the subject is (in the
 * oriented original's pixels), and what made it. */
void ad_bg_describe_result(ad_api *api, const ad_cutout_result *res, int preset, ad_http_resp *r)
{
    char v[32];
    const struct {
        const char *name;
        int value;
    } ints[] = {{"X-Width", res->width},
                {"X-Height", res->height},
                {"X-Foreground-Top", res->subject.top},
                {"X-Foreground-Left", res->subject.left},
                {"X-Foreground-Width", res->subject.width},
                {"X-Foreground-Height", res->subject.height}};
    for (size_t i = 0; i < sizeof ints / sizeof ints[0]; i++) {
        snprintf(v, sizeof v, "%d", ints[i].value);
        ad_http_resp_header(r, ints[i].name, v);
    }
    snprintf(v, sizeof v, "%.0f", res->timing.total);
    ad_http_resp_header(r, "X-Processing-Time-Ms", v);
    const char *model = ad_api_model_id_for(api, preset);
    if (model)
        ad_http_resp_header(r, "X-Model", model);
}

/* The answer once the result exists (just made, or from the cache): the
 * save for the save modes, then the JSON or the image. Takes res->data. */
static ad_http_resp *finish(cutout_task *t, ad_cutout_result *res)
{
    ad_save sv;
    char job_id[AD_ID_LEN + 1] = "";
    ad_http_resp *r;
    if (t->bg.mode != AD_BG_GET_IMAGE && (r = save(t, res, job_id, &sv))) {
        ad_cutout_result_cleanup(res);
        return r;
    }
    if (t->bg.mode == AD_BG_SAVE_IMAGE) {
        ad_cutout_result_cleanup(res);
        r = save_image_json(t, &sv);
        ad_http_resp_header(r, "X-Mask", ad_mask_origin_name(t->origin));
        return r;
    }
    r = ad_http_resp_take(200, res->content_type, res->data, res->len);
    res->data = NULL;
    ad_bg_describe_result(t->api, res, t->opt.preset, r);
    ad_http_resp_header(r, "X-Mask", ad_mask_origin_name(t->origin));
    if (t->bg.mode == AD_BG_GET_IMAGE_AND_SAVE) {
        ad_http_resp_header(r, "X-Job-Id", job_id);
        if (sv.new_asset)
            ad_http_resp_header(r, "X-New-Asset-Id", sv.new_asset_id);
        ad_http_resp_header(r, "Cache-Control", "no-store");
    }
    return r;
}

/* A result depends on the source bytes (never changing under their
 * sha256), the model, and every option: the options struct is hashed
 * whole, so an option added later is part of the key without a change
 * here. */
static void cache_key(const cutout_task *t, char key[256])
{
    char opts[65];
    ad_cutout_options_key(&t->opt, opts);
    const char *model = ad_api_model_id_for(t->api, t->opt.preset);
    snprintf(key, 256, "%s:%s:%s", t->sha256, model ? model : "", opts);
}

/* What the cache keeps after a result's bytes: what its headers say. */
typedef struct {
    int width, height;
    ad_cutout_box subject;
} cached_trailer;

/* Keep a finished result (its bytes, then its trailer). */
static void cache_put(cutout_task *t, const ad_cutout_result *res)
{
    char key[256];
    cache_key(t, key);
    char *v = malloc(res->len + sizeof(cached_trailer));
    if (v == NULL)
        return;
    cached_trailer tr = {res->width, res->height, res->subject};
    memcpy(v, res->data, res->len);
    memcpy(v + res->len, &tr, sizeof tr);
    ad_lru_put(t->api->cfg.cache, key, v, res->len + sizeof tr);
    free(v);
}

/* The answer from a result already in the cache, or NULL on a miss. The
 * bytes are copied out: the cache may evict them while the answer is sent. */
static ad_http_resp *answer_from_cache(cutout_task *t)
{
    if (t->api->cfg.cache == NULL)
        return NULL;
    char key[256];
    cache_key(t, key);
    ad_lru_value *hit = ad_lru_get(t->api->cfg.cache, key);
    if (t->api->cfg.metrics)
        ad_metrics_add(t->api->cfg.metrics, "assetd_cutout_cache_total", hit ? "result=\"hit\"" : "result=\"miss\"", 1);
    if (hit == NULL)
        return NULL;
    size_t len;
    const char *data = ad_lru_data(hit, &len);
    cached_trailer tr = {0};
    len = len >= sizeof tr ? len - sizeof tr : 0;
    memcpy(&tr, data + len, sizeof tr);
    ad_cutout_result res = {.len = len, .width = tr.width, .height = tr.height, .subject = tr.subject};
    res.content_type = ad_cutout_content_type(&t->opt);
    res.data = malloc(len ? len : 1);
    if (res.data)
        memcpy(res.data, data, len);
    ad_lru_value_unref(hit);
    if (res.data == NULL)
        return ad_reply_error(503, "out_of_memory", NULL, "out of memory");
    t->origin = AD_MASK_STORED; /* no model pass ran for this answer */
    ad_http_resp *r = finish(t, &res);
    ad_http_resp_header(r, "X-Cache", "hit");
    return r;
}

ad_http_resp *ad_bg_waited_too_long(ad_api *api, double queued_at)
{
    double waited = ad_clock_ms() - queued_at;
    if (api->cfg.max_queue_wait_ms <= 0 || waited <= api->cfg.max_queue_wait_ms)
        return NULL;
    /* the client has likely given up; do not spend a model run on it */
    ad_http_resp *r = ad_reply_error(503, "busy", NULL, "waited %.0f ms for a free worker; retry later", waited);
    ad_http_resp_header(r, "Retry-After", "2");
    if (api->cfg.metrics)
        ad_metrics_add(api->cfg.metrics, "assetd_saturated_total", "", 1);
    return r;
}

ad_http_resp *ad_bg_cutout(ad_api *api, const void *src, size_t len, const ad_cutout_options *opt, const char *param,
                           const char *source, unsigned flags, ad_cutout_result *res, ad_mask_origin *origin,
                           ad_err *err)
{
    ad_cutout_limits lim = {.max_pixels = api->cfg.max_pixels, .threads = api->cfg.cutout_threads};
    ad_cutout_mask mask = {0};
    ad_model *model = NULL;
    char key[65];
    double t0 = ad_clock_ms();
    *origin = AD_MASK_COMPUTED;
    if (source) {
        ad_masks_key(api, source, opt->preset, key);
        if (ad_masks_load(api, key, opt->preset, &mask) == AD_OK)
            *origin = AD_MASK_STORED;
    }
    double mask_ms = ad_clock_ms() - t0;
    if (mask.data == NULL)
        model = ad_api_model_for(api, opt->preset, err);
    ad_status st =
        mask.data || model ? ad_cutout_run_mask(model, src, len, opt, &lim, &mask, flags, res, err) : AD_EBACKEND;
    if (st == AD_OK) {
        res->timing.mask = mask_ms;
        res->timing.total += mask_ms;
        if (source && *origin == AD_MASK_COMPUTED) {
            t0 = ad_clock_ms();
            ad_masks_keep(api, key, source, &mask);
            res->timing.mask_write = ad_clock_ms() - t0;
            res->timing.total += res->timing.mask_write;
        }
        if (source)
            ad_masks_count(api, ad_mask_origin_name(*origin));
    }
    ad_cutout_mask_cleanup(&mask);
    if (st == AD_OK && api->cfg.metrics) {
        /* a stage that did not run is not a 0 s sample of it */
        const int stored = *origin == AD_MASK_STORED;
        const struct {
            const char *stage;
            double ms;
            int ran;
        } stages[] = {{"mask", res->timing.mask, stored},    {"mask_write", res->timing.mask_write, !stored && source},
                      {"decode", res->timing.decode, 1},     {"resize", res->timing.resize, !stored},
                      {"infer", res->timing.infer, !stored}, {"encode", res->timing.compose + res->timing.encode, 1}};
        for (size_t i = 0; i < sizeof stages / sizeof stages[0]; i++) {
            if (!stages[i].ran)
                continue;
            char l[40];
            snprintf(l, sizeof l, "stage=\"%s\"", stages[i].stage);
            ad_metrics_observe(api->cfg.metrics, "assetd_cutout_stage_seconds", l, stages[i].ms / 1000.0);
        }
    }
    if (st == AD_EUNSUPPORTED)
        return ad_reply_error(422, "unprocessable_image", param, "the image cannot be decoded: %s", err->msg);
    if (st == AD_ETOOBIG)
        return ad_reply_error(413, "too_many_pixels", param, "%s", err->msg);
    if (st != AD_OK)
        return ad_reply_status(st, err, NULL);
    return NULL;
}

ad_http_resp *ad_bg_submit(ad_api *api, ad_http_req *req, void (*run)(void *task), void *task)
{
    ad_http_defer(req);
    if (ad_workpool_submit(api->cfg.pool, run, task) == AD_OK)
        return AD_DEFERRED; /* the worker owns the task and answers */
    int wait = ad_workpool_load(api->cfg.pool) * 2 / (api->cfg.workers > 0 ? api->cfg.workers : 1);
    char ra[16];
    snprintf(ra, sizeof ra, "%d", wait > 1 ? wait : 1);
    ad_http_resp *r =
        ad_reply_error(503, "busy", NULL, "all cut-out workers are busy and the queue is full; retry later");
    ad_http_resp_header(r, "Retry-After", ra);
    if (api->cfg.metrics)
        ad_metrics_add(api->cfg.metrics, "assetd_saturated_total", "", 1);
    return r;
}

static void run_cutout(void *arg)
{
    cutout_task *t = arg;
    ad_api *api = t->api;
    ad_err err = AD_ERR_INIT;
    ad_http_resp *r = NULL;
    void *src = NULL;
    size_t src_len = 0;
    ad_cutout_result res = {0};
    ad_status st = AD_ETIMEOUT;
    if ((r = ad_bg_waited_too_long(api, t->queued_at)) != NULL)
        goto out;
    if (api->cfg.test_cutout_delay_ms > 0) /* a test hook: a worker as slow as any CPU's */
        usleep((useconds_t)api->cfg.test_cutout_delay_ms * 1000);
    /* a request for the same bytes may have finished while this one waited */
    if ((r = answer_from_cache(t)) != NULL) {
        st = AD_OK;
        goto out;
    }
    st = ad_store_blob_read_all(api->cfg.store, t->sha256, api->cfg.max_body, &src, &src_len, &err);
    if (st != AD_OK) {
        r = st == AD_ENOTFOUND ? ad_reply_error(404, "not_found", "asset_id", "the asset was deleted")
                               : ad_reply_status(st, &err, NULL);
        goto out;
    }
    if ((r = ad_bg_cutout(api, src, src_len, &t->opt, "asset_id", t->sha256, 0, &res, &t->origin, &err)) != NULL) {
        st = err.code ? err.code : AD_EBACKEND;
        goto out;
    }
    st = AD_OK;
    if (api->cfg.cache)
        cache_put(t, &res);
    r = finish(t, &res);
out:
    ad_log(AD_LOG_INFO, "bg_remove", "asset=%s mode=%s status=%s mask=%s ms=%.0f infer_ms=%.0f%s%s", t->asset_id,
           ad_bg_mode_name(t->bg.mode), ad_status_name(st), ad_mask_origin_name(t->origin), res.timing.total,
           res.timing.infer, err.msg[0] ? " error=" : "", err.msg);
    free(src);
    ad_cutout_result_cleanup(&res);
    ad_api_finish(api, t->req, r);
    free(t);
}

ad_http_resp *ad_handle_bg_remove(ad_api *api, ad_http_req *req, const ad_route_args *args)
{
    const char *id = args->asset_id;
    ad_query q = {0};
    ad_err err = AD_ERR_INIT;
    ad_bg_error be;
    ad_bg_request bg;
    ad_cutout_options opt;
    ad_http_resp *r = NULL;
    ad_asset a = {0};
    cutout_task *t = NULL;
    if (ad_query_parse(ad_http_query(req), 32, &q, &err) != AD_OK) {
        r = ad_reply_error(400, "invalid_parameter", NULL, "malformed query string: %s", err.msg);
        goto out;
    }
    if (ad_bg_params_parse(&q, &bg, &opt, &be) != AD_OK) {
        r = ad_reply_error(400, be.code, be.param, "%s", be.message);
        goto out;
    }
    /* a GET that saves is a write */
    if (bg.mode != AD_BG_GET_IMAGE && args->key_scope < AD_SCOPE_WRITE) {
        r = ad_reply_scope(args->key_scope, AD_SCOPE_WRITE,
                           bg.mode == AD_BG_SAVE_IMAGE ? "mode=save_image" : "mode=get_image_and_save");
        goto out;
    }
    if ((r = ad_load_asset(api, id, &a)) != NULL)
        goto out;
    if (a.width < 0) {
        r = ad_reply_error(415, "unsupported_media_type", "asset_id",
                           "the asset (%s) is not an image this service can decode", a.content_type);
        goto out;
    }
    if ((uint64_t)a.width * (uint64_t)a.height > api->cfg.max_pixels) {
        r = ad_reply_error(413, "too_many_pixels", "asset_id", "the image has %dx%d pixels; the limit is %llu", a.width,
                           a.height, (unsigned long long)api->cfg.max_pixels);
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
    t->opt = opt;
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
    if ((r = ad_bg_submit(api, req, run_cutout, t)) != AD_DEFERRED)
        free(t);
out:
    ad_asset_cleanup(&a);
    ad_query_cleanup(&q);
    return r;
}
