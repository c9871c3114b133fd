/* router.c — authentication, readiness and dispatch from the route table
 * (route.c): the one place that decides which handler a request reaches.
 * When the store is remote, a request that needs it (the key check
 * included) leaves the event loop for the io pool, so a slow database
 * never stalls unrelated requests. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api/internal.h"
#include "api/ratelimit.h"
#include "base/clock.h"
#include "base/log.h"
#include "base/sha256.h"
#include "cutout/options.h"

ad_status ad_api_new(const ad_api_config *cfg, ad_api **out, ad_err *err)
{
    ad_api *api = calloc(1, sizeof *api);
    *out = NULL;
    if (api == NULL)
        return ad_err_set(err, AD_ENOMEM, "out of memory");
    api->cfg = *cfg;
    if (cfg->metrics)
        ad_api_metrics_declare(cfg->metrics);
    pthread_mutex_init(&api->key_lock, NULL);
    pthread_mutex_init(&api->preset_lock, NULL);
    pthread_mutex_init(&api->flights_lock, NULL);
    *out = api;
    return AD_OK;
}

void ad_api_set_public_url(ad_api *api, const char *url)
{
    snprintf(api->public_url, sizeof api->public_url, "%s", url ? url : "");
    size_t n = strlen(api->public_url);
    while (n > 0 && api->public_url[n - 1] == '/')
        api->public_url[--n] = '\0';
}

const char *ad_api_public_url(const ad_api *api) { return api->public_url; }

void ad_api_set_ready(ad_api *api, ad_model *model, ad_jobrunner *jobs)
{
    api->model = model;
    api->jobs = jobs;
    __atomic_store_n(&api->ready, 1, __ATOMIC_RELEASE);
}

/* 1 when preset runs on a model of its own. */
static int own_model(const ad_api *api, int preset)
{
    return preset >= 0 && preset < AD_PRESET_COUNT && api->cfg.open_preset_model && api->cfg.model_id_preset[preset];
}

const char *ad_api_model_id_for(const ad_api *api, int preset)
{
    return own_model(api, preset) ? api->cfg.model_id_preset[preset] : api->cfg.model_id;
}

ad_model *ad_api_model_for(ad_api *api, int preset, ad_err *err)
{
    if (!own_model(api, preset))
        return api->model;
    /* the first request opens it (a second or so with the optimised-model
     * cache); the others wait for it here rather than open another */
    pthread_mutex_lock(&api->preset_lock);
    if (api->preset_model[preset] == NULL &&
        api->cfg.open_preset_model(api->cfg.open_preset_ctx, preset, &api->preset_model[preset], err) != AD_OK)
        api->preset_model[preset] = NULL;
    ad_model *m = api->preset_model[preset];
    pthread_mutex_unlock(&api->preset_lock);
    return m;
}

void ad_api_set_draining(ad_api *api) { __atomic_store_n(&api->draining, 1, __ATOMIC_RELEASE); }

void ad_api_free(ad_api *api)
{
    if (api == NULL)
        return;
    pthread_mutex_destroy(&api->key_lock);
    pthread_mutex_destroy(&api->preset_lock);
    pthread_mutex_destroy(&api->flights_lock);
    for (int p = 0; p < AD_PRESET_COUNT; p++)
        ad_model_close(api->preset_model[p]);
    free(api);
}

static double mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Record a key's use, at most once a minute per key (a write each request
 * would cost a commit each). */
static void note_key_use(ad_api *api, const char *id)
{
    double now = mono_s();
    int slot = -1, oldest = 0, due = 0;
    pthread_mutex_lock(&api->key_lock);
    for (int i = 0; i < KEY_USE_SLOTS && slot < 0; i++)
        if (strcmp(api->key_use[i].id, id) == 0)
            slot = i;
    for (int i = 0; slot < 0 && i < KEY_USE_SLOTS; i++)
        if (api->key_use[i].at < api->key_use[oldest].at)
            oldest = i;
    if (slot < 0) {
        slot = oldest;
        snprintf(api->key_use[slot].id, sizeof api->key_use[slot].id, "%s", id);
        api->key_use[slot].at = 0;
    }
    if (api->key_use[slot].at == 0 || now - api->key_use[slot].at > 60) {
        api->key_use[slot].at = now;
        due = 1;
    }
    pthread_mutex_unlock(&api->key_lock);
    ad_err err = AD_ERR_INIT;
    if (due)
        ad_store_touch_key(api->cfg.store, id, &err);
}

