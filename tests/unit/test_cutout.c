/* test_cutout.c — cutout/: the options declaration (parsing, refusals that
 * name the option, the cache key covering every option) and the pipeline on
 * a real photo with the real model, in both channel layouts. */
#include <stddef.h>

#include "base/fsutil.h"
#include "cutout/cutout.h"
#include "harness.h"
#include "image/image.h"

#define MODEL "deps/models/isnet-medium.onnx"
#define ORT "deps/onnxruntime/lib/libonnxruntime.so"

TEST(options_parse_and_refuse_by_name)
{
    ad_cutout_options o;
    ad_cutout_options_default(&o);
    CHECK(o.channels == AD_CHANNELS_RGBA && o.preset == AD_PRESET_DEFAULT && o.format == AD_FORMAT_PNG);
    CHECK(ad_cutout_options_plain(&o) && !ad_cutout_options_estimate_fg(&o));
    ad_err e = AD_ERR_INIT;
    CHECK(ad_cutout_option_set(&o, "channels", "alpha", 0, &e) == AD_OK && o.channels == AD_CHANNELS_ALPHA);
    CHECK(ad_cutout_options_plain(&o)); /* the bare mask keeps the streamed path */
    ad_err e2 = AD_ERR_INIT;
    CHECK(ad_cutout_option_set(&o, "channels", "cmyk", 0, &e2) == AD_EINVAL);
    CHECK(strstr(e2.msg, "channels") && strstr(e2.msg, "rgba,alpha"));
    ad_err e3 = AD_ERR_INIT;
    CHECK(ad_cutout_option_set(&o, "sharpen", "1", 0, &e3) == AD_ENOTFOUND);
    char d[512];
    ad_cutout_options_describe(&o, d, sizeof d);
    CHECKF(strstr(d, "preset=default channels=alpha format=png bg_color=none crop=false") == d, "%s", d);
    CHECK(strcmp(ad_cutout_content_type(&o), "image/png") == 0);
    REQUIRE(ad_cutout_option_set(&o, "format", "webp", 1, &e) == AD_OK);
    CHECK(strcmp(ad_cutout_content_type(&o), "image/webp") == 0 && !ad_cutout_options_plain(&o));
    REQUIRE(ad_cutout_option_set(&o, "format", "jpg", 1, &e) == AD_OK);
    CHECK(strcmp(ad_cutout_content_type(&o), "image/jpeg") == 0);
}

TEST(colours_hex_and_names)
{
    static const struct {
        const char *text;
        int ok;
        unsigned r, g, b, a;
    } rows[] = {
        {"fff", 1, 255, 255, 255, 255},
        {"#0f08", 1, 0, 255, 0, 136},
        {"81d4fa", 1, 0x81, 0xd4, 0xfa, 255},
        {"81D4FA80", 1, 0x81, 0xd4, 0xfa, 0x80},
        {"White", 1, 255, 255, 255, 255},
        {"transparent", 1, 0, 0, 0, 0},
        {"green", 1, 0, 128, 0, 255},
        {"#12345", 0, 0, 0, 0, 0},
        {"ggg", 0, 0, 0, 0, 0},
        {"rgb(1,2,3)", 0, 0, 0, 0, 0},
        {"#", 0, 0, 0, 0, 0},
        {"1234567890", 0, 0, 0, 0, 0},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        ad_cutout_options o;
        ad_cutout_options_default(&o);
        ad_err e = AD_ERR_INIT;
        ad_status st = ad_cutout_option_set(&o, "bg_color", rows[i].text, 1, &e);
        if (!rows[i].ok) {
            CHECKF(st == AD_EINVAL && strstr(e.msg, "bg_color"), "%s accepted", rows[i].text);
            continue;
        }
        CHECKF(st == AD_OK && o.bg_color.set && o.bg_color.r == rows[i].r && o.bg_color.g == rows[i].g &&
                   o.bg_color.b == rows[i].b && o.bg_color.a == rows[i].a,
               "%s -> %d %u %u %u %u", rows[i].text, o.bg_color.set, o.bg_color.r, o.bg_color.g, o.bg_color.b,
               o.bg_color.a);
        CHECK(ad_cutout_options_estimate_fg(&o)); /* auto: on with a background colour */
    }
}

TEST(margins_as_css)
{
    static const struct {
        const char *text;
        int ok, v[4], pc[4];
    } rows[] = {
        {"30", 1, {30, 30, 30, 30}, {0, 0, 0, 0}},
        {"30px", 1, {30, 30, 30, 30}, {0, 0, 0, 0}},
        {"10%", 1, {10, 10, 10, 10}, {1, 1, 1, 1}},
        {"10px 5%", 1, {10, 5, 10, 5}, {0, 1, 0, 1}},
        {"1,2,3", 1, {1, 2, 3, 2}, {0, 0, 0, 0}},
        {"1 2 3 4", 1, {1, 2, 3, 4}, {0, 0, 0, 0}},
        {"1 2 3 4 5", 0, {0}, {0}},
        {"-1", 0, {0}, {0}},
        {"10em", 0, {0}, {0}},
        {"101%", 0, {0}, {0}},
        {"10001", 0, {0}, {0}},
        {"", 0, {0}, {0}},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        ad_cutout_options o;
        ad_cutout_options_default(&o);
        ad_err e = AD_ERR_INIT;
        ad_status st = ad_cutout_option_set(&o, "crop_margin", rows[i].text, 1, &e);
        if (!rows[i].ok) {
            CHECKF(st == AD_EINVAL && strstr(e.msg, "crop_margin"), "'%s' accepted", rows[i].text);
            continue;
        }
        CHECKF(st == AD_OK && memcmp(o.crop_margin.v, rows[i].v, sizeof rows[i].v) == 0 &&
                   memcmp(o.crop_margin.percent, rows[i].pc, sizeof rows[i].pc) == 0,
               "'%s' -> %d %d %d %d", rows[i].text, o.crop_margin.v[0], o.crop_margin.v[1], o.crop_margin.v[2],
               o.crop_margin.v[3]);
        /* the rule between options: a margin needs crop=true */
        const char *param = NULL;
        ad_err ce = AD_ERR_INIT;
        int nonzero = o.crop_margin.v[0] | o.crop_margin.v[1] | o.crop_margin.v[2] | o.crop_margin.v[3];
        CHECK((ad_cutout_options_check(&o, &param, &ce) == AD_OK) == !nonzero);
        o.crop = 1;
        CHECK(ad_cutout_options_check(&o, &param, &ce) == AD_OK);
    }
}

