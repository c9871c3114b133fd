/* route.c — the route table and matching. See route.h. */
#include "api/route.h"

#include <stdio.h>
#include <string.h>

#include "api/bg_params.h"
#include "api/internal.h"

static const char *const no_params[] = {NULL};
static const char *const upload_params[] = {"filename", NULL};
static const char *const list_params[] = {"limit", "cursor", NULL};
static const char *const preview_params[] = {"size", NULL};

#define A "/api/v1/assets/:asset_id"
#define STORE AD_ROUTE_STORE
#define OFFLOAD AD_ROUTE_OFFLOAD
#define NO_HEAD AD_ROUTE_NO_HEAD
static const ad_route_def routes[] = {
    {"GET", "/healthz", ad_handle_healthz, 0, no_params, 0, "liveness and readiness", NULL},
    {"GET", "/metrics", ad_handle_metrics, 0, no_params, STORE, "Prometheus metrics", NULL},
    {"GET", "/api/v1/openapi.json", ad_handle_openapi, 0, no_params, 0, "this API's OpenAPI 3.1 document", NULL},
    {"GET", "/", ad_handle_console, 0, no_params, 0, "the web console (HTML)", NULL},
    {"GET", "/console/console.js", ad_handle_console, 0, no_params, 0, "the web console's script", NULL},
    {"GET", "/console/console.css", ad_handle_console, 0, no_params, 0, "the web console's style sheet", NULL},
    {"GET", "/api/v1/assets", ad_handle_list, 1, list_params, STORE, "list assets, newest first", NULL},
    {"POST", "/api/v1/assets", ad_handle_upload, 1, upload_params, STORE | OFFLOAD, "upload an asset", ad_upload_begin},
    {"GET", A, ad_handle_get_asset, 1, no_params, STORE, "an asset's metadata", NULL},
    {"DELETE", A, ad_handle_delete_asset, 1, no_params, STORE, "delete an asset and its conversions", NULL},
    {"PUT", A "/custom_data", ad_handle_put_custom_data, 1, no_params, STORE, "replace an asset's custom data", NULL},
    {"GET", A "/file", ad_handle_get_file, 1, no_params, STORE, "an asset's bytes", NULL},
    {"GET", A "/preview", ad_handle_preview, 1, preview_params, STORE | OFFLOAD, "a small WebP preview of an image",
     NULL},
    {"GET", A "/conversions/:conversion_name", ad_handle_get_conversion, 1, no_params, STORE, "a conversion's bytes",
     NULL},
    {"DELETE", A "/conversions/:conversion_name", ad_handle_delete_conversion, 1, no_params, STORE,
     "delete a conversion", NULL},
    {"GET", A "/addons/bg_remove", ad_handle_bg_remove, 1, NULL, STORE | NO_HEAD, "remove the background", NULL},
    {"GET", "/api/v1/jobs/:job_id", ad_handle_get_job, 1, no_params, STORE, "a background job", NULL},
    {"POST", "/api/v1/bg_remove", ad_handle_oneshot, 1, NULL, 0,
     "remove the background of the image sent; nothing is stored", ad_oneshot_begin},
};
#undef A
#undef STORE
#undef OFFLOAD
#undef NO_HEAD
#define NROUTES (int)(sizeof routes / sizeof routes[0])

const ad_route_def *ad_route_table(int *n)
{
    *n = NROUTES;
    return routes;
}

#define MAX_SEGS 8

/* Split "/a/b/c" into at most max segments (copied into buf); returns the
 * count ("/" has none), or -1 when the path is malformed (empty segment,
 * too many, long). */
static int split(const char *path, char *buf, size_t len, char **seg, int max)
{
    if (*path != '/' || strlen(path) >= len)
        return -1;
    if (path[1] == '\0')
        return 0;
    strcpy(buf, path + 1);
    int n = 0;
    for (char *p = buf;;) {
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

/* Does the template match the segments? Literal segments must be equal;
 * parameters take any segment (validated afterwards). */
static int template_matches(const char *tpl, char **seg, int n)
{
    char buf[256], *ts[MAX_SEGS];
    int tn = split(tpl, buf, sizeof buf, ts, MAX_SEGS);
    if (tn != n)
        return 0;
    for (int i = 0; i < n; i++)
        if (ts[i][0] != ':' && strcmp(ts[i], seg[i]) != 0)
            return 0;
    return 1;
}

/* Take the template's parameters from the segments into args; the first
 * malformed one is returned (NULL when all are well-formed). */
static const char *take_params(const char *tpl, char **seg, ad_route_args *args)
{
    char buf[256], *ts[MAX_SEGS];
    int tn = split(tpl, buf, sizeof buf, ts, MAX_SEGS);
    const char *bad = NULL;
    for (int i = 0; i < tn; i++) {
        if (ts[i][0] != ':')
            continue;
        const char *name = ts[i] + 1;
        if (strcmp(name, "asset_id") == 0 || strcmp(name, "job_id") == 0) {
            char *dst = name[0] == 'a' ? args->asset_id : args->job_id;
            if (ad_id_valid(seg[i]))
                memcpy(dst, seg[i], AD_ID_LEN + 1);
            else if (!bad)
                bad = name[0] == 'a' ? "asset_id" : "job_id";
        } else if (strcmp(name, "conversion_name") == 0) {
            if (ad_bg_conversion_name_valid(seg[i]))
                snprintf(args->conversion_name, sizeof args->conversion_name, "%s", seg[i]);
            else if (!bad)
                bad = "conversion_name";
        }
    }
    return bad;
}

static int method_ok(const ad_route_def *r, const char *method)
{
    return strcmp(r->method, method) == 0 ||
           (strcmp(method, "HEAD") == 0 && strcmp(r->method, "GET") == 0 && !(r->flags & AD_ROUTE_NO_HEAD));
}

void ad_route_find(const char *method, const char *path, ad_route_match *m)
{
    char buf[512], *seg[MAX_SEGS];
    memset(m, 0, sizeof *m);
    m->status = AD_MATCH_NONE;
    m->api = strcmp(path, "/api/v1") == 0 || strncmp(path, "/api/v1/", 8) == 0;
    int n = split(path, buf, sizeof buf, seg, MAX_SEGS);
    if (n < 0)
        return;
    int path_known = 0;
    for (int i = 0; i < NROUTES; i++) {
        const ad_route_def *r = &routes[i];
        if (!template_matches(r->path, seg, n))
            continue;
        path_known = 1;
        /* Allow: in table order, GET with its HEAD */
        size_t at = strlen(m->allow);
        snprintf(m->allow + at, sizeof m->allow - at, "%s%s%s", at ? ", " : "", r->method,
                 strcmp(r->method, "GET") == 0 && !(r->flags & AD_ROUTE_NO_HEAD) ? ", HEAD" : "");
        if (m->route == NULL && method_ok(r, method))
            m->route = r;
    }
    if (!path_known)
        return;
    if (m->route == NULL) {
        m->status = AD_MATCH_METHOD;
        return;
    }
    m->allow[0] = '\0';
    m->bad_param = take_params(m->route->path, seg, &m->args);
    m->status = m->bad_param ? AD_MATCH_BAD_PARAM : AD_MATCH_OK;
}
