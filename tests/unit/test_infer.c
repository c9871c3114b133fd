/* test_infer.c — the protobuf wire reader/writer, the ISNet re-targeting
 * rewrite on the real model file, and the re-targeted model running in ONNX
 * Runtime at a side other than the export's. The model tests skip when
 * scripts/setup.sh has not fetched the model. */
#include <sys/stat.h>

#include "base/fsutil.h"
#include "base/pbwire.h"
#include "harness.h"
#include "infer/isnet_graph.h"
#include "infer/model.h"

#define MODEL "deps/models/isnet-medium.onnx"
#define ORT "deps/onnxruntime/lib/libonnxruntime.so"

TEST(pbwire_writes_what_it_reads)
{
    ad_pb_writer w = {0}, sub = {0};
    ad_pb_put_varint(&sub, 1, 300);
    ad_pb_put_varint(&w, 1, 0);
    ad_pb_put_varint(&w, 2, UINT64_MAX);
    ad_pb_put_string(&w, 3, "abc");
    ad_pb_put_message(&w, 4, &sub);
    ad_pb_put_bytes(&w, 5, NULL, 0);
    REQUIRE(!w.failed);

    ad_pb_reader r;
    ad_pb_field f;
    ad_pb_reader_init(&r, w.buf, w.len);
    REQUIRE(ad_pb_next(&r, &f) == 1);
    CHECK(f.field == 1 && f.wire == AD_PB_VARINT && f.varint == 0 && f.whole_len == 2);
    REQUIRE(ad_pb_next(&r, &f) == 1);
    CHECK(f.field == 2 && f.varint == UINT64_MAX && f.whole_len == 11);
    REQUIRE(ad_pb_next(&r, &f) == 1);
    CHECK(f.field == 3 && f.wire == AD_PB_LEN && ad_pb_field_is(&f, "abc") && !ad_pb_field_is(&f, "ab"));
    REQUIRE(ad_pb_next(&r, &f) == 1);
    CHECK(f.field == 4 && f.len == 3 && f.data[0] == 0x08 && f.data[1] == 0xac && f.data[2] == 0x02);
    REQUIRE(ad_pb_next(&r, &f) == 1);
    CHECK(f.field == 5 && f.len == 0);
    CHECK(ad_pb_next(&r, &f) == 0);

    /* Verbatim copies of every field rebuild the same bytes. */
    ad_pb_writer copy = {0};
    ad_pb_reader_init(&r, w.buf, w.len);
    while (ad_pb_next(&r, &f) == 1)
        ad_pb_put_raw(&copy, f.start, f.whole_len);
    CHECK(copy.len == w.len && memcmp(copy.buf, w.buf, w.len) == 0);
    ad_pb_writer_cleanup(&copy);
    ad_pb_writer_cleanup(&w);
    ad_pb_writer_cleanup(&sub);
}

TEST(pbwire_refuses_malformed_input)
{
    static const struct {
        const char *bytes;
        size_t len;
    } bad[] = {
        {"\x08", 1},         /* varint value missing */
        {"\x08\x80\x80", 3}, /* varint never ends */
        {"\x12\x05"
         "abc",
         5},                                                      /* length beyond the end */
        {"\x0b", 1},                                              /* group start (wire type 3) */
        {"\x0f", 1},                                              /* wire type 7 */
        {"\x00\x01", 2},                                          /* field number 0 */
        {"\x09\x01\x02", 3},                                      /* 64-bit value cut short */
        {"\x08\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01", 12}, /* 11-byte varint */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ad_pb_reader r;
        ad_pb_field f;
        ad_pb_reader_init(&r, bad[i].bytes, bad[i].len);
        CHECKF(ad_pb_next(&r, &f) == -1, "case %zu", i);
    }
}

static int load_model(void **buf, size_t *len)
{
    ad_err e = AD_ERR_INIT;
    return ad_file_read(MODEL, (size_t)1 << 31, buf, len, &e) == AD_OK;
}

/* The graph's fields of one kind, counted; the input's dims read back. */
typedef struct {
    int nodes, inputs, outputs, value_infos, shape_nodes, retargeted_resizes;
    int64_t in_dims[4];
    int in_ndims;
} graph_summary;

