/* test_options.c — bg_remove's output options against the real server
 * (issue 13): presets, channels, format, bg_color, crop + crop_margin,
 * max_side, clear_transparent, foreground; remove.bg's result headers; the
 * cache keyed by every option; saves that keep the variant asked for; and a
 * 400 naming the parameter for every bad value or broken rule. Each result
 * is decoded by the library the server uses and its pixels checked. */
#define HARNESS_SETUP setup
#include <pthread.h>

#include "harness.h"

#include "api/client.h"
#include "image/image.h"

static char *hopper_jpg;
static size_t hopper_len;
static server srv;
static char dir[256], id[33];

static void setup(void)
{
    api_setup();
    load_test_photo("grace_hopper.jpg", &hopper_jpg, &hopper_len);
    REQUIRE(ad_image_startup(NULL, &(ad_err)AD_ERR_INIT) == AD_OK);
    temp_dir(dir, sizeof dir, "options");
    /* best on a session of its own, at another side than the main model */
    const char *extra[] = {"--model-side-best", "1024", NULL};
    REQUIRE(server_start(&srv, dir, extra));
    REQUIRE(upload(&srv, "hopper.jpg", "image/jpeg", hopper_jpg, hopper_len, id) == 201);
}

/* One cut-out: its answer, decoded pixels and headers. */
typedef struct {
    long status;
    char type[64], cache[16], model[96];
    ad_pixmap pm;
    int xw, xh, ft, fl, fw, fh, ms;
    response r;
} result;

static int int_header(const response *r, const char *name)
{
    char v[32];
    return header(r, name, v, sizeof v) ? atoi(v) : -1;
}

static void cut(const char *query, result *out)
{
    char path[400];
    memset(out, 0, sizeof *out);
    snprintf(path, sizeof path, "/api/v1/assets/%s/addons/bg_remove%s%s", id, *query ? "?" : "", query);
    out->status = get(&srv, path, &out->r);
    header(&out->r, "Content-Type", out->type, sizeof out->type);
    header(&out->r, "X-Cache", out->cache, sizeof out->cache);
    header(&out->r, "X-Model", out->model, sizeof out->model);
    out->xw = int_header(&out->r, "X-Width");
    out->xh = int_header(&out->r, "X-Height");
    out->ft = int_header(&out->r, "X-Foreground-Top");
    out->fl = int_header(&out->r, "X-Foreground-Left");
    out->fw = int_header(&out->r, "X-Foreground-Width");
    out->fh = int_header(&out->r, "X-Foreground-Height");
    out->ms = int_header(&out->r, "X-Processing-Time-Ms");
    if (out->status == 200 && strncmp(out->type, "image/", 6) == 0)
        ad_image_decode_raw(out->r.body, out->r.len, &out->pm, &(ad_err)AD_ERR_INIT);
}

static void done(result *r)
{
    ad_pixmap_cleanup(&r->pm);
    response_cleanup(&r->r);
}

static const uint8_t *px(const ad_pixmap *pm, int x, int y)
{
    return pm->data + ((size_t)y * pm->width + x) * pm->bands;
}

TEST(no_option_is_the_specs_png_with_removebg_headers)
{
    result r;
    cut("", &r);
    CHECK(r.status == 200 && strcmp(r.type, "image/png") == 0);
    CHECK(r.pm.width == 512 && r.pm.height == 600 && r.pm.bands == 4);
    CHECK(r.xw == 512 && r.xh == 600);
    /* the subject: inside the image, most of it, touching the bottom */
    CHECKF(r.fl >= 0 && r.ft >= 0 && r.fw > 300 && r.fh > 400 && r.fl + r.fw <= 512 && r.ft + r.fh == 600,
           "box %d,%d %dx%d", r.fl, r.ft, r.fw, r.fh);
    CHECK(r.ms > 0 && strstr(r.model, "/896") != NULL);
    CHECK(px(&r.pm, 0, 0)[3] == 0 && px(&r.pm, 256, 500)[3] >= 250);
    /* the original pixels, unchanged under the mask */
    ad_pixmap orig = {0};
    REQUIRE(ad_image_decode_rgb(hopper_jpg, hopper_len, 0, &orig, &(ad_err)AD_ERR_INIT) == AD_OK);
    CHECK(memcmp(px(&r.pm, 256, 500), px(&orig, 256, 500), 3) == 0 && memcmp(px(&r.pm, 3, 3), px(&orig, 3, 3), 3) == 0);
    ad_pixmap_cleanup(&orig);
    done(&r);
}

