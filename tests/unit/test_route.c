/* test_route.c — api/route: the route table, path parameters and 405s. */
#include "harness.h"

#include "api/route.h"

#define ID "0123456789abcdef0123456789abcdef"

TEST(route_table)
{
    static const struct {
        const char *method, *path;
        ad_match_status status;
        const char *tpl; /* the route matched ("" when none) */
        int api;
        const char *bad, *allow, *name;
    } rows[] = {
        {"GET", "/healthz", AD_MATCH_OK, "/healthz", 0, NULL, "", ""},
        {"GET", "/healthz/", AD_MATCH_NONE, "", 0, NULL, "", ""},
        {"GET", "/", AD_MATCH_OK, "/", 0, NULL, "", ""},
        {"HEAD", "/", AD_MATCH_OK, "/", 0, NULL, "", ""},
        {"POST", "/", AD_MATCH_METHOD, "", 0, NULL, "GET, HEAD", ""},
        {"GET", "//", AD_MATCH_NONE, "", 0, NULL, "", ""},
        {"GET", "/console/console.js", AD_MATCH_OK, "/console/console.js", 0, NULL, "", ""},
        {"GET", "/console/", AD_MATCH_NONE, "", 0, NULL, "", ""},
        {"GET", "/console/../etc/passwd", AD_MATCH_NONE, "", 0, NULL, "", ""},
        {"GET", "/api/v2/assets", AD_MATCH_NONE, "", 0, NULL, "", ""},
        {"GET", "/api/v1", AD_MATCH_NONE, "", 1, NULL, "", ""},
        {"GET", "/api/v1/", AD_MATCH_NONE, "", 1, NULL, "", ""},
        {"GET", "/api/v1/assets", AD_MATCH_OK, "/api/v1/assets", 1, NULL, "", ""},
        {"POST", "/api/v1/assets", AD_MATCH_OK, "/api/v1/assets", 1, NULL, "", ""},
        {"PUT", "/api/v1/assets", AD_MATCH_METHOD, "", 1, NULL, "GET, HEAD, POST", ""},
        {"GET", "/api/v1/assets/", AD_MATCH_NONE, "", 1, NULL, "", ""},
        {"GET", "/api/v1/assets/" ID, AD_MATCH_OK, "/api/v1/assets/:asset_id", 1, NULL, "", ""},
        {"HEAD", "/api/v1/assets/" ID, AD_MATCH_OK, "/api/v1/assets/:asset_id", 1, NULL, "", ""},
        {"DELETE", "/api/v1/assets/" ID, AD_MATCH_OK, "/api/v1/assets/:asset_id", 1, NULL, "", ""},
        {"POST", "/api/v1/assets/" ID, AD_MATCH_METHOD, "", 1, NULL, "GET, HEAD, DELETE", ""},
        {"GET", "/api/v1/assets/" ID "/file", AD_MATCH_OK, "/api/v1/assets/:asset_id/file", 1, NULL, "", ""},
        {"PUT", "/api/v1/assets/" ID "/custom_data", AD_MATCH_OK, "/api/v1/assets/:asset_id/custom_data", 1, NULL, "",
         ""},
        {"GET", "/api/v1/assets/" ID "/custom_data", AD_MATCH_OK, "/api/v1/assets/:asset_id/custom_data", 1, NULL, "",
         ""},
        {"PATCH", "/api/v1/assets/" ID "/custom_data", AD_MATCH_OK, "/api/v1/assets/:asset_id/custom_data", 1, NULL, "",
         ""},
        {"POST", "/api/v1/assets/" ID "/custom_data", AD_MATCH_METHOD, "", 1, NULL, "GET, HEAD, PUT, PATCH", ""},
        {"GET", "/api/v1/assets/" ID "/conversions/web-1_x", AD_MATCH_OK,
         "/api/v1/assets/:asset_id/conversions/:conversion_name", 1, NULL, "", "web-1_x"},
        {"GET", "/api/v1/assets/" ID "/conversions/a.b", AD_MATCH_BAD_PARAM,
         "/api/v1/assets/:asset_id/conversions/:conversion_name", 1, "conversion_name", "", ""},
        {"DELETE", "/api/v1/assets/" ID "/conversions/a%2Fb", AD_MATCH_BAD_PARAM,
         "/api/v1/assets/:asset_id/conversions/:conversion_name", 1, "conversion_name", "", ""},
        {"GET", "/api/v1/assets/" ID "/addons/bg_remove", AD_MATCH_OK, "/api/v1/assets/:asset_id/addons/bg_remove", 1,
         NULL, "", ""},
        {"HEAD", "/api/v1/assets/" ID "/addons/bg_remove", AD_MATCH_METHOD, "", 1, NULL, "GET", ""},
        {"GET", "/api/v1/assets/" ID "/addons/other", AD_MATCH_NONE, "", 1, NULL, "", ""},
        {"GET", "/api/v1/assets/..%2F..%2Fetc%2Fpasswd/file", AD_MATCH_BAD_PARAM, "/api/v1/assets/:asset_id/file", 1,
         "asset_id", "", ""},
        {"GET", "/api/v1/assets/0123456789ABCDEF0123456789ABCDEF", AD_MATCH_BAD_PARAM, "/api/v1/assets/:asset_id", 1,
         "asset_id", "", ""},
        {"GET", "/api/v1/assets/1'%20OR%201=1", AD_MATCH_BAD_PARAM, "/api/v1/assets/:asset_id", 1, "asset_id", "", ""},
        {"GET", "/api/v1/assets/" ID "//file", AD_MATCH_NONE, "", 1, NULL, "", ""},
        {"GET", "/api/v1/jobs/" ID, AD_MATCH_OK, "/api/v1/jobs/:job_id", 1, NULL, "", ""},
        {"GET", "/api/v1/jobs/x", AD_MATCH_BAD_PARAM, "/api/v1/jobs/:job_id", 1, "job_id", "", ""},
        {"DELETE", "/api/v1/jobs/" ID, AD_MATCH_METHOD, "", 1, NULL, "GET, HEAD", ""},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        ad_route_match m;
        ad_route_find(rows[i].method, rows[i].path, &m);
        const char *tpl = m.route ? m.route->path : "";
        CHECKF(m.status == rows[i].status && strcmp(tpl, rows[i].tpl) == 0 && m.api == rows[i].api &&
                   strcmp(m.allow, rows[i].allow) == 0 &&
                   (rows[i].bad ? m.bad_param && strcmp(m.bad_param, rows[i].bad) == 0 : m.bad_param == NULL) &&
                   strcmp(m.args.conversion_name, rows[i].name) == 0,
               "%s %s: status %d route %s api %d allow '%s' bad %s", rows[i].method, rows[i].path, m.status, tpl, m.api,
               m.allow, m.bad_param ? m.bad_param : "-");
        if (m.status == AD_MATCH_OK && strstr(tpl, ":asset_id"))
            CHECK(strcmp(m.args.asset_id, ID) == 0);
        if (m.status == AD_MATCH_OK && strstr(tpl, ":job_id"))
            CHECK(strcmp(m.args.job_id, ID) == 0);
    }
}

