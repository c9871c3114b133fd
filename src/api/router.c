/* router.c — the route table, authentication and readiness: the one place
 * that decides which handler a request reaches. Ids and names in the path are
 * validated here, before any handler, store query or file path sees them. */
#include <stdlib.h>
#include <string.h>

#include "api/bg_params.h"
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
    return api->cfg.store->ops->has_key(api->cfg.store, sha, &err) == AD_OK;
}

/* Split "/api/v1/assets/x/y" into at most max segments; returns the count,
 * or -1 when the path is malformed (empty segment, too many). */
static int split(char *path, char **seg, int max)
{
    int n = 0;
    if (*path != '/')
        return -1;
    for (char *p = path + 1;;) {
        char *slash = strchr(p, '/');
        if (slash)
            *slash = '\0';
        if (*p == '\0' || n >= max)
            return -1;
        seg[n++] = p;
        if (!slash)
            return n;
        p = slash + 1;
    }
}

static ad_http_resp *not_found(const char *path)
{
    return ad_reply_error(404, "not_found", NULL, "no route for this path");
}

static ad_http_resp *bad_method(const char *allowed)
{
    ad_http_resp *r = ad_reply_error(405, "method_not_allowed", NULL, "method not allowed here (allowed: %s)", allowed);
    ad_http_resp_header(r, "Allow", allowed);
    return r;
}

static ad_http_resp *unknown_asset(const char *id)
{
    return ad_reply_error(404, "not_found", "asset_id", "no asset with this id");
}

static ad_http_resp *route(ad_api *api, ad_http_req *req)
{
    const char *method = ad_http_method(req);
    int get = strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0;
    int del = strcmp(method, "DELETE") == 0;
    char path[1024], *seg[8];
    if (strlen(ad_http_path(req)) >= sizeof path)
        return not_found(NULL);
    strcpy(path, ad_http_path(req));

    if (strcmp(path, "/healthz") == 0) {
        if (!get)
            return bad_method("GET, HEAD");
        if (!__atomic_load_n(&api->ready, __ATOMIC_ACQUIRE) || __atomic_load_n(&api->draining, __ATOMIC_ACQUIRE)) {
            ad_http_resp *r = ad_reply_error(503, "starting", NULL, "the model is loading or the server is stopping");
            ad_http_resp_header(r, "Retry-After", "1");
            return r;
        }
        return ad_reply_json(200, json_pack("{s:s}", "status", "ok"));
    }
    int n = split(path, seg, 8);
    if (n < 2 || strcmp(seg[0], "api") != 0 || strcmp(seg[1], "v1") != 0)
        return not_found(NULL);
    /* every /api/v1 route needs a key, known route or not */
    if (!authorised(api, req))
        return ad_reply_error(401, "unauthorized", "Authorization", "a valid API key is required (Authorization: Bearer <key>)");
    if (!__atomic_load_n(&api->ready, __ATOMIC_ACQUIRE) || __atomic_load_n(&api->draining, __ATOMIC_ACQUIRE)) {
        ad_http_resp *r = ad_reply_error(503, "unavailable", NULL, "the server is starting or stopping");
        ad_http_resp_header(r, "Retry-After", "1");
        return r;
    }
    if (n == 4 && strcmp(seg[2], "jobs") == 0) {
        if (!get)
            return bad_method("GET, HEAD");
        if (!ad_id_valid(seg[3]))
            return ad_reply_error(404, "not_found", "job_id", "no job with this id");
        return ad_handle_get_job(api, req, seg[3]);
    }
    if (n < 3 || strcmp(seg[2], "assets") != 0)
        return not_found(NULL);
    if (n == 3) {
        if (strcmp(method, "POST") == 0)
            return ad_handle_upload(api, req);
        if (get)
            return ad_handle_list(api, req);
        return bad_method("GET, HEAD, POST");
    }
    const char *id = seg[3];
    if (!ad_id_valid(id))
        return unknown_asset(id);
    if (n == 4) {
        if (get)
            return ad_handle_get_asset(api, req, id);
        if (del)
            return ad_handle_delete_asset(api, req, id);
        return bad_method("GET, HEAD, DELETE");
    }
    if (n == 5 && strcmp(seg[4], "custom_data") == 0) {
        if (strcmp(method, "PUT") == 0)
            return ad_handle_put_custom_data(api, req, id);
        return bad_method("PUT");
    }
    if (n == 5 && strcmp(seg[4], "file") == 0) {
        if (get)
            return ad_handle_get_file(api, req, id);
        return bad_method("GET, HEAD");
    }
    if (n == 6 && strcmp(seg[4], "conversions") == 0) {
        if (!ad_bg_conversion_name_valid(seg[5]))
            return ad_reply_error(404, "not_found", "conversion_name", "no conversion with this name");
        if (get)
            return ad_handle_get_conversion(api, req, id, seg[5]);
        if (del)
            return ad_handle_delete_conversion(api, req, id, seg[5]);
        return bad_method("GET, HEAD, DELETE");
    }
    if (n == 6 && strcmp(seg[4], "addons") == 0 && strcmp(seg[5], "bg_remove") == 0) {
        if (!get)
            return bad_method("GET");
        return ad_handle_bg_remove(api, req, id);
    }
    return not_found(NULL);
}

void ad_api_handle(void *app, ad_http_req *req)
{
    ad_api *api = app;
    ad_http_resp *r = route(api, req);
    if (r != NULL || !ad_http_deferred(req))
        ad_http_respond(req, r);
}