TEST(channels_format_and_colours)
{
    result r;
    cut("channels=alpha", &r);
    CHECK(r.status == 200 && strcmp(r.type, "image/png") == 0 && r.pm.bands == 1 && r.pm.width == 512);
    CHECK(px(&r.pm, 0, 0)[0] == 0 && px(&r.pm, 256, 500)[0] >= 250);
    done(&r);
    cut("format=webp", &r);
    CHECK(r.status == 200 && strcmp(r.type, "image/webp") == 0 && r.pm.bands == 4 && r.pm.width == 512);
    CHECK(px(&r.pm, 0, 0)[3] == 0 && px(&r.pm, 256, 500)[3] >= 250);
    done(&r);
    /* jpg: no alpha, white where the background was (the documented default) */
    cut("format=jpg", &r);
    CHECK(r.status == 200 && strcmp(r.type, "image/jpeg") == 0 && r.pm.bands == 3 && r.pm.height == 600);
    CHECK(px(&r.pm, 2, 2)[0] > 245 && px(&r.pm, 2, 2)[1] > 245 && px(&r.pm, 2, 2)[2] > 245);
    done(&r);
    cut("format=jpg&bg_color=black", &r);
    CHECK(r.status == 200 && px(&r.pm, 2, 2)[0] < 10 && px(&r.pm, 2, 2)[2] < 10);
    done(&r);
    /* an opaque colour: RGB, the colour in the corners */
    cut("bg_color=ff0000", &r);
    CHECK(r.status == 200 && strcmp(r.type, "image/png") == 0 && r.pm.bands == 3);
    CHECK(px(&r.pm, 0, 0)[0] == 255 && px(&r.pm, 0, 0)[1] == 0 && px(&r.pm, 0, 0)[2] == 0);
    done(&r);
    /* a translucent one stays RGBA */
    cut("bg_color=%2300ff0080", &r);
    CHECK(r.status == 200 && r.pm.bands == 4 && px(&r.pm, 0, 0)[1] == 255 && px(&r.pm, 0, 0)[3] == 128);
    done(&r);
    /* clear_transparent: colour 0 wherever alpha is 0, and a smaller file */
    result plain;
    cut("", &plain);
    cut("clear_transparent=true", &r);
    REQUIRE(r.status == 200 && r.pm.bands == 4);
    long clear = 0, wrong = 0;
    for (int y = 0; y < r.pm.height; y++)
        for (int x = 0; x < r.pm.width; x++) {
            const uint8_t *p = px(&r.pm, x, y);
            if (p[3] == 0) {
                clear++;
                wrong += p[0] || p[1] || p[2];
            }
        }
    printf("    clear_transparent: %ld transparent pixels, %zu bytes vs %zu\n", clear, r.r.len, plain.r.len);
    CHECK(clear > 10000 && wrong == 0 && r.r.len < plain.r.len * 8 / 10);
    done(&r);
    done(&plain);
}

TEST(crop_margin_and_max_side)
{
    result box, r;
    cut("", &box);
    REQUIRE(box.fw > 0);
    cut("crop=true", &r);
    CHECKF(r.status == 200 && r.pm.width == box.fw && r.pm.height == box.fh && r.xw == box.fw && r.xh == box.fh,
           "crop %dx%d, box %dx%d", r.pm.width, r.pm.height, box.fw, box.fh);
    /* the box is still given in the original's pixels */
    CHECK(r.fl == box.fl && r.ft == box.ft);
    done(&r);
    cut("crop=true&crop_margin=10px", &r);
    CHECK(r.status == 200 && r.pm.width == box.fw + 20 && r.pm.height == box.fh + 20);
    /* the margin below the subject is outside the photo: transparent */
    CHECK(px(&r.pm, r.pm.width / 2, r.pm.height - 1)[3] == 0);
    done(&r);
    cut("crop=true&crop_margin=10%25+0", &r);
    CHECK(r.status == 200 && r.pm.width == box.fw && r.pm.height == box.fh + 2 * (box.fh * 10 / 100));
    done(&r);
    cut("crop=true&crop_margin=1,2,3,4", &r);
    CHECK(r.status == 200 && r.pm.width == box.fw + 6 && r.pm.height == box.fh + 4);
    done(&r);
    cut("max_side=100", &r);
    CHECK(r.status == 200 && r.pm.height == 100 && r.pm.width >= 84 && r.pm.width <= 86 && r.xh == 100);
    done(&r);
    cut("max_side=5000", &r); /* never enlarged */
    CHECK(r.status == 200 && r.pm.width == 512 && r.pm.height == 600);
    done(&r);
    cut("channels=alpha&crop=true&max_side=64&format=webp", &r);
    CHECK(r.status == 200 && strcmp(r.type, "image/webp") == 0 && (r.pm.width == 64 || r.pm.height == 64));
    done(&r);
    done(&box);
}