/* The cache key must change with every declared option: the key hashes
 * the whole struct, and each option's value must land in it. Every option
 * needs a row here, so one added without one fails this test. */
TEST(every_option_changes_the_cache_key)
{
    static const struct {
        const char *name, *value;
    } other[] = {
        {"preset", "best"},
        {"channels", "alpha"},
        {"format", "webp"},
        {"bg_color", "fff"},
        {"crop", "true"},
        {"crop_margin", "10"},
        {"max_side", "100"},
        {"clear_transparent", "true"},
        {"foreground", "on"},
        {"roi", "0 0 10 10"},
        {"semitransparency", "false"},
        {"scale", "50%"},
        {"position", "center"},
    };
    int n;
    const ad_option_decl *d = ad_cutout_option_decls(&n);
    ad_cutout_options base, changed;
    char k0[65], k1[65];
    ad_cutout_options_default(&base);
    ad_cutout_options_key(&base, k0);
    ad_cutout_options_default(&changed);
    ad_cutout_options_key(&changed, k1);
    CHECK(strcmp(k0, k1) == 0); /* equal options, equal keys */
    for (int i = 0; i < n; i++) {
        const char *value = NULL;
        for (size_t k = 0; k < sizeof other / sizeof other[0]; k++)
            if (strcmp(other[k].name, d[i].name) == 0)
                value = other[k].value;
        CHECKF(value != NULL, "option %s has no row in this test", d[i].name);
        if (value == NULL)
            continue;
        ad_cutout_options_default(&changed);
        ad_err e = AD_ERR_INIT;
        REQUIRE(ad_cutout_option_set(&changed, d[i].name, value, 0, &e) == AD_OK);
        ad_cutout_options_key(&changed, k1);
        CHECKF(strcmp(k0, k1) != 0, "option %s=%s does not change the key", d[i].name, value);
        CHECK(d[i].help && d[i].help[0] && !(d[i].flags & AD_DECL_CLI_ONLY));
    }
}

TEST(the_pipeline_gives_rgba_or_the_mask)
{
    const char *dir = getenv("ASSETD_TESTDATA") ? getenv("ASSETD_TESTDATA") : "deps/testdata";
    char path[512];
    snprintf(path, sizeof path, "%s/astronaut.png", dir);
    void *buf;
    size_t len;
    ad_err e = AD_ERR_INIT;
    REQUIRE(ad_image_startup("test_cutout", &e) == AD_OK);
    if (ad_file_read(path, 1 << 26, &buf, &len, &e) != AD_OK)
        SKIP("no test photo: %s", e.msg);
    ad_model_config mc;
    ad_model_config_defaults(&mc);
    mc.ort_library = ORT;
    mc.model_path = MODEL;
    mc.cache_dir = "";
    ad_model *m = NULL;
    REQUIRE(ad_model_open(&mc, &m, &e) == AD_OK);
    ad_cutout_options o;
    ad_cutout_options_default(&o);
    ad_cutout_limits lim = {.max_pixels = 100000000};
    ad_cutout_result rgba, alpha;
    REQUIRE(ad_cutout_run(m, buf, len, &o, &lim, &rgba, &e) == AD_OK);
    o.channels = AD_CHANNELS_ALPHA;
    REQUIRE(ad_cutout_run(m, buf, len, &o, &lim, &alpha, &e) == AD_OK);
    CHECK(rgba.width == 512 && rgba.height == 512 && alpha.width == 512);
    CHECK(strcmp(rgba.content_type, "image/png") == 0 && strcmp(alpha.content_type, "image/png") == 0);
    /* IHDR colour type: 6 = RGBA, 0 = grey */
    CHECK(rgba.len > 26 && ((unsigned char *)rgba.data)[25] == 6);
    CHECK(alpha.len > 26 && ((unsigned char *)alpha.data)[25] == 0);
    CHECK(rgba.timing.infer > 0 && rgba.timing.total >= rgba.timing.infer);
    /* limits are the service's: a pixel limit refuses before any work */
    lim.max_pixels = 1000;
    ad_cutout_result none;
    ad_err e2 = AD_ERR_INIT;
    CHECK(ad_cutout_run(m, buf, len, &o, &lim, &none, &e2) == AD_ETOOBIG && none.data == NULL);
    ad_cutout_result_cleanup(&rgba);
    ad_cutout_result_cleanup(&alpha);
    ad_model_close(m);
    free(buf);
    ad_image_shutdown();
}
