/* fuzz_multipart.c — multipart/form-data bodies (http/multipart), fed
 * incrementally. Input: a Content-Type header line, '\n', one byte giving
 * the piece size, then the body. Invariants: the body parsed whole and
 * parsed in pieces gives the same outcome, the same parts and the same
 * bytes; every part has a name. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/sha256.h"
#include "http/multipart.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct {
    int parts, open;
    size_t bytes;
    ad_sha256 hash;
} tally;

static ad_status on_begin(void *ctx, const ad_multipart_part *p, ad_err *err)
{
    tally *t = ctx;
    (void)err;
    if (!p->name[0] || t->open)
        abort();
    t->open = 1;
    ad_sha256_update(&t->hash, p->name, strlen(p->name));
    return AD_OK;
}

static ad_status on_data(void *ctx, const char *d, size_t n, ad_err *err)
{
    tally *t = ctx;
    (void)err;
    if (!t->open || n == 0)
        abort();
    t->bytes += n;
    ad_sha256_update(&t->hash, d, n);
    return AD_OK;
}

static ad_status on_end(void *ctx, ad_err *err)
{
    tally *t = ctx;
    (void)err;
    if (!t->open)
        abort();
    t->open = 0;
    t->parts++;
    ad_sha256_update(&t->hash, "|", 1);
    return AD_OK;
}

static const ad_multipart_callbacks cbs = {on_begin, on_data, on_end};

static ad_status run(const char *b, const char *body, size_t len, size_t piece, tally *t, uint8_t digest[32])
{
    ad_multipart *m;
    memset(t, 0, sizeof *t);
    ad_sha256_init(&t->hash);
    ad_status rc = ad_multipart_new(b, 8, &cbs, t, &m, NULL);
    if (rc != AD_OK)
        return rc;
    for (size_t at = 0; rc == AD_OK && at < len;) {
        size_t n = piece && len - at > piece ? piece : len - at;
        char *copy = malloc(n); /* exact size: ASan catches any overread */
        if (copy == NULL)
            abort();
        memcpy(copy, body + at, n);
        rc = ad_multipart_feed(m, copy, n, NULL);
        free(copy);
        at += n;
    }
    if (rc == AD_OK)
        rc = ad_multipart_finish(m, NULL);
    ad_multipart_free(m);
    ad_sha256_final(&t->hash, digest);
    return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *nl = memchr(data, '\n', size);
    if (nl == NULL || (size_t)(nl - data) + 2 > size)
        return 0;
    size_t hl = (size_t)(nl - data);
    size_t piece = nl[1] % 17;
    const char *body = (const char *)nl + 2;
    size_t bl = size - hl - 2;
    char *ct = malloc(hl + 1);
    if (ct == NULL)
        return 0;
    memcpy(ct, data, hl);
    ct[hl] = '\0';
    char boundary[72];
    if (ad_multipart_boundary(ct, boundary, NULL) == AD_OK) {
        tally whole, split;
        uint8_t d1[32], d2[32];
        ad_status r1 = run(boundary, body, bl, 0, &whole, d1);
        ad_status r2 = run(boundary, body, bl, piece, &split, d2);
        if (r1 != r2 ||
            (r1 == AD_OK && (whole.parts != split.parts || whole.bytes != split.bytes || memcmp(d1, d2, 32) != 0)))
            abort();
    }
    free(ct);
    return 0;
}
