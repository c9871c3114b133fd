/* test_delivery.c — signed public URLs (issue 27, ../shared/spec/delivery.md
 * sections 2-3) against real servers: minting validates every option (a 400
 * naming options.<name>), the public route serves the original, a
 * conversion and transformed and bg_remove variants without a key; any
 * changed byte is a 403, an expired URL a 410, a deleted asset a 404 at
 * once; formats negotiated on Accept with Vary; ETag / 304, Range / 206,
 * HEAD, Cache-Control by expiry, CORS; secrets rotate; URLs survive a
 * restart; a variant is rendered once (concurrent first requests wait for
 * it) and then read from the store, on a second instance too (postgres);
 * the variants' bound holds; a flood of first renders gets 503s while the
 * API keeps answering. sqlite, and postgres + radosgw with
 * ASSETD_TEST_STORE=postgres. ASSETD_DELIVERY_SHORT=1 (the ASan server's
 * run) keeps the tests of parsing and refusals, not those of load. */
#define HARNESS_SETUP setup
#include "harness.h"

#include "api/client.h"
#include "base/id.h"
#include "base/sha256.h"
#include "image/image.h"

static char *rocket_jpg, *astro_png;
static size_t rocket_len, astro_len;

static void setup(void)
{
    api_setup();
    load_test_photo("rocket.jpg", &rocket_jpg, &rocket_len);
    load_test_photo("astronaut.png", &astro_png, &astro_len);
    REQUIRE(ad_image_startup(NULL, &(ad_err)AD_ERR_INIT) == AD_OK);
}

/* POST .../delivery_urls with body; r kept (the caller cleans up). */
static long mint(const server *s, const char *id, const char *body, response *r)
{
    char path[200];
    snprintf(path, sizeof path, "/api/v1/assets/%s/delivery_urls", id);
    const char *h[] = {"Content-Type: application/json", NULL};
    return request(s, "POST", path, h, 1, body, strlen(body), r);
}

/* Mint and keep the path (""on failure). */
static void mint_path(const server *s, const char *id, const char *body, char path[1024])
{
    response r;
    path[0] = '\0';
    if (mint(s, id, body, &r) == 201)
        snprintf(path, 1024, "%s", jstr(r.json, "path"));
    else
        printf("    mint %s: %ld %.*s\n", body, r.status, (int)r.len, r.body ? r.body : "");
    response_cleanup(&r);
}

/* GET (or method) a public path, no key, with extra headers. */
static long fetch(const server *s, const char *method, const char *path, const char *const *hdrs, response *r)
{
    return request(s, method, path, hdrs, 0, NULL, 0, r);
}

/* The decoded size and format of an answer's body. */
static int image_of(const response *r, int *w, int *h, char fmt[16])
{
    ad_image_info info;
    if (r->len == 0 || ad_image_probe(r->body, r->len, &info, &(ad_err)AD_ERR_INIT) != AD_OK)
        return 0;
    *w = info.width;
    *h = info.height;
    snprintf(fmt, 16, "%s", info.format);
    return 1;
}

static int has_header(const response *r, const char *name, const char *want)
{
    char v[256];
    return header(r, name, v, sizeof v) && (want == NULL || strcmp(v, want) == 0);
}

/* Start `assetd serve` on dir with extra args expecting it to stop at
 * once: its exit status (-1 when it kept running), its log into log. */
static int serve_exit(const char *dir, const char *const *extra, char **log)
{
    char logp[300];
    snprintf(logp, sizeof logp, "%s.exit.log", dir);
    unlink(logp);
    pid_t pid = spawn_serve(dir, extra, logp);
    int status = -1;
    for (int i = 0; i < 300; i++) {
        if (waitpid(pid, &status, WNOHANG) == pid) {
            size_t len;
            if (!read_file(logp, log, &len))
                *log = strdup("");
            return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
        }
        sleep_ms(50);
    }
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    *log = strdup("");
    return -1;
}

