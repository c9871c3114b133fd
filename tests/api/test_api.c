/* test_api.c — the HTTP API end to end: the real `assetd serve` binary on a
 * free port with a temporary data dir and the real model, driven over
 * sockets. Every rule of ../shared/spec/bg_remove.md has a row in a table
 * here; the rest of the API (assets, custom data, files, conversions, jobs,
 * auth, limits) is covered the same way. Restart recovery, saturation and
 * concurrency are in test_api_durability.c. */
#define HARNESS_SETUP setup
#include "harness.h"

#include "api/client.h"

static server srv;
static char astro[33];      /* a 512x512 PNG */
static char text_asset[33]; /* not an image */
static char *cutout_png;    /* get_image's answer for astro, the reference for saves */
static size_t cutout_len;

static void stop_server(void) { server_kill(&srv, SIGTERM); }

static void setup(void)
{
    char dir[256];
    api_setup();
    temp_dir(dir, sizeof dir, "data");
    const char *args[] = {"--max-pixels", "300000", "--max-body", "3000000", NULL};
    if (!server_start(&srv, dir, args)) {
        printf("cannot start the server (log: %s)\n", srv.log);
        exit(1);
    }
    atexit(stop_server);
    if (upload(&srv, "astronaut.png", "image/png", astro_png, astro_len, astro) != 201 ||
        upload(&srv, "notes.txt", "text/plain", "hello, not an image", 19, text_asset) != 201) {
        printf("setup uploads failed\n");
        exit(1);
    }
}

/* ------------------------------------------------------------ basics */

TEST(healthz_answers_without_a_key_and_keeps_the_connection)
{
    response r;
    CHECK(request(&srv, "GET", "/healthz", NULL, 0, NULL, 0, &r) == 200);
    CHECK(strcmp(jstr(r.json, "status"), "ok") == 0);
    response_cleanup(&r);
    /* the second request reuses the connection (keep-alive) */
    CHECK(request(&srv, "GET", "/healthz", NULL, 0, NULL, 0, &r) == 200);
    long connects = -1;
    curl_easy_getinfo(curl_handle(), CURLINFO_NUM_CONNECTS, &connects);
    CHECKF(connects == 0, "new connections: %ld", connects);
    response_cleanup(&r);
}

TEST(every_api_route_needs_a_valid_key)
{
    static const struct {
        const char *method, *path;
    } routes[] = {
        {"GET", "/api/v1/assets"},
        {"POST", "/api/v1/assets"},
        {"GET", "/api/v1/assets/0123456789abcdef0123456789abcdef"},
        {"DELETE", "/api/v1/assets/0123456789abcdef0123456789abcdef"},
        {"PUT", "/api/v1/assets/0123456789abcdef0123456789abcdef/custom_data"},
        {"GET", "/api/v1/assets/0123456789abcdef0123456789abcdef/file"},
        {"GET", "/api/v1/assets/0123456789abcdef0123456789abcdef/conversions/x"},
        {"DELETE", "/api/v1/assets/0123456789abcdef0123456789abcdef/conversions/x"},
        {"GET", "/api/v1/assets/0123456789abcdef0123456789abcdef/addons/bg_remove"},
        {"GET", "/api/v1/jobs/0123456789abcdef0123456789abcdef"},
        {"GET", "/api/v1/no-such-route"},
    };
    static const char *const wrong[] = {"Authorization: Bearer wrong-key-0123456789abcdef", NULL};
    static const char *const basic[] = {"Authorization: Basic dXNlcjpwYXNz", NULL};
    for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++) {
        response r;
        long st = request(&srv, routes[i].method, routes[i].path, NULL, 0, NULL, 0, &r);
        CHECKF(st == 401 && is_error_shape(&r) && strcmp(err_code(&r), "unauthorized") == 0, "%s %s -> %ld",
               routes[i].method, routes[i].path, st);
        response_cleanup(&r);
        st = request(&srv, routes[i].method, routes[i].path, wrong, 0, NULL, 0, &r);
        CHECKF(st == 401, "wrong key: %s %s -> %ld", routes[i].method, routes[i].path, st);
        response_cleanup(&r);
        st = request(&srv, routes[i].method, routes[i].path, basic, 0, NULL, 0, &r);
        CHECKF(st == 401, "basic auth: %s %s -> %ld", routes[i].method, routes[i].path, st);
        response_cleanup(&r);
    }
}

TEST(unknown_routes_and_methods_get_json_errors)
{
    response r;
    CHECK(get(&srv, "/api/v1/nothing", &r) == 404 && is_error_shape(&r));
    response_cleanup(&r);
    CHECK(get(&srv, "/index.html", &r) == 404 && is_error_shape(&r));
    response_cleanup(&r);
    CHECK(get(&srv, "/console/other.js", &r) == 404 && is_error_shape(&r));
    response_cleanup(&r);
    /* "/" is the web console: a page, public, and it takes no body */
    CHECK(get(&srv, "/", &r) == 200);
    response_cleanup(&r);
    CHECK(request(&srv, "POST", "/", NULL, 0, "x", 1, &r) == 405 && is_error_shape(&r));
    response_cleanup(&r);
    CHECK(request(&srv, "PATCH", "/api/v1/assets", NULL, 1, NULL, 0, &r) == 405 && is_error_shape(&r));
    char allow[64];
    CHECK(header(&r, "Allow", allow, sizeof allow) != NULL);
    response_cleanup(&r);
    char path[160];
    snprintf(path, sizeof path, "/api/v1/assets/%s/addons/bg_remove", astro);
    CHECK(request(&srv, "POST", path, NULL, 1, "x", 1, &r) == 405 && is_error_shape(&r));
    response_cleanup(&r);
}

/* ------------------------------------------------------------ assets */

TEST(upload_raw_returns_the_asset_json)
{
    static const char *const keys[] = {"id",          "filename",        "content_type", "size",
                                       "sha256",      "width",           "height",       "created_at",
                                       "custom_data", "source_asset_id", "conversions",  NULL};
    static const char *const h[] = {"Content-Type: image/png", NULL};
    response r;
    REQUIRE(request(&srv, "POST", "/api/v1/assets?filename=a%20b.png", h, 1, astro_png, astro_len, &r) == 201);
    CHECK(has_exact_keys(r.json, keys));
    CHECK(strcmp(jstr(r.json, "filename"), "a b.png") == 0);
    CHECK(strcmp(jstr(r.json, "content_type"), "image/png") == 0);
    CHECK(json_integer_value(json_object_get(r.json, "size")) == (json_int_t)astro_len);
    CHECK(json_integer_value(json_object_get(r.json, "width")) == 512);
    CHECK(json_integer_value(json_object_get(r.json, "height")) == 512);
    CHECK(strlen(jstr(r.json, "sha256")) == 64);
    CHECK(json_is_object(json_object_get(r.json, "custom_data")) &&
          json_object_size(json_object_get(r.json, "custom_data")) == 0);
    CHECK(json_is_null(json_object_get(r.json, "source_asset_id")));
    CHECK(json_array_size(json_object_get(r.json, "conversions")) == 0);
    const char *ca = jstr(r.json, "created_at");
    CHECKF(strlen(ca) >= 20 && ca[10] == 'T' && ca[strlen(ca) - 1] == 'Z', "created_at %s", ca);
    char loc[128], want[128];
    snprintf(want, sizeof want, "/api/v1/assets/%s", jstr(r.json, "id"));
    CHECK(header(&r, "Location", loc, sizeof loc) && strcmp(loc, want) == 0);
    response_cleanup(&r);
}

