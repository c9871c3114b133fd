/* test_quantize.c — the int8 model's parts: exact calibration tails, the
 * ranges file, the graph passes on the real model (fp32, pruning, the QDQ
 * layout ORT needs, 7-bit weights), and a quantised session computing what
 * the fp32 one does. The model tests skip when scripts/setup.sh has not
 * fetched the model. */
#include <math.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/fsutil.h"
#include "calib/calibrate.h"
#include "harness.h"
#include "image/image.h"
#include "infer/isnet_graph.h"
#include "infer/model.h"
#include "infer/onnx_model.h"
#include "infer/quantize.h"
#include "matte/matte.h"

#define MODEL "deps/models/isnet-medium.onnx"
#define ORT "deps/onnxruntime/lib/libonnxruntime.so"

static int cmp_float(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return x < y ? -1 : x > y;
}

TEST(calibration_tails_are_exact)
{
    /* 7 samples of 5000 values, a third of them zeros (like a Relu's),
     * the rest spread with outliers; tail 1e-3 keeps the 35 most extreme
     * of each side. Sorting all values gives the truth. */
    enum { SAMPLES = 7, N = 5000 };
    const double tail = 1e-3;
    float *all = malloc(sizeof(float) * SAMPLES * N), *one = malloc(sizeof(float) * N);
    ad_calib_tails *t = ad_calib_tails_new(1, tail, SAMPLES);
    REQUIRE(all && one && t);
    uint32_t seed = 12345;
    for (int s = 0; s < SAMPLES; s++) {
        for (int i = 0; i < N; i++) {
            seed = seed * 1664525u + 1013904223u;
            float v = (float)((seed >> 8) % 20001) / 1000.0f - 10.0f;
            if (seed % 3 == 0)
                v = 0;
            if (seed % 997 == 0)
                v *= 50; /* rare outliers */
            all[s * N + i] = one[i] = v;
        }
        CHECK(ad_calib_tails_add(t, 0, one, N) == 0);
    }
    float lo = 0, hi = 0;
    REQUIRE(ad_calib_tails_range(t, 0, &lo, &hi) == 0);
    qsort(all, SAMPLES * N, sizeof *all, cmp_float);
    size_t k = (size_t)ceil(tail * N * SAMPLES);
    CHECKF(hi == all[SAMPLES * N - k] && lo == all[k - 1], "lo %g (want %g), hi %g (want %g)", lo, all[k - 1], hi,
           all[SAMPLES * N - k]);
    CHECK(hi < all[SAMPLES * N - 1] && lo > all[0]); /* the outliers are clipped */
    ad_calib_tails_free(t);
    free(all);
    free(one);
}

