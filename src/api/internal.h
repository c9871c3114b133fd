/* internal.h — what the api/ files share: the api's state, JSON replies in
 * the spec's error shape, and the handlers the route table names. Not used
 * outside api/. */
#ifndef AD_API_INTERNAL_H
#define AD_API_INTERNAL_H

#include <jansson.h>
#include <pthread.h>

#include "api/api.h"
#include "api/masks.h"
#include "api/query.h"
#include "api/route.h"
#include "cutout/cutout.h"

/* When each key was last recorded as used: the store is told at most once
 * a minute per key, not on every request. */
#define KEY_USE_SLOTS 64

/* A delivery render in progress and the requests waiting for it
 * (delivery.c; the api makes and destroys the lock, as its others). */
struct ad_delivery_flight;

struct ad_api {
    ad_api_config cfg;
    pthread_mutex_t flights_lock;
    struct ad_delivery_flight *flights; /* under flights_lock */
    char public_url[256];               /* what delivery URLs start with (ad_api_set_public_url) */
    ad_model *model;
    ad_model *preset_model[AD_PRESET_COUNT]; /* a preset's own model, opened on first use (under preset_lock) */
    pthread_mutex_t preset_lock;
    ad_jobrunner *jobs;
    int ready, draining; /* accessed with __atomic builtins */
    pthread_mutex_t key_lock;
    struct {
        char id[17];
        double at; /* s, monotonic */
    } key_use[KEY_USE_SLOTS];
};

/* ---- replies (each returns a response the caller hands to ad_http_respond) */

/* JSON body from j (reference stolen). */
ad_http_resp *ad_reply_json(int status, json_t *j);

