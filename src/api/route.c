/* route.c — the route table and matching. See route.h. */
#include "api/route.h"

#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "api/bg_params.h"
#include "api/internal.h"
#include "api/query.h"

/* ---- the query parameters of each route: one row each (base/decl.h) */

#define Q(field) .offset = offsetof(ad_route_query, field)

/* a next_cursor: the seq of the last asset of a page, a positive integer
 * (at most 18 digits, so it fits int64) */
static int cursor_ok(const char *s)
{
    if (*s < '1' || *s > '9')
        return 0;
    for (; *s; s++)
        if (*s < '0' || *s > '9')
            return 0;
    return 1;
}

static const ad_decl list_params[] = {
    {.name = "limit", .type = AD_DECL_INT, .min = 1, .max = 100, .def = "20", Q(limit), .help = "assets per page"},
    {.name = "cursor",
     .type = AD_DECL_STRING,
     .min = 1,
     .max = 18,
     .def = "",
     Q(cursor),
     .size = sizeof(((ad_route_query *)0)->cursor),
     .pattern = "^[1-9][0-9]{0,17}$",
     .expects = "a next_cursor from a previous page",
     .valid = cursor_ok,
     .help = "`next_cursor` of the previous page"},
};
static const ad_decl upload_params[] = {
    {.name = "filename",
     .type = AD_DECL_STRING,
     .min = 1,
     .max = 255,
     .def = "",
     Q(filename),
     .size = sizeof(((ad_route_query *)0)->filename),
     .expects = "1-255 bytes of UTF-8 without control characters or slashes",
     .valid = ad_upload_filename_ok,
     .help = "the asset's file name (default: the multipart part's, else upload.<extension of the type found>)"},
};
static const ad_decl preview_params[] = {
    {.name = "size",
     .type = AD_DECL_INT,
     .choices = "128|256|512",
     .min = 128,
     .max = 512,
     .def = "256",
     Q(size),
     .help = "the preview fits size x size pixels"},
};
static const ad_decl file_params[] = {
    {.name = "download",
     .type = AD_DECL_BOOL,
     .def = "false",
     Q(download),
     .help = "true: Content-Disposition attachment (a browser saves the file instead of showing it)"},
};
#undef Q
#define PARAMS(t) t, (int)(sizeof t / sizeof t[0])
#define NONE NULL, 0

#define A "/api/v1/assets/:asset_id"
#define STORE AD_ROUTE_STORE
#define OFFLOAD AD_ROUTE_OFFLOAD
#define NO_HEAD AD_ROUTE_NO_HEAD
#define OPTIONS AD_ROUTE_OPTIONS
#define SIGNED AD_ROUTE_SIGNED
static const ad_route_def routes[] = {
    {"GET", "/healthz", ad_handle_healthz, 0, NONE, 0, "liveness and readiness", NULL},
    {"GET", "/metrics", ad_handle_metrics, 0, NONE, STORE, "Prometheus metrics", NULL},
    {"GET", "/api/v1/openapi.json", ad_handle_openapi, 0, NONE, 0, "this API's OpenAPI 3.1 document", NULL},
    {"GET", "/", ad_handle_console, 0, NONE, 0, "the web console (HTML)", NULL},
    {"GET", "/console/console.js", ad_handle_console, 0, NONE, 0, "the web console's script", NULL},
    {"GET", "/console/console.css", ad_handle_console, 0, NONE, 0, "the web console's style sheet", NULL},
    {"GET", "/api/v1/assets", ad_handle_list, 1, PARAMS(list_params), STORE, "list assets, newest first", NULL},
    {"POST", "/api/v1/assets", ad_handle_upload, 1, PARAMS(upload_params), STORE | OFFLOAD, "upload an asset",
     ad_upload_begin},
    {"GET", A, ad_handle_get_asset, 1, NONE, STORE, "an asset's metadata", NULL},
    {"DELETE", A, ad_handle_delete_asset, 1, NONE, STORE, "delete an asset and its conversions", NULL},
    {"GET", A "/custom_data", ad_handle_get_custom_data, 1, NONE, STORE, "an asset's custom data", NULL},
    {"PUT", A "/custom_data", ad_handle_put_custom_data, 1, NONE, STORE, "replace an asset's custom data", NULL},
    {"PATCH", A "/custom_data", ad_handle_patch_custom_data, 1, NONE, STORE,
     "change an asset's custom data with a JSON merge patch (RFC 7396)", NULL},
    {"GET", A "/file", ad_handle_get_file, 1, PARAMS(file_params), STORE, "an asset's bytes", NULL},
    {"GET", A "/preview", ad_handle_preview, 1, PARAMS(preview_params), STORE | OFFLOAD,
     "a small WebP preview of an image", NULL},
    {"GET", A "/conversions/:conversion_name", ad_handle_get_conversion, 1, PARAMS(file_params), STORE,
     "a conversion's bytes", NULL},
    {"DELETE", A "/conversions/:conversion_name", ad_handle_delete_conversion, 1, NONE, STORE, "delete a conversion",
     NULL},
    {"GET", A "/addons/bg_remove", ad_handle_bg_remove, 1, ad_bg_params, AD_BG_NPARAMS, STORE | NO_HEAD | OPTIONS,
     "remove the background", NULL},
    {"POST", A "/delivery_urls", ad_handle_mint, 1, NONE, STORE,
     "mint a signed public URL of the asset, a conversion or a cut-out, with transformations", NULL},
    {"GET", "/d/:signature/:asset_id/:variant/:options/:expires", ad_handle_delivery, 0, NONE, STORE | SIGNED,
     "a signed public URL (no key): the original, a conversion or a cut-out, transformed", NULL},
    {"GET", "/api/v1/jobs/:job_id", ad_handle_get_job, 1, NONE, STORE, "a background job", NULL},
    {"POST", "/api/v1/bg_remove", ad_handle_oneshot, 1, NONE, OPTIONS,
     "remove the background of the image sent; nothing is stored", ad_oneshot_begin},
};
#undef A
#undef STORE
#undef OFFLOAD
#undef NO_HEAD
#undef OPTIONS
#undef SIGNED
#undef PARAMS
#undef NONE
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

