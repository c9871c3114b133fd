/* test_range.c — http/range: Range and If-None-Match, table-driven. */
#include "harness.h"

#include "http/range.h"

TEST(range_header_table)
{
    static const struct {
        const char *v;
        uint64_t size;
        ad_range_result want;
        uint64_t first, last;
    } rows[] = {
        {NULL, 100, AD_RANGE_NONE, 0, 0},
        {"bytes=0-9", 100, AD_RANGE_OK, 0, 9},
        {"bytes=90-", 100, AD_RANGE_OK, 90, 99},
        {"bytes=90-1000", 100, AD_RANGE_OK, 90, 99},
        {"bytes=-10", 100, AD_RANGE_OK, 90, 99},
        {"bytes=-1000", 100, AD_RANGE_OK, 0, 99},
        {"bytes=100-", 100, AD_RANGE_UNSATISFIABLE, 0, 0},
        {"bytes=-0", 100, AD_RANGE_UNSATISFIABLE, 0, 0},
        {"bytes=0-0", 0, AD_RANGE_UNSATISFIABLE, 0, 0},
        {"bytes=5-4", 100, AD_RANGE_NONE, 0, 0},
        {"bytes=0-1,3-4", 100, AD_RANGE_NONE, 0, 0},
        {"items=0-1", 100, AD_RANGE_NONE, 0, 0},
        {"bytes=-", 100, AD_RANGE_NONE, 0, 0},
        {"bytes=x-1", 100, AD_RANGE_NONE, 0, 0},
        {"bytes=99999999999999999999-", 100, AD_RANGE_NONE, 0, 0},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        uint64_t f = 0, l = 0;
        ad_range_result r = ad_http_range_parse(rows[i].v, rows[i].size, &f, &l);
        CHECKF(r == rows[i].want && (r != AD_RANGE_OK || (f == rows[i].first && l == rows[i].last)),
               "row %zu: %d %llu-%llu", i, r, (unsigned long long)f, (unsigned long long)l);
    }
}

TEST(if_none_match_table)
{
    CHECK(ad_http_etag_match("\"abc\"", "\"abc\""));
    CHECK(ad_http_etag_match("W/\"abc\"", "\"abc\""));
    CHECK(ad_http_etag_match("\"x\", \"abc\"", "\"abc\""));
    CHECK(ad_http_etag_match("*", "\"abc\""));
    CHECK(!ad_http_etag_match("\"abcd\"", "\"abc\""));
    CHECK(!ad_http_etag_match("abc", "\"abc\""));
    CHECK(!ad_http_etag_match("", "\"abc\""));
    CHECK(!ad_http_etag_match(NULL, "\"abc\""));
    CHECK(!ad_http_etag_match("\"ab", "\"abc\""));
}

TEST(if_range_table)
{
    CHECK(ad_http_if_range_ok(NULL, "\"abc\""));
    CHECK(ad_http_if_range_ok("\"abc\"", "\"abc\""));
    CHECK(ad_http_if_range_ok(" \"abc\" ", "\"abc\""));
    CHECK(!ad_http_if_range_ok("\"abd\"", "\"abc\""));
    CHECK(!ad_http_if_range_ok("W/\"abc\"", "\"abc\"")); /* weak: never for ranges */
    CHECK(!ad_http_if_range_ok("Mon, 30 Nov 2026 09:00:00 GMT", "\"abc\""));
    CHECK(!ad_http_if_range_ok("", "\"abc\""));
}
