/* test_preview.c — GET /api/v1/assets/:asset_id/preview against the real
 * server (issue 16): a WebP that fits the size asked (128, 256 default,
 * 512), never enlarged, EXIF orientation applied, transparency kept; an
 * ETag that answers If-None-Match with 304 and a cache that answers the
 * second time; and a JSON error naming the parameter for every refusal. */
#define HARNESS_SETUP setup
#include "harness.h"

#include "api/client.h"
#include "image/image.h"

static char *hopper_jpg;
static size_t hopper_len;
static server srv;
static char dir[256];

static void setup(void)
{
    api_setup();
    load_test_photo("grace_hopper.jpg", &hopper_jpg, &hopper_len);
    REQUIRE(ad_image_startup(NULL, &(ad_err)AD_ERR_INIT) == AD_OK);
}

/* mkimage KIND from a test photo, read back. */
static int made(const char *kind, const char *photo, const char *ext, const char *wh, char **out, size_t *len)
{
    const char *mk = getenv("ASSETD_MKIMAGE") ? getenv("ASSETD_MKIMAGE") : "build/tests/mkimage";
    const char *td = getenv("ASSETD_TESTDATA") ? getenv("ASSETD_TESTDATA") : "deps/testdata";
    char path[400], cmd[1200];
    snprintf(path, sizeof path, "%s/%s-%s.%s", dir, kind, photo, ext);
    snprintf(cmd, sizeof cmd, "%s %s %s/%s %s %s", mk, kind, td, photo, path, wh ? wh : "");
    return system(cmd) == 0 && read_file(path, out, len);
}

/* The preview's size and bands, decoded by the library the server uses. */
static int preview_of(const char *id, const char *query, int *w, int *h, int *bands, char *etag, size_t etag_len)
{
    char path[200];
    response r;
    snprintf(path, sizeof path, "/api/v1/assets/%s/preview%s", id, query);
    long st = get(&srv, path, &r);
    char ct[64];
    int ok = st == 200 && header(&r, "Content-Type", ct, sizeof ct) && strcmp(ct, "image/webp") == 0 && r.len > 12 &&
             memcmp(r.body + 8, "WEBP", 4) == 0;
    ad_pixmap pm = {0};
    if (ok && ad_image_decode_raw(r.body, r.len, &pm, &(ad_err)AD_ERR_INIT) == AD_OK) {
        *w = pm.width;
        *h = pm.height;
        *bands = pm.bands;
        ad_pixmap_cleanup(&pm);
    } else {
        ok = 0;
    }
    if (etag && !header(&r, "ETag", etag, etag_len))
        ok = 0;
    response_cleanup(&r);
    return ok;
}

TEST(previews_fit_their_size_and_keep_orientation_and_alpha)
{
    temp_dir(dir, sizeof dir, "preview");
    REQUIRE(server_start(&srv, dir, NULL));
    char id[33];
    int w, h, b;
    /* 512x600 JPEG: 128 and the default 256 shrink it, keeping its shape */
    REQUIRE(upload(&srv, "g.jpg", "image/jpeg", hopper_jpg, hopper_len, id) == 201);
    CHECK(preview_of(id, "?size=128", &w, &h, &b, NULL, 0) && h == 128 && w >= 108 && w <= 110);
    CHECK(preview_of(id, "", &w, &h, &b, NULL, 0) && h == 256 && w >= 217 && w <= 219);
    CHECK(preview_of(id, "?size=512", &w, &h, &b, NULL, 0) && h == 512 && w >= 436 && w <= 438);
    /* never enlarged: a 100x80 image at 512 stays 100x80 */
    char *small;
    size_t small_len;
    REQUIRE(made("resize", "astronaut.png", "png", "100 80", &small, &small_len));
    REQUIRE(upload(&srv, "s.png", "image/png", small, small_len, id) == 201);
    free(small);
    CHECK(preview_of(id, "?size=512", &w, &h, &b, NULL, 0) && w == 100 && h == 80);
    /* EXIF orientation 6: stored 600x512, shown (and previewed) 512x600 */
    char *rot;
    size_t rot_len;
    REQUIRE(made("rot6", "grace_hopper.jpg", "jpg", NULL, &rot, &rot_len));
    REQUIRE(upload(&srv, "r.jpg", "image/jpeg", rot, rot_len, id) == 201);
    free(rot);
    CHECKF(preview_of(id, "?size=256", &w, &h, &b, NULL, 0) && h == 256 && w < 256, "%dx%d", w, h);
    /* transparency kept: a cut-out saved as an asset previews with alpha */
    REQUIRE(upload(&srv, "a.png", "image/png", astro_png, astro_len, id) == 201);
    char path[200];
    response r;
    snprintf(path, sizeof path, "/api/v1/assets/%s/addons/bg_remove?mode=save_image&disposition=add_new_asset", id);
    REQUIRE(get(&srv, path, &r) == 200);
    char cut[33];
    snprintf(cut, sizeof cut, "%s", jstr(r.json, "new_asset_id"));
    response_cleanup(&r);
    CHECK(preview_of(cut, "?size=128", &w, &h, &b, NULL, 0) && w == 128 && h == 128 && b == 4);
}