/* A raw upload without ?filename= is named after its detected type. */
TEST(upload_raw_without_a_filename_is_named_after_its_type)
{
    static const char *const h[] = {"Content-Type: image/png", NULL};
    response r;
    REQUIRE(request(&srv, "POST", "/api/v1/assets", h, 1, astro_png, astro_len, &r) == 201);
    CHECKF(strcmp(jstr(r.json, "filename"), "upload.png") == 0, "%s", jstr(r.json, "filename"));
    response_cleanup(&r);
    /* the bytes decide, not the client's word */
    static const char *const lie[] = {"Content-Type: image/jpeg", NULL};
    REQUIRE(request(&srv, "POST", "/api/v1/assets", lie, 1, astro_png, astro_len, &r) == 201);
    CHECK(strcmp(jstr(r.json, "filename"), "upload.png") == 0);
    response_cleanup(&r);
    /* not an image: no extension is made up */
    static const char *const txt[] = {"Content-Type: text/plain", NULL};
    REQUIRE(request(&srv, "POST", "/api/v1/assets", txt, 1, "plain words", 11, &r) == 201);
    CHECK(strcmp(jstr(r.json, "filename"), "upload") == 0);
    response_cleanup(&r);
}

TEST(upload_of_any_file_type_has_null_dimensions)
{
    response r;
    char path[128];
    snprintf(path, sizeof path, "/api/v1/assets/%s", text_asset);
    REQUIRE(get(&srv, path, &r) == 200);
    CHECK(json_is_null(json_object_get(r.json, "width")) && json_is_null(json_object_get(r.json, "height")));
    CHECK(strcmp(jstr(r.json, "content_type"), "text/plain") == 0);
    CHECK(strcmp(jstr(r.json, "filename"), "notes.txt") == 0);
    response_cleanup(&r);
}

static long multipart(const char *body, const char *boundary, response *r)
{
    char ct[160];
    snprintf(ct, sizeof ct, "Content-Type: multipart/form-data; boundary=%s", boundary);
    const char *h[] = {ct, NULL};
    return request(&srv, "POST", "/api/v1/assets", h, 1, body, strlen(body), r);
}

TEST(upload_multipart_with_custom_data)
{
    const char *body = "--XyZ\r\n"
                       "Content-Disposition: form-data; name=\"custom_data\"\r\n\r\n"
                       "{\"sku\":\"A-1\",\"tags\":[1,2]}\r\n"
                       "--XyZ\r\n"
                       "Content-Disposition: form-data; name=\"file\"; filename=\"doc.txt\"\r\n"
                       "Content-Type: text/plain\r\n\r\n"
                       "line one\r\nline two\r\n"
                       "--XyZ--\r\n";
    response r;
    REQUIRE(multipart(body, "XyZ", &r) == 201);
    CHECK(strcmp(jstr(r.json, "filename"), "doc.txt") == 0);
    CHECK(strcmp(jstr(r.json, "content_type"), "text/plain") == 0);
    CHECK(json_integer_value(json_object_get(r.json, "size")) == 18);
    CHECK(strcmp(jstr(json_object_get(r.json, "custom_data"), "sku"), "A-1") == 0);
    char path[160];
    snprintf(path, sizeof path, "/api/v1/assets/%s/file", jstr(r.json, "id"));
    response f;
    CHECK(get(&srv, path, &f) == 200 && f.len == 18 && memcmp(f.body, "line one\r\nline two", 18) == 0);
    response_cleanup(&f);
    response_cleanup(&r);
}

TEST(upload_refusals_name_the_parameter)
{
    static const struct {
        const char *body;
        long status;
        const char *code, *param;
    } rows[] = {
        /* no file part */
        {"--B\r\nContent-Disposition: form-data; name=\"custom_data\"\r\n\r\n{}\r\n--B--\r\n", 400, "missing_parameter",
         "file"},
        /* custom_data not an object, not JSON, duplicate keys */
        {"--B\r\nContent-Disposition: form-data; name=\"custom_data\"\r\n\r\n[1]\r\n--B\r\nContent-Disposition: "
         "form-data; name=\"file\"\r\n\r\nx\r\n--B--\r\n",
         400, "invalid_parameter", "custom_data"},
        {"--B\r\nContent-Disposition: form-data; name=\"custom_data\"\r\n\r\n{oops\r\n--B\r\nContent-Disposition: "
         "form-data; name=\"file\"\r\n\r\nx\r\n--B--\r\n",
         400, "invalid_parameter", "custom_data"},
        {"--B\r\nContent-Disposition: form-data; name=\"custom_data\"\r\n\r\n{\"a\":1,\"a\":2}\r\n--B\r\n"
         "Content-Disposition: form-data; name=\"file\"\r\n\r\nx\r\n--B--\r\n",
         400, "invalid_parameter", "custom_data"},
        /* an unknown field, a repeated one */
        {"--B\r\nContent-Disposition: form-data; name=\"other\"\r\n\r\nx\r\n--B--\r\n", 400, "invalid_parameter",
         "other"},
        {"--B\r\nContent-Disposition: form-data; name=\"file\"\r\n\r\nx\r\n--B\r\nContent-Disposition: form-data; "
         "name=\"file\"\r\n\r\ny\r\n--B--\r\n",
         400, "invalid_parameter", "file"},
        /* truncated: no closing delimiter */
        {"--B\r\nContent-Disposition: form-data; name=\"file\"\r\n\r\nxyz", 400, "invalid_parameter", "body"},
        /* a filename with a slash */
        {"--B\r\nContent-Disposition: form-data; name=\"file\"; filename=\"../x\"\r\n\r\nx\r\n--B--\r\n", 400,
         "invalid_parameter", "filename"},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        response r;
        long st = multipart(rows[i].body, "B", &r);
        CHECKF(st == rows[i].status && is_error_shape(&r) && strcmp(err_code(&r), rows[i].code) == 0 &&
                   strcmp(err_param(&r), rows[i].param) == 0,
               "row %zu: %ld %s %s", i, st, err_code(&r), err_param(&r));
        response_cleanup(&r);
    }
    response r;
    static const char *const h[] = {"Content-Type: text/plain", NULL};
    CHECK(request(&srv, "POST", "/api/v1/assets?filename=%2Fetc%2Fpasswd", h, 1, "x", 1, &r) == 400 &&
          strcmp(err_param(&r), "filename") == 0);
    response_cleanup(&r);
    CHECK(request(&srv, "POST", "/api/v1/assets?name=x", h, 1, "x", 1, &r) == 400 &&
          strcmp(err_param(&r), "name") == 0);
    response_cleanup(&r);
    CHECK(request(&srv, "POST", "/api/v1/assets", h, 1, "", 0, &r) == 400 && strcmp(err_param(&r), "file") == 0);
    response_cleanup(&r);
}

