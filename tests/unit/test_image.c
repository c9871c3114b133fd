/* test_image.c — decoding (formats, colour models, orientation, limits,
 * broken input) and the PNG encoder (lossless round trips). Inputs are made
 * in memory with libvips, which tests may use directly. */
#include <vips/vips.h>
#include <zlib.h>

#define HARNESS_SETUP setup
#include "harness.h"
#include "image/image.h"
#include "image/png_encode.h"

static void setup(void)
{
    ad_err e = AD_ERR_INIT;
    if (ad_image_startup("test_image", &e) != AD_OK) {
        printf("libvips: %s\n", e.msg);
        exit(1);
    }
}

/* A W x H test card: R = x, G = y, B = x ^ y (mod 256). */
static VipsImage *card(int w, int h)
{
    size_t n = (size_t)w * h * 3;
    uint8_t *px = g_malloc(n);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            uint8_t *p = px + ((size_t)y * w + x) * 3;
            p[0] = (uint8_t)x;
            p[1] = (uint8_t)y;
            p[2] = (uint8_t)(x ^ y);
        }
    VipsImage *img = vips_image_new_from_memory_copy(px, n, w, h, 3, VIPS_FORMAT_UCHAR);
    g_free(px);
    img->Type = VIPS_INTERPRETATION_sRGB;
    return img;
}

static void *save(VipsImage *img, const char *suffix, size_t *len)
{
    void *buf = NULL;
    if (vips_image_write_to_buffer(img, suffix, &buf, len, NULL) != 0) {
        printf("    save %s: %s\n", suffix, vips_error_buffer());
        vips_error_clear();
        return NULL;
    }
    return buf;
}

TEST(decodes_every_common_format_to_rgb)
{
    const char *fmts[] = {".png", ".jpg", ".webp", ".tif", ".gif"};
    VipsImage *img = card(70, 50);
    for (size_t i = 0; i < sizeof fmts / sizeof fmts[0]; i++) {
        size_t len;
        void *buf = save(img, fmts[i], &len);
        CHECKF(buf != NULL, "%s", fmts[i]);
        if (!buf)
            continue;
        ad_pixmap pm;
        ad_err e = AD_ERR_INIT;
        ad_status rc = ad_image_decode_rgb(buf, len, 0, &pm, &e);
        CHECKF(rc == AD_OK, "%s: %s", fmts[i], e.msg);
        if (rc == AD_OK) {
            CHECK(pm.width == 70 && pm.height == 50 && pm.bands == 3);
            if (strcmp(fmts[i], ".png") == 0 || strcmp(fmts[i], ".tif") == 0)
                CHECK(pm.data[(10 * 70 + 20) * 3] == 20 && pm.data[(10 * 70 + 20) * 3 + 1] == 10);
        }
        ad_pixmap_cleanup(&pm);
        ad_image_info info;
        ad_err e2 = AD_ERR_INIT;
        CHECK(ad_image_probe(buf, len, &info, &e2) == AD_OK && info.width == 70 && info.height == 50);
        g_free(buf);
    }
    g_object_unref(img);
}

static ad_status decode_variant(VipsInterpretation interp, int add_alpha, ad_pixmap *pm)
{
    VipsImage *img = card(40, 30), *t = NULL, *t2 = NULL;
    ad_status rc = AD_EBACKEND;
    if (vips_colourspace(img, &t, interp, NULL) == 0) {
        if (add_alpha)
            vips_bandjoin_const1(t, &t2, 0.0, NULL); /* fully transparent */
        size_t len;
        void *buf = save(t2 ? t2 : t, interp == VIPS_INTERPRETATION_CMYK ? ".jpg" : ".png", &len);
        ad_err e = AD_ERR_INIT;
        if (buf)
            rc = ad_image_decode_rgb(buf, len, 0, pm, &e);
        if (rc != AD_OK)
            printf("    decode: %s\n", e.msg);
        g_free(buf);
    }
    if (t2)
        g_object_unref(t2);
    if (t)
        g_object_unref(t);
    g_object_unref(img);
    return rc;
}

