/* api.h — the HTTP API of assetd: routes, authentication, and the handlers
 * for assets, conversions, jobs and the bg_remove addon. It is the server's
 * request handler (ad_http_handler); cheap calls are answered on the I/O
 * thread, cut-outs are deferred to the work pool. JSON (jansson) lives here
 * and nowhere else. See the README's API section for the contract. */
#ifndef AD_API_API_H
#define AD_API_API_H

#include <stddef.h>
#include <stdint.h>

#include "base/lru.h"
#include "base/metrics.h"
#include "base/workpool.h"
#include "cutout/options.h"
#include "http/server.h"
#include "infer/model.h"
#include "job/runner.h"
#include "net/guard.h"
#include "store/store.h"

typedef struct {
    ad_store *store;          /* lent; must outlive the api */
    ad_workpool *pool;        /* lent: cut-outs run here */
    ad_workpool *io_pool;     /* lent: uploads, and requests that call a remote store, run here (NULL: on the
                                 I/O thread) */
    int workers;              /* the pool's threads, for Retry-After */
    int cutout_threads;       /* threads of one cut-out's per-pixel passes */
    uint64_t max_pixels;      /* larger images get 413 */
    size_t max_body;          /* largest blob read back for processing */
    size_t max_custom_data;   /* bytes */
    double max_queue_wait_ms; /* a cut-out that waited longer is answered 503 unrun */
    int test_cutout_delay_ms; /* a test hook: each cut-out worker pauses this long before it runs (0: none) */
    ad_lru *cache;            /* lent; finished cut-outs by source sha256 (NULL: none) */
    const char *model_id;     /* lent; names the model in cache keys */
    const char *cors_origins; /* lent; comma-separated origins allowed from browsers, "*" any, "" none */
    ad_metrics *metrics;      /* lent; NULL: no /metrics (its families are declared by ad_api_new) */
    /* presets with a model of their own (fast: a smaller side, best: a
     * larger one), opened on first use by open_preset_model; a preset whose
     * model_id_preset is NULL runs on the main model */
    ad_status (*open_preset_model)(void *ctx, int preset, ad_model **out, ad_err *err);
    void *open_preset_ctx;
    const char *model_id_preset[AD_PRESET_COUNT]; /* lent; names each such preset's model */
    int model_side[AD_PRESET_COUNT];              /* each preset's model input side (a stored mask's) */
    int64_t mask_store_bytes;                     /* stored masks' bound in all; 0: keep none (api/masks.h) */
    /* delivery (delivery.c): the secrets that sign URLs (the first signs,
     * every one verifies; none: minting answers 503), where the variants'
     * renders run, and the variants' bound in the store (0: keep none) */
    const char *const *delivery_secrets; /* lent */
    int ndelivery_secrets;
    ad_workpool *render_pool; /* lent */
    int64_t variant_store_bytes;
    struct ad_ratelimit *ratelimit; /* lent; per-key budgets (api/ratelimit.h), NULL: none */
    const char *tmp_dir;            /* lent; where one-shot bodies wait, unlinked (NULL: $TMPDIR or /tmp) */
    const ad_guard_policy *guard;   /* lent; where requests made for users may go, NULL: public addresses only */
    int64_t fetch_timeout_ms;       /* an image_url's whole time */
} ad_api_config;

typedef struct ad_api ad_api;

ad_status ad_api_new(const ad_api_config *cfg, ad_api **out, ad_err *err);

/* The model is loaded and jobs run: from now on /healthz answers 200 and
 * /api/v1 is served (503 before). model and jobs are lent and must outlive
 * the api. Thread-safe. */
void ad_api_set_ready(ad_api *api, ad_model *model, ad_jobrunner *jobs);

/* What delivery URLs start with: "scheme://host[:port][/prefix]" (a
 * trailing slash dropped). Call before serving. */
void ad_api_set_public_url(ad_api *api, const char *url);

/* Requests from now on get 503 (shutting down). Thread-safe. */
void ad_api_set_draining(ad_api *api);

/* The ad_http_handler: app is the ad_api. */
void ad_api_handle(void *app, ad_http_req *req);

/* The ad_http_headers_fn: how a request's body is taken (uploads are
 * streamed into the store as they arrive). */
ad_http_body_mode ad_api_on_headers(void *app, ad_http_req *req);

/* The ad_http_done_fn: one access-log line per request (time, request id,
 * method, route template, status, bytes, duration, key id; never a key). */
void ad_api_on_done(void *app, const ad_http_done *done);

void ad_api_free(ad_api *api);

#endif