TEST(body_over_max_body_is_413)
{
    size_t n = 3500000;
    char *big = calloc(1, n);
    static const char *const h[] = {"Content-Type: application/octet-stream", NULL};
    response r;
    long st = request(&srv, "POST", "/api/v1/assets", h, 1, big, n, &r);
    CHECKF(st == 413 && is_error_shape(&r), "status %ld", st);
    response_cleanup(&r);
    free(big);
    /* and the server is fine afterwards */
    CHECK(get(&srv, "/api/v1/assets?limit=1", &r) == 200);
    response_cleanup(&r);
}

TEST(list_is_newest_first_with_a_stable_cursor)
{
    char ids[5][33], extra[33];
    for (int i = 0; i < 5; i++)
        REQUIRE(upload(&srv, "page.txt", "text/plain", "page", 4, ids[i]) == 201);
    response r;
    REQUIRE(get(&srv, "/api/v1/assets?limit=2", &r) == 200);
    json_t *items = json_object_get(r.json, "items");
    CHECK(json_array_size(items) == 2);
    CHECK(strcmp(jstr(json_array_get(items, 0), "id"), ids[4]) == 0);
    CHECK(strcmp(jstr(json_array_get(items, 1), "id"), ids[3]) == 0);
    char cursor[64];
    snprintf(cursor, sizeof cursor, "%s", jstr(r.json, "next_cursor"));
    CHECK(cursor[0] != '\0');
    response_cleanup(&r);
    /* an insert between pages does not shift the next page */
    REQUIRE(upload(&srv, "late.txt", "text/plain", "late", 4, extra) == 201);
    char path[160];
    snprintf(path, sizeof path, "/api/v1/assets?limit=3&cursor=%s", cursor);
    REQUIRE(get(&srv, path, &r) == 200);
    items = json_object_get(r.json, "items");
    CHECK(json_array_size(items) == 3);
    CHECK(strcmp(jstr(json_array_get(items, 0), "id"), ids[2]) == 0);
    CHECK(strcmp(jstr(json_array_get(items, 2), "id"), ids[0]) == 0);
    response_cleanup(&r);
    /* walking every page visits each asset once and ends with null */
    int seen = 0, pages = 0;
    char next[64] = "";
    do {
        snprintf(path, sizeof path, "/api/v1/assets?limit=4%s%s", next[0] ? "&cursor=" : "", next);
        REQUIRE(get(&srv, path, &r) == 200);
        seen += (int)json_array_size(json_object_get(r.json, "items"));
        json_t *nc = json_object_get(r.json, "next_cursor");
        CHECK(json_is_null(nc) || json_is_string(nc));
        snprintf(next, sizeof next, "%s", json_is_string(nc) ? json_string_value(nc) : "");
        response_cleanup(&r);
    } while (next[0] && ++pages < 100);
    CHECK(seen >= 8);
    static const char *const bad[] = {"/api/v1/assets?limit=0",    "/api/v1/assets?limit=101",
                                      "/api/v1/assets?limit=x",    "/api/v1/assets?cursor=-1",
                                      "/api/v1/assets?cursor=abc", "/api/v1/assets?limit=1&limit=2",
                                      "/api/v1/assets?sort=asc"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        CHECKF(get(&srv, bad[i], &r) == 400 && is_error_shape(&r), "%s", bad[i]);
        response_cleanup(&r);
    }
}

TEST(unknown_and_malformed_ids_are_404)
{
    static const char *const paths[] = {
        "/api/v1/assets/0123456789abcdef0123456789abcdef",
        "/api/v1/assets/0123456789ABCDEF0123456789ABCDEF",
        "/api/v1/assets/..%2F..%2Fetc%2Fpasswd",
        "/api/v1/assets/1'%20OR%20'1'='1",
        "/api/v1/assets/0123456789abcdef0123456789abcde",
        "/api/v1/assets/0123456789abcdef0123456789abcdef0",
        "/api/v1/assets/0123456789abcdef0123456789abcdef/file",
        "/api/v1/assets/..%2F..%2Fassetd.db/file",
        "/api/v1/assets/0123456789abcdef0123456789abcdef/addons/bg_remove",
        "/api/v1/assets/%00/addons/bg_remove",
        "/api/v1/jobs/0123456789abcdef0123456789abcdef",
        "/api/v1/jobs/..",
    };
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
        response r;
        long st = get(&srv, paths[i], &r);
        CHECKF(st == 404 && is_error_shape(&r), "%s -> %ld", paths[i], st);
        response_cleanup(&r);
    }
    response r;
    CHECK(request(&srv, "DELETE", "/api/v1/assets/0123456789abcdef0123456789abcdef", NULL, 1, NULL, 0, &r) == 404);
    response_cleanup(&r);
}

TEST(delete_removes_the_asset_and_its_conversions)
{
    char id[33], path[160];
    REQUIRE(upload(&srv, "gone.txt", "text/plain", "bye", 3, id) == 201);
    response r;
    snprintf(path, sizeof path, "/api/v1/assets/%s", id);
    CHECK(request(&srv, "DELETE", path, NULL, 1, NULL, 0, &r) == 204 && r.len == 0);
    response_cleanup(&r);
    CHECK(get(&srv, path, &r) == 404);
    response_cleanup(&r);
    CHECK(request(&srv, "DELETE", path, NULL, 1, NULL, 0, &r) == 404);
    response_cleanup(&r);
}