TEST(presets_change_the_matte_and_the_model)
{
    result def, best, ref, fast;
    cut("", &def);
    cut("preset=best", &best);
    cut("preset=reference", &ref);
    cut("preset=fast", &fast);
    CHECK(def.status == 200 && best.status == 200 && ref.status == 200 && fast.status == 200);
    CHECK(def.r.len != best.r.len || memcmp(def.r.body, best.r.body, def.r.len) != 0);
    CHECK(def.r.len != ref.r.len || memcmp(def.r.body, ref.r.body, def.r.len) != 0);
    CHECKF(strstr(fast.model, "/640") != NULL, "fast model %s", fast.model);
    /* best runs on the model of its side (--model-side-best 1024 here);
     * the others on the main one */
    CHECKF(strstr(best.model, "/1024") != NULL && strstr(def.model, "/896") != NULL &&
               strcmp(ref.model, def.model) == 0,
           "best model %s, default %s, reference %s", best.model, def.model, ref.model);
    CHECK(fast.pm.width == 512 && fast.pm.height == 600 && best.pm.width == 512);
    /* the curve sharpens: the default has fewer half-transparent pixels than the reference */
    long soft_def = 0, soft_ref = 0;
    for (size_t i = 0; i < (size_t)512 * 600; i++) {
        soft_def += def.pm.data[4 * i + 3] > 20 && def.pm.data[4 * i + 3] < 235;
        soft_ref += ref.pm.data[4 * i + 3] > 20 && ref.pm.data[4 * i + 3] < 235;
    }
    printf("    soft pixels: default %ld, reference %ld; best took %d ms, default %d ms\n", soft_def, soft_ref, best.ms,
           def.ms);
    CHECK(soft_def < soft_ref);
    done(&def);
    done(&best);
    done(&ref);
    done(&fast);
}

/* The cache holds a result per source and options: each option's change
 * must miss (and differ); the same request again must hit, byte for byte.
 * If an option were left out of the key, its request would hit the
 * default's result. */
TEST(every_option_has_its_own_cache_entry)
{
    static const char *const variants[] = {
        "preset=best",   "channels=alpha",          "format=webp",  "bg_color=fff",
        "crop=true",     "crop=true&crop_margin=5", "max_side=200", "clear_transparent=true",
        "foreground=on",
    };
    result base, again;
    cut("bg_color=00f", &base); /* something not asked for by the other tests */
    cut("bg_color=00f", &again);
    CHECK(base.status == 200 && strcmp(again.cache, "hit") == 0 && again.r.len == base.r.len &&
          memcmp(again.r.body, base.r.body, base.r.len) == 0);
    /* the headers come back with the cached bytes */
    CHECK(again.xw == base.xw && again.fw == base.fw && again.fh == base.fh && again.fl == base.fl);
    done(&again);
    result def;
    cut("", &def);
    for (size_t i = 0; i < sizeof variants / sizeof variants[0]; i++) {
        result v;
        cut(variants[i], &v);
        CHECKF(v.status == 200 && (v.r.len != def.r.len || memcmp(v.r.body, def.r.body, def.r.len) != 0),
               "%s answered the default's bytes", variants[i]);
        done(&v);
    }
    done(&def);
    done(&base);
}

