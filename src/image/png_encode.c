/* png_encode.c — see png_encode.h. */
#include "image/png_encode.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "base/parallel.h"

#define MAX_BANDS 64

void ad_png_options_default(ad_png_options *opt)
{
    opt->level = 1;
    opt->strategy = Z_RLE;
    opt->filter = 1;
    opt->threads = 0;
}

typedef struct {
    unsigned char *buf; /* IDAT payload of this band */
    size_t len;
    uLong adler; /* of this band's uncompressed (filtered) bytes */
    size_t raw_len;
    int failed;
} band_out;

typedef struct {
    int width, height, bpp;
    ad_png_row_fn row_fn;
    void *ctx;
    const ad_png_options *opt;
    int nbands;
    band_out *bands;
} encode_job;

static inline uint8_t paeth(uint8_t a, uint8_t b, uint8_t c)
{
    int p = a + b - c, pa = abs(p - a), pb = abs(p - b), pc = abs(p - c);
    return (pa <= pb && pa <= pc) ? a : (pb <= pc ? b : c);
}

/* Write filter byte + filtered row into out (stride+1 bytes). */
static void filter_row(int filter, const uint8_t *row, const uint8_t *prev, size_t stride, int bpp, uint8_t *out)
{
    out[0] = (uint8_t)filter;
    out++;
    switch (filter) {
    case 1:
        for (size_t i = 0; i < (size_t)bpp && i < stride; i++)
            out[i] = row[i];
        for (size_t i = (size_t)bpp; i < stride; i++)
            out[i] = (uint8_t)(row[i] - row[i - (size_t)bpp]);
        break;
    case 2:
        for (size_t i = 0; i < stride; i++)
            out[i] = (uint8_t)(row[i] - (prev ? prev[i] : 0));
        break;
    case 3:
        for (size_t i = 0; i < stride; i++) {
            int left = i >= (size_t)bpp ? row[i - (size_t)bpp] : 0;
            int up = prev ? prev[i] : 0;
            out[i] = (uint8_t)(row[i] - ((left + up) >> 1));
        }
        break;
    case 4:
        for (size_t i = 0; i < stride; i++) {
            uint8_t a = i >= (size_t)bpp ? row[i - (size_t)bpp] : 0;
            uint8_t b = prev ? prev[i] : 0;
            uint8_t c = (prev && i >= (size_t)bpp) ? prev[i - (size_t)bpp] : 0;
            out[i] = (uint8_t)(row[i] - paeth(a, b, c));
        }
        break;
    default:
        memcpy(out, row, stride);
        break;
    }
}

static void encode_band(void *ctx, int begin, int end)
{
    encode_job *j = ctx;
    size_t stride = (size_t)j->width * (size_t)j->bpp;
    for (int bi = begin; bi < end; bi++) {
        band_out *bo = &j->bands[bi];
        int y0 = (int)((long long)j->height * bi / j->nbands);
        int y1 = (int)((long long)j->height * (bi + 1) / j->nbands);
        size_t raw = (size_t)(y1 - y0) * (stride + 1);
        /* cur/prev rows (the filters look one row up) and the filtered line */
        uint8_t *rows = malloc(3 * stride + 1);
        z_stream zs;
        memset(&zs, 0, sizeof zs);
        int last = bi == j->nbands - 1;
        bo->failed = 1;
        if (rows == NULL || deflateInit2(&zs, j->opt->level, Z_DEFLATED, -15, 8, j->opt->strategy) != Z_OK) {
            free(rows);
            continue;
        }
        uint8_t *cur = rows, *prev = rows + stride, *line = rows + 2 * stride;
        size_t cap = deflateBound(&zs, raw) + 16 + 5 * (size_t)(y1 - y0);
        bo->buf = malloc(cap);
        bo->adler = adler32(0L, Z_NULL, 0);
        if (bo->buf == NULL)
            goto done;
        zs.next_out = bo->buf;
        zs.avail_out = (uInt)(cap > UINT32_MAX ? UINT32_MAX : cap);
        /* The row above a band is produced again here, so bands are
         * independent while filters still see across band edges. */
        if (y0 > 0 && j->opt->filter >= 2)
            j->row_fn(j->ctx, y0 - 1, prev);
        for (int y = y0; y < y1; y++) {
            j->row_fn(j->ctx, y, cur);
            filter_row(j->opt->filter, cur, y > 0 ? prev : NULL, stride, j->bpp, line);
            bo->adler = adler32(bo->adler, line, (uInt)(stride + 1));
            zs.next_in = line;
            zs.avail_in = (uInt)(stride + 1);
            int flush = y + 1 < y1 ? Z_NO_FLUSH : (last ? Z_FINISH : Z_SYNC_FLUSH);
            int zr = deflate(&zs, flush);
            if ((flush == Z_FINISH && zr != Z_STREAM_END) || (flush != Z_FINISH && zr != Z_OK) || zs.avail_in)
                goto done;
            uint8_t *t = prev;
            prev = cur;
            cur = t;
        }
        bo->len = (size_t)(zs.next_out - bo->buf);
        bo->raw_len = raw;
        bo->failed = 0;
    done:
        deflateEnd(&zs);
        free(rows);
    }
}

static uint8_t *put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
    return p + 4;
}