TEST(custom_data_put_replaces_and_validates)
{
    char id[33], path[160];
    REQUIRE(upload(&srv, "cd.txt", "text/plain", "cd", 2, id) == 201);
    snprintf(path, sizeof path, "/api/v1/assets/%s/custom_data", id);
    response r;
    const char *doc = "{\"title\":\"caf\xc3\xa9\",\"n\":12345678901234,\"nested\":{\"a\":[true,null]}}";
    REQUIRE(request(&srv, "PUT", path, NULL, 1, doc, strlen(doc), &r) == 200);
    json_t *cd = json_object_get(r.json, "custom_data");
    CHECK(strcmp(jstr(cd, "title"), "caf\xc3\xa9") == 0);
    CHECK(json_integer_value(json_object_get(cd, "n")) == 12345678901234LL);
    CHECK(strcmp(jstr(r.json, "id"), id) == 0);
    response_cleanup(&r);
    static const char *const bad[] = {"[]", "\"s\"", "{", "{\"a\":1,\"a\":2}", "{\"a\":NaN}", "", "{} x"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        long st = request(&srv, "PUT", path, NULL, 1, bad[i], strlen(bad[i]), &r);
        CHECKF(st == 400 && strcmp(err_param(&r), "custom_data") == 0, "'%s' -> %ld", bad[i], st);
        response_cleanup(&r);
    }
    /* the failed PUTs changed nothing */
    snprintf(path, sizeof path, "/api/v1/assets/%s", id);
    REQUIRE(get(&srv, path, &r) == 200);
    CHECK(strcmp(jstr(json_object_get(r.json, "custom_data"), "title"), "caf\xc3\xa9") == 0);
    response_cleanup(&r);
    char *huge = malloc(70000);
    memset(huge, ' ', 70000);
    huge[0] = '{';
    huge[69999] = '}';
    snprintf(path, sizeof path, "/api/v1/assets/%s/custom_data", id);
    CHECK(request(&srv, "PUT", path, NULL, 1, huge, 70000, &r) == 413 && strcmp(err_param(&r), "custom_data") == 0);
    response_cleanup(&r);
    free(huge);
}

/* ?download=true on a file or a conversion: saved, not shown (the route's
 * row; the OpenAPI document lists it with no other edit). */
TEST(download_true_makes_an_attachment)
{
    char path[200], cd[400];
    response r;
    snprintf(path, sizeof path, "/api/v1/assets/%s/file", astro);
    REQUIRE(get(&srv, path, &r) == 200);
    CHECKF(header(&r, "Content-Disposition", cd, sizeof cd) && strncmp(cd, "inline;", 7) == 0, "%s", cd);
    response_cleanup(&r);
    snprintf(path, sizeof path, "/api/v1/assets/%s/file?download=true", astro);
    REQUIRE(get(&srv, path, &r) == 200);
    CHECK(r.len == astro_len && memcmp(r.body, astro_png, astro_len) == 0);
    CHECKF(header(&r, "Content-Disposition", cd, sizeof cd) && strncmp(cd, "attachment;", 11) == 0 &&
               strstr(cd, "astronaut.png"),
           "%s", cd);
    response_cleanup(&r);
    snprintf(path, sizeof path, "/api/v1/assets/%s/file?download=maybe", astro);
    CHECK(get(&srv, path, &r) == 400 && strcmp(err_param(&r), "download") == 0);
    response_cleanup(&r);
    snprintf(path, sizeof path, "/api/v1/assets/%s/conversions/none?download=1", astro);
    CHECK(get(&srv, path, &r) == 404); /* parsed, then no such conversion */
    response_cleanup(&r);
}

TEST(file_download_with_etag_and_range)
{
    char path[160], etag[100], inm[140], cr[80];
    snprintf(path, sizeof path, "/api/v1/assets/%s/file", astro);
    response r;
    REQUIRE(get(&srv, path, &r) == 200);
    CHECK(r.len == astro_len && memcmp(r.body, astro_png, astro_len) == 0);
    REQUIRE(header(&r, "ETag", etag, sizeof etag) != NULL);
    char ct[64];
    CHECK(header(&r, "Content-Type", ct, sizeof ct) && strcmp(ct, "image/png") == 0);
    response_cleanup(&r);
    snprintf(inm, sizeof inm, "If-None-Match: %s", etag);
    const char *h1[] = {inm, NULL};
    CHECK(request(&srv, "GET", path, h1, 1, NULL, 0, &r) == 304 && r.len == 0);
    response_cleanup(&r);
    const char *h2[] = {"If-None-Match: \"other\"", NULL};
    CHECK(request(&srv, "GET", path, h2, 1, NULL, 0, &r) == 200);
    response_cleanup(&r);
    const char *h3[] = {"Range: bytes=0-9", NULL};
    CHECK(request(&srv, "GET", path, h3, 1, NULL, 0, &r) == 206 && r.len == 10 && memcmp(r.body, astro_png, 10) == 0);
    char want[80];
    snprintf(want, sizeof want, "bytes 0-9/%zu", astro_len);
    CHECK(header(&r, "Content-Range", cr, sizeof cr) && strcmp(cr, want) == 0);
    response_cleanup(&r);
    const char *h4[] = {"Range: bytes=-5", NULL};
    CHECK(request(&srv, "GET", path, h4, 1, NULL, 0, &r) == 206 && r.len == 5 &&
          memcmp(r.body, astro_png + astro_len - 5, 5) == 0);
    response_cleanup(&r);
    const char *h5[] = {"Range: bytes=100000000-", NULL};
    CHECK(request(&srv, "GET", path, h5, 1, NULL, 0, &r) == 416 && is_error_shape(&r));
    snprintf(want, sizeof want, "bytes */%zu", astro_len);
    CHECK(header(&r, "Content-Range", cr, sizeof cr) && strcmp(cr, want) == 0);
    response_cleanup(&r);
    const char *h6[] = {"Range: bytes=0-1,5-6", NULL};
    CHECK(request(&srv, "GET", path, h6, 1, NULL, 0, &r) == 200 && r.len == astro_len);
    response_cleanup(&r);
    const char *h7[] = {"Range: bytes=500000-", NULL};
    CHECK(request(&srv, "GET", path, h7, 1, NULL, 0, &r) == 206 && r.len == astro_len - 500000 &&
          memcmp(r.body, astro_png + 500000, r.len) == 0);
    response_cleanup(&r);
}

/* ------------------------------------------------------------ bg_remove: refusals */

