/* test_head.c — http/head: request heads accepted and refused (table),
 * fields and framing, and chunked bodies fed in every split. */
#include "harness.h"

#include "http/head.h"

/* Parse text as a whole head; the result, and the refusal's status. */
static ad_head_result parse(const char *text, ad_http_head *h, char *buf, size_t cap, int *status)
{
    size_t n = strlen(text);
    if (n >= cap)
        return AD_HEAD_INCOMPLETE;
    memcpy(buf, text, n + 1);
    size_t scanned = 0, len = ad_http_head_len(buf, n, &scanned);
    if (len == 0)
        return AD_HEAD_INCOMPLETE;
    const char *code, *message;
    *status = 0;
    return ad_http_head_parse(buf, len, h, status, &code, &message);
}

TEST(request_heads_table)
{
    static const struct {
        const char *text;
        int status; /* 0: accepted */
    } rows[] = {
        {"GET / HTTP/1.1\r\nHost: x\r\n\r\n", 0},
        {"GET /a?b=c HTTP/1.0\r\n\r\n", 0},                    /* no Host needed in 1.0 */
        {"OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n", 400},        /* nothing here takes "*" (nginx refuses it too) */
        {"get / HTTP/1.1\r\nHost: x\r\n\r\n", 400},            /* methods are upper case (as nginx takes them) */
        {"GET / HTTP/1.1\r\n\r\n", 400},                       /* 1.1 without Host */
        {"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400}, /* two Hosts */
        {"GET /\r\nHost: x\r\n\r\n", 400},                     /* HTTP/0.9 style */
        {"GET  / HTTP/1.1\r\nHost: x\r\n\r\n", 400},           /* two spaces */
        {"G(T / HTTP/1.1\r\nHost: x\r\n\r\n", 400},            /* not a token */
        {"GET http://x/ HTTP/1.1\r\nHost: x\r\n\r\n", 0},      /* absolute form: taken (issue 30) */
        {"GET / HTTP/2.0\r\nHost: x\r\n\r\n", 505},
        {"GET / HTTP/1.2\r\nHost: x\r\n\r\n", 505},
        {"GET / HTTX/1.1\r\nHost: x\r\n\r\n", 400},
        {"GET / HTTP/1.1\r\nHost: x\r\n folded\r\n\r\n", 400},
        {"GET / HTTP/1.1\r\nHost : x\r\n\r\n", 400}, /* space before the colon */
        {"GET / HTTP/1.1\r\nHost: x\r\nNoColon\r\n\r\n", 400},
        {"GET / HTTP/1.1\nHost: x\r\n\r\n", 400},        /* bare LF */
        {"GET / HTTP/1.1\r\nHost: x\ry\r\n\r\n", 400},   /* bare CR */
        {"GET / HTTP/1.1\r\nHost: x\x01y\r\n\r\n", 400}, /* control character */
        {"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n", 400},
        {"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\n", 400},
        {"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n", 400},
        {"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1 2\r\n\r\n", 400},
        {"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: \r\n\r\n", 400},
        {"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 18446744073709551617\r\n\r\n", 413},
        {"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999999999\r\n\r\n", 413},
        {"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n", 400},
        {"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n", 501},
        {"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", 501},
        {"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", 400},
        {"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n", 400},
        /* the absolute form is accepted (RFC 9112 3.2.2), read as its path */
        {"GET http://x/a?b HTTP/1.1\r\nHost: x\r\n\r\n", 0},
        {"GET HTTP://x:8080 HTTP/1.1\r\nHost: x\r\n\r\n", 0},
        {"GET http:///a HTTP/1.1\r\nHost: x\r\n\r\n", 400},
        {"GET ftp://x/a HTTP/1.1\r\nHost: x\r\n\r\n", 400},
    };
    char buf[512];
    ad_http_head abs;
    int abs_status;
    CHECK(parse("GET http://x/a?b HTTP/1.1\r\nHost: x\r\n\r\n", &abs, buf, sizeof buf, &abs_status) == AD_HEAD_OK &&
          strcmp(abs.target, "/a?b") == 0);
    CHECK(parse("GET http://x HTTP/1.1\r\nHost: x\r\n\r\n", &abs, buf, sizeof buf, &abs_status) == AD_HEAD_OK &&
          strcmp(abs.target, "/") == 0);
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        ad_http_head h;
        int status = -1;
        ad_head_result r = parse(rows[i].text, &h, buf, sizeof buf, &status);
        if (rows[i].status == 0)
            CHECKF(r == AD_HEAD_OK && h.target[0] == '/', "row %zu: refused %d", i, status);
        else
            CHECKF(r == AD_HEAD_REFUSED && status == rows[i].status, "row %zu: result %d status %d", i, r, status);
    }
}

