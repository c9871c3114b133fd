/* route.c — the route table and matching. See route.h. */
#include "api/route.h"

#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "api/bg_params.h"
#include "api/internal.h"
#include "api/query.h"
#include "store/custom_index.h"

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

/* custom_data.<dotted path>=<value>, repeatable for several paths */
static int custom_parse(const char *path, const char *value, void *field, const char **why)
{
    ad_asset_filter *f = field;
    if (!ad_custom_index_path_ok(path)) {
        *why = "a dotted path of 1-200 bytes, at most 8 keys, none empty";
        return 0;
    }
    if (strlen(value) > AD_CUSTOM_VALUE_MAX) {
        *why = "a value of at most 512 bytes";
        return 0;
    }
    if (f->ncustom == AD_FILTER_CUSTOM_MAX) {
        *why = "at most 8 custom_data filters";
        return 0;
    }
    ad_custom_match *m = &f->custom[f->ncustom++];
    snprintf(m->path, sizeof m->path, "%s", path);
    snprintf(m->value, sizeof m->value, "%s", value);
    return 1;
}

/* A media type's token characters (RFC 6838), lowercased into out. */
static int type_token(const char *s, size_t n, char *out)
{
    if (n == 0 || n > 63)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || strchr("!#$&^_.+-", c)))
            return 0;
        out[i] = (char)(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
    }
    out[n] = '\0';
    return 1;
}

/* content_type: "image/png", or a family ("image/" then a star) kept as "image/" */
static int content_type_parse(const char *value, void *field)
{
    char *out = field, type[64], sub[64];
    const char *slash = strchr(value, '/');
    if (slash == NULL || !type_token(value, (size_t)(slash - value), type))
        return 0;
    if (strcmp(slash + 1, "*") == 0) {
        snprintf(out, 128, "%s/", type);
        return 1;
    }
    if (!type_token(slash + 1, strlen(slash + 1), sub))
        return 0;
    snprintf(out, 128, "%s/%s", type, sub);
    return 1;
}

static int two(const char *s, int *v)
{
    if (s[0] < '0' || s[0] > '9' || s[1] < '0' || s[1] > '9')
        return 0;
    *v = (s[0] - '0') * 10 + (s[1] - '0');
    return 1;
}

/* RFC 3339 ("2026-12-07T10:00:00Z", "...T10:00:00.5+01:00") as created_at
 * is stored: UTC, milliseconds, "Z" */
static int time_parse(const char *v, void *field)
{
    int y1, y2, mo, d, h, mi, sec, oh = 0, om = 0, ms = 0;
    if (strlen(v) < 20 || !two(v, &y1) || !two(v + 2, &y2) || v[4] != '-' || !two(v + 5, &mo) || v[7] != '-' ||
        !two(v + 8, &d) || (v[10] != 'T' && v[10] != 't') || !two(v + 11, &h) || v[13] != ':' || !two(v + 14, &mi) ||
        v[16] != ':' || !two(v + 17, &sec))
        return 0;
    const char *p = v + 19;
    if (*p == '.') {
        int digits = 0;
        for (p++; *p >= '0' && *p <= '9'; p++, digits++)
            if (digits < 3)
                ms = ms * 10 + (*p - '0');
        if (digits == 0)
            return 0;
        for (; digits < 3; digits++)
            ms *= 10;
    }
    int sign = 0;
    if ((*p == 'Z' || *p == 'z') && p[1] == '\0') {
        sign = 0;
    } else if ((*p == '+' || *p == '-') && two(p + 1, &oh) && p[3] == ':' && two(p + 4, &om) && p[6] == '\0' &&
               oh < 24 && om < 60) {
        sign = *p == '+' ? 1 : -1;
    } else {
        return 0;
    }
    if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60)
        return 0;
    struct tm tm = {
        .tm_year = y1 * 100 + y2 - 1900, .tm_mon = mo - 1, .tm_mday = d, .tm_hour = h, .tm_min = mi, .tm_sec = sec};
    time_t t = timegm(&tm);
    if (tm.tm_mday != d) /* 31 February */
        return 0;
    t -= sign * (oh * 3600 + om * 60);
    struct tm u;
    if (gmtime_r(&t, &u) == NULL || u.tm_year + 1900 > 9999 || u.tm_year + 1900 < 1000) /* four digits */
        return 0;
    char *out = field;
    size_t n = strftime(out, 32, "%Y-%m-%dT%H:%M:%S", &u);
    snprintf(out + n, 32 - n, ".%03dZ", ms);
    return 1;
}