TEST(bg_remove_refusals_table)
{
    static const struct {
        const char *query;
        const char *code, *param;
    } rows[] = {
        /* disposition required for the save modes */
        {"mode=save_image", "missing_parameter", "disposition"},
        {"mode=get_image_and_save", "missing_parameter", "disposition"},
        /* unknown values */
        {"mode=get", "invalid_parameter", "mode"},
        {"mode=", "invalid_parameter", "mode"},
        {"mode=SAVE_IMAGE&disposition=add_new_asset", "invalid_parameter", "mode"},
        {"mode=save_image&disposition=add", "invalid_parameter", "disposition"},
        {"mode=save_image&disposition=add_new_asset&metadata=copy", "invalid_parameter", "metadata"},
        /* conversion_name: required, pattern, length */
        {"mode=save_image&disposition=add_conversion", "missing_parameter", "conversion_name"},
        {"mode=save_image&disposition=add_conversion&conversion_name=", "invalid_parameter", "conversion_name"},
        {"mode=save_image&disposition=add_conversion&conversion_name=a%20b", "invalid_parameter", "conversion_name"},
        {"mode=save_image&disposition=add_conversion&conversion_name=..%2Fx", "invalid_parameter", "conversion_name"},
        {"mode=save_image&disposition=add_conversion&conversion_name=caf%C3%A9", "invalid_parameter",
         "conversion_name"},
        {"mode=save_image&disposition=add_conversion&conversion_name=a234567890123456789012345678901",
         "invalid_parameter", "conversion_name"},
        {"mode=get_image_and_save&disposition=add_conversion&conversion_name=x.y", "invalid_parameter",
         "conversion_name"},
        /* misplaced: metadata only with add_new_asset; conversion_name only with add_conversion */
        {"mode=save_image&disposition=add_conversion&conversion_name=ok&metadata=inherit", "invalid_parameter",
         "metadata"},
        {"mode=save_image&disposition=add_new_asset&conversion_name=ok", "invalid_parameter", "conversion_name"},
        {"mode=get_image_and_save&disposition=add_new_asset&conversion_name=ok", "invalid_parameter",
         "conversion_name"},
        {"metadata=inherit", "invalid_parameter", "metadata"},
        {"mode=get_image&metadata=inherit", "invalid_parameter", "metadata"},
        {"mode=get_image&disposition=add_conversion&conversion_name=ok&metadata=inherit", "invalid_parameter",
         "metadata"},
        {"mode=get_image&metadata=copy", "invalid_parameter", "metadata"},
        /* duplicated */
        {"mode=get_image&mode=get_image", "invalid_parameter", "mode"},
        {"mode=save_image&disposition=add_new_asset&disposition=add_new_asset", "invalid_parameter", "disposition"},
        {"mode=save_image&disposition=add_conversion&conversion_name=a&conversion_name=a", "invalid_parameter",
         "conversion_name"},
        {"mode=save_image&disposition=add_new_asset&metadata=inherit&metadata=inherit", "invalid_parameter",
         "metadata"},
        /* not part of the endpoint */
        {"format=gif", "invalid_parameter", "format"}, /* an output option, with a bad value */
        {"sharpen=1", "invalid_parameter", "sharpen"},
        {"mode=get_image&MODE=get_image", "invalid_parameter", "MODE"},
        {"mode=save_image&disposition=add_new_asset&async=1", "invalid_parameter", "async"},
        /* bad characters in the query itself */
        {"mode=%zz", "invalid_parameter", "(null)"},
        {"mode=get%00image", "invalid_parameter", "(null)"},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        char path[512];
        snprintf(path, sizeof path, "/api/v1/assets/%s/addons/bg_remove?%s", astro, rows[i].query);
        response r;
        long st = get(&srv, path, &r);
        CHECKF(st == 400 && is_error_shape(&r) && strcmp(err_code(&r), rows[i].code) == 0 &&
                   strcmp(err_param(&r), rows[i].param) == 0,
               "%s -> %ld %s param=%s", rows[i].query, st, err_code(&r), err_param(&r));
        response_cleanup(&r);
    }
}

TEST(bg_remove_on_unknown_non_image_broken_and_huge_assets)
{
    char path[256], id[33];
    response r;
    snprintf(path, sizeof path, "/api/v1/assets/%s/addons/bg_remove", "00000000000000000000000000000000");
    CHECK(get(&srv, path, &r) == 404 && strcmp(err_param(&r), "asset_id") == 0);
    response_cleanup(&r);
    snprintf(path, sizeof path, "/api/v1/assets/%s/addons/bg_remove?mode=save_image&disposition=add_new_asset",
             text_asset);
    CHECK(get(&srv, path, &r) == 415 && is_error_shape(&r) && strcmp(err_param(&r), "asset_id") == 0);
    response_cleanup(&r);
    /* a PNG whose header is fine and whose pixels are cut off */
    REQUIRE(upload(&srv, "cut.png", "image/png", astro_png, astro_len / 3, id) == 201);
    snprintf(path, sizeof path, "/api/v1/assets/%s/addons/bg_remove", id);
    long st = get(&srv, path, &r);
    CHECKF(st == 422 && is_error_shape(&r) && strcmp(err_code(&r), "unprocessable_image") == 0, "%ld", st);
    response_cleanup(&r);
    /* over --max-pixels 300000: 600x600 */
    const char *mk = getenv("ASSETD_MKIMAGE");
    if (mk == NULL)
        SKIP("ASSETD_MKIMAGE not set");
    char cmd[1024], out[] = "/tmp/assetd-api-big-XXXXXX.png"; /* removed below */
    int fd = mkstemps(out, 4);
    close(fd);
    const char *td = getenv("ASSETD_TESTDATA") ? getenv("ASSETD_TESTDATA") : "deps/testdata";
    snprintf(cmd, sizeof cmd, "%s resize %s/astronaut.png %s 600 600", mk, td, out);
    REQUIRE(system(cmd) == 0);
    char *big;
    size_t big_len;
    REQUIRE(read_file(out, &big, &big_len));
    unlink(out);
    REQUIRE(upload(&srv, "big.png", "image/png", big, big_len, id) == 201);
    free(big);
    snprintf(path, sizeof path, "/api/v1/assets/%s/addons/bg_remove?mode=get_image", id);
    st = get(&srv, path, &r);
    CHECKF(st == 413 && is_error_shape(&r) && strcmp(err_param(&r), "asset_id") == 0, "%ld", st);
    response_cleanup(&r);
}

/* ------------------------------------------------------------ bg_remove: modes */

static int wait_job(const char *job, const char *want)
{
    char path[128];
    snprintf(path, sizeof path, "/api/v1/jobs/%s", job);
    for (int i = 0; i < 400; i++) {
        response r;
        int done = get(&srv, path, &r) == 200 && strcmp(jstr(r.json, "status"), want) == 0;
        response_cleanup(&r);
        if (done)
            return 1;
        sleep_ms(50);
    }
    return 0;
}

static int fetch_asset(const char *id, response *r)
{
    char path[128];
    snprintf(path, sizeof path, "/api/v1/assets/%s", id);
    return get(&srv, path, r) == 200;
}

/* The conversion named name of asset id must hold exactly the reference cut-out. */
static int conversion_is_cutout(const char *id, const char *name)
{
    char path[200];
    snprintf(path, sizeof path, "/api/v1/assets/%s/conversions/%s", id, name);
    response r;
    int ok = get(&srv, path, &r) == 200 && r.len == cutout_len && memcmp(r.body, cutout_png, cutout_len) == 0;
    response_cleanup(&r);
    return ok;
}

