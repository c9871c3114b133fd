/* router.c — authentication, readiness and dispatch from the route table
 * (route.c): the one place that decides which handler a request reaches.
 * When the store is remote, a request that needs it (the key check
 * included) leaves the event loop for the io pool, so a slow database
 * never stalls unrelated requests. */
#include <stdlib.h>
#include <string.h>

#include "api/internal.h"
#include "base/sha256.h"

ad_status ad_api_new(const ad_api_config *cfg, ad_api **out, ad_err *err)
{
    ad_api *api = calloc(1, sizeof *api);
    *out = NULL;
    if (api == NULL)
        return ad_err_set(err, AD_ENOMEM, "out of memory");
    api->cfg = *cfg;
    *out = api;
    return AD_OK;
}

void ad_api_set_ready(ad_api *api, ad_model *model, ad_jobrunner *jobs)
{
    api->model = model;
    api->jobs = jobs;
    __atomic_store_n(&api->ready, 1, __ATOMIC_RELEASE);
}

void ad_api_set_draining(ad_api *api) { __atomic_store_n(&api->draining, 1, __ATOMIC_RELEASE); }

void ad_api_free(ad_api *api) { free(api); }

/* Bearer key -> its SHA-256 -> a row in the store. Only the hash is stored
 * and compared, in the database's index: the time a lookup takes depends on
 * the hash of what the client sent, which tells it nothing about any key. */
static int authorised(ad_api *api, ad_http_req *req)
{
    const char *h = ad_http_header(req, "Authorization");
    if (h == NULL || strncasecmp(h, "Bearer ", 7) != 0)
        return 0;
    const char *key = h + 7;
    while (*key == ' ')
        key++;
    size_t n = strlen(key);
    if (n < 16 || n > 256)
        return 0;
    char sha[65];
    ad_sha256_hex(key, n, sha);
    ad_err err = AD_ERR_INIT;
    return ad_store_has_key(api->cfg.store, sha, &err) == AD_OK;
}

static ad_http_resp *unavailable(const char *code)
{
    ad_http_resp *r = ad_reply_error(503, code, NULL, "the server is starting (model loading) or stopping");
    ad_http_resp_header(r, "Retry-After", "1");
    return r;
}

static int serving(ad_api *api)
{
    return __atomic_load_n(&api->ready, __ATOMIC_ACQUIRE) && !__atomic_load_n(&api->draining, __ATOMIC_ACQUIRE);
}

ad_http_resp *ad_handle_healthz(ad_api *api, ad_http_req *req, const ad_route_args *a)
{
    (void)api, (void)req, (void)a;
    return ad_reply_json(200, json_pack("{s:s}", "status", "ok"));
}

static ad_http_resp *route(ad_api *api, ad_http_req *req, const ad_route_match *m)
{
    int healthz = m->route && m->route->handler == ad_handle_healthz;
    if (m->status == AD_MATCH_NONE && !m->api)
        return ad_reply_error(404, "not_found", NULL, "no route for this path");
    /* every /api/v1 path needs a key, known route or not */
    if ((m->api || (m->route && m->route->auth)) && !authorised(api, req))
        return ad_reply_error(401, "unauthorized", "Authorization",
                              "a valid API key is required (Authorization: Bearer <key>)");
    if (!serving(api))
        return unavailable(healthz ? "starting" : "unavailable");
    switch (m->status) {
    case AD_MATCH_NONE:
        return ad_reply_error(404, "not_found", NULL, "no route for this path");
    case AD_MATCH_METHOD: {
        ad_http_resp *r =
            ad_reply_error(405, "method_not_allowed", NULL, "method not allowed here (allowed: %s)", m->allow);
        ad_http_resp_header(r, "Allow", m->allow);
        return r;
    }
    case AD_MATCH_BAD_PARAM:
        if (strcmp(m->bad_param, "job_id") == 0)
            return ad_reply_error(404, "not_found", "job_id", "no job with this id");
        if (strcmp(m->bad_param, "conversion_name") == 0)
            return ad_reply_error(404, "not_found", "conversion_name", "no conversion with this name");
        return ad_reply_error(404, "not_found", "asset_id", "no asset with this id");
    case AD_MATCH_OK:
        break;
    }
    if (m->route->query) {
        ad_query q = {0};
        ad_http_resp *r = NULL;
        int ok = ad_query_strict(req, m->route->query, &q, &r);
        ad_query_cleanup(&q);
        if (!ok)
            return r;
    }
    return m->route->handler(api, req, &m->args);
}

typedef struct {
    ad_api *api;
    ad_http_req *req;
    ad_route_match m;
} offloaded;

char ad_api_deferred_mark;

static void answer(ad_api *api, ad_http_req *req, const ad_route_match *m)
{
    ad_http_resp *r = route(api, req, m);
    if (r != AD_DEFERRED)
        ad_http_respond(req, r);
}

static void run_offloaded(void *arg)
{
    offloaded *o = arg;
    answer(o->api, o->req, &o->m);
    free(o);
}

ad_http_body_mode ad_api_on_headers(void *app, ad_http_req *req)
{
    ad_api *api = app;
    ad_route_match m;
    ad_route_find(ad_http_method(req), ad_http_path(req), &m);
    if (m.status != AD_MATCH_OK || !(m.route->flags & AD_ROUTE_STREAM_BODY))
        return AD_HTTP_BODY_MEMORY;
    /* a body nobody will accept is not worth a byte of disk: it is read
     * and dropped, and the handler's refusal answers it */
    if (!serving(api) || (m.route->auth && !authorised(api, req)))
        return AD_HTTP_BODY_DISCARD;
    return ad_upload_begin(api, req);
}

void ad_api_handle(void *app, ad_http_req *req)
{
    ad_api *api = app;
    ad_route_match m;
    ad_route_find(ad_http_method(req), ad_http_path(req), &m);
    int needs_store = m.api || (m.route && (m.route->auth || (m.route->flags & AD_ROUTE_STORE)));
    int offload = m.route && (m.route->flags & AD_ROUTE_OFFLOAD);
    if (api->cfg.io_pool && ((needs_store && ad_store_remote(api->cfg.store)) || offload)) {
        offloaded *o = malloc(sizeof *o);
        if (o) {
            o->api = api;
            o->req = req;
            o->m = m;
            ad_http_defer(req);
            if (ad_workpool_submit(api->cfg.io_pool, run_offloaded, o) == AD_OK)
                return;
            free(o);
            ad_http_resp *r = ad_reply_error(503, "busy", NULL, "the server is saturated; retry later");
            ad_http_resp_header(r, "Retry-After", "1");
            ad_http_respond(req, r);
            return;
        }
    }
    answer(api, req, &m);
}