TEST(fields_framing_and_connection)
{
    char buf[512];
    ad_http_head h;
    int status;
    REQUIRE(parse("POST /up?x=1 HTTP/1.1\r\nhost: a\r\nX-Thing:  spaced value \t\r\nCONTENT-LENGTH: 42\r\n"
                  "Expect: 100-continue\r\nConnection: keep-alive, Close\r\n\r\n",
                  &h, buf, sizeof buf, &status) == AD_HEAD_OK);
    CHECK(strcmp(h.method, "POST") == 0 && strcmp(h.target, "/up?x=1") == 0 && h.minor == 1);
    CHECK(strcmp(ad_http_head_field(&h, "Host"), "a") == 0);
    CHECK(strcmp(ad_http_head_field(&h, "x-thing"), "spaced value") == 0);
    CHECK(ad_http_head_field(&h, "Missing") == NULL);
    CHECK(h.framing == AD_HTTP_BODY_LENGTH && h.length == 42);
    CHECK(h.expect_continue == 1);
    CHECK(h.keep_alive == 0); /* "close" among the tokens */

    REQUIRE(parse("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", &h, buf, sizeof buf, &status) == AD_HEAD_OK);
    CHECK(h.keep_alive == 1 && h.minor == 0 && h.framing == AD_HTTP_BODY_NONE);
    REQUIRE(parse("GET / HTTP/1.0\r\n\r\n", &h, buf, sizeof buf, &status) == AD_HEAD_OK);
    CHECK(h.keep_alive == 0);
    REQUIRE(parse("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: Chunked\r\n\r\n", &h, buf, sizeof buf, &status) ==
            AD_HEAD_OK);
    CHECK(h.framing == AD_HTTP_BODY_CHUNKED && h.keep_alive == 1);
    REQUIRE(parse("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n", &h, buf, sizeof buf, &status) ==
            AD_HEAD_OK);
    CHECK(h.framing == AD_HTTP_BODY_NONE);

    /* more fields than kept: 431 */
    char big[8192];
    size_t n = (size_t)snprintf(big, sizeof big, "GET / HTTP/1.1\r\nHost: x\r\n");
    for (int i = 0; i < AD_HTTP_MAX_FIELDS; i++)
        n += (size_t)snprintf(big + n, sizeof big - n, "X-%d: y\r\n", i);
    snprintf(big + n, sizeof big - n, "\r\n");
    static char copy[8192];
    CHECK(parse(big, &h, copy, sizeof copy, &status) == AD_HEAD_REFUSED && status == 431);
}

TEST(head_length_is_found_in_any_split)
{
    const char *text = "GET / HTTP/1.1\r\nHost: x\r\n\r\nNEXT";
    size_t whole = strlen(text) - 4;
    /* bytes arriving one at a time: found exactly once they are all in */
    size_t scanned = 0;
    for (size_t n = 1; n <= strlen(text); n++) {
        size_t got = ad_http_head_len(text, n, &scanned);
        CHECKF(got == (n >= whole ? whole : 0), "after %zu bytes: %zu", n, got);
        if (got)
            break;
    }
    scanned = 0;
    CHECK(ad_http_head_len("GET / HTTP/1.1\r\n", 16, &scanned) == 0);
    /* issue 30: lines ended by LF alone end the head at the first one, to
     * be refused now rather than waited on to the idle timeout */
    const char *lf = "GET / HTTP/1.1\nHost: x\n\n";
    scanned = 0;
    size_t got = ad_http_head_len(lf, strlen(lf), &scanned);
    CHECK(got == 15);
    ad_http_head h;
    int status;
    const char *code, *message;
    char copy[64];
    memcpy(copy, lf, got);
    CHECK(ad_http_head_parse(copy, got, &h, &status, &code, &message) == AD_HEAD_REFUSED && status == 400);
    /* Host must be a host[:port]; one Authorization; no DEL in a value */
    static const char *const refused[] = {
        "GET / HTTP/1.1\r\nHost:\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: a b\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: user@x\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: x:8o\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: [zz]\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: x\r\nAuthorization: a\r\nauthorization: b\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: x\r\nX: \x7f\r\n\r\n",
    };
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
        char c2[128];
        size_t l = strlen(refused[i]);
        memcpy(c2, refused[i], l);
        CHECKF(ad_http_head_parse(c2, l, &h, &status, &code, &message) == AD_HEAD_REFUSED && status == 400,
               "refused %zu accepted", i);
    }
    static const char *const hosts[] = {"example.com", "127.0.0.1:8080", "[::1]:80", "a-b.c_d",
                                        "xn--bcher-kva.example"};
    for (size_t i = 0; i < sizeof hosts / sizeof hosts[0]; i++) {
        char c2[128];
        int l = snprintf(c2, sizeof c2, "GET / HTTP/1.1\r\nHost: %s\r\n\r\n", hosts[i]);
        CHECKF(ad_http_head_parse(c2, (size_t)l, &h, &status, &code, &message) == AD_HEAD_OK, "host %s refused",
               hosts[i]);
    }
    /* a length of 2^63 or more is no body this server takes: 413 from the head */
    char big[128];
    size_t n =
        (size_t)snprintf(big, sizeof big, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 9223372036854775808\r\n\r\n");
    CHECK(ad_http_head_parse(big, n, &h, &status, &code, &message) == AD_HEAD_REFUSED && status == 413);
}