TEST(saves_keep_the_variant_asked_for)
{
    char path[400];
    response r;
    snprintf(path, sizeof path,
             "/api/v1/assets/%s/addons/bg_remove?mode=save_image&disposition=add_conversion&conversion_name=w&"
             "format=webp&max_side=100",
             id);
    REQUIRE(get(&srv, path, &r) == 200);
    response_cleanup(&r);
    snprintf(path, sizeof path, "/api/v1/assets/%s/conversions/w", id);
    REQUIRE(get(&srv, path, &r) == 200);
    char ct[64];
    CHECK(header(&r, "Content-Type", ct, sizeof ct) && strcmp(ct, "image/webp") == 0);
    ad_pixmap pm = {0};
    CHECK(ad_image_decode_raw(r.body, r.len, &pm, &(ad_err)AD_ERR_INIT) == AD_OK && pm.height == 100);
    ad_pixmap_cleanup(&pm);
    response_cleanup(&r);
    /* a new asset as JPEG on white: its type, name and size say so */
    snprintf(path, sizeof path,
             "/api/v1/assets/%s/addons/bg_remove?mode=save_image&disposition=add_new_asset&format=jpg&crop=true", id);
    REQUIRE(get(&srv, path, &r) == 200);
    char nid[64] = "";
    snprintf(nid, sizeof nid, "%s", jstr(r.json, "new_asset_id") ? jstr(r.json, "new_asset_id") : "");
    response_cleanup(&r);
    snprintf(path, sizeof path, "/api/v1/assets/%s", nid);
    REQUIRE(get(&srv, path, &r) == 200);
    CHECK(strcmp(jstr(r.json, "content_type"), "image/jpeg") == 0);
    CHECKF(strstr(jstr(r.json, "filename"), ".jpg") != NULL, "%s", jstr(r.json, "filename"));
    CHECK(json_integer_value(json_object_get(r.json, "height")) < 600);
    response_cleanup(&r);
    /* get_image_and_save: the job saves the same variant it answered */
    snprintf(path, sizeof path,
             "/api/v1/assets/%s/addons/bg_remove?mode=get_image_and_save&disposition=add_conversion&"
             "conversion_name=g&bg_color=red",
             id);
    REQUIRE(get(&srv, path, &r) == 200);
    char job[64];
    REQUIRE(header(&r, "X-Job-Id", job, sizeof job));
    char *answered = malloc(r.len);
    size_t answered_len = r.len;
    memcpy(answered, r.body, r.len);
    response_cleanup(&r);
    snprintf(path, sizeof path, "/api/v1/jobs/%s", job);
    for (int i = 0; i < 200; i++) {
        REQUIRE(get(&srv, path, &r) == 200);
        int fin = strcmp(jstr(r.json, "status"), "succeeded") == 0;
        response_cleanup(&r);
        if (fin)
            break;
        sleep_ms(50);
    }
    snprintf(path, sizeof path, "/api/v1/assets/%s/conversions/g", id);
    REQUIRE(get(&srv, path, &r) == 200);
    CHECK(r.len == answered_len && memcmp(r.body, answered, r.len) == 0);
    response_cleanup(&r);
    free(answered);
}

TEST(bad_values_and_broken_rules_are_400_naming_the_parameter)
{
    static const struct {
        const char *query, *param;
    } rows[] = {
        {"preset=slow", "preset"},
        {"channels=rgb", "channels"},
        {"format=gif", "format"},
        {"bg_color=%23ggg", "bg_color"},
        {"bg_color=", "bg_color"},
        {"crop=1x", "crop"},
        {"crop_margin=10", "crop_margin"},
        {"crop=true&crop_margin=10em", "crop_margin"},
        {"crop=true&crop_margin=1+2+3+4+5", "crop_margin"},
        {"max_side=-5", "max_side"},
        {"max_side=99999999999", "max_side"},
        {"clear_transparent=maybe", "clear_transparent"},
        {"foreground=yes", "foreground"},
        {"channels=alpha&bg_color=fff", "bg_color"},
        {"format=jpg&clear_transparent=true", "clear_transparent"},
        {"format=png&format=webp", "format"},
        {"sharpen=1", "sharpen"},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        result r;
        cut(rows[i].query, &r);
        CHECKF(r.status == 400 && is_error_shape(&r.r) && strcmp(err_code(&r.r), "invalid_parameter") == 0 &&
                   err_param(&r.r) && strcmp(err_param(&r.r), rows[i].param) == 0,
               "%s: %ld %s", rows[i].query, r.status, err_param(&r.r) ? err_param(&r.r) : "-");
        done(&r);
    }
}

