/* test_openapi.c — GET /api/v1/openapi.json against the real server (issue
 * 16): served without a key; valid against the official OpenAPI 3.1 schema
 * (openapi_check.py, with the schema from the pinned npm package setup
 * fetches); the same routes as the route table, both ways, with the same
 * query parameters and the same public routes; and the answers the server
 * really gives — errors, assets, lists, jobs, save results — have a status
 * the document lists for their operation and validate against its schemas. */
#define HARNESS_SETUP api_setup
#include "harness.h"

#include <ctype.h>

#include "api/client.h"
#include "api/route.h"
#include "cutout/options.h"

/* "/api/v1/assets/:asset_id" -> "/api/v1/assets/{asset_id}" */
static void oas_path(const char *tpl, char *out, size_t len)
{
    size_t o = 0;
    for (const char *p = tpl; *p && o + 3 < len; p++) {
        if (*p == ':') {
            out[o++] = '{';
            while (p[1] && p[1] != '/' && o + 2 < len)
                out[o++] = *++p;
            out[o++] = '}';
        } else {
            out[o++] = *p;
        }
    }
    out[o] = '\0';
}

static json_t *operation(json_t *doc, const char *method, const char *tpl)
{
    char path[200], m[16];
    oas_path(tpl, path, sizeof path);
    size_t i = 0;
    for (; method[i] && i + 1 < sizeof m; i++)
        m[i] = (char)tolower((unsigned char)method[i]);
    m[i] = '\0';
    return json_object_get(json_object_get(json_object_get(doc, "paths"), path), m);
}

/* names, sorted, as one comma list into out */
static void sorted_list(const char **names, int n, char *out, size_t len)
{
    for (int i = 1; i < n; i++)
        for (int j = i; j > 0 && strcmp(names[j - 1], names[j]) > 0; j--) {
            const char *t = names[j];
            names[j] = names[j - 1];
            names[j - 1] = t;
        }
    out[0] = '\0';
    for (int i = 0; i < n; i++)
        snprintf(out + strlen(out), len - strlen(out), "%s%s", i ? "," : "", names[i]);
}

/* The query parameters the document gives an operation (its own and its
 * path's), as a sorted comma list. */
static void doc_query(json_t *doc, const char *method, const char *tpl, char *out, size_t len)
{
    char path[200];
    oas_path(tpl, path, sizeof path);
    json_t *lists[2] = {json_object_get(json_object_get(json_object_get(doc, "paths"), path), "parameters"),
                        json_object_get(operation(doc, method, tpl), "parameters")};
    const char *names[32];
    int n = 0;
    for (int l = 0; l < 2; l++) {
        size_t i;
        json_t *p;
        json_array_foreach(lists[l], i, p) if (n < 32 && strcmp(jstr(p, "in") ? jstr(p, "in") : "", "query") == 0)
            names[n++] = jstr(p, "name");
    }
    sorted_list(names, n, out, len);
}

/* The table's query list: the route's rows, and for a route that takes
 * the output options, every one the API accepts. */
static void table_query(const ad_route_def *r, char *out, size_t len)
{
    const char *names[32];
    int n = 0;
    for (int i = 0; i < r->nparams && n < 32; i++)
        names[n++] = r->params[i].name;
    if (r->flags & AD_ROUTE_OPTIONS) {
        int nd;
        const ad_option_decl *d = ad_cutout_option_decls(&nd);
        for (int i = 0; i < nd && n < 32; i++)
            if (!(d[i].flags & AD_DECL_CLI_ONLY))
                names[n++] = d[i].name;
    }
    sorted_list(names, n, out, len);
}

static json_t *doc;
static FILE *samples;

/* An answer the server gave: its status must be one the document lists for
 * the operation (tpl NULL: no operation, e.g. 405 or an unknown path), and
 * its JSON body is queued for openapi_check.py against schema (NULL: none). */
static void sample(const char *what, const char *method, const char *tpl, const response *r, const char *schema)
{
    if (tpl) {
        char code[8];
        snprintf(code, sizeof code, "%ld", r->status);
        json_t *op = operation(doc, method, tpl);
        CHECKF(op != NULL, "%s: no operation %s %s", what, method, tpl);
        CHECKF(json_object_get(json_object_get(op, "responses"), code) != NULL,
               "%s: %s %s answered %ld, not documented", what, method, tpl, r->status);
    }
    if (schema) {
        CHECKF(r->json != NULL, "%s: %ld, not JSON", what, r->status);
        if (r->json == NULL)
            return;
        json_t *line = json_pack("{s:s, s:s, s:O}", "schema", schema, "what", what, "body", r->json);
        char *text = json_dumps(line, JSON_COMPACT);
        fprintf(samples, "%s\n", text);
        free(text);
        json_decref(line);
    }
}