/* Decode body fed in pieces of step bytes; the data, and where it ended. */
static ad_chunked_result decode_split(const char *body, size_t step, char *data, size_t *data_len, size_t *end)
{
    ad_http_chunked d = {0};
    size_t len = strlen(body), at = 0;
    char piece[256];
    *data_len = 0;
    while (at < len) {
        size_t n = len - at < step ? len - at : step, used, got;
        memcpy(piece, body + at, n);
        ad_chunked_result r = ad_http_chunked_decode(&d, piece, n, &used, &got);
        memcpy(data + *data_len, piece, got);
        *data_len += got;
        at += used;
        if (r != AD_CHUNKED_MORE) {
            *end = at;
            return r;
        }
    }
    *end = at;
    return AD_CHUNKED_MORE;
}

TEST(chunked_bodies_in_every_split)
{
    const char *body = "5\r\nhello\r\n1;ext=1\r\n \r\nA\r\n0123456789\r\n0\r\nTrailer: x\r\n\r\nGET /next";
    size_t body_len = strlen(body) - strlen("GET /next");
    for (size_t step = 1; step <= strlen(body); step++) {
        char data[64];
        size_t n, end;
        ad_chunked_result r = decode_split(body, step, data, &n, &end);
        CHECKF(r == AD_CHUNKED_DONE && n == 16 && memcmp(data, "hello 0123456789", 16) == 0 && end == body_len,
               "step %zu: result %d, %zu data bytes, ended at %zu", step, r, n, end);
    }
    static const char *const bad[] = {
        "x\r\n",                 /* not hex */
        "5\nhello\r\n0\r\n\r\n", /* bare LF */
        "5\r\nhelloX\r\n",       /* no CRLF after the data */
        "1000000000000000\r\n",  /* 16 hex digits */
        "\r\n",                  /* no size */
        "0\r\nTrailer\n\r\n",    /* bare LF in a trailer */
        /* issue 30: after the size only CR, ";" or the whitespace before
         * it; a front end reading "0x34" as 52 would smuggle a request */
        "0x34\r\n\r\n",
        "5zz\r\nhello\r\n0\r\n\r\n",
        "5 z\r\nhello\r\n0\r\n\r\n",
        "5-1\r\nhello\r\n0\r\n\r\n",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char data[64];
        size_t n, end;
        CHECKF(decode_split(bad[i], 64, data, &n, &end) == AD_CHUNKED_ERROR, "bad %zu accepted", i);
    }
    char data[64];
    size_t n, end;
    CHECK(decode_split("5\r\nhel", 64, data, &n, &end) == AD_CHUNKED_MORE && n == 3);
    /* RFC 9112 7.1: extensions are ";" name ["=" token | quoted-string]
     * with optional whitespace around; trailer lines are fields */
    static const char *const good[] = {
        "5;a=b;c\r\nhello\r\n0\r\n\r\n",
        "5 ; a = \"q \\\" d\" ;b\r\nhello\r\n0\r\n\r\n",
        "5;a=\"x\"  ;b=c\r\nhello\r\n0;last\r\nX-T: v v\r\nY:\r\n\r\n",
    };
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
        CHECKF(decode_split(good[i], 3, data, &n, &end) == AD_CHUNKED_DONE && n == 5, "good %zu refused", i);
    static const char *const grammar[] = {
        "5;\r\nhello\r\n0\r\n\r\n",      /* no name */
        "5;a b\r\nhello\r\n0\r\n\r\n",   /* two names */
        "5;a=\r\nhello\r\n0\r\n\r\n",    /* no value */
        "5;=b\r\nhello\r\n0\r\n\r\n",    /* no name, a value */
        "5;a=b c\r\nhello\r\n0\r\n\r\n", /* two values */
        "5;a=\"x\r\nhello\r\n0\r\n\r\n", /* a quote not closed */
        "5;a=(x)\r\nhello\r\n0\r\n\r\n", /* not a token */
        "0\r\nNoColon\r\n\r\n",          /* a trailer line that is no field */
        "0\r\n: v\r\n\r\n",              /* no field name */
        "0\r\nX: a\x01\r\n\r\n",         /* a control byte in a trailer value */
    };
    for (size_t i = 0; i < sizeof grammar / sizeof grammar[0]; i++)
        CHECKF(decode_split(grammar[i], 2, data, &n, &end) == AD_CHUNKED_ERROR, "grammar %zu accepted", i);
    /* whitespace before an extension is allowed (BWS) */
    CHECK(decode_split("5 \t;a=b\r\nhello\r\n0 \r\n\r\n", 64, data, &n, &end) == AD_CHUNKED_DONE && n == 5);
}
