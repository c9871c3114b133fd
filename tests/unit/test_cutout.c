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
    CHECK(o.channels == AD_CHANNELS_RGBA);
    ad_err e = AD_ERR_INIT;
    CHECK(ad_cutout_option_set(&o, "channels", "alpha", 0, &e) == AD_OK && o.channels == AD_CHANNELS_ALPHA);
    ad_err e2 = AD_ERR_INIT;
    CHECK(ad_cutout_option_set(&o, "channels", "cmyk", 0, &e2) == AD_EINVAL);
    CHECK(strstr(e2.msg, "channels") && strstr(e2.msg, "rgba,alpha"));
    ad_err e3 = AD_ERR_INIT;
    CHECK(ad_cutout_option_set(&o, "sharpen", "1", 0, &e3) == AD_ENOTFOUND);
    char d[128];
    ad_cutout_options_describe(&o, d, sizeof d);
    CHECK(strcmp(d, "channels=alpha") == 0);
    CHECK(strcmp(ad_cutout_content_type(&o), "image/png") == 0);
}

/* The cache key must change with every declared option: the key hashes
 * the whole struct, and each option's value must land in it. */
TEST(every_option_changes_the_cache_key)
{
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
        ad_cutout_options_default(&changed);
        /* the first value that is not the default */
        char value[32] = "";
        if (d[i].type == AD_OPT_ENUM) {
            const char *bar = strchr(d[i].choices, '|');
            const char *second = bar ? bar + 1 : d[i].choices;
            snprintf(value, sizeof value, "%.*s", (int)strcspn(second, "|"), second);
            if (strcmp(value, d[i].def) == 0)
                snprintf(value, sizeof value, "%.*s", (int)strcspn(d[i].choices, "|"), d[i].choices);
        } else {
            snprintf(value, sizeof value, "%lld", atoll(d[i].def) == d[i].min ? d[i].max : d[i].min);
        }
        ad_err e = AD_ERR_INIT;
        REQUIRE(ad_cutout_option_set(&changed, d[i].name, value, 0, &e) == AD_OK);
        ad_cutout_options_key(&changed, k1);
        CHECKF(strcmp(k0, k1) != 0, "option %s=%s does not change the key", d[i].name, value);
        CHECK(d[i].help && d[i].help[0] && d[i].offset + sizeof(int) <= sizeof(ad_cutout_options));
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