TEST(the_document_is_valid_openapi_and_matches_the_server)
{
    const char *oas_schema = getenv("ASSETD_OPENAPI_SCHEMA");
    REQUIRE(oas_schema != NULL && access(oas_schema, R_OK) == 0); /* setup --test fetches it */
    char dir[256];
    temp_dir(dir, sizeof dir, "openapi");
    server s;
    REQUIRE(server_start(&s, dir, NULL));

    /* no key needed, JSON */
    response r = {0};
    REQUIRE(request(&s, "GET", "/api/v1/openapi.json", NULL, 0, NULL, 0, &r) == 200);
    REQUIRE(r.json != NULL);
    doc = json_incref(r.json);
    response_cleanup(&r);
    CHECK(strcmp(jstr(doc, "openapi"), "3.1.0") == 0);

    /* the route table and the document, both ways */
    int n = 0, ops = 0;
    const ad_route_def *t = ad_route_table(&n);
    for (int i = 0; i < n; i++) {
        json_t *op = operation(doc, t[i].method, t[i].path);
        CHECKF(op != NULL, "route %s %s is not in the document", t[i].method, t[i].path);
        if (op == NULL)
            continue;
        json_t *sec = json_object_get(op, "security");
        /* remove.bg's routes take the key as X-Api-Key too: both schemes */
        int removebg = (t[i].flags & AD_ROUTE_REMOVEBG) && json_array_size(sec) == 2 &&
                       json_object_get(json_array_get(sec, 0), "removeBgKey") &&
                       json_object_get(json_array_get(sec, 1), "apiKey");
        CHECKF(t[i].auth ? sec == NULL || removebg : (json_is_array(sec) && json_array_size(sec) == 0),
               "%s %s: auth %d, document security differs", t[i].method, t[i].path, t[i].auth);
        {
            char a[400], b[400];
            table_query(&t[i], a, sizeof a);
            doc_query(doc, t[i].method, t[i].path, b, sizeof b);
            CHECKF(strcmp(a, b) == 0, "%s %s: query [%s] in the table, [%s] in the document", t[i].method, t[i].path, a,
                   b);
        }
    }
    const char *path;
    json_t *item;
    json_object_foreach(json_object_get(doc, "paths"), path, item)
    {
        const char *m;
        json_t *op;
        json_object_foreach(item, m, op)
        {
            if (strcmp(m, "parameters") == 0)
                continue;
            ops++;
            char method[16];
            size_t k = 0;
            for (; m[k] && k + 1 < sizeof method; k++)
                method[k] = (char)toupper((unsigned char)m[k]);
            method[k] = '\0';
            int found = 0;
            for (int i = 0; i < n; i++) {
                char p[200];
                oas_path(t[i].path, p, sizeof p);
                found |= strcmp(p, path) == 0 && strcmp(t[i].method, method) == 0;
            }
            CHECKF(found, "the document's %s %s is not a route", method, path);
        }
    }
    CHECKF(ops == n, "%d operations in the document, %d routes", ops, n);

    /* the server's answers against the document */
    char samples_path[300];
    snprintf(samples_path, sizeof samples_path, "%s/samples.jsonl", dir);
    samples = fopen(samples_path, "w");
    REQUIRE(samples != NULL);
#define A "/api/v1/assets/:asset_id"
    char id[64], p[300];
    request(&s, "GET", "/api/v1/assets", NULL, 0, NULL, 0, &r);
    sample("no key", "GET", "/api/v1/assets", &r, "Error");
    response_cleanup(&r);
    const char *bad_key[] = {"Authorization: Bearer not-a-key-0000000000", NULL};
    request(&s, "GET", "/api/v1/assets", bad_key, 0, NULL, 0, &r);
    sample("wrong key", "GET", "/api/v1/assets", &r, "Error");
    response_cleanup(&r);
    get(&s, "/api/v1/assets?limit=0", &r);
    sample("limit=0", "GET", "/api/v1/assets", &r, "Error");
    response_cleanup(&r);
    get(&s, "/api/v1/assets?bogus=1", &r);
    sample("unknown query parameter", "GET", "/api/v1/assets", &r, "Error");
    response_cleanup(&r);
    get(&s, "/api/v1/nothing", &r);
    sample("unknown path", "GET", NULL, &r, "Error");
    response_cleanup(&r);
    get(&s, "/api/v1/assets/0123456789abcdef0123456789abcdef", &r);
    sample("unknown asset", "GET", A, &r, "Error");
    response_cleanup(&r);
    get(&s, "/api/v1/assets/NOT-AN-ID", &r);
    sample("malformed asset id", "GET", A, &r, "Error");
    response_cleanup(&r);

    REQUIRE(request(&s, "POST", "/api/v1/assets?filename=a.png", (const char *[]){"Content-Type: image/png", NULL}, 1,
                    astro_png, astro_len, &r) == 201);
    sample("upload", "POST", "/api/v1/assets", &r, "Asset");
    snprintf(id, sizeof id, "%s", jstr(r.json, "id"));
    response_cleanup(&r);
    request(&s, "POST", "/api/v1/assets", (const char *[]){"Content-Type: multipart/form-data; boundary=x", NULL}, 1,
            "--x--\r\n", 7, &r);
    sample("multipart without a file", "POST", "/api/v1/assets", &r, "Error");
    response_cleanup(&r);
    request(&s, "PATCH", "/api/v1/assets", NULL, 1, NULL, 0, &r);
    sample("PATCH", "PATCH", NULL, &r, "Error");
    CHECK(r.status == 405);
    response_cleanup(&r);

    snprintf(p, sizeof p, "/api/v1/assets/%s", id);
    get(&s, p, &r);
    sample("get asset", "GET", A, &r, "Asset");
    response_cleanup(&r);
    get(&s, "/api/v1/assets?limit=5", &r);
    sample("list", "GET", "/api/v1/assets", &r, "AssetList");
    response_cleanup(&r);
    snprintf(p, sizeof p, "/api/v1/assets/%s/custom_data", id);
    request(&s, "PUT", p, (const char *[]){"Content-Type: application/json", NULL}, 1, "{\"sku\":\"A-1\"}", 13, &r);
    sample("custom data", "PUT", A "/custom_data", &r, "Asset");
    response_cleanup(&r);
    request(&s, "PUT", p, (const char *[]){"Content-Type: application/json", NULL}, 1, "[1,2]", 5, &r);
    sample("custom data not an object", "PUT", A "/custom_data", &r, "Error");
    response_cleanup(&r);

#define BG "/api/v1/assets/:asset_id/addons/bg_remove"
    static const struct {
        const char *query, *schema, *what;
    } bg[] = {
        {"?mode=bogus", "Error", "unknown mode"},
        {"?mode=save_image", "Error", "save without disposition"},
        {"?mode=save_image&disposition=add_conversion&conversion_name=bad%20name", "Error", "bad conversion name"},
        {"?mode=save_image&disposition=add_conversion&conversion_name=cut", "SaveResult", "save as conversion"},
        {"?mode=save_image&disposition=add_new_asset&metadata=inherit", "SaveResult", "save as new asset, inherit"},
        {"?mode=save_image&disposition=add_new_asset", "SaveResult", "save as new asset"},
        {"?format=gif", "Error", "bad output option"},
        {"?crop_margin=5", "Error", "margin without crop"},
        {"?format=webp&crop=true&max_side=64", NULL, "options"},
    };
    for (size_t i = 0; i < sizeof bg / sizeof bg[0]; i++) {
        snprintf(p, sizeof p, "/api/v1/assets/%s/addons/bg_remove%s", id, bg[i].query);
        get(&s, p, &r);
        sample(bg[i].what, "GET", BG, &r, bg[i].schema);
        response_cleanup(&r);
    }
    /* the one-shot route: its answers are documented too */
    {
        const char *ct[] = {"Content-Type: image/png", NULL};
        request(&s, "POST", "/api/v1/bg_remove?format=bmp", ct, 1, "x", 1, &r);
        sample("one-shot bad option", "POST", "/api/v1/bg_remove", &r, "Error");
        CHECK(r.status == 400);
        response_cleanup(&r);
        request(&s, "POST", "/api/v1/bg_remove", ct, 1, "not an image", 12, &r);
        sample("one-shot not an image", "POST", "/api/v1/bg_remove", &r, "Error");
        CHECK(r.status == 422);
        response_cleanup(&r);
        request(&s, "POST", "/api/v1/bg_remove?max_side=32", ct, 1, astro_png, astro_len, &r);
        sample("one-shot", "POST", "/api/v1/bg_remove", &r, NULL);
        CHECK(r.status == 200);
        response_cleanup(&r);
    }
    snprintf(p, sizeof p, "/api/v1/assets/%s/addons/bg_remove?mode=get_image_and_save&disposition=add_new_asset", id);
    REQUIRE(get(&s, p, &r) == 200);
    sample("get and save", "GET", BG, &r, NULL);
    char job[64];
    CHECK(header(&r, "X-Job-Id", job, sizeof job) != NULL && header(&r, "X-New-Asset-Id", p, sizeof p) != NULL);
    response_cleanup(&r);
    snprintf(p, sizeof p, "/api/v1/jobs/%s", job);
    for (int i = 0; i < 100; i++) {
        get(&s, p, &r);
        int done = r.json && strcmp(jstr(r.json, "status") ? jstr(r.json, "status") : "", "succeeded") == 0;
        sample(done ? "job succeeded" : "job pending", "GET", "/api/v1/jobs/:job_id", &r, "Job");
        response_cleanup(&r);
        if (done)
            break;
        sleep_ms(100);
    }
    get(&s, "/api/v1/jobs/0123456789abcdef0123456789abcdef", &r);
    sample("unknown job", "GET", "/api/v1/jobs/:job_id", &r, "Error");
    response_cleanup(&r);

    snprintf(p, sizeof p, "/api/v1/assets/%s/conversions/cut", id);
    get(&s, p, &r);
    sample("get conversion", "GET", A "/conversions/:conversion_name", &r, NULL);
    CHECK(r.status == 200);
    response_cleanup(&r);
    request(&s, "GET", p, (const char *[]){"Range: bytes=99999999-", NULL}, 1, NULL, 0, &r);
    sample("unsatisfiable range", "GET", A "/conversions/:conversion_name", &r, "Error");
    response_cleanup(&r);
    snprintf(p, sizeof p, "/api/v1/assets/%s/file", id);
    request(&s, "GET", p, (const char *[]){"Range: bytes=0-9", NULL}, 1, NULL, 0, &r);
    sample("range of the file", "GET", A "/file", &r, NULL);
    CHECK(r.status == 206);
    response_cleanup(&r);
    snprintf(p, sizeof p, "/api/v1/assets/%s/preview?size=128", id);
    get(&s, p, &r);
    sample("preview", "GET", A "/preview", &r, NULL);
    CHECK(r.status == 200);
    response_cleanup(&r);
    snprintf(p, sizeof p, "/api/v1/assets/%s/preview?size=100", id);
    get(&s, p, &r);
    sample("preview of a size not offered", "GET", A "/preview", &r, "Error");
    response_cleanup(&r);
    snprintf(p, sizeof p, "/api/v1/assets/%s/conversions/cut", id);
    request(&s, "DELETE", p, NULL, 1, NULL, 0, &r);
    sample("delete conversion", "DELETE", A "/conversions/:conversion_name", &r, NULL);
    response_cleanup(&r);
    request(&s, "DELETE", p, NULL, 1, NULL, 0, &r);
    sample("delete it again", "DELETE", A "/conversions/:conversion_name", &r, "Error");
    response_cleanup(&r);
    snprintf(p, sizeof p, "/api/v1/assets/%s", id);
    request(&s, "DELETE", p, NULL, 1, NULL, 0, &r);
    sample("delete asset", "DELETE", A, &r, NULL);
    response_cleanup(&r);
    request(&s, "GET", "/healthz", NULL, 0, NULL, 0, &r);
    sample("healthz", "GET", "/healthz", &r, NULL);
    response_cleanup(&r);
    fclose(samples);

    char docpath[300], cmd[1200], out[8192];
    snprintf(docpath, sizeof docpath, "%s/openapi.json", dir);
    REQUIRE(json_dump_file(doc, docpath, 0) == 0);
    snprintf(cmd, sizeof cmd, "python3 tests/api/openapi_check.py '%s' '%s' '%s' 2>&1", oas_schema, docpath,
             samples_path);
    FILE *pp = popen(cmd, "r");
    REQUIRE(pp != NULL);
    size_t got = fread(out, 1, sizeof out - 1, pp);
    out[got] = '\0';
    int rc = pclose(pp);
    printf("    %s", out);
    CHECKF(rc == 0 && strstr(out, ", 0 problems") != NULL, "openapi_check: %s", out);
    json_decref(doc);
    server_kill(&s, SIGTERM);
}