/* Append one chunk: length, type, data, CRC over type+data. */
static uint8_t *put_chunk(uint8_t *p, const char type[4], const uint8_t *data, size_t len)
{
    p = put32(p, (uint32_t)len);
    memcpy(p, type, 4);
    uLong crc = crc32(0L, (const Bytef *)type, 4);
    p += 4;
    if (len) {
        memcpy(p, data, len);
        crc = crc32(crc, data, (uInt)len);
        p += len;
    }
    return put32(p, (uint32_t)crc);
}

static void pixmap_row(void *ctx, int y, uint8_t *out)
{
    const ad_pixmap *pm = ctx;
    memcpy(out, pm->data + (size_t)y * ad_pixmap_stride(pm), ad_pixmap_stride(pm));
}

ad_status ad_png_encode(const ad_pixmap *pm, const ad_png_options *opt, void **png, size_t *len, ad_err *err)
{
    /* const dropped for the callback context only; rows are read, not written */
    return ad_png_encode_rows(pm->width, pm->height, pm->bands, pixmap_row, (void *)pm, opt, png, len, err);
}

ad_status ad_png_encode_rows(int width, int height, int bands, ad_png_row_fn row_fn, void *ctx,
                             const ad_png_options *opt, void **png, size_t *len, ad_err *err)
{
    ad_status rc = AD_OK;
    ad_png_options defaults;
    band_out *bandv = NULL;
    uint8_t *outbuf = NULL;
    *png = NULL;
    *len = 0;
    if (opt == NULL) {
        ad_png_options_default(&defaults);
        opt = &defaults;
    }
    if (bands != 1 && bands != 3 && bands != 4)
        return ad_err_set(err, AD_EINVAL, "png encode: %d bands (want 1, 3 or 4)", bands);
    /* PNG's limit is 2^31-1; rows must also fit one filtered line in uInt. */
    if (width <= 0 || height <= 0 || width > (1 << 28) / bands || height > 0x7fffffff)
        return ad_err_set(err, AD_EINVAL, "png encode: bad size %dx%d", width, height);
    /* Bands of at least 64 rows, so flush overhead stays negligible. Each
     * band is also an IDAT: a 2^31 byte chunk limit means bands of at most
     * ~1 GB of filtered data, which the row count ensures for any image the
     * service accepts. */
    int threads = opt->threads > 0 ? opt->threads : ad_cpu_count();
    int nb = threads * 2;
    if (nb > height / 64)
        nb = height / 64;
    if (nb < 1)
        nb = 1;
    if (nb > MAX_BANDS)
        nb = MAX_BANDS;
    bandv = calloc((size_t)nb, sizeof *bandv);
    if (bandv == NULL)
        return ad_err_set(err, AD_ENOMEM, "png encode: out of memory");
    encode_job job = {width, height, bands, row_fn, ctx, opt, nb, bandv};
    ad_parallel_for(nb, threads, encode_band, &job);

    size_t total = 8 + 25 + 12 + 2 + 4 + 12; /* sig, IHDR, IEND, zlib hdr, adler */
    for (int i = 0; i < nb; i++) {
        if (bandv[i].failed) {
            rc = ad_err_set(err, AD_ENOMEM, "png encode: deflate failed");
            goto out;
        }
        total += bandv[i].len + 12;
    }
    total += 12 + 12; /* the zlib header and trailer ride in their own IDATs */
    outbuf = malloc(total);
    if (outbuf == NULL) {
        rc = ad_err_set(err, AD_ENOMEM, "png encode: out of memory");
        goto out;
    }
    uint8_t *p = outbuf;
    static const uint8_t sig[8] = {137, 'P', 'N', 'G', '\r', '\n', 26, '\n'};
    memcpy(p, sig, 8);
    p += 8;
    uint8_t ihdr[13];
    put32(ihdr, (uint32_t)width);
    put32(ihdr + 4, (uint32_t)height);
    ihdr[8] = 8;                                   /* bit depth */
    ihdr[9] = bands == 4 ? 6 : bands == 3 ? 2 : 0; /* RGBA, RGB or grey */
    ihdr[10] = ihdr[11] = ihdr[12] = 0;            /* deflate, adaptive filtering, no interlace */
    p = put_chunk(p, "IHDR", ihdr, 13);
    static const uint8_t zhdr[2] = {0x78, 0x01}; /* 32K window, fastest; (0x7801 % 31 == 0) */
    p = put_chunk(p, "IDAT", zhdr, 2);
    uLong adler = adler32(0L, Z_NULL, 0);
    for (int i = 0; i < nb; i++) {
        p = put_chunk(p, "IDAT", bandv[i].buf, bandv[i].len);
        adler = adler32_combine(adler, bandv[i].adler, (z_off_t)bandv[i].raw_len);
    }
    uint8_t trailer[4];
    put32(trailer, (uint32_t)adler);
    p = put_chunk(p, "IDAT", trailer, 4);
    p = put_chunk(p, "IEND", NULL, 0);
    *len = (size_t)(p - outbuf);
    *png = outbuf;
    outbuf = NULL;
out:
    for (int i = 0; i < nb; i++)
        free(bandv[i].buf);
    free(bandv);
    free(outbuf);
    return rc;
}