/* A delivery URL's part: 1..size-1 bytes of the alphabet. */
static int token_ok(const char *seg, size_t size, const char *alphabet)
{
    size_t n = strlen(seg);
    return n >= 1 && n < size && strspn(seg, alphabet) == n;
}

#define ALNUM "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

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
        } else {
            static const struct {
                const char *name, *alphabet;
                size_t offset, size;
            } tokens[] = {
                {"signature", ALNUM "-_", offsetof(ad_route_args, signature), sizeof args->signature},
                {"variant", ALNUM "._-", offsetof(ad_route_args, variant), sizeof args->variant},
                {"options", ALNUM "._:,%-", offsetof(ad_route_args, options), sizeof args->options},
                {"expires", "0123456789", offsetof(ad_route_args, expires), sizeof args->expires},
            };
            for (size_t k = 0; k < sizeof tokens / sizeof tokens[0]; k++) {
                if (strcmp(name, tokens[k].name) != 0)
                    continue;
                if (token_ok(seg[i], tokens[k].size, tokens[k].alphabet))
                    memcpy((char *)args + tokens[k].offset, seg[i], strlen(seg[i]) + 1);
                else if (!bad)
                    bad = tokens[k].name;
            }
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

void ad_route_found(const ad_route_def *r, const char *path, ad_route_match *m)
{
    char buf[512], *seg[MAX_SEGS];
    memset(m, 0, sizeof *m);
    m->api = strcmp(path, "/api/v1") == 0 || strncmp(path, "/api/v1/", 8) == 0;
    m->route = r;
    int n = split(path, buf, sizeof buf, seg, MAX_SEGS);
    if (n < 0 || !template_matches(r->path, seg, n)) { /* not the path it was found for */
        m->route = NULL;
        m->status = AD_MATCH_NONE;
        return;
    }
    m->bad_param = take_params(r->path, seg, &m->args);
    m->status = m->bad_param ? AD_MATCH_BAD_PARAM : AD_MATCH_OK;
}

ad_status ad_route_parse_query(ad_route_match *m, const char *query, const char **param, ad_err *err)
{
    const ad_route_def *r = m->route;
    *param = NULL;
    memset(&m->args.query, 0, sizeof m->args.query);
    if (r->flags & AD_ROUTE_OPTIONS)
        return AD_OK;
    ad_decl_defaults(r->params, r->nparams, &m->args.query);
    ad_query q = {0};
    ad_status rc = ad_query_parse(query ? query : "", 32, &q, err);
    if (rc != AD_OK) {
        char why[sizeof err->msg];
        snprintf(why, sizeof why, "%s", err->msg);
        ad_err_clear(err);
        rc = ad_err_set(err, AD_EINVAL, "malformed query string: %s", why);
        goto out;
    }
    for (int i = 0; i < q.n; i++) {
        const char *k = q.v[i].key;
        const ad_decl *d = ad_decl_find(r->params, r->nparams, k);
        *param = d ? d->name : NULL;
        if (d == NULL) {
            /* the name as sent, for the refusal: kept in the match */
            snprintf(m->bad_query, sizeof m->bad_query, "%.63s", k);
            *param = m->bad_query;
            rc = ad_err_set(err, AD_EINVAL, "parameter '%s' is not part of this endpoint", m->bad_query);
            goto out;
        }
        for (int j = 0; j < i; j++)
            if (strcmp(q.v[j].key, k) == 0) {
                rc = ad_err_set(err, AD_EINVAL, "parameter '%s' is given more than once", d->name);
                goto out;
            }
        /* "?limit" with no '=' is an empty value */
        if ((rc = ad_decl_set(d, &m->args.query, q.v[i].value ? q.v[i].value : "", err)) != AD_OK)
            goto out;
    }
    *param = NULL;
out:
    ad_query_cleanup(&q);
    return rc;
}