TEST(grey_16bit_cmyk_and_alpha_become_8bit_srgb)
{
    ad_pixmap pm;
    REQUIRE(decode_variant(VIPS_INTERPRETATION_B_W, 0, &pm) == AD_OK);
    CHECK(pm.bands == 3 && pm.width == 40);
    CHECK(pm.data[300] == pm.data[301] && pm.data[301] == pm.data[302]); /* grey stays grey */
    ad_pixmap_cleanup(&pm);
    REQUIRE(decode_variant(VIPS_INTERPRETATION_GREY16, 0, &pm) == AD_OK);
    CHECK(pm.bands == 3 && pm.data[300] == pm.data[302]);
    ad_pixmap_cleanup(&pm);
    REQUIRE(decode_variant(VIPS_INTERPRETATION_RGB16, 0, &pm) == AD_OK);
    /* 16-bit back to 8 keeps the card's values (within 1 for rounding) */
    const uint8_t *p = pm.data + (12 * 40 + 25) * 3;
    CHECKF(abs(p[0] - 25) <= 1 && abs(p[1] - 12) <= 1, "got %d %d", p[0], p[1]);
    ad_pixmap_cleanup(&pm);
    REQUIRE(decode_variant(VIPS_INTERPRETATION_CMYK, 0, &pm) == AD_OK);
    CHECK(pm.bands == 3 && pm.width == 40 && pm.height == 30);
    ad_pixmap_cleanup(&pm);
    /* an alpha of 0 everywhere must not blank the pixels: it is dropped */
    REQUIRE(decode_variant(VIPS_INTERPRETATION_sRGB, 1, &pm) == AD_OK);
    p = pm.data + (12 * 40 + 25) * 3;
    CHECK(pm.bands == 3 && p[0] == 25 && p[1] == 12 && p[2] == (25 ^ 12));
    ad_pixmap_cleanup(&pm);
}

TEST(exif_orientation_6_is_applied)
{
    /* Stored rotated 90 degrees counter-clockwise, tagged 6: an upright
     * decode must give the card back, 70 wide and 50 high. */
    VipsImage *img = card(70, 50), *rot = NULL;
    REQUIRE(vips_rot(img, &rot, VIPS_ANGLE_D270, NULL) == 0);
    vips_image_set_int(rot, VIPS_META_ORIENTATION, 6);
    size_t len;
    /* JPEG: libvips writes the orientation into its EXIF block (its PNG
     * writer does not); values are then lossy, hence the tolerance. */
    void *buf = save(rot, ".jpg[Q=98]", &len);
    REQUIRE(buf != NULL);
    ad_pixmap pm;
    ad_err e = AD_ERR_INIT;
    REQUIRE(ad_image_decode_rgb(buf, len, 0, &pm, &e) == AD_OK);
    CHECK(pm.width == 70 && pm.height == 50);
    const uint8_t *p = pm.data + (10 * 70 + 60) * 3;
    CHECKF(abs(p[0] - 60) <= 6 && abs(p[1] - 10) <= 6, "got %d %d", p[0], p[1]);
    ad_image_info info;
    CHECK(ad_image_probe(buf, len, &info, &e) == AD_OK && info.width == 70 && info.height == 50);
    ad_pixmap_cleanup(&pm);
    g_free(buf);
    g_object_unref(rot);
    g_object_unref(img);
}

TEST(orient_maps_all_eight_cases)
{
    /* 3x2 image with distinct values; expected top-left pixel and size per
     * orientation, from the EXIF definitions. */
    ad_pixmap in, out;
    ad_err e = AD_ERR_INIT;
    REQUIRE(ad_pixmap_init(&in, 3, 2, 1, &e) == AD_OK);
    /* a b c / d e f */
    memcpy(in.data, "abcdef", 6);
    const char *want[9] = {NULL, "abcdef", "cbafed", "fedcba", "defabc", "adbecf", "daebfc", "fcebda", "cfbead"};
    for (int o = 1; o <= 8; o++) {
        REQUIRE(ad_image_orient(&in, o, &out, &e) == AD_OK);
        int swapped = o >= 5;
        CHECK(out.width == (swapped ? 2 : 3) && out.height == (swapped ? 3 : 2));
        CHECKF(memcmp(out.data, want[o], 6) == 0, "orientation %d gave %.6s", o, out.data);
        ad_pixmap_cleanup(&out);
    }
    ad_pixmap_cleanup(&in);
}

TEST(pixel_limit_is_checked_before_decoding)
{
    VipsImage *img = card(100, 100);
    size_t len;
    void *buf = save(img, ".jpg", &len);
    REQUIRE(buf != NULL);
    ad_pixmap pm;
    ad_err e = AD_ERR_INIT;
    CHECK(ad_image_decode_rgb(buf, len, 9999, &pm, &e) == AD_ETOOBIG);
    CHECK(pm.data == NULL && strstr(e.msg, "100x100") != NULL);
    ad_err e2 = AD_ERR_INIT;
    CHECK(ad_image_decode_rgb(buf, len, 10000, &pm, &e2) == AD_OK);
    ad_pixmap_cleanup(&pm);
    g_free(buf);
    g_object_unref(img);
}

