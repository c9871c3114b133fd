/* route.h — the one table of routes: method, path template, handler,
 * whether a key is needed, the query parameters allowed, whether it calls
 * the store. Dispatch, 404 / 405 + Allow, authentication, the query's
 * parsing and refusals, metric labels and the OpenAPI document's paths and
 * parameters all come from it: adding a route is one row in route.c (and
 * its handler); a query parameter is one row of its route's parameters.
 *
 * Matching is a pure function, tested in a table and fuzzed. Path
 * parameters are validated here: a handler only ever sees a well-formed id
 * (32 lowercase hex) and conversion name (the spec's ^[a-zA-Z0-9_-]{1,30}$),
 * never raw path bytes. */
#ifndef AD_API_ROUTE_H
#define AD_API_ROUTE_H

#include "base/decl.h"
#include "base/id.h"
#include "http/server.h"
#include "store/records.h"

typedef struct ad_api ad_api;
typedef struct ad_http_req ad_http_req;
typedef struct ad_http_resp ad_http_resp;

/* The query parameters of every route that declares them, parsed by the
 * router from the route's rows (route.c): one struct for all, each route's
 * rows naming the fields it uses; a field not declared by the route stays
 * zero, a declared one not given holds its default. */
typedef struct {
    int limit;                    /* GET /api/v1/assets */
    char cursor[24];              /* GET /api/v1/assets: "" or a next_cursor */
    char filename[256];           /* POST /api/v1/assets: "" when not given */
    int size;                     /* GET .../preview */
    int download;                 /* GET .../file, .../conversions/:name: as an attachment */
    ad_asset_filter filter;       /* GET /api/v1/assets: its filters (integrations.md section 3) */
    int job_status;               /* GET /api/v1/jobs: 0 any, else an ad_job_status + 1 */
    char asset_id[AD_ID_LEN + 1]; /* GET /api/v1/jobs: "" any */
} ad_route_query;

/* The validated path parameters of a request ("" when the route has none),
 * and its parsed query. */
typedef struct {
    char asset_id[AD_ID_LEN + 1];
    char job_id[AD_ID_LEN + 1];
    char webhook_id[AD_ID_LEN + 1];
    char conversion_name[AD_CONVERSION_NAME_MAX + 1];
    /* a delivery URL's parts (api/delivery.c checks their signature):
     * only their length and alphabet are checked here */
    char signature[48];    /* base64url */
    char variant[48];      /* [A-Za-z0-9._-] */
    char options[512];     /* [A-Za-z0-9._:,%-] */
    char expires[16];      /* decimal digits */
    int key_scope;         /* the request's key's scope (ad_scope), when the route needs a key */
    char ratelimit[3][24]; /* AD_ROUTE_REMOVEBG: X-RateLimit-Limit, -Remaining, -Reset ("" when no limit) */
    ad_route_query query;
} ad_route_args;

/* Returns the response (NULL: out of memory, answered 500), or AD_DEFERRED
 * (api/internal.h) when another thread will answer. */
typedef ad_http_resp *(*ad_route_handler)(ad_api *api, ad_http_req *req, const ad_route_args *args);

enum {
    AD_ROUTE_STORE = 1,     /* calls the store: runs off the event loop when the store is remote */
    AD_ROUTE_OFFLOAD = 2,   /* always runs off the event loop (slow on hostile input) */
    AD_ROUTE_OPTIONS = 4,   /* also takes the cut-out's output options (cutout/options.h); the handler
                             * parses its query itself, by the spec's rules and order (bg_params.h),
                             * from the same rows */
    AD_ROUTE_NO_HEAD = 8,   /* GET does not answer HEAD */
    AD_ROUTE_SIGNED = 16,   /* a signed public URL: a malformed part is 403 (any change to it is), the query is
                             * not part of it and is ignored */
    AD_ROUTE_ADMIN = 32,    /* needs a key of scope admin (keys, webhooks); else GET/HEAD read, the rest write */
    AD_ROUTE_REMOVEBG = 64, /* remove.bg's API (removebg.c): the key also as X-Api-Key, its options in the body or
                             * the query (parsed by the handler), its error shape and X-RateLimit-* fields */
};

typedef struct {
    const char *method; /* "GET" also answers HEAD unless AD_ROUTE_NO_HEAD */
    const char *path;   /* literal segments and :asset_id, :job_id, :webhook_id, :conversion_name;
                           :signature, :variant, :options, :expires */
    ad_route_handler handler;
    int auth;              /* needs an API key */
    const ad_decl *params; /* its query parameters (offsets into ad_route_query), or NULL: none */
    int nparams;
    int flags;           /* AD_ROUTE_* */
    const char *summary; /* one line, for the API description */
    /* a body streamed to a sink, not held in memory: called once the
     * headers are in, it sets the sink (ad_http_set_sink) and says how the
     * body is taken; NULL: in memory */
    ad_http_body_mode (*body)(ad_api *api, ad_http_req *req);
} ad_route_def;

typedef enum {
    AD_MATCH_OK,
    AD_MATCH_NONE,      /* no such path: 404 (after auth under /api/v1) */
    AD_MATCH_METHOD,    /* the path exists, the method does not: 405 + allow */
    AD_MATCH_BAD_PARAM, /* a path parameter is malformed: 404 naming bad_param */
} ad_match_status;

typedef struct {
    ad_match_status status;
    const ad_route_def *route; /* AD_MATCH_OK and AD_MATCH_BAD_PARAM */
    int api;                   /* under /api/v1: needs a key, known route or not */
    char allow[64];            /* AD_MATCH_METHOD: the Allow header value */
    const char *bad_param;     /* AD_MATCH_BAD_PARAM: the parameter's name ("asset_id", ...) */
    char bad_query[224];       /* ad_route_parse_query: an unknown or prefixed parameter's name as sent */
    ad_route_args args;
} ad_route_match;

/* Match method and path (without the query, not decoded) against the
 * table. */
void ad_route_find(const char *method, const char *path, ad_route_match *out);

/* The match of a path already known to match route r (by ad_route_find,
 * when the request's head came in): its path parameters, without another
 * pass over the table. */
void ad_route_found(const ad_route_def *r, const char *path, ad_route_match *m);

/* Parse a matched route's query (not decoded; "" for none) into
 * m->args.query: its declared parameters, each at most once, each valid,
 * defaults for those not given. AD_EINVAL names the parameter at fault in
 * *param (NULL for a malformed query string) with a sentence in err. A
 * route with AD_ROUTE_OPTIONS is left to its handler (AD_OK). */
ad_status ad_route_parse_query(ad_route_match *m, const char *query, const char **param, ad_err *err);

/* The table (for tests and the API description); *n gets its length. */
const ad_route_def *ad_route_table(int *n);

#endif