/* Bearer key -> its SHA-256 -> a row in the store. Only the hash is stored
 * and compared, in the database's index: the time a lookup takes depends on
 * the hash of what the client sent, which tells it nothing about any key. */
/* The key's id into the request (access log) and id_out, *scope its
 * scope. */
static ad_status check_key(ad_api *api, ad_http_req *req, const ad_route_def *route, int *scope, char id_out[17],
                           ad_err *err)
{
    const char *h = ad_http_header(req, "Authorization");
    const char *key = NULL;
    if (h && strncasecmp(h, "Bearer ", 7) == 0)
        key = h + 7;
    else if (h == NULL && route && (route->flags & AD_ROUTE_REMOVEBG))
        key = ad_http_header(req, "X-Api-Key"); /* remove.bg's clients send it so */
    if (key == NULL)
        return AD_ENOTFOUND;
    while (*key == ' ')
        key++;
    size_t n = strlen(key);
    if (n < 16 || n > 256)
        return AD_ENOTFOUND;
    char sha[65], id[17];
    ad_sha256_hex(key, n, sha);
    ad_status st = ad_store_has_key(api->cfg.store, sha, id, scope, err);
    if (st != AD_OK)
        return st;
    ad_http_set_subject(req, id);
    note_key_use(api, id);
    memcpy(id_out, id, sizeof id);
    return AD_OK;
}

static const char *const bucket_names[AD_BUCKET_COUNT] = {"requests", "cutouts"};

/* The IETF RateLimit-Policy and RateLimit fields (draft-ietf-httpapi-
 * ratelimit-headers) of the budgets a request drew on: a quota of burst
 * per the seconds a full bucket takes to refill; what is left, and when it
 * is full again. */
static void rate_headers(ad_http_resp *r, const ad_ratelimit_take *t)
{
    char policy[160] = "", now[160] = "";
    for (int b = 0; b < AD_BUCKET_COUNT; b++) {
        if (!t[b].limited)
            continue;
        size_t p = strlen(policy), n = strlen(now);
        int w = (t[b].burst + t[b].rate - 1) / t[b].rate;
        snprintf(policy + p, sizeof policy - p, "%s\"%s\";q=%d;w=%d", p ? ", " : "", bucket_names[b], t[b].burst,
                 w < 1 ? 1 : w);
        snprintf(now + n, sizeof now - n, "%s\"%s\";r=%d;t=%d", n ? ", " : "", bucket_names[b], t[b].remaining,
                 t[b].reset_s);
    }
    if (policy[0]) {
        ad_http_resp_header(r, "RateLimit-Policy", policy);
        ad_http_resp_header(r, "RateLimit", now);
    }
}

/* remove.bg's X-RateLimit-Limit, -Remaining and -Reset (unix seconds) of
 * the tightest budget drawn on, into out (may be NULL) and onto r (may be
 * NULL). */
static void removebg_rate(const ad_ratelimit_take *t, char out[3][24], ad_http_resp *r)
{
    int b = t[AD_BUCKET_CUTOUTS].limited ? AD_BUCKET_CUTOUTS : AD_BUCKET_REQUESTS;
    if (!t[b].limited)
        return;
    char v[3][24];
    snprintf(v[0], sizeof v[0], "%d", t[b].burst);
    snprintf(v[1], sizeof v[1], "%d", t[b].remaining);
    snprintf(v[2], sizeof v[2], "%lld", (long long)time(NULL) + t[b].reset_s);
    static const char *const names[3] = {"X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset"};
    for (int i = 0; i < 3; i++) {
        if (out)
            memcpy(out[i], v[i], sizeof v[i]);
        if (r)
            ad_http_resp_header(r, names[i], v[i]);
    }
}

/* 429 for the budget b that ran out. */
static ad_http_resp *rate_limited(const ad_ratelimit_take *t, ad_bucket b)
{
    char ra[16];
    ad_http_resp *r = ad_reply_error(429, "rate_limited", "Authorization",
                                     "this key may make %d %s a second (bursts of %d); retry in %d s", t[b].rate,
                                     bucket_names[b], t[b].burst, t[b].retry_s);
    snprintf(ra, sizeof ra, "%d", t[b].retry_s);
    ad_http_resp_header(r, "Retry-After", ra);
    rate_headers(r, t);
    return r;
}

