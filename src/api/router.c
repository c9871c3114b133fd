/* router.c — the route table, authentication and readiness: the one place
 * that decides which handler a request reaches. Ids and names in the path are
 * validated here, before any handler, store query or file path sees them. */
#include <stdlib.h>
#include <string.h>

#include "api/internal.h"
#include "api/route.h"
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
    return api->cfg.store->ops->has_key(api->cfg.store, sha, &err) == AD_OK;
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

static ad_http_resp *route(ad_api *api, ad_http_req *req)
{
    const char *m = ad_http_method(req);
    ad_route rt;
    ad_route_parse(ad_http_path(req), &rt);
    if (rt.kind == AD_ROUTE_NONE)
        return ad_reply_error(404, "not_found", NULL, "no route for this path");
    /* every /api/v1 path needs a key, known route or not */
    if (rt.api && !authorised(api, req))
        return ad_reply_error(401, "unauthorized", "Authorization",
                              "a valid API key is required (Authorization: Bearer <key>)");
    if (!serving(api))
        return unavailable(rt.kind == AD_ROUTE_HEALTHZ ? "starting" : "unavailable");
    if (rt.kind == AD_ROUTE_API_UNKNOWN)
        return ad_reply_error(404, "not_found", NULL, "no route for this path");
    /* the method: GET covers HEAD (libmicrohttpd sends no body for HEAD) */
    int is_get = strcmp(m, "GET") == 0 || (strcmp(m, "HEAD") == 0 && rt.kind != AD_ROUTE_BG_REMOVE);
    int is_del = strcmp(m, "DELETE") == 0, is_post = strcmp(m, "POST") == 0, is_put = strcmp(m, "PUT") == 0;
    int allowed = (is_get && rt.kind != AD_ROUTE_CUSTOM_DATA) ||
                  (is_del && (rt.kind == AD_ROUTE_ASSET || rt.kind == AD_ROUTE_CONVERSION)) ||
                  (is_post && rt.kind == AD_ROUTE_ASSETS) || (is_put && rt.kind == AD_ROUTE_CUSTOM_DATA);
    if (!allowed) {
        const char *methods = ad_route_methods(rt.kind);
        ad_http_resp *r = ad_reply_error(405, "method_not_allowed", NULL, "method not allowed here (allowed: %s)",
                                         methods);
        ad_http_resp_header(r, "Allow", methods);
        return r;
    }
    if (rt.bad_id)
        return rt.kind == AD_ROUTE_JOB ? ad_reply_error(404, "not_found", "job_id", "no job with this id")
                                       : ad_reply_error(404, "not_found", "asset_id", "no asset with this id");
    if (rt.bad_name)
        return ad_reply_error(404, "not_found", "conversion_name", "no conversion with this name");
    switch (rt.kind) {
    case AD_ROUTE_HEALTHZ:
        return ad_reply_json(200, json_pack("{s:s}", "status", "ok"));
    case AD_ROUTE_ASSETS:
        return is_post ? ad_handle_upload(api, req) : ad_handle_list(api, req);
    case AD_ROUTE_ASSET:
        return is_del ? ad_handle_delete_asset(api, req, rt.id) : ad_handle_get_asset(api, req, rt.id);
    case AD_ROUTE_CUSTOM_DATA:
        return ad_handle_put_custom_data(api, req, rt.id);
    case AD_ROUTE_FILE:
        return ad_handle_get_file(api, req, rt.id);
    case AD_ROUTE_CONVERSION:
        return is_del ? ad_handle_delete_conversion(api, req, rt.id, rt.name)
                      : ad_handle_get_conversion(api, req, rt.id, rt.name);
    case AD_ROUTE_BG_REMOVE:
        return ad_handle_bg_remove(api, req, rt.id);
    case AD_ROUTE_JOB:
        return ad_handle_get_job(api, req, rt.id);
    default:
        return ad_reply_error(404, "not_found", NULL, "no route for this path");
    }
}

void ad_api_handle(void *app, ad_http_req *req)
{
    ad_api *api = app;
    ad_http_resp *r = route(api, req);
    if (r != NULL || !ad_http_deferred(req))
        ad_http_respond(req, r);
}
