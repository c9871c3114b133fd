/* test_multipart.c — http/multipart: the boundary, and the incremental
 * parser fed in pieces of every size. */
#include "harness.h"

#include "http/multipart.h"

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

/* The parts of body fed in pieces of `chunk` bytes (0: whole), their data
 * copied out. */
typedef struct {
    ad_multipart_part part[8];
    char data[8][256];
    size_t len[8];
    int n;
} collected;

static ad_status on_begin(void *ctx, const ad_multipart_part *p, ad_err *err)
{
    collected *c = ctx;
    (void)err;
    c->part[c->n] = *p;
    c->len[c->n] = 0;
    return AD_OK;
}

static ad_status on_data(void *ctx, const char *d, size_t n, ad_err *err)
{
    collected *c = ctx;
    if (c->len[c->n] + n > sizeof c->data[0])
        return ad_err_set(err, AD_ETOOBIG, "test buffer full");
    memcpy(c->data[c->n] + c->len[c->n], d, n);
    c->len[c->n] += n;
    return AD_OK;
}

static ad_status on_end(void *ctx, ad_err *err)
{
    collected *c = ctx;
    (void)err;
    c->n++;
    return AD_OK;
}

static const ad_multipart_callbacks cbs = {on_begin, on_data, on_end};

static ad_status parse(const char *b, const char *body, size_t len, size_t chunk, int max, collected *c)
{
    ad_multipart *m;
    ad_err err = AD_ERR_INIT;
    memset(c, 0, sizeof *c);
    ad_status rc = ad_multipart_new(b, max, &cbs, c, &m, &err);
    if (rc != AD_OK)
        return rc;
    for (size_t at = 0; rc == AD_OK && at < len;) {
        size_t n = chunk && len - at > chunk ? chunk : len - at;
        rc = ad_multipart_feed(m, body + at, n, &err);
        at += n;
    }
    if (rc == AD_OK)
        rc = ad_multipart_finish(m, &err);
    ad_multipart_free(m);
    return rc;
}

static const size_t chunks[] = {0, 1, 2, 3, 7, 64};
#define NCHUNKS (sizeof chunks / sizeof chunks[0])

TEST(multipart_parts_are_the_same_however_the_body_is_split)
{
    const char *body = "preamble\r\n--b\r\n"
                       "Content-Disposition: form-data; name=\"file\"; filename=\"a \\\"q\\\".png\"\r\n"
                       "Content-Type: image/png\r\n\r\n"
                       "\x89PNG\r\n--notb\r\n"
                       "\r\n--b\r\n"
                       "content-disposition: form-data; name=custom_data\r\n\r\n"
                       "{}"
                       "\r\n--b--\r\nepilogue";
    for (size_t k = 0; k < NCHUNKS; k++) {
        collected c;
        REQUIRE(parse("b", body, strlen(body), chunks[k], 4, &c) == AD_OK);
        REQUIRE(c.n == 2);
        CHECK(strcmp(c.part[0].name, "file") == 0 && c.part[0].has_filename &&
              strcmp(c.part[0].filename, "a \"q\".png") == 0);
        CHECK(strcmp(c.part[0].content_type, "image/png") == 0);
        CHECKF(c.len[0] == 14 && memcmp(c.data[0], "\x89PNG\r\n--notb\r\n", 14) == 0, "chunk %zu", chunks[k]);
        CHECK(strcmp(c.part[1].name, "custom_data") == 0 && !c.part[1].has_filename && c.len[1] == 2);
    }
    /* the first delimiter may open the body without CRLF, or come after a
     * preamble that looks like its beginning */
    const char *bare = "--b\r\nContent-Disposition: form-data; name=x\r\n\r\nhello\r\n--b--";
    const char *tricky = "--c\r\n--b\r\nContent-Disposition: form-data; name=x\r\n\r\nhello\r\n--b--";
    for (size_t k = 0; k < NCHUNKS; k++) {
        collected c;
        CHECK(parse("b", bare, strlen(bare), chunks[k], 4, &c) == AD_OK && c.n == 1 && c.len[0] == 5);
        CHECK(parse("b", tricky, strlen(tricky), chunks[k], 4, &c) == AD_OK && c.n == 1 && c.len[0] == 5);
    }
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
        "--bx\r\nContent-Disposition: form-data; name=f\r\n\r\nx\r\n--b--",     /* junk after delimiter */
        /* regression (found by fuzz_multipart): a token name starting with a
         * space was accepted as an empty name */
        "--b\r\nContent-Disposition: form-data; name= file\"\r\n\r\nx\r\n--b--",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        for (size_t k = 0; k < NCHUNKS; k++) {
            collected c;
            CHECKF(parse("b", bad[i], strlen(bad[i]), chunks[k], 4, &c) != AD_OK, "row %zu chunk %zu", i, chunks[k]);
        }
    const char *many = "--b\r\nContent-Disposition: form-data; name=a\r\n\r\n\r\n--b\r\n"
                       "Content-Disposition: form-data; name=b\r\n\r\n\r\n--b--";
    collected c;
    CHECK(parse("b", many, strlen(many), 0, 1, &c) == AD_ETOOBIG);
    /* part headers are bounded: they are buffered, the data is not */
    static char huge[20000];
    int n = snprintf(huge, sizeof huge, "--b\r\nContent-Disposition: form-data; name=a\r\nX-Pad: ");
    memset(huge + n, 'p', sizeof huge - (size_t)n - 1);
    CHECK(parse("b", huge, strlen(huge), 100, 4, &c) == AD_ETOOBIG);
}

TEST(a_callback_can_stop_the_parser)
{
    static char big[4000];
    int n = snprintf(big, sizeof big, "--b\r\nContent-Disposition: form-data; name=a\r\n\r\n");
    memset(big + n, 'd', 200);
    strcpy(big + n + 200, "\r\n--b--");
    collected c;
    CHECK(parse("b", big, strlen(big), 0, 4, &c) == AD_OK && c.len[0] == 200);
    memset(big + n, 'd', 1000); /* over the test's 256-byte buffer: on_data refuses */
    strcpy(big + n + 1000, "\r\n--b--");
    CHECK(parse("b", big, strlen(big), 0, 4, &c) == AD_ETOOBIG);
}