/* POST /api/v1/bg_remove: the same cut-out from the image as the body. */
static long oneshot(const server *s, const char *query, const char *ctype, const void *data, size_t len, response *r)
{
    char path[300], cth[200];
    snprintf(path, sizeof path, "/api/v1/bg_remove%s%s", *query ? "?" : "", query);
    snprintf(cth, sizeof cth, "Content-Type: %s", ctype);
    const char *h[] = {cth, NULL};
    return request(s, "POST", path, h, 1, data, len, r);
}

/* A multipart form around the photo, with an extra field when asked. */
static char *form(const char *extra_field, size_t *len)
{
    const char *head = "--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"h.jpg\"\r\n"
                       "Content-Type: image/jpeg\r\n\r\n";
    char extra[200] = "";
    if (extra_field)
        snprintf(extra, sizeof extra, "\r\n--XyZ\r\nContent-Disposition: form-data; name=\"%s\"\r\n\r\nx", extra_field);
    const char *tail = "\r\n--XyZ--\r\n";
    *len = strlen(head) + hopper_len + strlen(extra) + strlen(tail);
    char *b = malloc(*len), *p = b;
    memcpy(p, head, strlen(head)), p += strlen(head);
    memcpy(p, hopper_jpg, hopper_len), p += hopper_len;
    memcpy(p, extra, strlen(extra)), p += strlen(extra);
    memcpy(p, tail, strlen(tail));
    return b;
}

static int count_assets(void)
{
    response r;
    int n =
        get(&srv, "/api/v1/assets?limit=100", &r) == 200 ? (int)json_array_size(json_object_get(r.json, "items")) : -1;
    response_cleanup(&r);
    return n;
}

TEST(the_one_shot_route_answers_the_same_cut_out_and_stores_nothing)
{
    int before = count_assets();
    result asset_route;
    cut("crop=true&format=webp", &asset_route);
    response r;
    REQUIRE(oneshot(&srv, "crop=true&format=webp", "image/jpeg", hopper_jpg, hopper_len, &r) == 200);
    char ct[64];
    CHECK(header(&r, "Content-Type", ct, sizeof ct) && strcmp(ct, "image/webp") == 0);
    /* byte for byte what the asset route makes of the same bytes and options */
    CHECK(r.len == asset_route.r.len && memcmp(r.body, asset_route.r.body, r.len) == 0);
    CHECK(int_header(&r, "X-Width") == asset_route.xw && int_header(&r, "X-Foreground-Left") == asset_route.fl);
    response_cleanup(&r);
    done(&asset_route);
    /* multipart, with the file part */
    size_t flen;
    char *f = form(NULL, &flen);
    REQUIRE(oneshot(&srv, "channels=alpha", "multipart/form-data; boundary=XyZ", f, flen, &r) == 200);
    int w, h, type;
    CHECK(png_info(&r, &w, &h, &type) && w == 512 && h == 600 && type == 0);
    response_cleanup(&r);
    free(f);
    CHECK(count_assets() == before);
    /* nothing left in the data dir but the store's own files */
    char cmd[600];
    snprintf(cmd, sizeof cmd, "test -z \"$(find %s -name '.oneshot-*')\"", dir);
    CHECK(system(cmd) == 0);
}

