/* fuzz_http_head.c — request heads and chunked bodies (http/head), the
 * first bytes a client's request meets. Input: a head and what follows it;
 * the rest is decoded as a chunked body in pieces whose sizes the first
 * byte picks. Invariants: an accepted head has a method, a target starting
 * with '/' or "*", at most AD_HTTP_MAX_FIELDS fields with non-empty names;
 * the decoder never yields more data than it consumed. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http/head.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    size_t step = (size_t)(data[0] % 32) + 1;
    char *buf = malloc(size);
    if (buf == NULL)
        return 0;
    memcpy(buf, data + 1, size - 1);
    size_t len = size - 1, scanned = 0, head = 0;
    /* fed as it would arrive, a few bytes at a time */
    for (size_t n = 0; n < len && head == 0;) {
        n = n + step < len ? n + step : len;
        head = ad_http_head_len(buf, n, &scanned);
        if (head > n)
            abort();
    }
    size_t body = 0;
    if (head) {
        ad_http_head h;
        int status = 0;
        const char *code = NULL, *message = NULL;
        if (ad_http_head_parse(buf, head, &h, &status, &code, &message) == AD_HEAD_OK) {
            if (h.method == NULL || h.target == NULL || (h.target[0] != '/' && strcmp(h.target, "*") != 0) ||
                h.n_fields > AD_HTTP_MAX_FIELDS)
                abort();
            for (int i = 0; i < h.n_fields; i++)
                if (h.fields[i].name[0] == '\0' || ad_http_head_field(&h, h.fields[i].name) == NULL)
                    abort();
        } else if (status < 400 || status > 599 || code == NULL || message == NULL) {
            abort();
        }
        body = head;
    }
    ad_http_chunked d = {0};
    while (body < len) {
        size_t n = len - body < step ? len - body : step, used = 0, got = 0;
        ad_chunked_result r = ad_http_chunked_decode(&d, buf + body, n, &used, &got);
        if (used > n || got > used)
            abort();
        if (r != AD_CHUNKED_MORE)
            break;
        body += used;
    }
    free(buf);
    return 0;
}
