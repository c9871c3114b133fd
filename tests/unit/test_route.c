/* test_route.c — the route table and custom data validation of api/. */
#include "harness.h"

#include "api/custom_data.h"
#include "api/route.h"

#define ID "0123456789abcdef0123456789abcdef"

TEST(route_table)
{
    static const struct {
        const char *path;
        ad_route_kind kind;
        int api, bad_id, bad_name;
        const char *name;
    } rows[] = {
        {"/healthz", AD_ROUTE_HEALTHZ, 0, 0, 0, ""},
        {"/healthz/", AD_ROUTE_NONE, 0, 0, 0, ""},
        {"/", AD_ROUTE_NONE, 0, 0, 0, ""},
        {"/api/v2/assets", AD_ROUTE_NONE, 0, 0, 0, ""},
        {"/api/v1", AD_ROUTE_API_UNKNOWN, 1, 0, 0, ""},
        {"/api/v1/", AD_ROUTE_API_UNKNOWN, 1, 0, 0, ""},
        {"/api/v1/assets", AD_ROUTE_ASSETS, 1, 0, 0, ""},
        {"/api/v1/assets/", AD_ROUTE_API_UNKNOWN, 1, 0, 0, ""},
        {"/api/v1/assets/" ID, AD_ROUTE_ASSET, 1, 0, 0, ""},
        {"/api/v1/assets/" ID "/file", AD_ROUTE_FILE, 1, 0, 0, ""},
        {"/api/v1/assets/" ID "/custom_data", AD_ROUTE_CUSTOM_DATA, 1, 0, 0, ""},
        {"/api/v1/assets/" ID "/conversions/web-1_x", AD_ROUTE_CONVERSION, 1, 0, 0, "web-1_x"},
        {"/api/v1/assets/" ID "/conversions/a.b", AD_ROUTE_CONVERSION, 1, 0, 1, ""},
        {"/api/v1/assets/" ID "/conversions/a%2Fb", AD_ROUTE_CONVERSION, 1, 0, 1, ""},
        {"/api/v1/assets/" ID "/addons/bg_remove", AD_ROUTE_BG_REMOVE, 1, 0, 0, ""},
        {"/api/v1/assets/" ID "/addons/other", AD_ROUTE_API_UNKNOWN, 1, 0, 0, ""},
        {"/api/v1/assets/..%2F..%2Fetc%2Fpasswd/file", AD_ROUTE_FILE, 1, 1, 0, ""},
        {"/api/v1/assets/0123456789ABCDEF0123456789ABCDEF", AD_ROUTE_ASSET, 1, 1, 0, ""},
        {"/api/v1/assets/1'%20OR%201=1", AD_ROUTE_ASSET, 1, 1, 0, ""},
        {"/api/v1/assets/" ID "//file", AD_ROUTE_API_UNKNOWN, 1, 0, 0, ""},
        {"/api/v1/jobs/" ID, AD_ROUTE_JOB, 1, 0, 0, ""},
        {"/api/v1/jobs/x", AD_ROUTE_JOB, 1, 1, 0, ""},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        ad_route r;
        ad_route_parse(rows[i].path, &r);
        CHECKF(r.kind == rows[i].kind && r.api == rows[i].api && r.bad_id == rows[i].bad_id &&
                   r.bad_name == rows[i].bad_name && strcmp(r.name, rows[i].name) == 0,
               "%s: kind %d api %d bad_id %d bad_name %d", rows[i].path, r.kind, r.api, r.bad_id, r.bad_name);
        if (r.kind >= AD_ROUTE_ASSET && !r.bad_id)
            CHECK(strcmp(r.id, ID) == 0);
    }
}

TEST(custom_data_table)
{
    static const struct {
        const char *in;
        ad_status want;
        const char *out;
    } rows[] = {
        {"{}", AD_OK, "{}"},
        {" { \"b\" : 1 , \"a\" : [ true ] } ", AD_OK, "{\"b\":1,\"a\":[true]}"},
        {"{\"u\":\"\\u00e9\"}", AD_OK, "{\"u\":\"\xc3\xa9\"}"},
        {"[]", AD_EINVAL, NULL},
        {"1", AD_EINVAL, NULL},
        {"", AD_EINVAL, NULL},
        {"{\"a\":1,\"a\":2}", AD_EINVAL, NULL},
        {"{\"a\":NaN}", AD_EINVAL, NULL},
        {"{} {}", AD_EINVAL, NULL},
        {"{\"a\":\"\\ud800\"}", AD_EINVAL, NULL},
        {"{\"a\":\"\xff\"}", AD_EINVAL, NULL},
        {"{\"a\":\"\\u0000\"}", AD_EINVAL, NULL},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        char *out = NULL;
        ad_err err = AD_ERR_INIT;
        ad_status st = ad_custom_data_normalise(rows[i].in, strlen(rows[i].in), 1024, &out, &err);
        CHECKF(st == rows[i].want && (rows[i].out == NULL || (out && strcmp(out, rows[i].out) == 0)), "row %zu: %d %s",
               i, st, out ? out : err.msg);
        free(out);
    }
    char *out = NULL;
    CHECK(ad_custom_data_normalise("{\"k\":\"0123456789\"}", 17, 16, &out, NULL) == AD_ETOOBIG && out == NULL);
}
