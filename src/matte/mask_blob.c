/* mask_blob.c — see mask_blob.h. */
#include "matte/mask_blob.h"

#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#define MAGIC "ADMASK1\n"
#define HEAD (sizeof MAGIC - 1 + 8)
/* the masks' sides are a few thousand at most (model sides are <= 2048) */
#define MAX_SIDE 8192

static void put_u32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t get_u32(const uint8_t *p)
{
    return p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

ad_status ad_mask_blob_encode(const uint8_t *mask, int width, int height, void **out, size_t *len, ad_err *err)
{
    *out = NULL;
    *len = 0;
    if (width <= 0 || height <= 0 || width > MAX_SIDE || height > MAX_SIDE)
        return ad_err_set(err, AD_EINVAL, "mask size %dx%d out of range", width, height);
    uLong raw = (uLong)width * (uLong)height;
    uLongf zlen = compressBound(raw);
    uint8_t *b = malloc(HEAD + zlen);
    if (b == NULL)
        return ad_err_set(err, AD_ENOMEM, "out of memory for a mask");
    memcpy(b, MAGIC, sizeof MAGIC - 1);
    put_u32(b + sizeof MAGIC - 1, (uint32_t)width);
    put_u32(b + sizeof MAGIC + 3, (uint32_t)height);
    /* level 6: ~105 KB and ~20 ms for an 896 x 896 mask; level 1 saves
     * ~13 ms and costs 17% more bytes, a filter (PNG's Sub or Up) only adds */
    if (compress2(b + HEAD, &zlen, mask, raw, 6) != Z_OK) {
        free(b);
        return ad_err_set(err, AD_ENOMEM, "deflate failed");
    }
    *out = b;
    *len = HEAD + zlen;
    return AD_OK;
}

ad_status ad_mask_blob_decode(const void *blob, size_t len, int width, int height, uint8_t **mask, ad_err *err)
{
    const uint8_t *b = blob;
    *mask = NULL;
    if (len < HEAD || memcmp(b, MAGIC, sizeof MAGIC - 1) != 0)
        return ad_err_set(err, AD_EINVAL, "not a stored mask (bad magic)");
    uint32_t w = get_u32(b + sizeof MAGIC - 1), h = get_u32(b + sizeof MAGIC + 3);
    if ((int64_t)w != width || (int64_t)h != height)
        return ad_err_set(err, AD_EINVAL, "stored mask is %ux%u, expected %dx%d", w, h, width, height);
    uLongf raw = (uLongf)w * h;
    uint8_t *m = malloc(raw ? raw : 1);
    if (m == NULL)
        return ad_err_set(err, AD_ENOMEM, "out of memory for a mask");
    uLongf got = raw;
    /* uncompress checks the stream's Adler-32 and refuses trailing or
     * missing bytes (Z_DATA_ERROR, Z_BUF_ERROR) */
    int z = uncompress(m, &got, b + HEAD, (uLong)(len - HEAD));
    if (z != Z_OK || got != raw) {
        free(m);
        return ad_err_set(err, AD_EINVAL, "stored mask damaged (%s)", z == Z_OK ? "short" : zError(z));
    }
    *mask = m;
    return AD_OK;
}
