/* route.c — see route.h. */
#include "api/route.h"

#include <stdio.h>
#include <string.h>

#include "api/bg_params.h"

/* Split "/a/b/c" into at most max segments (copied into buf); returns the
 * count, or -1 when the path is malformed (empty segment, too many, long). */
static int split(const char *path, char *buf, size_t len, char **seg, int max)
{
    if (*path != '/' || strlen(path) >= len)
        return -1;
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

static void take_id(ad_route *r, const char *s)
{
    if (ad_id_valid(s))
        memcpy(r->id, s, AD_ID_LEN + 1);
    else
        r->bad_id = 1;
}

void ad_route_parse(const char *path, ad_route *r)
{
    char buf[512], *seg[7];
    memset(r, 0, sizeof *r);
    if (strcmp(path, "/healthz") == 0) {
        r->kind = AD_ROUTE_HEALTHZ;
        return;
    }
    if (strcmp(path, "/api/v1") != 0 && strncmp(path, "/api/v1/", 8) != 0)
        return;
    r->api = 1;
    r->kind = AD_ROUTE_API_UNKNOWN;
    int n = split(path, buf, sizeof buf, seg, 7);
    if (n < 3)
        return;
    if (n == 4 && strcmp(seg[2], "jobs") == 0) {
        r->kind = AD_ROUTE_JOB;
        take_id(r, seg[3]);
        return;
    }
    if (strcmp(seg[2], "assets") != 0)
        return;
    if (n == 3) {
        r->kind = AD_ROUTE_ASSETS;
        return;
    }
    if (n == 4)
        r->kind = AD_ROUTE_ASSET;
    else if (n == 5 && strcmp(seg[4], "custom_data") == 0)
        r->kind = AD_ROUTE_CUSTOM_DATA;
    else if (n == 5 && strcmp(seg[4], "file") == 0)
        r->kind = AD_ROUTE_FILE;
    else if (n == 6 && strcmp(seg[4], "conversions") == 0)
        r->kind = AD_ROUTE_CONVERSION;
    else if (n == 6 && strcmp(seg[4], "addons") == 0 && strcmp(seg[5], "bg_remove") == 0)
        r->kind = AD_ROUTE_BG_REMOVE;
    else
        return;
    take_id(r, seg[3]);
    if (r->kind == AD_ROUTE_CONVERSION) {
        if (ad_bg_conversion_name_valid(seg[5]))
            snprintf(r->name, sizeof r->name, "%s", seg[5]);
        else
            r->bad_name = 1;
    }
}

const char *ad_route_methods(ad_route_kind kind)
{
    switch (kind) {
    case AD_ROUTE_HEALTHZ:
    case AD_ROUTE_FILE:
    case AD_ROUTE_JOB:
        return "GET, HEAD";
    case AD_ROUTE_ASSETS:
        return "GET, HEAD, POST";
    case AD_ROUTE_ASSET:
    case AD_ROUTE_CONVERSION:
        return "GET, HEAD, DELETE";
    case AD_ROUTE_CUSTOM_DATA:
        return "PUT";
    case AD_ROUTE_BG_REMOVE:
        return "GET";
    default:
        return "";
    }
}
