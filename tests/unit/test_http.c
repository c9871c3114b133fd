/* test_http.c — the pure parsers of http/ (multipart bodies, Range,
 * If-None-Match) and the bounded work pool the server relies on. */
#include "harness.h"

#include "http/multipart.h"
#include "http/range.h"

TEST(boundary_from_content_type)
{
    char b[72];
    CHECK(ad_multipart_boundary("multipart/form-data; boundary=abc", b, NULL) == AD_OK && strcmp(b, "abc") == 0);
    CHECK(ad_multipart_boundary("Multipart/Form-Data;boundary=\"a b\"", b, NULL) == AD_OK && strcmp(b, "a b") == 0);
    CHECK(ad_multipart_boundary("multipart/form-data; charset=x; boundary=z9", b, NULL) == AD_OK &&
          strcmp(b, "z9") == 0);
    CHECK(ad_multipart_boundary("multipart/form-data", b, NULL) == AD_EINVAL);
    CHECK(ad_multipart_boundary("multipart/form-data; boundary=", b, NULL) == AD_EINVAL);
    CHECK(ad_multipart_boundary("multipart/mixed; boundary=a", b, NULL) == AD_EINVAL);
    CHECK(ad_multipart_boundary("multipart/form-data; boundary=\"unterminated", b, NULL) == AD_EINVAL);
    CHECK(ad_multipart_boundary("multipart/form-data; boundary=a\x01", b, NULL) == AD_EINVAL);
    char longb[120] = "multipart/form-data; boundary=";
    memset(longb + strlen(longb), 'x', 71);
    CHECK(ad_multipart_boundary(longb, b, NULL) == AD_EINVAL);
}

TEST(multipart_parts_point_into_the_body)
{
    const char *body = "preamble\r\n--b\r\n"
                       "Content-Disposition: form-data; name=\"file\"; filename=\"a \\\"q\\\".png\"\r\n"
                       "Content-Type: image/png\r\n\r\n"
                       "\x89PNG\r\n--notb\r\n"
                       "\r\n--b\r\n"
                       "content-disposition: form-data; name=custom_data\r\n\r\n"
                       "{}"
                       "\r\n--b--\r\nepilogue";
    ad_multipart_part p[4];
    int n = 0;
    ad_err err = AD_ERR_INIT;
    REQUIRE(ad_multipart_parse("b", body, strlen(body), p, 4, &n, &err) == AD_OK);
    REQUIRE(n == 2);
    CHECK(strcmp(p[0].name, "file") == 0 && p[0].has_filename && strcmp(p[0].filename, "a \"q\".png") == 0);
    CHECK(strcmp(p[0].content_type, "image/png") == 0);
    CHECK(p[0].len == 14 && memcmp(p[0].data, "\x89PNG\r\n--notb\r\n", 14) == 0);
    CHECK(strcmp(p[1].name, "custom_data") == 0 && !p[1].has_filename && p[1].len == 2);
}

TEST(multipart_refuses_malformed_bodies)
{
    static const char *const bad[] = {
        "",
        "--b",                                                                  /* no CRLF after delimiter */
        "--b\r\nContent-Disposition: form-data; name=\"f\"\r\n\r\nxyz",         /* no closing delimiter */
        "--b\r\nContent-Disposition: form-data; name=\"f\"\r\nxyz\r\n--b--",    /* headers not ended */
        "--b\r\nContent-Type: text/plain\r\n\r\nx\r\n--b--",                    /* no disposition */
        "--b\r\nContent-Disposition: attachment; name=\"f\"\r\n\r\nx\r\n--b--", /* not form-data */
        "--b\r\nContent-Disposition: form-data\r\n\r\nx\r\n--b--",              /* no name */
        "--b\r\nContent-Disposition: form-data; name=\"f\r\n\r\nx\r\n--b--",    /* unterminated quote */
        "--b\r\nBroken header\r\n\r\nx\r\n--b--",                               /* no colon */
        /* regression (found by fuzz_multipart): a token name starting with a
         * space was accepted as an empty name */
        "--b\r\nContent-Disposition: form-data; name= file\"\r\n\r\nx\r\n--b--",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ad_multipart_part p[4];
        int n;
        ad_err err = AD_ERR_INIT;
        CHECKF(ad_multipart_parse("b", bad[i], strlen(bad[i]), p, 4, &n, &err) != AD_OK, "row %zu", i);
    }
    const char *many = "--b\r\nContent-Disposition: form-data; name=a\r\n\r\n\r\n--b\r\n"
                       "Content-Disposition: form-data; name=b\r\n\r\n\r\n--b--";
    ad_multipart_part p[1];
    int n;
    CHECK(ad_multipart_parse("b", many, strlen(many), p, 1, &n, NULL) == AD_ETOOBIG);
}

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
