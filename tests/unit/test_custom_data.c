/* test_custom_data.c — api/custom_data: an asset's custom data, validated
 * and normalised. */
#include "harness.h"

#include "api/custom_data.h"
#include "store/custom_index.h"

TEST(custom_data_table)
{
    static const struct {
        const char *in;
        ad_status want;
        const char *out;
    } rows[] = {
        {"{}", AD_OK, "{}"},
        {" { \"b\" : 1 , \"a\" : [ true ] } ", AD_OK, "{\"b\":1,\"a\":[true]}"},
        {"{\"u\":\"\\u00e9\"}", AD_OK, "{\"u\":\"\xc3\xa9\"}"},
        {"[]", AD_EINVAL, NULL},
        {"1", AD_EINVAL, NULL},
        {"", AD_EINVAL, NULL},
        {"{\"a\":1,\"a\":2}", AD_EINVAL, NULL},
        {"{\"a\":NaN}", AD_EINVAL, NULL},
        {"{} {}", AD_EINVAL, NULL},
        {"{\"a\":\"\\ud800\"}", AD_EINVAL, NULL},
        {"{\"a\":\"\xff\"}", AD_EINVAL, NULL},
        {"{\"a\":\"\\u0000\"}", AD_EINVAL, NULL},
        /* regression (issue 11): numbers a double cannot hold were stored as 0 */
        {"{\"a\":1e-400}", AD_EINVAL, NULL},
        {"{\"a\":[1, -2.5e-330]}", AD_EINVAL, NULL},
        {"{\"s\":\"1e-400\", \"n\":0e5, \"m\":-0.0, \"x\":1e-300}", AD_OK,
         "{\"s\":\"1e-400\",\"n\":0.0,\"m\":-0.0,\"x\":1e-300}"},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        char *out = NULL;
        ad_err err = AD_ERR_INIT;
        ad_status st = ad_custom_data_normalise(rows[i].in, strlen(rows[i].in), 1024, &out, &err);
        CHECKF(st == rows[i].want && (rows[i].out == NULL || (out && strcmp(out, rows[i].out) == 0)), "row %zu: %d %s",
               i, st, out ? out : err.msg);
        free(out);
    }
    char *out = NULL;
    CHECK(ad_custom_data_normalise("{\"k\":\"0123456789\"}", 17, 16, &out, NULL) == AD_ETOOBIG && out == NULL);
}

/* RFC 7396 appendix A: every example whose result is an object (custom
 * data is one; the others must be refused and change nothing). */
TEST(merge_patch_rfc_7396_examples)
{
    static const struct {
        const char *target, *patch, *result; /* NULL: refused */
    } rows[] = {
        {"{\"a\":\"b\"}", "{\"a\":\"c\"}", "{\"a\":\"c\"}"},
        {"{\"a\":\"b\"}", "{\"b\":\"c\"}", "{\"a\":\"b\",\"b\":\"c\"}"},
        {"{\"a\":\"b\"}", "{\"a\":null}", "{}"},
        {"{\"a\":\"b\",\"b\":\"c\"}", "{\"a\":null}", "{\"b\":\"c\"}"},
        {"{\"a\":[\"b\"]}", "{\"a\":\"c\"}", "{\"a\":\"c\"}"},
        {"{\"a\":\"c\"}", "{\"a\":[\"b\"]}", "{\"a\":[\"b\"]}"},
        {"{\"a\":{\"b\":\"c\"}}", "{\"a\":{\"b\":\"d\",\"c\":null}}", "{\"a\":{\"b\":\"d\"}}"},
        {"{\"a\":[{\"b\":\"c\"}]}", "{\"a\":[1]}", "{\"a\":[1]}"},
        {"{\"e\":null}", "{\"a\":1}", "{\"e\":null,\"a\":1}"},
        {"{}", "{\"a\":{\"bb\":{\"ccc\":null}}}", "{\"a\":{\"bb\":{}}}"},
        /* the RFC's examples whose result is not an object */
        {"{\"a\":\"b\"}", "[\"c\"]", NULL},
        {"{\"a\":\"foo\"}", "null", NULL},
        {"{\"a\":\"foo\"}", "\"bar\"", NULL},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        char *out = NULL;
        ad_err err = AD_ERR_INIT;
        ad_status st = ad_custom_data_merge(rows[i].target, rows[i].patch, strlen(rows[i].patch), 1024, &out, &err);
        if (rows[i].result)
            CHECKF(st == AD_OK && out && strcmp(out, rows[i].result) == 0, "row %zu: %s", i, out ? out : err.msg);
        else
            CHECKF(st == AD_EINVAL && out == NULL, "row %zu: %d", i, st);
        free(out);
    }
}