TEST(get_image_returns_an_rgba_png_of_the_original_size)
{
    static const char *const queries[] = {"", "?mode=get_image"};
    for (int i = 0; i < 2; i++) {
        char path[200];
        snprintf(path, sizeof path, "/api/v1/assets/%s/addons/bg_remove%s", astro, queries[i]);
        response r;
        REQUIRE(get(&srv, path, &r) == 200);
        char ct[64];
        int w, h, c;
        CHECK(header(&r, "Content-Type", ct, sizeof ct) && strcmp(ct, "image/png") == 0);
        CHECK(png_info(&r, &w, &h, &c) && w == 512 && h == 512 && c == 6);
        char tmp[64];
        CHECK(header(&r, "X-Job-Id", tmp, sizeof tmp) == NULL);
        char xc[16];
        if (cutout_png == NULL) {
            CHECK(header(&r, "X-Cache", xc, sizeof xc) == NULL); /* the model ran */
            cutout_png = r.body;
            cutout_len = r.len;
            r.body = NULL;
        } else {
            /* the second time, from the cache: the same bytes */
            CHECK(header(&r, "X-Cache", xc, sizeof xc) && strcmp(xc, "hit") == 0);
            CHECK(r.len == cutout_len && memcmp(r.body, cutout_png, r.len) == 0);
        }
        response_cleanup(&r);
    }
    /* get_image saves nothing */
    response a;
    REQUIRE(fetch_asset(astro, &a));
    CHECK(json_array_size(json_object_get(a.json, "conversions")) == 0);
    response_cleanup(&a);
}

TEST(get_image_ignores_disposition_and_conversion_name)
{
    static const char *const queries[] = {
        "mode=get_image&disposition=add_conversion&conversion_name=ignored",
        "mode=get_image&disposition=add_new_asset&metadata=inherit",
        "mode=get_image&disposition=whatever&conversion_name=not%20valid",
    };
    for (size_t i = 0; i < 3; i++) {
        char path[300];
        snprintf(path, sizeof path, "/api/v1/assets/%s/addons/bg_remove?%s", astro, queries[i]);
        response r;
        long st = get(&srv, path, &r);
        int w, h, c;
        CHECKF(st == 200 && png_info(&r, &w, &h, &c), "%s -> %ld", queries[i], st);
        response_cleanup(&r);
    }
    response a;
    REQUIRE(fetch_asset(astro, &a));
    CHECK(json_array_size(json_object_get(a.json, "conversions")) == 0);
    response_cleanup(&a);
}

TEST(save_image_add_conversion_json_and_effect)
{
    static const char *const keys[] = {"status", "mode", "disposition", "asset_id", "conversion_name", NULL};
    REQUIRE(cutout_png != NULL);
    char path[300];
    snprintf(path, sizeof path,
             "/api/v1/assets/%s/addons/bg_remove?mode=save_image&disposition=add_conversion&conversion_name=web_cut-1",
             astro);
    response r;
    REQUIRE(get(&srv, path, &r) == 200);
    CHECK(has_exact_keys(r.json, keys));
    CHECK(strcmp(jstr(r.json, "status"), "ok") == 0 && strcmp(jstr(r.json, "mode"), "save_image") == 0 &&
          strcmp(jstr(r.json, "disposition"), "add_conversion") == 0 && strcmp(jstr(r.json, "asset_id"), astro) == 0 &&
          strcmp(jstr(r.json, "conversion_name"), "web_cut-1") == 0);
    char cc[64];
    CHECK(header(&r, "Cache-Control", cc, sizeof cc) && strcmp(cc, "no-store") == 0);
    response_cleanup(&r);
    /* durable before the answer: readable at once */
    CHECK(conversion_is_cutout(astro, "web_cut-1"));
    response a;
    REQUIRE(fetch_asset(astro, &a));
    json_t *convs = json_object_get(a.json, "conversions");
    int found = 0;
    for (size_t i = 0; i < json_array_size(convs); i++)
        if (strcmp(jstr(json_array_get(convs, i), "name"), "web_cut-1") == 0) {
            found++;
            CHECK(strcmp(jstr(json_array_get(convs, i), "content_type"), "image/png") == 0);
            CHECK(json_integer_value(json_object_get(json_array_get(convs, i), "size")) == (json_int_t)cutout_len);
        }
    CHECK(found == 1);
    response_cleanup(&a);
}

TEST(a_second_save_to_the_same_conversion_replaces_it)
{
    char id[33], path[300], first_at[40];
    REQUIRE(upload(&srv, "twice.png", "image/png", astro_png, astro_len, id) == 201);
    snprintf(path, sizeof path,
             "/api/v1/assets/%s/addons/bg_remove?mode=save_image&disposition=add_conversion&conversion_name=main", id);
    response r, a;
    REQUIRE(get(&srv, path, &r) == 200);
    response_cleanup(&r);
    REQUIRE(fetch_asset(id, &a));
    snprintf(first_at, sizeof first_at, "%s",
             jstr(json_array_get(json_object_get(a.json, "conversions"), 0), "created_at"));
    response_cleanup(&a);
    sleep_ms(5);
    REQUIRE(get(&srv, path, &r) == 200);
    response_cleanup(&r);
    REQUIRE(fetch_asset(id, &a));
    json_t *convs = json_object_get(a.json, "conversions");
    CHECK(json_array_size(convs) == 1);
    CHECKF(strcmp(jstr(json_array_get(convs, 0), "created_at"), first_at) != 0, "created_at %s unchanged", first_at);
    response_cleanup(&a);
    CHECK(conversion_is_cutout(id, "main"));
    /* deleting it */
    snprintf(path, sizeof path, "/api/v1/assets/%s/conversions/main", id);
    CHECK(request(&srv, "DELETE", path, NULL, 1, NULL, 0, &r) == 204);
    response_cleanup(&r);
    CHECK(get(&srv, path, &r) == 404 && strcmp(err_param(&r), "conversion_name") == 0);
    response_cleanup(&r);
    snprintf(path, sizeof path, "/api/v1/assets/%s/conversions/bad.name", id);
    CHECK(get(&srv, path, &r) == 404);
    response_cleanup(&r);
}

/* The new asset: a PNG of the cut-out, with lineage and custom data only
 * when inherit was asked. */
static void check_new_asset(const char *new_id, const char *source, int inherit)
{
    response a;
    REQUIRE(fetch_asset(new_id, &a));
    CHECK(strcmp(jstr(a.json, "content_type"), "image/png") == 0);
    CHECK(json_integer_value(json_object_get(a.json, "width")) == 512);
    CHECK(json_integer_value(json_object_get(a.json, "size")) == (json_int_t)cutout_len);
    json_t *cd = json_object_get(a.json, "custom_data");
    if (inherit) {
        CHECK(strcmp(jstr(a.json, "source_asset_id"), source) == 0);
        CHECK(strcmp(jstr(cd, "sku"), "SRC-9") == 0);
    } else {
        CHECK(json_is_null(json_object_get(a.json, "source_asset_id")));
        CHECK(json_is_object(cd) && json_object_size(cd) == 0);
    }
    response_cleanup(&a);
    char path[160];
    snprintf(path, sizeof path, "/api/v1/assets/%s/file", new_id);
    response f;
    CHECK(get(&srv, path, &f) == 200 && f.len == cutout_len && memcmp(f.body, cutout_png, cutout_len) == 0);
    response_cleanup(&f);
}

static void make_source(char id[33])
{
    char path[160];
    response r;
    REQUIRE(upload(&srv, "source.png", "image/png", astro_png, astro_len, id) == 201);
    snprintf(path, sizeof path, "/api/v1/assets/%s/custom_data", id);
    const char *doc = "{\"sku\":\"SRC-9\"}";
    REQUIRE(request(&srv, "PUT", path, NULL, 1, doc, strlen(doc), &r) == 200);
    response_cleanup(&r);
}