static void summarise(const uint8_t *model, size_t len, graph_summary *s)
{
    ad_pb_reader r, g, n, a;
    ad_pb_field f, gf, nf, af;
    memset(s, 0, sizeof *s);
    ad_pb_reader_init(&r, model, len);
    while (ad_pb_next(&r, &f) == 1) {
        if (f.field != 7)
            continue;
        ad_pb_reader_init(&g, f.data, f.len);
        while (ad_pb_next(&g, &gf) == 1) {
            s->nodes += gf.field == 1;
            s->outputs += gf.field == 12;
            s->value_infos += gf.field == 13;
            if (gf.field == 11) {
                s->inputs++;
                /* ValueInfo.type.tensor_type.shape.dim[].dim_value */
                const uint8_t *p = gf.data;
                size_t l = gf.len;
                int path[] = {2, 1, 2};
                for (int d = 0; d < 3; d++) {
                    ad_pb_reader_init(&n, p, l);
                    while (ad_pb_next(&n, &nf) == 1)
                        if ((int)nf.field == path[d])
                            break;
                    p = nf.data;
                    l = nf.len;
                }
                ad_pb_reader_init(&n, p, l);
                while (ad_pb_next(&n, &nf) == 1 && s->in_ndims < 4) {
                    ad_pb_reader_init(&a, nf.data, nf.len);
                    if (ad_pb_next(&a, &af) == 1)
                        s->in_dims[s->in_ndims++] = (int64_t)af.varint;
                }
            }
            if (gf.field != 1)
                continue;
            int is_shape = 0, attrs = 0, hw_input = 0;
            ad_pb_reader_init(&n, gf.data, gf.len);
            while (ad_pb_next(&n, &nf) == 1) {
                if (nf.field == 4 && ad_pb_field_is(&nf, "Shape"))
                    is_shape = 1;
                if (nf.field == 5)
                    attrs++;
                if (nf.field == 1 && nf.len >= 9 && memcmp(nf.data + nf.len - 9, "/ad_sizes", 9) == 0)
                    hw_input = 1;
            }
            s->shape_nodes += is_shape && attrs == 2;
            s->retargeted_resizes += hw_input;
        }
    }
}

TEST(retarget_rewrites_every_resize_and_declares_the_new_side)
{
    void *model;
    size_t len;
    if (!load_model(&model, &len))
        SKIP("%s missing (run scripts/setup.sh)", MODEL);
    graph_summary before, after;
    summarise(model, len, &before);
    CHECK(before.inputs == 1 && before.outputs == 12 && before.value_infos > 0);
    CHECK(before.in_ndims == 4 && before.in_dims[2] == 1024 && before.in_dims[3] == 1024);

    uint8_t *out = NULL;
    size_t out_len = 0;
    int n_resize = 0;
    ad_err e = AD_ERR_INIT;
    REQUIRE(ad_isnet_retarget(model, len, 768, &out, &out_len, &n_resize, &e) == AD_OK);
    CHECK(n_resize == 39);
    summarise(out, out_len, &after);
    CHECK(after.nodes == before.nodes + 3 * 39); /* Shape, Shape, Concat per Resize */
    CHECK(after.shape_nodes - before.shape_nodes == 2 * 39);
    CHECK(after.retargeted_resizes == 39);
    CHECK(after.outputs == 1 && after.value_infos == 0 && after.inputs == 1);
    CHECK(after.in_ndims == 4 && after.in_dims[0] == 1 && after.in_dims[1] == 3 && after.in_dims[2] == 768 &&
          after.in_dims[3] == 768);
    /* Weights are copied, not lost: the model shrinks only by what was dropped. */
    CHECK(out_len > len - len / 100 && out_len < len);
    free(out);
    free(model);
}

