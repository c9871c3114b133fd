/* matte.c — see matte.h. The loops are written so that the compiler keeps the
 * reference's evaluation order (no FMA contraction: built with
 * -ffp-contract=off), which is what makes our masks match the reference's. */
#include "matte/matte.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/parallel.h"

/* Sampling coordinates along one axis, shared by every row or column. */
typedef struct {
    int *i1, *i2;
    double *d;
} axis_table;

/* Each destination index's two source neighbours and the weight of the
 * second. On the reference's grid s never exceeds src_len - 1 by a whole
 * pixel, and where i2 is clamped or s is whole the second neighbour's
 * weight is 0 or its value is the first's, so this is the reference's
 * arithmetic bit for bit. */
static int axis_table_init(axis_table *t, int src_len, int dst_len, ad_matte_grid grid)
{
    t->i1 = malloc(sizeof(int) * (size_t)dst_len);
    t->i2 = malloc(sizeof(int) * (size_t)dst_len);
    t->d = malloc(sizeof(double) * (size_t)dst_len);
    if (!t->i1 || !t->i2 || !t->d)
        return -1;
    double scale = (double)src_len / (double)dst_len;
    for (int i = 0; i < dst_len; i++) {
        double s = grid == AD_MATTE_GRID_CENTRED ? ((double)i + 0.5) * scale - 0.5 : (double)i * scale;
        if (grid == AD_MATTE_GRID_CENTRED)
            s = s < 0 ? 0 : s > src_len - 1 ? src_len - 1 : s;
        int i1 = (int)s; /* s >= 0: truncation is floor */
        t->i1[i] = i1;
        t->i2[i] = i1 + 1 < src_len ? i1 + 1 : src_len - 1;
        t->d[i] = s - (double)i1;
    }
    return 0;
}

static void axis_table_cleanup(axis_table *t)
{
    free(t->i1);
    free(t->i2);
    free(t->d);
}

static inline uint8_t sample(double dx, double dy, uint8_t p1, uint8_t p2, uint8_t p3, uint8_t p4)
{
    double v = (1 - dx) * (1 - dy) * p1 + dx * (1 - dy) * p2 + (1 - dx) * dy * p3 + dx * dy * p4;
    return ad_matte_round_u8(v);
}

void ad_matte_resize_rows(const uint8_t *src, int src_w, int src_h, int bands, uint8_t *dst, int dst_w, int dst_h,
                          int row_begin, int row_end, ad_matte_grid grid)
{
    axis_table xs = {0}, ys = {0};
    if (axis_table_init(&xs, src_w, dst_w, grid) || axis_table_init(&ys, src_h, dst_h, grid))
        goto out; /* callers size their buffers first; this is malloc of a few KB */
    size_t src_stride = (size_t)src_w * (size_t)bands;
    for (int y = row_begin; y < row_end; y++) {
        const uint8_t *r1 = src + (size_t)ys.i1[y] * src_stride;
        const uint8_t *r2 = src + (size_t)ys.i2[y] * src_stride;
        double dy = ys.d[y];
        uint8_t *out = dst + (size_t)y * (size_t)dst_w * (size_t)bands;
        for (int x = 0; x < dst_w; x++) {
            size_t a = (size_t)xs.i1[x] * (size_t)bands, b = (size_t)xs.i2[x] * (size_t)bands;
            double dx = xs.d[x];
            for (int c = 0; c < bands; c++)
                *out++ = sample(dx, dy, r1[a + c], r1[b + c], r2[a + c], r2[b + c]);
        }
    }
out:
    axis_table_cleanup(&xs);
    axis_table_cleanup(&ys);
}

ad_status ad_matte_prepare_input(const ad_pixmap *rgb, int side, ad_matte_grid grid, float *tensor, ad_err *err)
{
    if (rgb->bands != 3)
        return ad_err_set(err, AD_EINVAL, "model input needs RGB, got %d bands", rgb->bands);
    size_t plane = (size_t)side * (size_t)side;
    uint8_t *small = malloc(plane * 3);
    if (small == NULL)
        return ad_err_set(err, AD_ENOMEM, "out of memory for model input");
    ad_matte_resize_rows(rgb->data, rgb->width, rgb->height, 3, small, side, side, 0, side, grid);
    for (size_t i = 0; i < plane; i++) {
        tensor[i] = ((float)small[3 * i] - 128.0f) / 256.0f;
        tensor[i + plane] = ((float)small[3 * i + 1] - 128.0f) / 256.0f;
        tensor[i + 2 * plane] = ((float)small[3 * i + 2] - 128.0f) / 256.0f;
    }
    free(small);
    return AD_OK;
}

void ad_matte_quantise(const float *prob, size_t n, uint8_t *mask)
{
    for (size_t i = 0; i < n; i++) {
        double v = (double)prob[i] * 255.0; /* double, as the reference's JS does */
        mask[i] = v <= 0 ? 0 : v >= 255 ? 255 : (uint8_t)v;
    }
}

/* One 8-bit level per doubling of the distance from 0 (or 1) past 1%:
 * the least a curve must leave of the order of the pixels for a threshold
 * there to still pick them out (maxF), at a cost of a few levels of MAE. */
static inline double curve_tail(double d) { return d > 0.01 ? log2(d / 0.01) / 255.0 : 0.0; }

/* e^0.5: the odds' factor of the curve's lean to the subject (a shift of
 * +0.5 in log-odds; the midpoint moves from 0.5 to 0.378). */
#define CURVE_LEAN 1.6487212707001282