/* The scope a route asks of a key: admin for the routes that say so,
 * read for GET and HEAD, write for the rest (a handler may ask for more:
 * bg_remove's save modes are writes made by a GET). */
static int needed_scope(const ad_route_def *r, const char *method)
{
    if (r->flags & AD_ROUTE_ADMIN)
        return AD_SCOPE_ADMIN;
    return strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0 ? AD_SCOPE_READ : AD_SCOPE_WRITE;
}

static int authorised(ad_api *api, ad_http_req *req, const ad_route_def *r)
{
    ad_err err = AD_ERR_INIT;
    int scope = AD_SCOPE_READ;
    char id[17];
    return check_key(api, req, r, &scope, id, &err) == AD_OK && scope >= needed_scope(r, ad_http_method(req));
}

ad_http_resp *ad_reply_scope(int have, int need, const char *what)
{
    ad_http_resp *r =
        ad_reply_error(403, "insufficient_scope", "Authorization", "this key's scope is %s; %s needs a key of scope %s",
                       ad_scope_name(have), what, ad_scope_name(need));
    return r;
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

/* Ready, or which dependency is not answering: a load balancer takes the
 * instance out, an operator reads why (the store's breakers, no call). */
ad_http_resp *ad_handle_healthz(ad_api *api, ad_http_req *req, const ad_route_args *a)
{
    (void)req, (void)a;
    ad_store_health h;
    if (api->cfg.store && ad_store_down(api->cfg.store, &h)) {
        ad_http_resp *r;
        if (h.database[0] && h.object_store[0])
            r = ad_reply_error(503, "dependency_down", "database",
                               "the database (%s) and the object store (%s) are not answering", h.database,
                               h.object_store);
        else if (h.database[0])
            r = ad_reply_error(503, "dependency_down", "database", "the database is not answering (%s)", h.database);
        else
            r = ad_reply_error(503, "dependency_down", "object_store", "the object store is not answering (%s)",
                               h.object_store);
        ad_http_resp_header(r, "Retry-After", "1");
        return r;
    }
    return ad_reply_json(200, json_pack("{s:s}", "status", "ok"));
}

/* The request's Origin when CORS allows it, else NULL. */
static const char *allowed_origin(ad_api *api, ad_http_req *req)
{
    const char *origin = ad_http_header(req, "Origin");
    const char *list = api->cfg.cors_origins;
    if (origin == NULL || list == NULL || *list == '\0')
        return NULL;
    size_t ol = strlen(origin);
    for (const char *p = list; *p;) {
        while (*p == ' ' || *p == ',')
            p++;
        size_t l = strcspn(p, ", ");
        if ((l == 1 && *p == '*') || (l == ol && strncmp(p, origin, l) == 0))
            return origin;
        p += l;
    }
    return NULL;
}

/* What a browser script may read of an answer besides the basics. */
#define EXPOSED                                                                                                      \
    "X-Job-Id, X-New-Asset-Id, X-Request-Id, X-Cache, X-Mask, X-Key-Scope, Retry-After, ETag, Content-Disposition, " \
    "Content-Range, Location"

static void add_cors(ad_api *api, ad_http_req *req, ad_http_resp *r)
{
    /* a deferred request is not the caller's any more: its answer may have
     * been sent and the request freed by now (an offloaded handler whose
     * worker finished first), so not a byte of it is read */
    if (r == NULL || r == AD_DEFERRED)
        return;
    const char *origin = allowed_origin(api, req);
    if (origin == NULL)
        return;
    ad_http_resp_header(r, "Access-Control-Allow-Origin", origin);
    ad_http_resp_header(r, "Vary", "Origin");
    ad_http_resp_header(r, "Access-Control-Expose-Headers", EXPOSED);
}

/* A CORS preflight: answered without a key (a browser sends none with it),
 * 204 with what the path allows when the origin is allowed, else 403. */
static ad_http_resp *preflight(ad_api *api, ad_http_req *req, const char *path)
{
    ad_route_match any;
    ad_route_find("OPTIONS", path, &any);
    if (allowed_origin(api, req) == NULL)
        return ad_reply_error(403, "cors_origin_not_allowed", "Origin",
                              "this origin may not call the API from a browser (--cors-origins)");
    if (any.status != AD_MATCH_METHOD)
        return ad_reply_error(404, "not_found", NULL, "no route for this path");
    ad_http_resp *r = ad_http_resp_take(204, NULL, NULL, 0);
    ad_http_resp_header(r, "Access-Control-Allow-Methods", any.allow);
    ad_http_resp_header(r, "Access-Control-Allow-Headers",
                        "Authorization, Content-Type, Range, If-None-Match, If-Range, X-Request-Id");
    ad_http_resp_header(r, "Access-Control-Max-Age", "600");
    return r;
}

static int is_preflight(ad_http_req *req)
{
    return strcmp(ad_http_method(req), "OPTIONS") == 0 && ad_http_header(req, "Origin") &&
           ad_http_header(req, "Access-Control-Request-Method");
}

static int needs_key(const ad_route_match *m)
{
    if (m->status == AD_MATCH_OK)
        return m->route->auth;
    return m->api || (m->route && m->route->auth);
}

static ad_http_resp *route(ad_api *api, ad_http_req *req, ad_route_match *m)
{
    int healthz = m->route && m->route->handler == ad_handle_healthz;
    /* a delivery URL with a byte changed into another shape is as forged
     * as one with a byte changed in place */
    if (m->status == AD_MATCH_NONE && strncmp(ad_http_path(req), "/d/", 3) == 0) {
        ad_http_resp *r =
            ad_reply_error(403, "invalid_signature", "signature", "this URL's signature does not match it");
        ad_http_resp_header(r, "Access-Control-Allow-Origin", "*");
        ad_http_resp_header(r, "Cache-Control", "no-store");
        return r;
    }
    if (m->status == AD_MATCH_NONE && !m->api)
        return ad_reply_error(404, "not_found", NULL, "no route for this path");
    /* every /api/v1 path needs a key, known route or not, but the public
     * routes of the table; a store that cannot say is the server's trouble
     * (503), not the client's (401) */
    int scope = -1;
    char key_id[17] = "";
    if (needs_key(m)) {
        ad_err err = AD_ERR_INIT;
        ad_status st = check_key(api, req, m->route, &scope, key_id, &err);
        if (st == AD_ENOTFOUND)
            return ad_reply_error(401, "unauthorized", "Authorization",
                                  "a valid API key is required (Authorization: Bearer <key>)");
        if (st != AD_OK)
            return ad_reply_status(st == AD_EBUSY || st == AD_EIO || st == AD_EBACKEND ? AD_EBUSY : st, &err, NULL);
    }
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
        if (m->route->flags & AD_ROUTE_SIGNED) /* any change to a signed URL */
            return ad_reply_error(403, "invalid_signature", "signature", "this URL's signature does not match it");
        if (strcmp(m->bad_param, "job_id") == 0)
            return ad_reply_error(404, "not_found", "job_id", "no job with this id");
        if (strcmp(m->bad_param, "webhook_id") == 0)
            return ad_reply_error(404, "not_found", "webhook_id", "no webhook with this id");
        if (strcmp(m->bad_param, "conversion_name") == 0)
            return ad_reply_error(404, "not_found", "conversion_name", "no conversion with this name");
        return ad_reply_error(404, "not_found", "asset_id", "no asset with this id");
    case AD_MATCH_OK:
        break;
    }
    ad_ratelimit_take takes[AD_BUCKET_COUNT] = {{0}};
    if (scope >= 0 && api->cfg.ratelimit) {
        /* the key's budgets: requests, and cut-outs for the routes that
         * make them */
        double now = ad_clock_ms() / 1000.0;
        for (int b = 0; b < AD_BUCKET_COUNT; b++) {
            if (b == AD_BUCKET_CUTOUTS && !(m->route->flags & AD_ROUTE_OPTIONS) &&
                !((m->route->flags & AD_ROUTE_REMOVEBG) && strcmp(m->route->method, "POST") == 0))
                continue;
            ad_ratelimit_take_one(api->cfg.ratelimit, key_id, (ad_bucket)b, now, &takes[b]);
            if (!takes[b].allowed) {
                ad_http_resp *r = rate_limited(takes, (ad_bucket)b);
                if (m->route->flags & AD_ROUTE_REMOVEBG)
                    removebg_rate(takes, m->args.ratelimit, r);
                return r;
            }
        }
        if (m->route->flags & AD_ROUTE_REMOVEBG)
            removebg_rate(takes, m->args.ratelimit, NULL);
    }
    if (scope >= 0) {
        /* the route's scope (a key that can do less is told what it would need) */
        int need = needed_scope(m->route, ad_http_method(req));
        if (scope < need) {
            char what[96];
            snprintf(what, sizeof what, "%s %s", ad_http_method(req), m->route->path);
            return ad_reply_scope(scope, need, what);
        }
        m->args.key_scope = scope;
    }
    /* the query, parsed once from the route's rows: the handler sees values */
    const char *param;
    ad_err qerr = AD_ERR_INIT;
    /* a public route without parameters takes any query and ignores it
     * (a cache-busting health check: /healthz?t=...); the API's routes
     * refuse what they do not know, by name */
    int public_plain = !m->route->auth && m->route->nparams == 0 && !(m->route->flags & AD_ROUTE_OPTIONS);
    if (!(m->route->flags & (AD_ROUTE_SIGNED | AD_ROUTE_REMOVEBG)) && !public_plain &&
        ad_route_parse_query(m, ad_http_query(req), &param, &qerr) != AD_OK)
        return ad_reply_error(400, "invalid_parameter", param, "%s", qerr.msg);
    ad_http_resp *r = m->route->handler(api, req, &m->args);
    /* what the key may do, for a client that adapts to it (the console) */
    if (scope >= 0 && r && r != AD_DEFERRED) {
        ad_http_resp_header(r, "X-Key-Scope", ad_scope_name(scope));
        rate_headers(r, takes);
        if (m->route->flags & AD_ROUTE_REMOVEBG)
            removebg_rate(takes, NULL, r);
    }
    return r;
}