TEST(minted_urls_serve_originals_transformations_and_cutouts_without_a_key)
{
    char dir[256], id[33], png_id[33], path[1024];
    server srv;
    response r;
    int w, h;
    char fmt[16];
    temp_dir(dir, sizeof dir, "delivery");
    REQUIRE(server_start(&srv, dir, NULL));
    REQUIRE(upload(&srv, "rocket.jpg", "image/jpeg", rocket_jpg, rocket_len, id) == 201); /* 640x427 */
    REQUIRE(upload(&srv, "astro.png", "image/png", astro_png, astro_len, png_id) == 201); /* 512x512 */

    /* the original as stored: same bytes, its type, public caching */
    REQUIRE(mint(&srv, id, "{}", &r) == 201);
    CHECK(json_is_null(json_object_get(r.json, "expires_at")));
    snprintf(path, sizeof path, "%s", jstr(r.json, "path"));
    CHECK(strncmp(jstr(r.json, "url"), "http://127.0.0.1:", 17) == 0 && strstr(jstr(r.json, "url"), path) != NULL);
    response_cleanup(&r);
    REQUIRE(fetch(&srv, "GET", path, NULL, &r) == 200);
    CHECK(r.len == rocket_len && memcmp(r.body, rocket_jpg, r.len) == 0);
    CHECK(has_header(&r, "Content-Type", "image/jpeg"));
    CHECK(has_header(&r, "Cache-Control", "public, max-age=31536000, immutable"));
    CHECK(has_header(&r, "Access-Control-Allow-Origin", "*") && has_header(&r, "X-Content-Type-Options", "nosniff"));
    response_cleanup(&r);

    /* transformations: the box, the fit, the format */
    static const struct {
        const char *opts;
        int w, h;
        const char *fmt;
    } cases[] = {
        {"{\"w\":320,\"format\":\"webp\"}", 320, 214, "webp"},
        {"{\"h\":100,\"format\":\"png\"}", 150, 100, "png"},
        {"{\"w\":200,\"h\":200,\"fit\":\"cover\",\"format\":\"jpg\",\"q\":70}", 200, 200, "jpeg"},
        {"{\"w\":200,\"h\":100,\"fit\":\"fill\",\"format\":\"png\"}", 200, 100, "png"},
        {"{\"w\":300,\"h\":300,\"format\":\"jpg\"}", 300, 200, "jpeg"},
        /* never enlarged unless asked */
        {"{\"w\":2000,\"format\":\"png\"}", 640, 427, "png"},
        {"{\"w\":1280,\"enlarge\":true,\"format\":\"png\"}", 1280, 854, "png"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char body[300];
        snprintf(body, sizeof body, "{\"options\":%s}", cases[i].opts);
        mint_path(&srv, id, body, path);
        long st = fetch(&srv, "GET", path, NULL, &r);
        int ok = st == 200 && image_of(&r, &w, &h, fmt) && abs(w - cases[i].w) <= 1 && abs(h - cases[i].h) <= 1 &&
                 strcmp(fmt, cases[i].fmt) == 0;
        CHECKF(ok, "%s: %ld %dx%d %s", cases[i].opts, st, w, h, fmt);
        response_cleanup(&r);
    }

    /* a cut-out variant: the subject on white, 256 px, cover keeps it in view */
    mint_path(&srv, png_id,
              "{\"variant\":\"bg_remove\",\"options\":{\"w\":256,\"h\":256,\"fit\":\"cover\",\"format\":\"png\"}}",
              path);
    REQUIRE(fetch(&srv, "GET", path, NULL, &r) == 200);
    CHECK(image_of(&r, &w, &h, fmt) && w == 256 && h == 256 && strcmp(fmt, "png") == 0);
    char etag[80] = "";
    CHECK(header(&r, "ETag", etag, sizeof etag));
    response_cleanup(&r);
    double rendered = metric(&srv, "assetd_delivery_total{result=\"rendered\"}");
    /* the second request reads it from the store: same bytes, no render */
    REQUIRE(fetch(&srv, "GET", path, NULL, &r) == 200);
    CHECK(has_header(&r, "ETag", etag));
    response_cleanup(&r);
    CHECK(metric(&srv, "assetd_delivery_total{result=\"rendered\"}") == rendered);
    CHECK(metric(&srv, "assetd_delivery_total{result=\"stored\"}") >= 1);
    CHECK(metric(&srv, "assetd_variant_store_variants") >= 1);

    /* a conversion */
    char q[300];
    snprintf(q, sizeof q,
             "/api/v1/assets/%s/addons/bg_remove?mode=save_image&disposition=add_conversion&conversion_name=cut",
             png_id);
    REQUIRE(get(&srv, q, &r) == 200);
    response_cleanup(&r);
    snprintf(q, sizeof q, "/api/v1/assets/%s/conversions/cut", png_id);
    REQUIRE(get(&srv, q, &r) == 200);
    char *conv = malloc(r.len);
    size_t conv_len = r.len;
    memcpy(conv, r.body, r.len);
    response_cleanup(&r);
    mint_path(&srv, png_id, "{\"variant\":\"conversion/cut\"}", path);
    REQUIRE(fetch(&srv, "GET", path, NULL, &r) == 200);
    CHECK(r.len == conv_len && memcmp(r.body, conv, conv_len) == 0 && has_header(&r, "Content-Type", "image/png"));
    response_cleanup(&r);
    free(conv);
    mint_path(&srv, png_id, "{\"variant\":\"conversion/cut\",\"options\":{\"w\":64,\"format\":\"webp\"}}", path);
    REQUIRE(fetch(&srv, "GET", path, NULL, &r) == 200);
    CHECK(image_of(&r, &w, &h, fmt) && w == 64 && strcmp(fmt, "webp") == 0);
    response_cleanup(&r);
    /* the access log names the template, never the signature */
    char *log;
    size_t log_len;
    REQUIRE(read_file(srv.log, &log, &log_len));
    CHECK(strstr(log, "route=/d/:signature/:asset_id/:variant/:options/:expires") != NULL);
    CHECK(strstr(log, path + 3) == NULL);
    free(log);
    server_kill(&srv, SIGTERM);
}

TEST(any_changed_byte_is_403_expiry_410_deletion_404_and_mint_refuses_bad_options)
{
    char dir[256], id[33], path[1024], bad[1024];
    server srv;
    response r;
    temp_dir(dir, sizeof dir, "delivery-refusals");
    const char *const limits[] = {"--max-pixels", "20000000", NULL};
    REQUIRE(server_start(&srv, dir, limits));
    REQUIRE(upload(&srv, "rocket.jpg", "image/jpeg", rocket_jpg, rocket_len, id) == 201);
    mint_path(&srv, id, "{\"options\":{\"w\":100,\"format\":\"png\"}}", path);
    REQUIRE(path[0]);
    REQUIRE(fetch(&srv, "GET", path, NULL, &r) == 200);
    response_cleanup(&r);
    /* every byte after "/d/", changed in place or into a slash, cut off, or
     * one added */
    int refused = 0, tried = 0;
    size_t n = strlen(path);
    for (size_t i = 3; i < n; i++) {
        for (int k = 0; k < 2; k++) {
            snprintf(bad, sizeof bad, "%s", path);
            bad[i] = k == 0 ? (bad[i] == 'a' ? 'b' : 'a') : (bad[i] == '/' ? 'x' : '/');
            tried++;
            long st = fetch(&srv, "GET", bad, NULL, &r);
            refused += st == 403 && is_error_shape(&r) && strcmp(err_param(&r), "signature") == 0;
            response_cleanup(&r);
        }
    }
    snprintf(bad, sizeof bad, "%.*s", (int)n - 1, path);
    refused += fetch(&srv, "GET", bad, NULL, &r) == 403;
    response_cleanup(&r);
    snprintf(bad, sizeof bad, "%s0", path);
    refused += fetch(&srv, "GET", bad, NULL, &r) == 403;
    response_cleanup(&r);
    CHECKF(refused == tried + 2, "%d of %d changed URLs refused with 403", refused, tried + 2);
    /* a query is not part of the URL: ignored */
    snprintf(bad, sizeof bad, "%s?v=2", path);
    CHECK(fetch(&srv, "GET", bad, NULL, &r) == 200);
    response_cleanup(&r);

    /* expiry: 410 once past it, and max-age never beyond it */
    char exp[1024];
    mint_path(&srv, id, "{\"options\":{\"w\":90},\"expires_in\":2}", exp);
    REQUIRE(fetch(&srv, "GET", exp, NULL, &r) == 200);
    char cc[64] = "";
    CHECK(header(&r, "Cache-Control", cc, sizeof cc) && strncmp(cc, "public, max-age=", 16) == 0 && atoi(cc + 16) <= 2);
    response_cleanup(&r);
    sleep_ms(2200);
    CHECK(fetch(&srv, "GET", exp, NULL, &r) == 410 && strcmp(err_code(&r), "expired") == 0);
    response_cleanup(&r);

    /* mint refusals, each naming its field */
    static const struct {
        const char *body;
        long status;
        const char *param;
    } refusals[] = {
        {"{\"options\":{\"w\":0}}", 400, "options.w"},
        {"{\"options\":{\"w\":8193}}", 400, "options.w"},
        {"{\"options\":{\"h\":\"tall\"}}", 400, "options.h"},
        {"{\"options\":{\"fit\":\"stretch\"}}", 400, "options.fit"},
        {"{\"options\":{\"format\":\"gif\"}}", 400, "options.format"},
        {"{\"options\":{\"q\":101}}", 400, "options.q"},
        {"{\"options\":{\"enlarge\":\"maybe\"}}", 400, "options.enlarge"},
        {"{\"options\":{\"zoom\":2}}", 400, "options.zoom"},
        {"{\"options\":{\"bg_color\":\"red\"}}", 400, "options.bg_color"},
        {"{\"options\":{\"w\":[1]}}", 400, "options.w"},
        {"{\"variant\":\"bg_remove\",\"options\":{\"bg_color\":\"nope\"}}", 400, "options.bg_color"},
        {"{\"variant\":\"bg_remove\",\"options\":{\"crop_margin\":\"10\"}}", 400, "options.crop_margin"},
        {"{\"variant\":\"bg_remove\",\"options\":{\"max_side\":10}}", 400, "options.max_side"},
        {"{\"variant\":\"thumbnail\"}", 400, "variant"},
        {"{\"variant\":\"conversion/no such\"}", 400, "variant"},
        {"{\"variant\":\"conversion/none\"}", 404, "variant"},
        {"{\"expires_in\":0}", 400, "expires_in"},
        {"{\"expires_in\":31536001}", 400, "expires_in"},
        {"{\"expires_in\":\"1h\"}", 400, "expires_in"},
        {"{\"size\":1}", 400, "size"},
        {"{\"options\":{\"w\":8192,\"h\":8192,\"fit\":\"fill\",\"enlarge\":true}}", 400, "options.w"},
        {"[]", 400, NULL},
    };
    for (size_t i = 0; i < sizeof refusals / sizeof refusals[0]; i++) {
        long st = mint(&srv, id, refusals[i].body, &r);
        const char *p = err_param(&r);
        /* err_param says "(null)" for a JSON null */
        int ok = st == refusals[i].status && is_error_shape(&r) &&
                 strcmp(p, refusals[i].param ? refusals[i].param : "(null)") == 0;
        CHECKF(ok, "%s: %ld param %s", refusals[i].body, st, p);
        response_cleanup(&r);
    }
    /* no key, an unknown asset */
    const char *h[] = {"Content-Type: application/json", NULL};
    char mp[200];
    snprintf(mp, sizeof mp, "/api/v1/assets/%s/delivery_urls", id);
    CHECK(request(&srv, "POST", mp, h, 0, "{}", 2, &r) == 401);
    response_cleanup(&r);
    CHECK(mint(&srv, "0123456789abcdef0123456789abcdef", "{}", &r) == 404 && strcmp(err_param(&r), "asset_id") == 0);
    response_cleanup(&r);

    /* deleted: 404 at once, though the variant is stored */
    snprintf(mp, sizeof mp, "/api/v1/assets/%s", id);
    REQUIRE(request(&srv, "DELETE", mp, NULL, 1, NULL, 0, &r) == 204);
    response_cleanup(&r);
    CHECK(fetch(&srv, "GET", path, NULL, &r) == 404 && strcmp(err_param(&r), "asset_id") == 0);
    response_cleanup(&r);
    server_kill(&srv, SIGTERM);
}

TEST(formats_are_negotiated_and_caching_headers_answer_304_206_and_head)
{
    char dir[256], id[33], cut_id[33], path[1024], cpath[1024];
    server srv;
    response r;
    int w, h;
    char fmt[16];
    temp_dir(dir, sizeof dir, "delivery-negotiation");
    REQUIRE(server_start(&srv, dir, NULL));
    REQUIRE(upload(&srv, "rocket.jpg", "image/jpeg", rocket_jpg, rocket_len, id) == 201);
    REQUIRE(upload(&srv, "astro.png", "image/png", astro_png, astro_len, cut_id) == 201);
    mint_path(&srv, id, "{\"options\":{\"w\":120}}", path);
    mint_path(&srv, cut_id, "{\"variant\":\"bg_remove\",\"options\":{\"w\":120}}", cpath);
    /* what the answer is for each Accept; an opaque photo is JPEG, a
     * cut-out with transparency PNG, where neither modern format is taken */
    response probe;
    REQUIRE(fetch(&srv, "GET", path, (const char *[]){"Accept: image/avif,image/webp,*/*", NULL}, &probe) == 200);
    int avif = image_of(&probe, &w, &h, fmt) && strcmp(fmt, "avif") == 0;
    response_cleanup(&probe);
    printf("    this build encodes AVIF: %s\n", avif ? "yes" : "no (WebP instead)");
    static const struct {
        const char *accept;
        const char *photo, *cutout;
    } neg[] = {
        {"Accept: image/avif,image/webp,image/apng,*/*;q=0.8", "avif", "avif"},
        {"Accept: image/webp,*/*", "webp", "webp"},
        {"Accept: image/avif;q=0,image/webp", "webp", "webp"},
        {"Accept: */*", "jpeg", "png"},
        {NULL, "jpeg", "png"},
    };
    for (size_t i = 0; i < sizeof neg / sizeof neg[0]; i++) {
        for (int k = 0; k < 2; k++) {
            const char *hd[] = {neg[i].accept, NULL};
            const char *want = k ? neg[i].cutout : neg[i].photo;
            if (strcmp(want, "avif") == 0)
                want = avif ? "avif" : "webp";
            long st = fetch(&srv, "GET", k ? cpath : path, neg[i].accept ? hd : NULL, &r);
            int ok = st == 200 && image_of(&r, &w, &h, fmt) && strcmp(fmt, want) == 0 && w == 120 &&
                     has_header(&r, "Vary", "Accept");
            CHECKF(ok, "%s %s: %ld %s", neg[i].accept ? neg[i].accept : "(none)", k ? "cut-out" : "photo", st, fmt);
            response_cleanup(&r);
        }
    }
    /* ETag -> 304; a Range -> 206; HEAD: the headers alone */
    const char *webp[] = {"Accept: image/webp", NULL};
    REQUIRE(fetch(&srv, "GET", path, webp, &r) == 200);
    char etag[80], inm[120];
    REQUIRE(header(&r, "ETag", etag, sizeof etag));
    size_t full = r.len;
    char *whole = malloc(full);
    memcpy(whole, r.body, full);
    response_cleanup(&r);
    snprintf(inm, sizeof inm, "If-None-Match: %s", etag);
    CHECK(fetch(&srv, "GET", path, (const char *[]){"Accept: image/webp", inm, NULL}, &r) == 304 && r.len == 0);
    response_cleanup(&r);
    CHECK(fetch(&srv, "GET", path, (const char *[]){"Accept: image/webp", "Range: bytes=0-9", NULL}, &r) == 206 &&
          r.len == 10 && memcmp(r.body, whole, 10) == 0);
    response_cleanup(&r);
    CHECK(fetch(&srv, "HEAD", path, webp, &r) == 200 && r.len == 0 && has_header(&r, "ETag", etag));
    response_cleanup(&r);
    free(whole);
    /* an explicit format does not vary */
    mint_path(&srv, id, "{\"options\":{\"w\":120,\"format\":\"png\"}}", path);
    CHECK(fetch(&srv, "GET", path, NULL, &r) == 200 && !has_header(&r, "Vary", NULL));
    response_cleanup(&r);
    server_kill(&srv, SIGTERM);
}

TEST(secrets_rotate_and_urls_survive_a_restart)
{
    if (getenv("ASSETD_DELIVERY_SHORT"))
        SKIP("run with the plain server");
    char dir[256], id[33], old_path[1024], new_path[1024];
    server srv;
    response r;
    temp_dir(dir, sizeof dir, "delivery-rotation");
    if (!on_postgres()) {
        /* the embedded store's own secret: made once, kept 0600, still the
         * same after a restart */
        REQUIRE(server_start(&srv, dir, NULL));
        REQUIRE(upload(&srv, "rocket.jpg", "image/jpeg", rocket_jpg, rocket_len, id) == 201);
        mint_path(&srv, id, "{\"options\":{\"w\":50}}", old_path);
        server_kill(&srv, SIGTERM);
        char sp[400];
        struct stat st;
        snprintf(sp, sizeof sp, "%s/delivery-secret", dir);
        CHECK(stat(sp, &st) == 0 && (st.st_mode & 0777) == 0600);
        REQUIRE(server_start(&srv, dir, NULL));
        CHECK(fetch(&srv, "GET", old_path, NULL, &r) == 200);
        response_cleanup(&r);
        server_kill(&srv, SIGTERM);
    }
    /* --delivery-secrets: the first signs, all verify */
    const char *a[] = {"--delivery-secrets", "first-secret-aaaaaaaaaaaa", NULL};
    const char *ba[] = {"--delivery-secrets", "second-secret-bbbbbbbbbbb, first-secret-aaaaaaaaaaaa", NULL};
    const char *b[] = {"--delivery-secrets", "second-secret-bbbbbbbbbbb", NULL};
    setenv("ASSETD_TEST_DELIVERY_SECRETS", "first-secret-aaaaaaaaaaaa", 1);
    REQUIRE(server_start(&srv, dir, a));
    if (on_postgres())
        REQUIRE(upload(&srv, "rocket.jpg", "image/jpeg", rocket_jpg, rocket_len, id) == 201);
    mint_path(&srv, id, "{\"options\":{\"w\":60}}", old_path);
    server_kill(&srv, SIGTERM);
    setenv("ASSETD_TEST_DELIVERY_SECRETS", "second-secret-bbbbbbbbbbb,first-secret-aaaaaaaaaaaa", 1);
    REQUIRE(server_start(&srv, dir, ba));
    CHECK(fetch(&srv, "GET", old_path, NULL, &r) == 200);
    response_cleanup(&r);
    mint_path(&srv, id, "{\"options\":{\"w\":60}}", new_path);
    CHECK(strcmp(new_path, old_path) != 0); /* signed with the new one */
    CHECK(fetch(&srv, "GET", new_path, NULL, &r) == 200);
    response_cleanup(&r);
    server_kill(&srv, SIGTERM);
    setenv("ASSETD_TEST_DELIVERY_SECRETS", "second-secret-bbbbbbbbbbb", 1);
    REQUIRE(server_start(&srv, dir, b));
    CHECK(fetch(&srv, "GET", old_path, NULL, &r) == 403);
    response_cleanup(&r);
    CHECK(fetch(&srv, "GET", new_path, NULL, &r) == 200);
    response_cleanup(&r);
    server_kill(&srv, SIGTERM);
    unsetenv("ASSETD_TEST_DELIVERY_SECRETS");
    /* a secret too short is refused at start */
    char *log = NULL;
    const char *shorty[] = {"--delivery-secrets", "short", NULL};
    setenv("ASSETD_TEST_DELIVERY_SECRETS", "short", 1);
    CHECK(serve_exit(dir, shorty, &log) == 1 && strstr(log, "16 characters") != NULL);
    free(log);
    if (on_postgres()) {
        /* a shared store refuses to start without them */
        setenv("ASSETD_TEST_DELIVERY_SECRETS", "", 1);
        CHECK(serve_exit(dir, NULL, &log) == 1 && strstr(log, "needs --delivery-secrets") != NULL);
        free(log);
    }
    unsetenv("ASSETD_TEST_DELIVERY_SECRETS");
}

/* mkimage KIND from a test photo, read back (as test_preview does). */
static int made(const char *dir, const char *kind, const char *photo, const char *ext, char **out, size_t *len)
{
    const char *mk = getenv("ASSETD_MKIMAGE") ? getenv("ASSETD_MKIMAGE") : "build/tests/mkimage";
    const char *td = getenv("ASSETD_TESTDATA") ? getenv("ASSETD_TESTDATA") : "deps/testdata";
    char path[400], cmd[1200];
    snprintf(path, sizeof path, "%s-%s-%s.%s", dir, kind, photo, ext);
    snprintf(cmd, sizeof cmd, "%s %s %s/%s %s", mk, kind, td, photo, path);
    return system(cmd) == 0 && read_file(path, out, len);
}

TEST(orientation_alpha_and_the_variants_lifetime_follow_the_source)
{
    char dir[256], rot_id[33], cut_id[33], path[1024];
    server srv;
    response r;
    int w, h, ct;
    char fmt[16];
    temp_dir(dir, sizeof dir, "delivery-source");
    const char *const args[] = {"--gc-grace", "1", NULL};
    REQUIRE(server_start(&srv, dir, args));
    /* stored 600x512 with EXIF orientation 6: shown, and delivered, 512x600 */
    char *rot;
    size_t rot_len;
    REQUIRE(made(dir, "rot6", "grace_hopper.jpg", "jpg", &rot, &rot_len));
    REQUIRE(upload(&srv, "rot.jpg", "image/jpeg", rot, rot_len, rot_id) == 201);
    free(rot);
    mint_path(&srv, rot_id, "{\"options\":{\"w\":256,\"format\":\"png\"}}", path);
    REQUIRE(fetch(&srv, "GET", path, NULL, &r) == 200);
    CHECK(image_of(&r, &w, &h, fmt) && w == 256 && h == 300);
    response_cleanup(&r);
    /* a cut-out keeps its transparency where the format has it */
    REQUIRE(upload(&srv, "astro.png", "image/png", astro_png, astro_len, cut_id) == 201);
    mint_path(&srv, cut_id, "{\"variant\":\"bg_remove\",\"options\":{\"w\":128,\"format\":\"png\"}}", path);
    REQUIRE(fetch(&srv, "GET", path, NULL, &r) == 200);
    CHECK(png_info(&r, &w, &h, &ct) && w == 128 && ct == 6);
    response_cleanup(&r);
    CHECK(metric(&srv, "assetd_variant_store_variants") == 2);
    /* the variants go with their sources (after the grace period) */
    for (int k = 0; k < 2; k++) {
        char ap[200];
        snprintf(ap, sizeof ap, "/api/v1/assets/%s", k ? cut_id : rot_id);
        REQUIRE(request(&srv, "DELETE", ap, NULL, 1, NULL, 0, &r) == 204);
        response_cleanup(&r);
    }
    int gone = 0;
    for (int i = 0; i < 100 && !gone; i++) {
        sleep_ms(100);
        gone = metric(&srv, "assetd_variant_store_variants") == 0 && metric(&srv, "assetd_variant_store_bytes") == 0;
    }
    CHECK(gone);
    server_kill(&srv, SIGTERM);
}

typedef struct {
    const server *s;
    const char *path;
    long status;
    char etag[80];
} fetch_call;

static void *fetch_thread(void *arg)
{
    fetch_call *c = arg;
    response r;
    c->status = fetch(c->s, "GET", c->path, NULL, &r);
    if (!header(&r, "ETag", c->etag, sizeof c->etag))
        c->etag[0] = '\0';
    response_cleanup(&r);
    return NULL;
}

TEST(a_variant_is_rendered_once_and_the_bound_holds)
{
    if (getenv("ASSETD_DELIVERY_SHORT"))
        SKIP("run with the plain server");
    char dir[256], id[33], path[1024];
    server srv;
    response r;
    temp_dir(dir, sizeof dir, "delivery-once");
    const char *const args[] = {"--variant-store-mb", "1", NULL};
    REQUIRE(server_start(&srv, dir, args));
    REQUIRE(upload(&srv, "rocket.jpg", "image/jpeg", rocket_jpg, rocket_len, id) == 201);
    /* six at once on a new variant: one render, the others wait for it */
    mint_path(&srv, id, "{\"options\":{\"w\":600,\"format\":\"png\"}}", path);
    fetch_call c[6];
    pthread_t t[6];
    for (int i = 0; i < 6; i++) {
        c[i] = (fetch_call){&srv, path, 0, ""};
        pthread_create(&t[i], NULL, fetch_thread, &c[i]);
    }
    int same = 0;
    for (int i = 0; i < 6; i++) {
        pthread_join(t[i], NULL);
        same += c[i].status == 200 && strcmp(c[i].etag, c[0].etag) == 0;
    }
    CHECK(same == 6);
    CHECKF(metric(&srv, "assetd_delivery_render_seconds_count") == 1, "%.0f renders",
           metric(&srv, "assetd_delivery_render_seconds_count"));
    /* many distinct variants of ~300-500 KB: the store keeps at most 1 MiB */
    int over = 0;
    for (int i = 0; i < 8; i++) {
        char body[128];
        snprintf(body, sizeof body, "{\"options\":{\"w\":%d,\"format\":\"png\"}}", 560 + i);
        mint_path(&srv, id, body, path);
        REQUIRE(fetch(&srv, "GET", path, NULL, &r) == 200);
        response_cleanup(&r);
        over += metric(&srv, "assetd_variant_store_bytes") > 1048576;
    }
    CHECK(over == 0);
    double kept = metric(&srv, "assetd_variant_store_variants");
    CHECKF(kept >= 1 && kept < 9, "%.0f variants kept", kept);
    server_kill(&srv, SIGTERM);
}

typedef struct {
    const server *s;
    char path[1024];
    long status;
    char retry[16];
} flood_call;

static void *flood_thread(void *arg)
{
    flood_call *c = arg;
    response r;
    c->status = fetch(c->s, "GET", c->path, NULL, &r);
    if (!header(&r, "Retry-After", c->retry, sizeof c->retry))
        c->retry[0] = '\0';
    response_cleanup(&r);
    return NULL;
}

TEST(a_flood_of_first_renders_gets_503s_while_the_api_answers)
{
    if (getenv("ASSETD_DELIVERY_SHORT"))
        SKIP("run with the plain server");
    char dir[256], id[33];
    server srv;
    response r;
    temp_dir(dir, sizeof dir, "delivery-flood");
    const char *const args[] = {"--render-queue", "1", "--workers", "1", NULL};
    REQUIRE(server_start(&srv, dir, args));
    REQUIRE(upload(&srv, "rocket.jpg", "image/jpeg", rocket_jpg, rocket_len, id) == 201);
    enum { N = 16 };
    static flood_call c[N];
    pthread_t t[N];
    /* distinct large renders: AVIF at full size, enlarged */
    for (int i = 0; i < N; i++) {
        char body[160];
        snprintf(body, sizeof body, "{\"options\":{\"w\":%d,\"enlarge\":true,\"format\":\"png\"}}", 2400 + i);
        c[i] = (flood_call){&srv, "", 0, ""};
        mint_path(&srv, id, body, c[i].path);
    }
    for (int i = 0; i < N; i++)
        pthread_create(&t[i], NULL, flood_thread, &c[i]);
    /* meanwhile the API answers at once */
    double worst = 0;
    char ap[200];
    snprintf(ap, sizeof ap, "/api/v1/assets/%s", id);
    for (int i = 0; i < 5; i++) {
        double t0 = now_s();
        long a = get(&srv, "/healthz", &r);
        response_cleanup(&r);
        long b = get(&srv, ap, &r);
        response_cleanup(&r);
        double dt = now_s() - t0;
        worst = dt > worst ? dt : worst;
        CHECK(a == 200 && b == 200);
        sleep_ms(50);
    }
    int busy = 0, ok = 0;
    for (int i = 0; i < N; i++) {
        pthread_join(t[i], NULL);
        busy += c[i].status == 503 && c[i].retry[0];
        ok += c[i].status == 200;
    }
    CHECKF(busy >= 1 && ok >= 1 && busy + ok == N, "%d refused, %d served of %d", busy, ok, N);
    CHECKF(worst < 1.0, "the API took %.2f s during the flood", worst);
    server_kill(&srv, SIGTERM);
}

TEST(a_second_instance_serves_what_the_first_rendered_postgres)
{
    if (!on_postgres())
        SKIP("needs ASSETD_TEST_STORE=postgres (one store, two instances)");
    char d1[256], d2[256], id[33], path[1024], name[40], nid[AD_ID_LEN + 1];
    server a, b;
    response r;
    temp_dir(d1, sizeof d1, "deliv-a");
    temp_dir(d2, sizeof d2, "deliv-b");
    ad_id_new(nid, NULL);
    snprintf(name, sizeof name, "d%.16s", nid);
    setenv("ASSETD_TEST_STORE_NAME", name, 1);
    REQUIRE(server_start(&a, d1, NULL));
    REQUIRE(server_start(&b, d2, NULL));
    unsetenv("ASSETD_TEST_STORE_NAME");
    REQUIRE(upload(&a, "rocket.jpg", "image/jpeg", rocket_jpg, rocket_len, id) == 201);
    mint_path(&a, id, "{\"variant\":\"bg_remove\",\"options\":{\"w\":200,\"format\":\"webp\"}}", path);
    REQUIRE(fetch(&a, "GET", path, NULL, &r) == 200);
    char etag[80] = "";
    CHECK(header(&r, "ETag", etag, sizeof etag));
    response_cleanup(&r);
    /* B verifies A's signature and reads A's render from the store */
    REQUIRE(fetch(&b, "GET", path, NULL, &r) == 200);
    CHECK(has_header(&r, "ETag", etag));
    response_cleanup(&r);
    CHECK(metric(&b, "assetd_delivery_total{result=\"stored\"}") == 1);
    CHECK(metric(&b, "assetd_delivery_render_seconds_count") <= 0);
    /* deleted through A: B says 404 at once */
    char ap[200];
    snprintf(ap, sizeof ap, "/api/v1/assets/%s", id);
    REQUIRE(request(&a, "DELETE", ap, NULL, 1, NULL, 0, &r) == 204);
    response_cleanup(&r);
    CHECK(fetch(&b, "GET", path, NULL, &r) == 404);
    response_cleanup(&r);
    server_kill(&a, SIGTERM);
    server_kill(&b, SIGTERM);
}