/* custom data as index entries (store/custom_index.h): scalars through
 * objects, typed keys, and the probes a filter value makes */
TEST(custom_index_entries_and_probes)
{
    ad_custom_entry *e = NULL;
    int n = 0;
    ad_err err = AD_ERR_INIT;
    REQUIRE(ad_custom_index_entries("{\"sku\":\"X1\",\"dims\":{\"w\":800.0,\"h\":6e2},\"ok\":true,\"z\":null,"
                                    "\"tags\":[\"a\"],\"a.b\":1,\"deep\":{\"x\":{\"y\":\"q\"}}}",
                                    &e, &n, &err) == AD_OK);
    static const char *const want[][3] = {{"sku", "X1", "s"},  {"dims.w", "800", "n"}, {"dims.h", "600", "n"},
                                          {"ok", "true", "b"}, {"z", "null", "z"},     {"deep.x.y", "q", "s"}};
    CHECKF(n == 6, "%d entries", n);
    for (int i = 0; i < n && i < 6; i++)
        CHECKF(strcmp(e[i].path, want[i][0]) == 0 && strcmp(e[i].key, want[i][1]) == 0 &&
                   strcmp(e[i].tag, want[i][2]) == 0,
               "%d: %s %s %s", i, e[i].path, e[i].key, e[i].tag);
    free(e);
    CHECK(ad_custom_index_entries("[1]", &e, &n, &err) == AD_EINVAL);
    /* a long string is found by its hash */
    char big[400], doc[500];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    snprintf(doc, sizeof doc, "{\"s\":\"%s\"}", big);
    REQUIRE(ad_custom_index_entries(doc, &e, &n, &err) == AD_OK && n == 1);
    ad_custom_probe p[4];
    int np = ad_custom_index_probes(big, p);
    CHECK(np == 1 && strcmp(p[0].key, e[0].key) == 0 && strcmp(p[0].tags, "h") == 0 && strcmp(e[0].tag, "h") == 0);
    free(e);
    /* "800": the string and the number, one key; "8e2": two keys;
     * "true"/"null": the string and the literal; text: a string only */
    np = ad_custom_index_probes("800", p);
    CHECK(np == 1 && strcmp(p[0].key, "800") == 0 && strcmp(p[0].tags, "sn") == 0);
    np = ad_custom_index_probes("8e2", p);
    CHECK(np == 2 && strcmp(p[0].key, "8e2") == 0 && strcmp(p[1].key, "800") == 0 && strcmp(p[1].tags, "n") == 0);
    np = ad_custom_index_probes("true", p);
    CHECK(np == 1 && strcmp(p[0].tags, "sb") == 0);
    np = ad_custom_index_probes("null", p);
    CHECK(np == 1 && strcmp(p[0].tags, "sz") == 0);
    np = ad_custom_index_probes("0x10", p);
    CHECK(np == 1 && strcmp(p[0].tags, "s") == 0);
    np = ad_custom_index_probes("-0", p);
    CHECK(np == 2 && strcmp(p[1].key, "0") == 0);
    CHECK(ad_custom_index_path_ok("a") && ad_custom_index_path_ok("a.b.c") && !ad_custom_index_path_ok("") &&
          !ad_custom_index_path_ok(".a") && !ad_custom_index_path_ok("a.") && !ad_custom_index_path_ok("a..b") &&
          !ad_custom_index_path_ok("a.b.c.d.e.f.g.h.i"));
}