TEST(save_image_add_new_asset_with_and_without_inherit)
{
    static const char *const plain_keys[] = {"status", "mode", "disposition", "new_asset_id", NULL};
    static const char *const inherit_keys[] = {"status",   "mode",         "disposition", "source_asset_id",
                                               "metadata", "new_asset_id", NULL};
    REQUIRE(cutout_png != NULL);
    char src[33], path[300];
    make_source(src);
    for (int inherit = 0; inherit < 2; inherit++) {
        snprintf(path, sizeof path, "/api/v1/assets/%s/addons/bg_remove?mode=save_image&disposition=add_new_asset%s",
                 src, inherit ? "&metadata=inherit" : "");
        response r;
        REQUIRE(get(&srv, path, &r) == 200);
        CHECK(has_exact_keys(r.json, inherit ? inherit_keys : plain_keys));
        CHECK(strcmp(jstr(r.json, "status"), "ok") == 0 && strcmp(jstr(r.json, "mode"), "save_image") == 0 &&
              strcmp(jstr(r.json, "disposition"), "add_new_asset") == 0);
        if (inherit)
            CHECK(strcmp(jstr(r.json, "source_asset_id"), src) == 0 &&
                  strcmp(jstr(r.json, "metadata"), "inherit") == 0);
        char new_id[33];
        snprintf(new_id, sizeof new_id, "%s", jstr(r.json, "new_asset_id"));
        CHECK(strlen(new_id) == 32 && strcmp(new_id, src) != 0);
        response_cleanup(&r);
        check_new_asset(new_id, src, inherit);
    }
    /* the source is untouched */
    response a;
    REQUIRE(fetch_asset(src, &a));
    CHECK(json_array_size(json_object_get(a.json, "conversions")) == 0);
    response_cleanup(&a);
}

/* Issue 25: deleting a source leaves no dangling lineage — its children's
 * source_asset_id becomes null, in the asset and in the list. */
TEST(deleting_a_source_unlinks_its_children)
{
    char src[33], path[300], child[33];
    make_source(src);
    snprintf(path, sizeof path,
             "/api/v1/assets/%s/addons/bg_remove?mode=save_image&disposition=add_new_asset&metadata=inherit", src);
    response r;
    REQUIRE(get(&srv, path, &r) == 200);
    snprintf(child, sizeof child, "%s", jstr(r.json, "new_asset_id"));
    response_cleanup(&r);
    REQUIRE(fetch_asset(child, &r));
    CHECK(strcmp(jstr(r.json, "source_asset_id"), src) == 0);
    response_cleanup(&r);
    snprintf(path, sizeof path, "/api/v1/assets/%s", src);
    REQUIRE(request(&srv, "DELETE", path, NULL, 1, NULL, 0, &r) == 204);
    response_cleanup(&r);
    REQUIRE(fetch_asset(child, &r));
    CHECK(json_is_null(json_object_get(r.json, "source_asset_id")));
    CHECK(strcmp(jstr(json_object_get(r.json, "custom_data"), "sku"), "SRC-9") == 0); /* inherited data stays */
    response_cleanup(&r);
    REQUIRE(get(&srv, "/api/v1/assets?limit=100", &r) == 200);
    json_t *items = json_object_get(r.json, "items");
    int seen = 0;
    for (size_t i = 0; i < json_array_size(items); i++) {
        json_t *a = json_array_get(items, i);
        if (strcmp(jstr(a, "id"), child) == 0) {
            seen = 1;
            CHECK(json_is_null(json_object_get(a, "source_asset_id")));
        }
        CHECK(!json_is_string(json_object_get(a, "source_asset_id")) || strcmp(jstr(a, "source_asset_id"), src) != 0);
    }
    CHECK(seen);
    response_cleanup(&r);
}

typedef struct {
    char path[300];
    long status;
    char new_id[33];
} lineage_save;

static void *lineage_save_thread(void *arg)
{
    lineage_save *ls = arg;
    response r;
    ls->status = get(&srv, ls->path, &r);
    if (ls->status == 200 && jstr(r.json, "new_asset_id"))
        snprintf(ls->new_id, sizeof ls->new_id, "%s", jstr(r.json, "new_asset_id"));
    response_cleanup(&r);
    curl_easy_cleanup(thread_curl);
    thread_curl = NULL;
    return NULL;
}

/* The same under a race: saves with lineage running while their source is
 * deleted. Each save either came first (its child is unlinked by the
 * delete) or found the source gone (404, nothing made): no child may
 * name a deleted source, in any interleaving. */
TEST(a_source_deleted_during_saves_leaves_no_dangling_lineage)
{
    REQUIRE(cutout_png != NULL);
    enum { N = 6 };
    for (int round = 0; round < 3; round++) {
        char src[33], path[200];
        make_source(src); /* same bytes as astro: the cut-out comes from the cache, the saves are quick */
        lineage_save saves[N];
        pthread_t t[N];
        for (int i = 0; i < N; i++) {
            memset(&saves[i], 0, sizeof saves[i]);
            snprintf(saves[i].path, sizeof saves[i].path,
                     "/api/v1/assets/%s/addons/bg_remove?mode=save_image&disposition=add_new_asset&metadata=inherit",
                     src);
            pthread_create(&t[i], NULL, lineage_save_thread, &saves[i]);
        }
        sleep_ms(round * 3); /* the delete lands at a different point each round */
        response r;
        snprintf(path, sizeof path, "/api/v1/assets/%s", src);
        CHECK(request(&srv, "DELETE", path, NULL, 1, NULL, 0, &r) == 204);
        response_cleanup(&r);
        for (int i = 0; i < N; i++)
            pthread_join(t[i], NULL);
        for (int i = 0; i < N; i++) {
            CHECKF(saves[i].status == 200 || saves[i].status == 404, "save %d: %ld", i, saves[i].status);
            if (saves[i].status != 200)
                continue;
            REQUIRE(fetch_asset(saves[i].new_id, &r));
            CHECKF(json_is_null(json_object_get(r.json, "source_asset_id")), "child %s still names %s", saves[i].new_id,
                   src);
            response_cleanup(&r);
        }
    }
}