typedef struct {
    ad_api *api;
    ad_http_req *req;
    ad_route_match m;
} offloaded;

char ad_api_deferred_mark;

/* remove.bg's routes answer every refusal in its error shape. */
static void dialect(const ad_route_def *route, ad_http_resp *r)
{
    if (route && (route->flags & AD_ROUTE_REMOVEBG) && r && r != AD_DEFERRED)
        ad_reply_removebg_shape(r);
}

static void answer(ad_api *api, ad_http_req *req, ad_route_match *m)
{
    ad_http_resp *r = is_preflight(req) ? preflight(api, req, ad_http_path(req)) : route(api, req, m);
    dialect(m->route, r);
    add_cors(api, req, r);
    if (r != AD_DEFERRED)
        ad_http_respond(req, r);
}

/* Deferred answers get their CORS headers where they are made: bg_remove
 * calls this before responding. */
void ad_api_finish(ad_api *api, ad_http_req *req, ad_http_resp *r)
{
    dialect(ad_http_tag(req), r);
    add_cors(api, req, r);
    ad_http_respond(req, r);
}

void ad_api_on_done(void *app, const ad_http_done *d)
{
    ad_api *api = app;
    if (api->cfg.metrics)
        ad_api_metrics_count_request(api->cfg.metrics, d);
    ad_log(AD_LOG_INFO, "http", "request=%s method=%s route=%s status=%d bytes=%llu ms=%.1f key=%s%s", d->id, d->method,
           d->label, d->status, (unsigned long long)d->bytes, d->ms, d->subject[0] ? d->subject : "-",
           d->completed ? "" : " aborted=1");
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
    ad_http_set_label(req, m.route ? m.route->path : m.api ? "/api/v1 (no route)" : "(no route)");
    /* the handler takes the route from here: one pass over the table */
    if (m.status == AD_MATCH_OK)
        ad_http_set_tag(req, m.route);
    if (m.status != AD_MATCH_OK || m.route->body == NULL)
        return AD_HTTP_BODY_MEMORY;
    /* a body nobody will accept is not worth a byte of disk: it is read
     * and dropped, and the handler's refusal answers it */
    if (!serving(api) || (m.route->auth && !authorised(api, req, m.route)))
        return AD_HTTP_BODY_DISCARD;
    return m.route->body(api, req);
}

void ad_api_handle(void *app, ad_http_req *req)
{
    ad_api *api = app;
    ad_route_match m;
    const ad_route_def *known = ad_http_tag(req);
    if (known)
        ad_route_found(known, ad_http_path(req), &m);
    else
        ad_route_find(ad_http_method(req), ad_http_path(req), &m);
    int needs_store = !is_preflight(req) && (needs_key(&m) || (m.route && (m.route->flags & AD_ROUTE_STORE)));
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
            ad_api_finish(api, req, r);
            return;
        }
    }
    answer(api, req, &m);
}
