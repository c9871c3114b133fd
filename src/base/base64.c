/* base64.c — RFC 4648 base64. See base64.h. */
#include "base/base64.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

ad_status ad_base64_encode(const void *data, size_t len, char **out, size_t *out_len, ad_err *err)
{
    const uint8_t *in = data;
    size_t n = (len + 2) / 3 * 4;
    char *o = malloc(n + 1);
    if (o == NULL)
        return ad_err_set(err, AD_ENOMEM, "out of memory");
    size_t k = 0;
    for (size_t i = 0; i < len; i += 3) {
        uint32_t v =
            (uint32_t)in[i] << 16 | (i + 1 < len ? (uint32_t)in[i + 1] << 8 : 0) | (i + 2 < len ? in[i + 2] : 0);
        o[k++] = alphabet[v >> 18 & 63];
        o[k++] = alphabet[v >> 12 & 63];
        o[k++] = i + 1 < len ? alphabet[v >> 6 & 63] : '=';
        o[k++] = i + 2 < len ? alphabet[v & 63] : '=';
    }
    o[k] = '\0';
    *out = o;
    *out_len = k;
    return AD_OK;
}

static int value(char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+' || c == '-')
        return 62;
    if (c == '/' || c == '_')
        return 63;
    return -1;
}

ad_status ad_base64_decode(const char *text, size_t len, void **out, size_t *out_len, ad_err *err)
{
    *out = NULL;
    *out_len = 0;
    /* a data: URL's prefix */
    if (len > 5 && strncmp(text, "data:", 5) == 0) {
        const char *comma = memchr(text, ',', len < 256 ? len : 256);
        if (comma == NULL || comma - text < 12 || strncmp(comma - 7, ";base64", 7) != 0)
            return ad_err_set(err, AD_EINVAL, "a data: URL that is not base64");
        len -= (size_t)(comma + 1 - text);
        text = comma + 1;
    }
    uint8_t *o = malloc(len / 4 * 3 + 3);
    if (o == NULL)
        return ad_err_set(err, AD_ENOMEM, "out of memory");
    uint32_t acc = 0;
    int bits = 0, pad = 0;
    size_t k = 0, chars = 0;
    for (size_t i = 0; i < len; i++) {
        char c = text[i];
        if (c == ' ' || c == '\n' || c == '\r' || c == '\t')
            continue;
        if (c == '=') {
            pad++;
            continue;
        }
        int v = value(c);
        if (v < 0 || pad) {
            free(o);
            return ad_err_set(err, AD_EINVAL, "not base64 (a '%c' at byte %zu)", (unsigned char)c >= ' ' ? c : '?', i);
        }
        acc = acc << 6 | (uint32_t)v;
        bits += 6;
        chars++;
        if (bits >= 8) {
            bits -= 8;
            o[k++] = (uint8_t)(acc >> bits);
        }
    }
    if (chars % 4 == 1 || pad > 2) {
        free(o);
        return ad_err_set(err, AD_EINVAL, "not base64 (its length is no encoding's)");
    }
    *out = o;
    *out_len = k;
    return AD_OK;
}