/* status: one of the job states, kept as its ad_job_status + 1 (0: any) */
static int job_status_parse(const char *value, void *field)
{
    for (int i = 0; i < 4; i++)
        if (strcmp(value, ad_job_status_name((ad_job_status)i)) == 0) {
            *(int *)field = i + 1;
            return 1;
        }
    return 0;
}

static int id_ok(const char *s) { return ad_id_valid(s); }

#define LIMIT(what)                                                                                                 \
    {                                                                                                               \
        .name = "limit", .type = AD_DECL_INT, .min = 1, .max = 100, .def = "20", Q(limit), .help = what " per page" \
    }
#define CURSOR                                                                               \
    {                                                                                        \
        .name = "cursor", .type = AD_DECL_STRING, .min = 1, .max = 18, .def = "", Q(cursor), \
        .size = sizeof(((ad_route_query *)0)->cursor), .pattern = "^[1-9][0-9]{0,17}$",      \
        .expects = "a next_cursor from a previous page", .valid = cursor_ok,                 \
        .help = "`next_cursor` of the previous page (with the same filters)"                 \
    }

static const ad_decl list_params[] = {
    LIMIT("assets"),
    CURSOR,
    {.name = "custom_data.{path}",
     .type = AD_DECL_CUSTOM,
     .def = "",
     Q(filter),
     .flags = AD_DECL_PREFIX,
     .parse_named = custom_parse,
     .expects = "custom_data.<dotted path>=<value>",
     .help = "custom data at a dotted path (`custom_data.dims.w=800`) equals the value: a string equal to it, a number "
             "equal to it read as a number, true/false, null; repeatable for several paths"},
    {.name = "filename_prefix",
     .type = AD_DECL_STRING,
     .min = 1,
     .max = 255,
     .def = "",
     Q(filter.filename_prefix),
     .size = sizeof(((ad_asset_filter *)0)->filename_prefix),
     .expects = "1-255 bytes of UTF-8 without control characters or slashes",
     .valid = ad_upload_filename_ok,
     .help = "the filename starts with this"},
    {.name = "content_type",
     .type = AD_DECL_CUSTOM,
     .def = "",
     Q(filter.content_type),
     .pattern = "^[A-Za-z0-9!#$&^_.+-]+/([A-Za-z0-9!#$&^_.+-]+|\\*)$",
     .expects = "a media type (image/png) or a family (image/*)",
     .parse = content_type_parse,
     .help = "exactly this media type, or (`image/*`) any of its family"},
    {.name = "created_after",
     .type = AD_DECL_CUSTOM,
     .def = "",
     Q(filter.created_after),
     .expects = "an RFC 3339 time (2026-12-07T10:00:00Z)",
     .parse = time_parse,
     .help = "created at or after this RFC 3339 time"},
    {.name = "created_before",
     .type = AD_DECL_CUSTOM,
     .def = "",
     Q(filter.created_before),
     .expects = "an RFC 3339 time (2026-12-07T10:00:00Z)",
     .parse = time_parse,
     .help = "created before this RFC 3339 time"},
    {.name = "source_asset_id",
     .type = AD_DECL_STRING,
     .min = 32,
     .max = 32,
     .def = "",
     Q(filter.source_asset_id),
     .size = sizeof(((ad_asset_filter *)0)->source_asset_id),
     .pattern = "^[0-9a-f]{32}$",
     .expects = "an asset id (32 lowercase hex)",
     .valid = id_ok,
     .help = "assets made from this one (lineage)"},
    {.name = "has_conversion",
     .type = AD_DECL_STRING,
     .min = 1,
     .max = 30,
     .def = "",
     Q(filter.has_conversion),
     .size = sizeof(((ad_asset_filter *)0)->has_conversion),
     .pattern = "^[a-zA-Z0-9_-]{1,30}$",
     .expects = "a conversion name (^[a-zA-Z0-9_-]{1,30}$)",
     .valid = ad_bg_conversion_name_valid,
     .help = "assets that hold a conversion of this name"},
    {.name = "order",
     .type = AD_DECL_ENUM,
     .choices = "newest|oldest",
     .def = "newest",
     Q(filter.oldest_first),
     .help = "newest first or oldest first"},
};
static const ad_decl jobs_params[] = {
    LIMIT("jobs"),
    CURSOR,
    {.name = "status",
     .type = AD_DECL_CUSTOM,
     .def = "",
     Q(job_status),
     .pattern = "^(queued|running|succeeded|failed)$",
     .expects = "one of queued, running, succeeded, failed",
     .parse = job_status_parse,
     .help = "only jobs in this state"},
    {.name = "asset_id",
     .type = AD_DECL_STRING,
     .min = 32,
     .max = 32,
     .def = "",
     Q(asset_id),
     .size = sizeof(((ad_route_query *)0)->asset_id),
     .pattern = "^[0-9a-f]{32}$",
     .expects = "an asset id (32 lowercase hex)",
     .valid = id_ok,
     .help = "only the jobs of this asset"},
};
static const ad_decl deliveries_params[] = {LIMIT("attempts"), CURSOR};
#undef LIMIT
#undef CURSOR
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
#define ADMIN AD_ROUTE_ADMIN
#define REMOVEBG AD_ROUTE_REMOVEBG
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
    {"GET", "/api/v1/jobs", ad_handle_list_jobs, 1, PARAMS(jobs_params), STORE, "list background jobs, newest first",
     NULL},
    {"GET", "/api/v1/jobs/:job_id", ad_handle_get_job, 1, NONE, STORE, "a background job", NULL},
    {"POST", "/api/v1/webhooks", ad_handle_create_webhook, 1, NONE, STORE | ADMIN,
     "subscribe a URL to events (the secret is shown once)", NULL},
    {"GET", "/api/v1/webhooks", ad_handle_list_webhooks, 1, NONE, STORE | ADMIN, "list webhooks", NULL},
    {"DELETE", "/api/v1/webhooks/:webhook_id", ad_handle_delete_webhook, 1, NONE, STORE | ADMIN, "delete a webhook",
     NULL},
    {"GET", "/api/v1/webhooks/:webhook_id/deliveries", ad_handle_webhook_deliveries, 1, PARAMS(deliveries_params),
     STORE | ADMIN, "a webhook's latest delivery attempts, newest first", NULL},
    {"POST", "/api/v1/bg_remove", ad_handle_oneshot, 1, NONE, OPTIONS,
     "remove the background of the image sent; nothing is stored", ad_oneshot_begin},
    {"POST", "/v1.0/removebg", ad_handle_removebg, 1, NONE, OFFLOAD | REMOVEBG,
     "remove.bg's API: a client written for remove.bg works with its base URL pointed here; nothing is stored",
     ad_removebg_begin},
    {"GET", "/v1.0/account", ad_handle_removebg_account, 1, NONE, REMOVEBG,
     "remove.bg's account call, which clients make to check a key (credits unlimited)", NULL},
};
#undef A
#undef STORE
#undef OFFLOAD
#undef NO_HEAD
#undef OPTIONS
#undef SIGNED
#undef ADMIN
#undef REMOVEBG
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
        if (strcmp(name, "asset_id") == 0 || strcmp(name, "job_id") == 0 || strcmp(name, "webhook_id") == 0) {
            char *dst = name[0] == 'a' ? args->asset_id : name[0] == 'j' ? args->job_id : args->webhook_id;
            if (ad_id_valid(seg[i]))
                memcpy(dst, seg[i], AD_ID_LEN + 1);
            else if (!bad)
                bad = name[0] == 'a' ? "asset_id" : name[0] == 'j' ? "job_id" : "webhook_id";
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
        const ad_decl *fam = d ? NULL : ad_decl_find_prefix(r->params, r->nparams, k);
        *param = d ? d->name : NULL;
        if (fam) { /* custom_data.<path>: named as sent */
            snprintf(m->bad_query, sizeof m->bad_query, "%.223s", k);
            *param = m->bad_query;
            for (int j = 0; j < i; j++)
                if (strcmp(q.v[j].key, k) == 0) {
                    rc = ad_err_set(err, AD_EINVAL, "parameter '%s' is given more than once", m->bad_query);
                    goto out;
                }
            const char *why = "";
            if (!fam->parse_named(k + ad_decl_prefix_len(fam), q.v[i].value ? q.v[i].value : "",
                                  (char *)&m->args.query + fam->offset, &why)) {
                rc = ad_err_set(err, AD_EINVAL, "%s: %s", m->bad_query, why);
                goto out;
            }
            continue;
        }
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