TEST(retarget_refuses_bad_sides_and_foreign_models)
{
    uint8_t *out = (uint8_t *)"x";
    size_t out_len = 1;
    ad_err e = AD_ERR_INIT;
    static const int bad_sides[] = {0, 224, 1000, 4096, -32};
    for (size_t i = 0; i < sizeof bad_sides / sizeof bad_sides[0]; i++) {
        ad_err_clear(&e);
        CHECKF(ad_isnet_retarget((const uint8_t *)"", 0, bad_sides[i], &out, &out_len, NULL, &e) == AD_EINVAL,
               "side %d", bad_sides[i]);
        CHECK(out == NULL && out_len == 0 && strstr(e.msg, "multiple of 32"));
    }
    /* Not protobuf at all. */
    ad_err_clear(&e);
    CHECK(ad_isnet_retarget((const uint8_t *)"\xff\xff\xff", 3, 896, &out, &out_len, NULL, &e) == AD_EUNSUPPORTED);
    /* A well-formed model whose graph has one Relu: no Resize to rewrite. */
    ad_pb_writer node = {0}, graph = {0}, model = {0}, vi = {0};
    ad_pb_put_string(&node, 1, "input");
    ad_pb_put_string(&node, 2, "output");
    ad_pb_put_string(&node, 4, "Relu");
    ad_pb_put_message(&graph, 1, &node);
    ad_pb_put_string(&vi, 1, "input");
    ad_pb_put_message(&graph, 11, &vi);
    ad_pb_writer_cleanup(&vi);
    ad_pb_put_string(&vi, 1, "output");
    ad_pb_put_message(&graph, 12, &vi);
    ad_pb_put_varint(&model, 1, 8);
    ad_pb_put_message(&model, 7, &graph);
    ad_err_clear(&e);
    CHECK(ad_isnet_retarget(model.buf, model.len, 896, &out, &out_len, NULL, &e) == AD_EUNSUPPORTED);
    CHECK(strstr(e.msg, "no Resize") != NULL);
    /* A truncated copy of the real model. */
    void *real;
    size_t len;
    if (load_model(&real, &len)) {
        ad_err_clear(&e);
        CHECK(ad_isnet_retarget(real, len / 2, 896, &out, &out_len, NULL, &e) == AD_EUNSUPPORTED);
        free(real);
    }
    CHECK(out == NULL);
    ad_pb_writer_cleanup(&node);
    ad_pb_writer_cleanup(&graph);
    ad_pb_writer_cleanup(&model);
    ad_pb_writer_cleanup(&vi);
}

/* A bright square on a dark field: the model must find it at any side. */
static void run_at(int side, double *inside, double *outside)
{
    ad_model_config mc;
    ad_model_config_defaults(&mc);
    mc.ort_library = ORT;
    mc.model_path = MODEL;
    mc.side = side;
    ad_model *m = NULL;
    ad_err e = AD_ERR_INIT;
    REQUIRE(ad_model_open(&mc, &m, &e) == AD_OK);
    CHECK(ad_model_side(m) == side);
    size_t plane = (size_t)side * side;
    float *in = malloc(3 * plane * sizeof *in), *out = malloc(plane * sizeof *out);
    REQUIRE(in && out);
    for (int c = 0; c < 3; c++)
        for (int y = 0; y < side; y++)
            for (int x = 0; x < side; x++) {
                int sq = x > side / 4 && x < 3 * side / 4 && y > side / 4 && y < 3 * side / 4;
                in[(size_t)c * plane + (size_t)y * side + x] = sq ? 0.45f : -0.4f;
            }
    REQUIRE(ad_model_run(m, in, out, &e) == AD_OK);
    double s_in = 0, s_out = 0;
    size_t n_in = 0, n_out = 0;
    for (int y = 0; y < side; y++)
        for (int x = 0; x < side; x++) {
            float p = out[(size_t)y * side + x];
            CHECK(p >= 0.0f && p <= 1.0f);
            int core = x > 3 * side / 8 && x < 5 * side / 8 && y > 3 * side / 8 && y < 5 * side / 8;
            int rim = x < side / 8 || x > 7 * side / 8 || y < side / 8 || y > 7 * side / 8;
            if (core)
                s_in += p, n_in++;
            else if (rim)
                s_out += p, n_out++;
        }
    *inside = s_in / (double)n_in;
    *outside = s_out / (double)n_out;
    free(in);
    free(out);
    ad_model_close(m);
}