/* {"error":{"code","message","param"}}; param may be NULL (JSON null). */
ad_http_resp *ad_reply_error(int status, const char *code, const char *param, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* An error from a lower module: HTTP status and code from its ad_status
 * (base/err.c's table), Retry-After on 503. */
ad_http_resp *ad_reply_status(ad_status st, const ad_err *err, const char *param);

/* Custom data as stored (*out, caller frees), or NULL: else the refusal
 * naming custom_data. */
ad_http_resp *ad_parse_custom_data(ad_api *api, const char *text, size_t len, char **out);

/* The body of an upload is streamed (upload.c): called when its headers
 * are in. */
ad_http_body_mode ad_upload_begin(ad_api *api, ad_http_req *req);
/* A file name we keep: 1..255 bytes of UTF-8, no control characters, no
 * path separators, not "." or "..". */
int ad_upload_filename_ok(const char *s);

/* What the API answers for a store call on one asset that did not go
 * well: NULL for AD_OK, 404 naming asset_id when it does not exist, the
 * status's own answer otherwise. The one place "no asset with this id" is
 * said. */
ad_http_resp *ad_reply_asset_status(ad_status st, const ad_err *err);

/* Load the asset id into *a (the caller cleans it up): NULL, or the answer
 * to give instead (ad_reply_asset_status's). */
ad_http_resp *ad_load_asset(ad_api *api, const char *id, ad_asset *a);

/* The asset as the API shows it (new reference; NULL on allocation failure). */
json_t *ad_asset_json(const ad_asset *a);

/* Send a stored blob: ETag, If-None-Match (304), single Range (206/416),
 * Content-Disposition naming filename (attachment for any type a browser
 * could run). immutable: the URL always names these bytes (an asset's
 * file). */
enum {
    AD_BLOB_IMMUTABLE = 1,  /* cached for a year: an asset's bytes never change */
    AD_BLOB_ATTACHMENT = 2, /* Content-Disposition: attachment, whatever the type */
    AD_BLOB_PUBLIC = 4,     /* a public URL's: the caller sets Cache-Control; no Content-Disposition */
};
ad_http_resp *ad_reply_blob(ad_api *api, ad_http_req *req, const char *sha256, const char *content_type,
                            const char *filename, int flags);

/* What a handler returns when it handed the request to another thread,
 * which answers it later. */
extern char ad_api_deferred_mark;
#define AD_DEFERRED ((ad_http_resp *)(void *)&ad_api_deferred_mark)

/* Answer a deferred request (from any thread), with the CORS headers the
 * router adds to the others. */
void ad_api_finish(ad_api *api, ad_http_req *req, ad_http_resp *r);

/* The id of the model a preset runs on (X-Model, the cache key). */
const char *ad_api_model_id_for(const ad_api *api, int preset);

/* The model a preset runs on (preset=fast: the smaller one, opened on
 * first use). NULL with err set when it cannot be opened. */
ad_model *ad_api_model_for(ad_api *api, int preset, ad_err *err);

/* remove.bg's result headers (X-Width, X-Height, X-Foreground-*,
 * X-Processing-Time-Ms, X-Model) on a cut-out answer. */
void ad_bg_describe_result(ad_api *api, const ad_cutout_result *res, int preset, ad_http_resp *r);

/* The cut-out steps both bg_remove routes share (bg_remove.c):
 * ad_bg_submit defers req and queues run(task) on the cut-out pool, or
 * returns the 503 (Retry-After) when the queue is full (the task is then
 * the caller's); ad_bg_waited_too_long is the 503 for a task that waited
 * past the limit (NULL: go on); ad_bg_cutout runs the pipeline on the
 * preset's model and returns NULL with *res filled, or the error answer
 * (422 / 413 naming param). source: the asset's blob, whose stored mask is
 * used or, once computed, kept (masks.h); NULL keeps nothing (the one-shot
 * route). flags: AD_CUTOUT_* (pixels for delivery). *origin says where the
 * mask came from. */
ad_http_resp *ad_bg_submit(ad_api *api, ad_http_req *req, void (*run)(void *task), void *task);
ad_http_resp *ad_bg_waited_too_long(ad_api *api, double queued_at);
ad_http_resp *ad_bg_cutout(ad_api *api, const void *src, size_t len, const ad_cutout_options *opt, const char *param,
                           const char *source, unsigned flags, ad_cutout_result *res, ad_mask_origin *origin,
                           ad_err *err);

/* 403 insufficient_scope naming Authorization: the key's scope have, what
 * it asked ("POST /api/v1/assets", "mode=save_image") and the scope need. */
ad_http_resp *ad_reply_scope(int have, int need, const char *what);

/* The origin delivery URLs start with: --public-url, else the listen
 * address (delivery.c). */
const char *ad_api_public_url(const ad_api *api);

/* ---- handlers (route.c's table): path parameters already validated */
ad_http_resp *ad_handle_healthz(ad_api *api, ad_http_req *req, const ad_route_args *a);
/* The bg_remove output options a delivery variant takes (NULL-ended). */
extern const char *const ad_delivery_bg_options[];
ad_http_resp *ad_handle_get_custom_data(ad_api *api, ad_http_req *req, const ad_route_args *a);
ad_http_resp *ad_handle_patch_custom_data(ad_api *api, ad_http_req *req, const ad_route_args *a);
ad_http_resp *ad_handle_mint(ad_api *api, ad_http_req *req, const ad_route_args *a);
ad_http_resp *ad_handle_delivery(ad_api *api, ad_http_req *req, const ad_route_args *a);
ad_http_resp *ad_handle_upload(ad_api *api, ad_http_req *req, const ad_route_args *a);
ad_http_resp *ad_handle_list(ad_api *api, ad_http_req *req, const ad_route_args *a);
ad_http_resp *ad_handle_get_asset(ad_api *api, ad_http_req *req, const ad_route_args *a);
ad_http_resp *ad_handle_delete_asset(ad_api *api, ad_http_req *req, const ad_route_args *a);
ad_http_resp *ad_handle_put_custom_data(ad_api *api, ad_http_req *req, const ad_route_args *a);
ad_http_resp *ad_handle_get_file(ad_api *api, ad_http_req *req, const ad_route_args *a);
ad_http_resp *ad_handle_get_conversion(ad_api *api, ad_http_req *req, const ad_route_args *a);
ad_http_resp *ad_handle_delete_conversion(ad_api *api, ad_http_req *req, const ad_route_args *a);
ad_http_resp *ad_handle_get_job(ad_api *api, ad_http_req *req, const ad_route_args *a);
ad_http_resp *ad_handle_list_jobs(ad_api *api, ad_http_req *req, const ad_route_args *a);
ad_http_resp *ad_handle_create_webhook(ad_api *api, ad_http_req *req, const ad_route_args *a);
ad_http_resp *ad_handle_list_webhooks(ad_api *api, ad_http_req *req, const ad_route_args *a);
ad_http_resp *ad_handle_delete_webhook(ad_api *api, ad_http_req *req, const ad_route_args *a);
ad_http_resp *ad_handle_webhook_deliveries(ad_api *api, ad_http_req *req, const ad_route_args *a);
ad_http_resp *ad_handle_metrics(ad_api *api, ad_http_req *req, const ad_route_args *a);
ad_http_resp *ad_handle_preview(ad_api *api, ad_http_req *req, const ad_route_args *a);
ad_http_resp *ad_handle_openapi(ad_api *api, ad_http_req *req, const ad_route_args *a);
ad_http_resp *ad_handle_console(ad_api *api, ad_http_req *req, const ad_route_args *a);

/* Declare the API's metric families (metrics.c). */
void ad_api_metrics_declare(ad_metrics *m);
/* Count a finished request: by route template, method and status class. */
void ad_api_metrics_count_request(ad_metrics *m, const ad_http_done *d);
/* Returns AD_DEFERRED when the cut-out went to the work pool. */
ad_http_resp *ad_handle_bg_remove(ad_api *api, ad_http_req *req, const ad_route_args *a);
/* POST /api/v1/bg_remove (oneshot.c): the body streams to a private
 * temporary file (ad_oneshot_begin), then the cut-out runs as bg_remove's */
ad_http_body_mode ad_oneshot_begin(ad_api *api, ad_http_req *req);

/* remove.bg's API (removebg.c): its body sink and its two routes. */
ad_http_body_mode ad_removebg_begin(ad_api *api, ad_http_req *req);
ad_http_resp *ad_handle_removebg(ad_api *api, ad_http_req *req, const ad_route_args *a);
ad_http_resp *ad_handle_removebg_account(ad_api *api, ad_http_req *req, const ad_route_args *a);

/* An error answer ({"error": {code, message, param}}) rewritten in
 * remove.bg's shape and statuses ({"errors": [{title, code, detail}]}: 400
 * for what the client sent, 403 for a key, 429, 5xx); other answers are
 * left alone. The router applies it to remove.bg's routes (reply.c). */
void ad_reply_removebg_shape(ad_http_resp *r);
ad_http_resp *ad_handle_oneshot(ad_api *api, ad_http_req *req, const ad_route_args *a);

#endif