void ad_matte_curve(float *prob, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        double p = prob[i] < 0.0f ? 0.0 : prob[i] > 1.0f ? 1.0 : (double)prob[i];
        p = p * CURVE_LEAN / (p * CURVE_LEAN + (1.0 - p));
        double c = p;
        for (int k = 0; k < 4; k++)
            c = c * c * (3.0 - 2.0 * c);
        if (p < 0.5) {
            double t = curve_tail(p);
            c = c > t ? c : t;
        } else {
            double t = 1.0 - curve_tail(1.0 - p);
            c = c < t ? c : t;
        }
        prob[i] = (float)c;
    }
}

void ad_matte_flip_planes(float *tensor, int planes, int side)
{
    for (int c = 0; c < planes; c++)
        for (int y = 0; y < side; y++) {
            float *row = tensor + ((size_t)c * side + y) * side;
            for (int a = 0, b = side - 1; a < b; a++, b--) {
                float t = row[a];
                row[a] = row[b];
                row[b] = t;
            }
        }
}

void ad_matte_combine_mirrored(float *prob, const float *flipped, int side)
{
    for (int y = 0; y < side; y++) {
        float *row = prob + (size_t)y * side;
        const float *mir = flipped + (size_t)y * side;
        for (int x = 0; x < side; x++) {
            double p = row[x] < 0.0f ? 0.0 : row[x], q = mir[side - 1 - x] < 0.0f ? 0.0 : mir[side - 1 - x];
            p *= p, q *= q;
            row[x] = (float)sqrt(sqrt(0.5 * (p * p + q * q)));
        }
    }
}

ad_status ad_matte_scaler_init(ad_matte_scaler *s, const uint8_t *mask, int mask_w, int mask_h, int width, int height,
                               ad_matte_grid grid, ad_err *err)
{
    memset(s, 0, sizeof *s);
    if (mask_w <= 0 || mask_h <= 0 || width <= 0 || height <= 0)
        return ad_err_set(err, AD_EINVAL, "bad mask scaling %dx%d -> %dx%d", mask_w, mask_h, width, height);
    axis_table xs = {0}, ys = {0};
    int bad = axis_table_init(&xs, mask_w, width, grid);
    bad |= axis_table_init(&ys, mask_h, height, grid);
    *s = (ad_matte_scaler){mask, mask_w, mask_h, width, height, xs.i1, xs.i2, ys.i1, ys.i2, xs.d, ys.d};
    if (bad)
        return ad_err_set(err, AD_ENOMEM, "out of memory for mask scaler");
    return AD_OK;
}

void ad_matte_scaler_cleanup(ad_matte_scaler *s)
{
    free(s->x1);
    free(s->x2);
    free(s->y1);
    free(s->y2);
    free(s->dx);
    free(s->dy);
    memset(s, 0, sizeof *s);
}

void ad_matte_scaler_row(const ad_matte_scaler *s, int y, uint8_t *out, int step)
{
    const uint8_t *m1 = s->mask + (size_t)s->y1[y] * (size_t)s->mask_w;
    const uint8_t *m2 = s->mask + (size_t)s->y2[y] * (size_t)s->mask_w;
    double dy = s->dy[y];
    for (int x = 0; x < s->width; x++) {
        int a = s->x1[x], b = s->x2[x];
        *out = sample(s->dx[x], dy, m1[a], m1[b], m2[a], m2[b]);
        out += step;
    }
}

void ad_matte_compose_row(const ad_matte_scaler *s, const ad_pixmap *rgb, int y, uint8_t *out)
{
    const uint8_t *in = rgb->data + (size_t)y * (size_t)rgb->width * 3;
    for (int x = 0; x < rgb->width; x++) {
        out[4 * x] = in[3 * x];
        out[4 * x + 1] = in[3 * x + 1];
        out[4 * x + 2] = in[3 * x + 2];
    }
    ad_matte_scaler_row(s, y, out + 3, 4);
}

typedef struct {
    const ad_matte_scaler *s;
    const ad_pixmap *rgb; /* NULL: mask only */
    ad_pixmap *out;
} whole_job;

static void whole_range(void *ctx, int begin, int end)
{
    whole_job *j = ctx;
    for (int y = begin; y < end; y++) {
        uint8_t *row = j->out->data + (size_t)y * ad_pixmap_stride(j->out);
        if (j->rgb)
            ad_matte_compose_row(j->s, j->rgb, y, row);
        else
            ad_matte_scaler_row(j->s, y, row, 1);
    }
}

static ad_status run_whole(const ad_pixmap *rgb, const uint8_t *mask, int mask_w, int mask_h, ad_pixmap *out,
                           ad_matte_grid grid, int threads, ad_err *err)
{
    ad_matte_scaler s;
    ad_status rc = ad_matte_scaler_init(&s, mask, mask_w, mask_h, out->width, out->height, grid, err);
    if (rc == AD_OK) {
        whole_job j = {&s, rgb, out};
        ad_parallel_for(out->height, threads, whole_range, &j);
    }
    ad_matte_scaler_cleanup(&s);
    return rc;
}

ad_status ad_matte_compose(const ad_pixmap *rgb, const uint8_t *mask, int mask_w, int mask_h, ad_pixmap *out,
                           ad_matte_grid grid, int threads, ad_err *err)
{
    if (out->bands != 4 || out->width != rgb->width || out->height != rgb->height || rgb->bands != 3)
        return ad_err_set(err, AD_EINVAL, "compose: output must be RGBA at the input's size");
    return run_whole(rgb, mask, mask_w, mask_h, out, grid, threads, err);
}

ad_status ad_matte_upscale(const uint8_t *mask, int mask_w, int mask_h, ad_pixmap *out, ad_matte_grid grid, int threads,
                           ad_err *err)
{
    if (out->bands != 1)
        return ad_err_set(err, AD_EINVAL, "upscale: output must have 1 band");
    return run_whole(NULL, mask, mask_w, mask_h, out, grid, threads, err);
}