TEST(broken_input_is_a_clean_error)
{
    ad_pixmap pm;
    ad_err e = AD_ERR_INIT;
    CHECK(ad_image_decode_rgb("", 0, 0, &pm, &e) == AD_EUNSUPPORTED);
    ad_err e2 = AD_ERR_INIT;
    const char text[] = "hello, this is not an image at all";
    CHECK(ad_image_decode_rgb(text, sizeof text, 0, &pm, &e2) == AD_EUNSUPPORTED);
    CHECK(pm.data == NULL);
    VipsImage *img = card(300, 200);
    const char *fmts[] = {".jpg", ".png", ".webp"};
    for (int i = 0; i < 3; i++) {
        size_t len;
        void *buf = save(img, fmts[i], &len);
        REQUIRE(buf != NULL);
        ad_err e3 = AD_ERR_INIT;
        CHECKF(ad_image_decode_rgb(buf, len / 2, 0, &pm, &e3) == AD_EUNSUPPORTED, "truncated %s", fmts[i]);
        CHECK(pm.data == NULL && e3.msg[0] != '\0' && strchr(e3.msg, '\n') == NULL);
        /* a header with no body at all */
        ad_err e4 = AD_ERR_INIT;
        CHECK(ad_image_decode_rgb(buf, 40, 0, &pm, &e4) == AD_EUNSUPPORTED);
        g_free(buf);
    }
    g_object_unref(img);
}

static int roundtrip(int w, int h, int bands, int filter, int strategy, int threads)
{
    ad_pixmap pm, back;
    ad_err e = AD_ERR_INIT;
    if (ad_pixmap_init(&pm, w, h, bands, &e) != AD_OK)
        return 0;
    uint32_t s = 12345;
    for (size_t i = 0; i < (size_t)w * h * bands; i++) {
        s = s * 1103515245u + 12345u;
        /* half smooth gradient, half noise: exercises every filter path */
        pm.data[i] = (i / (size_t)bands) % 2 ? (uint8_t)(s >> 24) : (uint8_t)(i / (size_t)(w * bands));
    }
    ad_png_options o = {1, strategy, filter, threads};
    void *png;
    size_t len;
    int ok = ad_png_encode(&pm, &o, &png, &len, &e) == AD_OK;
    ok = ok && ad_image_decode_raw(png, len, &back, &e) == AD_OK;
    ok = ok && back.width == w && back.height == h && back.bands == bands &&
         memcmp(back.data, pm.data, (size_t)w * h * bands) == 0;
    if (!ok)
        printf("    roundtrip %dx%dx%d filter %d: %s\n", w, h, bands, filter, e.msg);
    ad_pixmap_cleanup(&back);
    ad_pixmap_cleanup(&pm);
    free(ok ? png : NULL);
    return ok;
}

TEST(png_encoder_is_lossless_for_all_filters_and_sizes)
{
    int sizes[][2] = {{1, 1}, {3, 2}, {64, 63}, {65, 129}, {257, 700}, {1000, 130}};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++)
        for (int f = 0; f <= 4; f++) {
            CHECK(roundtrip(sizes[i][0], sizes[i][1], 4, f, Z_RLE, 0));
            CHECK(roundtrip(sizes[i][0], sizes[i][1], 1, f, Z_DEFAULT_STRATEGY, 3));
            /* RGB: a cut-out flattened onto an opaque bg_color */
            CHECK(roundtrip(sizes[i][0], sizes[i][1], 3, f, Z_RLE, 2));
        }
    CHECK(roundtrip(300, 300, 4, 1, Z_HUFFMAN_ONLY, 1));
    ad_pixmap pm;
    ad_err e = AD_ERR_INIT;
    REQUIRE(ad_pixmap_init(&pm, 4, 4, 2, &e) == AD_OK);
    void *png;
    size_t len;
    CHECK(ad_png_encode(&pm, NULL, &png, &len, &e) == AD_EINVAL); /* grey + alpha is never made */
    ad_pixmap_cleanup(&pm);
}