TEST(get_image_and_save_answers_png_then_saves_in_the_background)
{
    REQUIRE(cutout_png != NULL);
    char src[33], path[300], job[64], newid[64], cc[64];
    make_source(src);
    static const struct {
        const char *query;
        int new_asset, inherit;
    } rows[] = {
        {"disposition=add_conversion&conversion_name=bg", 0, 0},
        {"disposition=add_new_asset", 1, 0},
        {"disposition=add_new_asset&metadata=inherit", 1, 1},
    };
    for (size_t i = 0; i < 3; i++) {
        snprintf(path, sizeof path, "/api/v1/assets/%s/addons/bg_remove?mode=get_image_and_save&%s", src,
                 rows[i].query);
        response r;
        REQUIRE(get(&srv, path, &r) == 200);
        int w, h, c;
        CHECK(png_info(&r, &w, &h, &c) && w == 512 && h == 512 && c == 6);
        CHECK(r.len == cutout_len && memcmp(r.body, cutout_png, cutout_len) == 0);
        CHECK(header(&r, "Cache-Control", cc, sizeof cc) && strcmp(cc, "no-store") == 0);
        REQUIRE(header(&r, "X-Job-Id", job, sizeof job) != NULL);
        int has_new = header(&r, "X-New-Asset-Id", newid, sizeof newid) != NULL;
        CHECK(has_new == rows[i].new_asset);
        response_cleanup(&r);
        CHECKF(wait_job(job, "succeeded"), "job %s", job);
        snprintf(path, sizeof path, "/api/v1/jobs/%s", job);
        static const char *const keys[] = {"id",    "kind",   "status",     "asset_id",    "attempts",
                                           "error", "result", "created_at", "finished_at", NULL};
        REQUIRE(get(&srv, path, &r) == 200);
        CHECK(has_exact_keys(r.json, keys));
        CHECK(strcmp(jstr(r.json, "id"), job) == 0);
        CHECK(json_integer_value(json_object_get(r.json, "attempts")) == 1);
        CHECK(json_is_null(json_object_get(r.json, "error")));
        CHECK(json_is_string(json_object_get(r.json, "finished_at")));
        json_t *res = json_object_get(r.json, "result");
        if (rows[i].new_asset)
            CHECK(strcmp(jstr(res, "new_asset_id"), newid) == 0);
        else
            CHECK(strcmp(jstr(res, "conversion_name"), "bg") == 0);
        response_cleanup(&r);
        if (rows[i].new_asset)
            check_new_asset(newid, src, rows[i].inherit);
        else
            CHECK(conversion_is_cutout(src, "bg"));
    }
}

/* Issue 28 (integrations.md, section 4): custom data read alone, and
 * changed by an RFC 7396 merge patch, atomically. */
static long patch_custom(const char *id, const char *ctype, const char *body, response *r)
{
    char path[200], cth[120];
    snprintf(path, sizeof path, "/api/v1/assets/%s/custom_data", id);
    snprintf(cth, sizeof cth, "Content-Type: %s", ctype);
    const char *h[] = {cth, NULL};
    return request(&srv, "PATCH", path, h, 1, body, strlen(body), r);
}

typedef struct {
    const char *id;
    int n;
    long status;
} patcher;

static void *patch_thread(void *arg)
{
    patcher *p = arg;
    char body[64];
    response r;
    snprintf(body, sizeof body, "{\"k%d\": %d}", p->n, p->n);
    p->status = patch_custom(p->id, "application/merge-patch+json", body, &r);
    response_cleanup(&r);
    return NULL;
}

TEST(custom_data_is_read_alone_and_merge_patched_atomically)
{
    char id[33], path[200];
    response r;
    REQUIRE(upload(&srv, "p.png", "image/png", astro_png, astro_len, id) == 201);
    snprintf(path, sizeof path, "/api/v1/assets/%s/custom_data", id);
    const char *h[] = {"Content-Type: application/json", NULL};
    const char *first = "{\"sku\":\"A-1\",\"dims\":{\"w\":800,\"h\":600},\"tags\":[\"a\"],\"gone\":true}";
    REQUIRE(request(&srv, "PUT", path, h, 1, first, strlen(first), &r) == 200);
    response_cleanup(&r);
    REQUIRE(get(&srv, path, &r) == 200);
    CHECK(json_is_object(r.json) && strcmp(jstr(r.json, "sku"), "A-1") == 0);
    response_cleanup(&r);
    /* merge: change a nested key, remove two, replace an array, add one */
    REQUIRE(patch_custom(id, "application/merge-patch+json",
                         "{\"dims\":{\"w\":1024,\"h\":null},\"gone\":null,\"tags\":[\"b\"],\"new\":{\"x\":1}}",
                         &r) == 200);
    json_t *cd = json_object_get(r.json, "custom_data");
    CHECK(strcmp(jstr(cd, "sku"), "A-1") == 0);
    CHECK(json_integer_value(json_object_get(json_object_get(cd, "dims"), "w")) == 1024 &&
          json_object_get(json_object_get(cd, "dims"), "h") == NULL && json_object_get(cd, "gone") == NULL);
    CHECK(json_array_size(json_object_get(cd, "tags")) == 1 &&
          strcmp(json_string_value(json_array_get(json_object_get(cd, "tags"), 0)), "b") == 0);
    CHECK(json_integer_value(json_object_get(json_object_get(cd, "new"), "x")) == 1);
    response_cleanup(&r);
    /* refusals, each naming its part, nothing changed */
    CHECK(patch_custom(id, "application/json", "{\"a\":1}", &r) == 415 && strcmp(err_param(&r), "Content-Type") == 0);
    response_cleanup(&r);
    CHECK(patch_custom(id, "application/merge-patch+json", "{\"a\":", &r) == 400 &&
          strcmp(err_param(&r), "custom_data") == 0);
    response_cleanup(&r);
    CHECK(patch_custom(id, "application/merge-patch+json", "[1,2]", &r) == 400 &&
          strcmp(err_param(&r), "custom_data") == 0);
    response_cleanup(&r);
    CHECK(patch_custom(id, "application/merge-patch+json", "{\"a\":1e999}", &r) == 400);
    response_cleanup(&r);
    CHECK(patch_custom("0123456789abcdef0123456789abcdef", "application/merge-patch+json", "{}", &r) == 404 &&
          strcmp(err_param(&r), "asset_id") == 0);
    response_cleanup(&r);
    REQUIRE(get(&srv, path, &r) == 200);
    CHECK(json_object_get(r.json, "a") == NULL && strcmp(jstr(r.json, "sku"), "A-1") == 0);
    response_cleanup(&r);
    /* sixteen patches of sixteen keys at once: every one lands */
    enum { N = 16 };
    patcher p[N];
    pthread_t t[N];
    for (int i = 0; i < N; i++) {
        p[i] = (patcher){id, i, 0};
        pthread_create(&t[i], NULL, patch_thread, &p[i]);
    }
    int ok = 0;
    for (int i = 0; i < N; i++) {
        pthread_join(t[i], NULL);
        ok += p[i].status == 200;
    }
    CHECK(ok == N);
    REQUIRE(get(&srv, path, &r) == 200);
    int have = 0;
    for (int i = 0; i < N; i++) {
        char k[8];
        snprintf(k, sizeof k, "k%d", i);
        have += json_integer_value(json_object_get(r.json, k)) == i;
    }
    CHECKF(have == N, "%d of %d concurrent patches kept", have, N);
    response_cleanup(&r);
}