TEST(previews_have_an_etag_and_come_from_the_cache_the_second_time)
{
    char id[33], etag[100], etag2[100], hdr[160], xc[16];
    int w, h, b;
    REQUIRE(upload(&srv, "g2.jpg", "image/jpeg", hopper_jpg, hopper_len, id) == 201);
    REQUIRE(preview_of(id, "?size=256", &w, &h, &b, etag, sizeof etag));
    REQUIRE(preview_of(id, "?size=128", &w, &h, &b, etag2, sizeof etag2));
    CHECK(strcmp(etag, etag2) != 0); /* a different size is a different entity */
    char path[200];
    response r;
    snprintf(path, sizeof path, "/api/v1/assets/%s/preview?size=256", id);
    REQUIRE(get(&srv, path, &r) == 200);
    CHECK(header(&r, "X-Cache", xc, sizeof xc) && strcmp(xc, "hit") == 0);
    response_cleanup(&r);
    snprintf(hdr, sizeof hdr, "If-None-Match: %s", etag);
    const char *h304[] = {hdr, NULL};
    CHECK(request(&srv, "GET", path, h304, 1, NULL, 0, &r) == 304 && r.len == 0);
    response_cleanup(&r);
}

TEST(refused_previews_name_their_parameter)
{
    char id[33], text_id[33], bad_id[33], path[200];
    REQUIRE(upload(&srv, "g3.jpg", "image/jpeg", hopper_jpg, hopper_len, id) == 201);
    REQUIRE(upload(&srv, "t.txt", "text/plain", "hello", 5, text_id) == 201);
    char *trunc;
    size_t trunc_len;
    REQUIRE(made("truncate", "grace_hopper.jpg", "jpg", NULL, &trunc, &trunc_len));
    REQUIRE(upload(&srv, "bad.jpg", "image/jpeg", trunc, trunc_len, bad_id) == 201);
    free(trunc);
    static const struct {
        const char *query;
        long status;
        const char *param;
    } bad[] = {
        {"?size=100", 400, "size"},          {"?size=0128", 400, "size"},  {"?size=", 400, "size"},
        {"?size=128&size=256", 400, "size"}, {"?width=128", 400, "width"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        response r;
        snprintf(path, sizeof path, "/api/v1/assets/%s/preview%s", id, bad[i].query);
        long st = get(&srv, path, &r);
        CHECKF(st == bad[i].status && is_error_shape(&r) && err_param(&r) && strcmp(err_param(&r), bad[i].param) == 0,
               "%s -> %ld %.*s", bad[i].query, st, (int)r.len, r.body);
        response_cleanup(&r);
    }
    static const struct {
        const char *id;
        long status;
    } bad_asset[] = {{"0123456789abcdef0123456789abcdef", 404}, {NULL, 415}, {NULL, 422}};
    for (int i = 0; i < 3; i++) {
        response r;
        snprintf(path, sizeof path, "/api/v1/assets/%s/preview",
                 bad_asset[i].id ? bad_asset[i].id
                 : i == 1        ? text_id
                                 : bad_id);
        long st = get(&srv, path, &r);
        CHECKF(st == bad_asset[i].status && is_error_shape(&r) && strcmp(err_param(&r), "asset_id") == 0,
               "case %d -> %ld %.*s", i, st, (int)r.len, r.body);
        response_cleanup(&r);
    }
    response r;
    snprintf(path, sizeof path, "/api/v1/assets/%s/preview", id);
    CHECK(request(&srv, "GET", path, NULL, 0, NULL, 0, &r) == 401);
    response_cleanup(&r);
    server_kill(&srv, SIGTERM);
}