TEST(every_route_is_reachable_and_templates_are_well_formed)
{
    int n;
    const ad_route_def *t = ad_route_table(&n);
    CHECK(n >= 11);
    for (int i = 0; i < n; i++) {
        /* the template itself, with valid parameters filled in, reaches its own row */
        char path[256] = "";
        const char *p = t[i].path;
        while (*p) {
            if (*p == ':') {
                const char *end = strchr(p, '/');
                size_t l = end ? (size_t)(end - p) : strlen(p);
                /* a sample of each parameter's alphabet */
                static const struct {
                    const char *name, *value;
                } samples[] = {{":conversion_name", "cut-1"},
                               {":variant", "bg_remove"},
                               {":options", "w:400,bg_color:ff0000ff"},
                               {":expires", "0"},
                               {":signature", "6R4RsSJN1rbF_YkcqjS2O-yBeTt2oFf4SBKTtbQqwpA"}};
                const char *v = ID;
                for (size_t k = 0; k < sizeof samples / sizeof samples[0]; k++)
                    if (strlen(samples[k].name) == l && strncmp(p, samples[k].name, l) == 0)
                        v = samples[k].value;
                strcat(path, v);
                p += l;
            } else {
                strncat(path, p, 1);
                p++;
            }
        }
        ad_route_match m;
        ad_route_find(t[i].method, path, &m);
        CHECKF(m.status == AD_MATCH_OK && m.route == &t[i], "%s %s", t[i].method, path);
        CHECK(t[i].handler != NULL && t[i].summary != NULL);
        /* every /api/v1 route needs a key but the API description, and so
         * do remove.bg's; nothing else does */
        CHECK(t[i].auth == ((strncmp(t[i].path, "/api/v1", 7) == 0 && strcmp(t[i].path, "/api/v1/openapi.json") != 0) ||
                            (t[i].flags & AD_ROUTE_REMOVEBG)));
    }
}