TEST(png_encoder_output_does_not_depend_on_thread_count)
{
    ad_pixmap pm;
    ad_err e = AD_ERR_INIT;
    REQUIRE(ad_pixmap_init(&pm, 333, 555, 4, &e) == AD_OK);
    for (size_t i = 0; i < (size_t)333 * 555 * 4; i++)
        pm.data[i] = (uint8_t)(i * 2654435761u >> 13);
    ad_png_options a, b;
    ad_png_options_default(&a);
    ad_png_options_default(&b);
    a.threads = 1;
    b.threads = 5;
    void *pa, *pb;
    size_t la, lb;
    REQUIRE(ad_png_encode(&pm, &a, &pa, &la, &e) == AD_OK);
    REQUIRE(ad_png_encode(&pm, &b, &pb, &lb, &e) == AD_OK);
    /* bands depend on the thread count, so bytes may differ; pixels must not */
    ad_pixmap da, db;
    REQUIRE(ad_image_decode_raw(pa, la, &da, &e) == AD_OK);
    REQUIRE(ad_image_decode_raw(pb, lb, &db, &e) == AD_OK);
    CHECK(memcmp(da.data, db.data, (size_t)333 * 555 * 4) == 0);
    CHECK(memcmp(da.data, pm.data, (size_t)333 * 555 * 4) == 0);
    free(pa);
    free(pb);
    ad_pixmap_cleanup(&da);
    ad_pixmap_cleanup(&db);
    ad_pixmap_cleanup(&pm);
}

TEST(formats_outside_the_photo_allowlist_are_refused)
{
    /* libvips could open these (svgload, matrixload, csvload); a cut-out
     * service has no business parsing them from the network */
    static const char *const docs[] = {
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"10\" height=\"10\"><rect width=\"10\" height=\"10\"/></svg>",
        "2 2\n0 1\n1 0\n",
        "%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n",
    };
    for (size_t i = 0; i < sizeof docs / sizeof docs[0]; i++) {
        ad_image_info info;
        ad_err err = AD_ERR_INIT;
        CHECKF(ad_image_probe(docs[i], strlen(docs[i]), &info, &err) == AD_EUNSUPPORTED, "doc %zu", i);
    }
}

/* A PNG whose header declares width x height (the pixels are not there). */
static size_t png_declaring(uint32_t width, uint32_t height, uint8_t *out)
{
    static const uint8_t sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    uint8_t ihdr[17] = {'I', 'H', 'D', 'R'};
    for (int i = 0; i < 4; i++) {
        ihdr[4 + i] = (uint8_t)(width >> (24 - 8 * i));
        ihdr[8 + i] = (uint8_t)(height >> (24 - 8 * i));
    }
    ihdr[12] = 8; /* bit depth */
    ihdr[13] = 2; /* RGB */
    uint32_t crc = (uint32_t)crc32(0, ihdr, sizeof ihdr);
    size_t n = 0;
    memcpy(out + n, sig, 8), n += 8;
    out[n++] = 0, out[n++] = 0, out[n++] = 0, out[n++] = 13;
    memcpy(out + n, ihdr, sizeof ihdr), n += sizeof ihdr;
    for (int i = 0; i < 4; i++)
        out[n++] = (uint8_t)(crc >> (24 - 8 * i));
    return n;
}

/* Issue 30: libvips' error buffer is the process's; the refusal of an
 * image too large for the decoders must not leave its text there for the
 * next failed decode (another client's) to report. */
TEST(a_refused_image_leaves_no_error_text_for_the_next_decode)
{
    /* a JPEG that starts well and has no scan: its own error, alone */
    static const uint8_t broken[] = {0xff, 0xd8, 0xff, 0xe0, 0, 16, 'J', 'F', 'I', 'F',  0,
                                     1,    1,    0,    0,    1, 0,  1,   0,   0,   0xff, 0xd9};
    ad_pixmap pm;
    ad_err alone = AD_ERR_INIT;
    REQUIRE(ad_image_decode_rgb(broken, sizeof broken, 0, &pm, &alone) == AD_EUNSUPPORTED);
    /* now after refusals for size: a PNG past the pixel limit, and a JPEG
     * past libjpeg's 65500 (whose load fails inside libvips, with text) */
    uint8_t big[64];
    size_t n = png_declaring(70000, 70000, big);
    ad_err e = AD_ERR_INIT;
    CHECK(ad_image_decode_rgb(big, n, 0, &pm, &e) == AD_ETOOBIG);
    static const uint8_t wide[] = {0xff, 0xd8, 0xff, 0xc0, 0,    17, 8, 0xff, 0xff, 0xff, 0xff, 3,
                                   1,    0x11, 0,    2,    0x11, 0,  3, 0x11, 0,    0xff, 0xd9};
    ad_err e2 = AD_ERR_INIT;
    CHECK(ad_image_decode_rgb(wide, sizeof wide, 0, &pm, &e2) == AD_ETOOBIG);
    ad_err after = AD_ERR_INIT;
    REQUIRE(ad_image_decode_rgb(broken, sizeof broken, 0, &pm, &after) == AD_EUNSUPPORTED);
    CHECKF(strcmp(after.msg, alone.msg) == 0, "alone: \"%s\"; after a refused one: \"%s\"", alone.msg, after.msg);
}