TEST(the_one_shot_route_refuses_by_name)
{
    response r;
    static const struct {
        const char *query;
        long status;
        const char *param;
    } rows[] = {
        {"mode=get_image", 400, "mode"},
        {"format=bmp", 400, "format"},
        {"crop_margin=4", 400, "crop_margin"},
        {"max_side=1&max_side=2", 400, "max_side"},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        long st = oneshot(&srv, rows[i].query, "image/jpeg", hopper_jpg, hopper_len, &r);
        CHECKF(st == rows[i].status && is_error_shape(&r) && err_param(&r) && strcmp(err_param(&r), rows[i].param) == 0,
               "%s: %ld %s", rows[i].query, st, err_param(&r) ? err_param(&r) : "-");
        response_cleanup(&r);
    }
    /* no image, not an image, an unknown form field, a form without the file */
    CHECK(oneshot(&srv, "", "image/jpeg", NULL, 0, &r) == 400 && strcmp(err_param(&r), "file") == 0);
    response_cleanup(&r);
    CHECK(oneshot(&srv, "", "image/jpeg", "not an image at all", 19, &r) == 422 &&
          strcmp(err_code(&r), "unprocessable_image") == 0 && strcmp(err_param(&r), "file") == 0);
    response_cleanup(&r);
    size_t flen;
    char *f = form("custom_data", &flen);
    CHECK(oneshot(&srv, "", "multipart/form-data; boundary=XyZ", f, flen, &r) == 400 &&
          strcmp(err_param(&r), "custom_data") == 0);
    response_cleanup(&r);
    free(f);
    const char *empty_form = "--XyZ\r\nContent-Disposition: form-data; name=\"file\"\r\n\r\n\r\n--XyZ--\r\n";
    CHECK(oneshot(&srv, "", "multipart/form-data; boundary=XyZ", empty_form, strlen(empty_form), &r) == 400 &&
          strcmp(err_param(&r), "file") == 0);
    response_cleanup(&r);
    const char *broken = "--XyZ\r\nContent-Disposition: form-data; name=\"file\"\r\n\r\nabc";
    CHECK(oneshot(&srv, "", "multipart/form-data; boundary=XyZ", broken, strlen(broken), &r) == 400 &&
          strcmp(err_param(&r), "body") == 0);
    response_cleanup(&r);
    /* a key is needed, as everywhere under /api/v1 */
    const char *h[] = {"Content-Type: image/jpeg", NULL};
    CHECK(request(&srv, "POST", "/api/v1/bg_remove", h, 0, hopper_jpg, hopper_len, &r) == 401);
    response_cleanup(&r);
    CHECK(request(&srv, "GET", "/api/v1/bg_remove", NULL, 1, NULL, 0, &r) == 405);
    response_cleanup(&r);
}

/* The same limits as the asset route: body size, pixels, and a full queue. */
TEST(the_one_shot_route_keeps_the_limits)
{
    char d2[256];
    temp_dir(d2, sizeof d2, "oneshot-limits");
    server s2;
    const char *extra[] = {"--max-body",    "100000", "--max-pixels", "250000", "--workers", "1",
                           "--queue-depth", "1",      "--cache-mb",   "0",      NULL};
    REQUIRE(server_start(&s2, d2, extra));
    response r;
    char *big = calloc(1, 200000);
    CHECK(oneshot(&s2, "", "image/jpeg", big, 200000, &r) == 413 && is_error_shape(&r));
    response_cleanup(&r);
    free(big);
    /* 512x600 = 307200 pixels: over the limit, refused before decoding */
    CHECK(oneshot(&s2, "", "image/jpeg", hopper_jpg, hopper_len, &r) == 413 &&
          strcmp(err_code(&r), "too_many_pixels") == 0);
    response_cleanup(&r);
    server_kill(&s2, SIGTERM);
}

/* One worker, one place in the queue: of six at once, some are 503 with
 * Retry-After, the others are answered, as on the asset route. */
TEST(the_one_shot_route_shares_the_queue_and_its_503)
{
    char d3[256];
    temp_dir(d3, sizeof d3, "oneshot-busy");
    server s3;
    const char *extra[] = {"--workers", "1", "--queue-depth", "1", "--cache-mb", "0", NULL};
    REQUIRE(server_start(&s3, d3, extra));
    call calls[6];
    pthread_t th[6];
    for (int i = 0; i < 6; i++) {
        calls[i] = (call){.s = &s3,
                          .path = "/api/v1/bg_remove",
                          .body = hopper_jpg,
                          .body_len = hopper_len,
                          .content_type = "image/jpeg"};
        pthread_create(&th[i], NULL, call_thread, &calls[i]);
    }
    int ok = 0, busy = 0;
    for (int i = 0; i < 6; i++) {
        pthread_join(th[i], NULL);
        ok += calls[i].status == 200;
        busy += calls[i].status == 503 && calls[i].retry_after[0];
    }
    printf("    6 at once, 1 worker + 1 queued: %d answered, %d busy (503 + Retry-After)\n", ok, busy);
    CHECK(ok >= 2 && busy >= 1 && ok + busy == 6);
    server_kill(&s3, SIGTERM);
}