TEST(retargeted_model_runs_at_other_sides)
{
    struct stat st;
    if (stat(MODEL, &st) != 0 || stat(ORT, &st) != 0)
        SKIP("model or ONNX Runtime missing (run scripts/setup.sh)");
    static const int sides[] = {512, 768};
    for (size_t i = 0; i < 2; i++) {
        double in = 0, out = 1;
        run_at(sides[i], &in, &out);
        printf("    side %d: mean p inside %.3f, rim %.3f\n", sides[i], in, out);
        CHECKF(in > 0.9 && out < 0.1, "side %d: square %.3f, background %.3f", sides[i], in, out);
    }
    ad_model_config mc;
    ad_model_config_defaults(&mc);
    mc.ort_library = ORT;
    mc.model_path = MODEL;
    mc.side = 900;
    ad_model *m = NULL;
    ad_err e = AD_ERR_INIT;
    CHECK(ad_model_open(&mc, &m, &e) == AD_EINVAL && m == NULL);
}

static float *run_square(const char *cache_dir, int *from_cache)
{
    const int side = 512;
    ad_model_config mc;
    ad_model_config_defaults(&mc);
    mc.ort_library = ORT;
    mc.model_path = MODEL;
    mc.side = side;
    mc.profile = AD_MODEL_FAST;
    mc.cache_dir = cache_dir;
    ad_model *m = NULL;
    ad_err e = AD_ERR_INIT;
    if (ad_model_open(&mc, &m, &e) != AD_OK) {
        printf("    open: %s\n", e.msg);
        return NULL;
    }
    *from_cache = ad_model_from_cache(m);
    size_t plane = (size_t)side * side;
    float *in = malloc(3 * plane * sizeof *in), *out = malloc(plane * sizeof *out);
    for (size_t i = 0; i < 3 * plane; i++)
        in[i] = (float)((i * 2654435761u) % 1000) / 1000.0f - 0.5f;
    if (ad_model_run(m, in, out, &e) != AD_OK) {
        free(out);
        out = NULL;
    }
    free(in);
    ad_model_close(m);
    return out;
}

TEST(optimised_model_cache_is_built_once_and_computes_the_same)
{
    struct stat st;
    if (stat(MODEL, &st) != 0 || stat(ORT, &st) != 0)
        SKIP("model or ONNX Runtime missing (run scripts/setup.sh)");
    char dir[] = "/tmp/assetd-mcache-XXXXXX";
    REQUIRE(mkdtemp(dir) != NULL);
    char sub[64];
    snprintf(sub, sizeof sub, "%s/cache", dir); /* created on demand */
    int fc0 = -1, fc1 = -1, fc2 = -1, fc3 = -1;
    float *none = run_square("", &fc0);    /* no cache at all */
    float *first = run_square(sub, &fc1);  /* builds it */
    float *second = run_square(sub, &fc2); /* loads it */
    REQUIRE(none && first && second);
    CHECK(fc0 == 0 && fc2 == 1);
    size_t plane = 512 * 512;
    CHECK(memcmp(none, first, plane * sizeof *none) == 0);
    CHECK(memcmp(none, second, plane * sizeof *none) == 0);

    /* A cache file cut short (a crash mid-copy, a full disk) is rebuilt. */
    char cmd[256];
    snprintf(cmd, sizeof cmd, "for f in %s/*.onnx; do truncate -s 1000 \"$f\"; done; ls %s | grep -c tmp", sub, sub);
    CHECK(system(cmd) != 0); /* no temporaries were left: grep found none */
    float *third = run_square(sub, &fc3);
    REQUIRE(third != NULL);
    CHECK(memcmp(none, third, plane * sizeof *none) == 0);
    snprintf(cmd, sizeof cmd, "test $(stat -c %%s %s/*.onnx) -gt 1000000", sub);
    CHECK(system(cmd) == 0);
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    CHECK(system(cmd) == 0);
    free(none);
    free(first);
    free(second);
    free(third);
}
