/* test_custom_data.c — api/custom_data: an asset's custom data, validated
 * and normalised. */
#include "harness.h"

#include "api/custom_data.h"

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