TEST(ranges_file_round_trips_and_refuses_other_files)
{
    char dir[] = "/tmp/assetd-qr-XXXXXX", path[256];
    REQUIRE(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/r.txt", dir);
    ad_qrange r[2] = {{"a/b:0", -1.5f, 2.25f}, {"/stage1/x y", 0, 1e-7f}};
    ad_qranges q = {r, 2}, back = {0};
    ad_err e = AD_ERR_INIT;
    REQUIRE(ad_qranges_write(path, &q, &e) == AD_OK);
    REQUIRE(ad_qranges_read(path, &back, &e) == AD_OK);
    CHECK(back.n == 2 && strcmp(back.r[0].name, "a/b:0") == 0 && back.r[0].lo == -1.5f && back.r[0].hi == 2.25f);
    CHECK(strcmp(back.r[1].name, "/stage1/x y") == 0 && back.r[1].hi == 1e-7f);
    ad_qranges_free(&back);
    CHECK(ad_file_write_atomic(path, "hello\n", 6, 0644, &e) == AD_OK);
    CHECK(ad_qranges_read(path, &back, &e) == AD_EUNSUPPORTED && back.n == 0);
    CHECK(ad_file_write_atomic(path, "# assetd int8 activation ranges v1: lo hi name\n2 1 x\n", 52, 0644, &e) == AD_OK);
    CHECK(ad_qranges_read(path, &back, &e) == AD_EUNSUPPORTED && back.n == 0); /* lo > hi */
    unlink(path);
    rmdir(dir);
}

static int count_op(const ad_onnx_model *m, const char *op)
{
    int n = 0;
    for (int i = 0; i < m->nnodes; i++)
        n += !m->nodes[i].dead && strcmp(m->nodes[i].op, op) == 0;
    return n;
}

/* The real export, re-targeted to 512, as the fp32 graph. */
static int fp32_model(ad_onnx_model *om)
{
    void *file = NULL;
    uint8_t *g = NULL;
    size_t len = 0, glen = 0;
    ad_err e = AD_ERR_INIT;
    if (ad_file_read(MODEL, (size_t)1 << 31, &file, &len, &e) != AD_OK)
        return 0;
    int ok = ad_isnet_retarget(file, len, 512, &g, &glen, NULL, &e) == AD_OK &&
             ad_onnx_read(g, glen, om, &e) == AD_OK && ad_quant_to_fp32(om, &e) == AD_OK &&
             ad_onnx_prune(om, &e) == AD_OK;
    free(file);
    free(g);
    return ok;
}

TEST(graph_passes_make_the_qdq_layout_ort_fuses)
{
    struct stat st;
    if (stat(MODEL, &st) != 0)
        SKIP("model missing (run scripts/setup.sh)");
    ad_onnx_model om;
    ad_err e = AD_ERR_INIT;
    REQUIRE(fp32_model(&om));
    /* fp32: no Cast left, no fp16 weight; the side outputs pruned. */
    CHECK(count_op(&om, "Cast") == 0 && count_op(&om, "Sigmoid") == 1);
    int fp16 = 0;
    for (int i = 0; i < om.ninits; i++)
        fp16 += !om.inits[i].dead && om.inits[i].dtype == AD_ONNX_FLOAT16;
    CHECK(fp16 == 0);
    const int convs = count_op(&om, "Conv");
    CHECK(convs == 114); /* 119 less the five side outputs' */

    char **names = NULL;
    int n = 0;
    REQUIRE(ad_quant_plan(&om, &names, &n, &e) == AD_OK);
    printf("    %d activations to calibrate, %d convolutions\n", n, convs);
    CHECK(n > 150 && n < 250);
    ad_qranges q = {calloc((size_t)n, sizeof(ad_qrange)), n};
    for (int i = 0; i < n; i++)
        q.r[i] = (ad_qrange){names[i], -1.0f, 4.0f};

    /* A missing range is named. */
    q.n = n - 1;
    ad_onnx_model om2;
    REQUIRE(fp32_model(&om2));
    CHECK(ad_quant_qdq(&om2, &q, 8, &e) == AD_ENOTFOUND && strstr(e.msg, names[n - 1]) != NULL);
    ad_onnx_free(&om2);
    q.n = n;

    REQUIRE(ad_quant_qdq(&om, &q, 7, &e) == AD_OK);
    /* Every Conv reads DQ'd activations and weights (the head's output
     * alone stays float). */
    int qconv = 0;
    for (int i = 0; i < om.nnodes; i++) {
        const ad_onnx_node *c = &om.nodes[i];
        if (c->dead || strcmp(c->op, "Conv") != 0)
            continue;
        qconv += strstr(c->in[0], "/ad_dq") != NULL && strstr(c->in[1], "/ad_w") != NULL &&
                 strstr(c->in[2], "/ad_b") != NULL;
    }
    CHECKF(qconv == convs, "%d of %d", qconv, convs);
    /* 7-bit weights stay within +-63; biases are int32. */
    int seven = 1, bias32 = 0;
    for (int i = 0; i < om.ninits; i++) {
        const ad_onnx_tensor *t = &om.inits[i];
        size_t l = strlen(t->name);
        if (l > 7 && strcmp(t->name + l - 7, "/ad_w_q") == 0) {
            CHECK(t->dtype == AD_ONNX_INT8);
            for (size_t k = 0; k < t->len; k++)
                seven &= ((const int8_t *)t->data)[k] >= -63 && ((const int8_t *)t->data)[k] <= 63;
        }
        if (l > 7 && strcmp(t->name + l - 7, "/ad_b_q") == 0)
            bias32 += t->dtype == AD_ONNX_INT32;
    }
    CHECKF(seven && bias32 == convs, "%d biases", bias32);
    /* Written and read back, the graph is the same size. */
    uint8_t *bytes = NULL;
    size_t blen = 0;
    REQUIRE(ad_onnx_write(&om, &bytes, &blen, &e) == AD_OK);
    ad_onnx_model back;
    REQUIRE(ad_onnx_read(bytes, blen, &back, &e) == AD_OK);
    CHECK(count_op(&back, "QuantizeLinear") == count_op(&om, "QuantizeLinear") &&
          count_op(&back, "DequantizeLinear") == count_op(&om, "DequantizeLinear") &&
          count_op(&back, "QuantizeLinear") > 150);
    ad_onnx_free(&back);
    free(bytes);
    for (int i = 0; i < n; i++)
        free(names[i]);
    free(names);
    free(q.r);
    ad_onnx_free(&om);
}

static ad_model *open_at(int side, ad_model_precision p, const char *ranges, int weight_bits)
{
    ad_model_config mc;
    ad_model_config_defaults(&mc);
    mc.ort_library = ORT;
    mc.model_path = MODEL;
    mc.side = side;
    mc.precision = p;
    mc.ranges_path = ranges;
    mc.weight_bits = weight_bits;
    mc.profile = AD_MODEL_FAST;
    ad_model *m = NULL;
    ad_err e = AD_ERR_INIT;
    if (ad_model_open(&mc, &m, &e) != AD_OK)
        printf("    open: %s\n", e.msg);
    return m;
}

static float *mask_of(ad_model *m, const char *photo)
{
    const int side = ad_model_side(m);
    void *buf = NULL;
    size_t len = 0;
    ad_pixmap rgb = {0};
    ad_err e = AD_ERR_INIT;
    float *in = malloc(sizeof(float) * 3 * side * side), *out = malloc(sizeof(float) * side * side);
    if (ad_file_read(photo, 1 << 26, &buf, &len, &e) != AD_OK || ad_image_decode_rgb(buf, len, 1 << 26, &rgb, &e) ||
        ad_matte_prepare_input(&rgb, side, AD_MATTE_GRID_REFERENCE, in, &e) || ad_model_run(m, in, out, &e)) {
        free(out);
        out = NULL;
    }
    free(buf);
    free(in);
    ad_pixmap_cleanup(&rgb);
    return out;
}

TEST(int8_session_computes_what_fp32_does)
{
    struct stat st;
    const char *data = getenv("ASSETD_TESTDATA");
    char photos[2][512];
    if (stat(MODEL, &st) != 0 || stat(ORT, &st) != 0 || data == NULL)
        SKIP("model, ONNX Runtime or ASSETD_TESTDATA missing");
    snprintf(photos[0], sizeof photos[0], "%s/chelsea.png", data);
    snprintf(photos[1], sizeof photos[1], "%s/astronaut.png", data);
    char dir[] = "/tmp/assetd-q8-XXXXXX", ranges[256];
    ad_err e = AD_ERR_INIT;
    REQUIRE(ad_image_startup("test_quantize", &e) == AD_OK);
    REQUIRE(mkdtemp(dir));
    snprintf(ranges, sizeof ranges, "%s/ranges.txt", dir);

    /* Calibrate on two photos at 256 (enough for a test), run at 320. */
    ad_model *probe = open_at(256, AD_PRECISION_PROBE, NULL, 8);
    REQUIRE(probe);
    const char *const *names;
    CHECK(ad_model_probe_names(probe, &names) > 150);
    const char *list[2] = {photos[0], photos[1]};
    ad_calib_config cc = {.photos = list, .nphotos = 2, .tail = AD_CALIB_TAIL, .max_pixels = 1 << 26};
    CHECKF(ad_calib_run(probe, &cc, ranges, &e) == AD_OK, "%s", e.msg);
    ad_model_close(probe);

    /* 8-bit weights (VNNI) and 7-bit (what a CPU without VNNI gets) */
    ad_model *f = open_at(320, AD_PRECISION_FP32, NULL, 8), *q = open_at(320, AD_PRECISION_INT8, ranges, 8);
    ad_model *q7 = open_at(320, AD_PRECISION_INT8, ranges, 7);
    REQUIRE(f && q && q7);
    float *a = mask_of(f, photos[0]);
    REQUIRE(a);
    for (int bits = 8; bits >= 7; bits--) {
        float *b = mask_of(bits == 8 ? q : q7, photos[0]);
        REQUIRE(b);
        double diff = 0;
        size_t agree = 0, n = 320 * 320;
        for (size_t i = 0; i < n; i++) {
            diff += fabs(a[i] - b[i]);
            agree += (a[i] >= 0.5f) == (b[i] >= 0.5f);
        }
        printf("    chelsea at 320, %d-bit weights: mean |int8 - fp32| %.4f, %.2f%% pixels on the same side of 0.5\n",
               bits, diff / n, 100.0 * agree / n);
        CHECK(diff / n < 0.02 && agree > n * 0.98);
        free(b);
    }
    free(a);
    ad_model_close(q7);
    ad_model_close(f);
    ad_model_close(q);
    unlink(ranges);
    rmdir(dir);
}
