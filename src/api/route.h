/* route.h — which resource a request path names, as a pure function so the
 * route table is tested in a table and fuzzed. Ids and conversion names are
 * validated here: a handler only ever sees a well-formed id (32 lowercase
 * hex) and name (the spec's ^[a-zA-Z0-9_-]{1,30}$), never raw path bytes. */
#ifndef AD_API_ROUTE_H
#define AD_API_ROUTE_H

#include "base/id.h"

typedef enum {
    AD_ROUTE_NONE,        /* no such path (404) */
    AD_ROUTE_HEALTHZ,     /* /healthz */
    AD_ROUTE_API_UNKNOWN, /* under /api/v1 but no such route: 404 after auth */
    AD_ROUTE_ASSETS,      /* /api/v1/assets */
    AD_ROUTE_ASSET,       /* /api/v1/assets/:id */
    AD_ROUTE_CUSTOM_DATA, /* /api/v1/assets/:id/custom_data */
    AD_ROUTE_FILE,        /* /api/v1/assets/:id/file */
    AD_ROUTE_CONVERSION,  /* /api/v1/assets/:id/conversions/:name */
    AD_ROUTE_BG_REMOVE,   /* /api/v1/assets/:id/addons/bg_remove */
    AD_ROUTE_JOB,         /* /api/v1/jobs/:id */
} ad_route_kind;

typedef struct {
    ad_route_kind kind;
    int api;       /* under /api/v1: needs a key */
    int bad_id;    /* the route exists but its id is malformed (404) */
    int bad_name;  /* the conversion name is malformed (404) */
    char id[AD_ID_LEN + 1];
    char name[31];
} ad_route;

/* path is the request path without the query, not decoded. */
void ad_route_parse(const char *path, ad_route *out);

/* What the route accepts, as an Allow header value. */
const char *ad_route_methods(ad_route_kind kind);

#endif
