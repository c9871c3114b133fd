/* foreground.c — see foreground.h. */
#include "matte/foreground.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/parallel.h"

#define WORK_PIXELS (768 * 768) /* the levels run at most this large */
#define EPS 1e-5f               /* regularisation: F and B stay defined where alpha is flat */
#define OMEGA 1.0f              /* weight of alpha's gradient between neighbours */

/* One level's planes (interleaved RGB floats in [0, 1], alpha in [0, 1]). */
typedef struct {
    int w, h;
    const float *img, *a;
    const float *F, *B; /* read */
    float *F2, *B2;     /* written */
} step_ctx;

/* One Jacobi sweep over rows [y0, y1): each pixel's F, B from its
 * neighbours' (the 2x2 system of the paper's equation 9). */
static void step_rows(void *arg, int y0, int y1)
{
    const step_ctx *c = arg;
    const int w = c->w, h = c->h;
    for (int y = y0; y < y1; y++)
        for (int x = 0; x < w; x++) {
            size_t i = (size_t)y * w + x;
            float a0 = c->a[i], a1 = 1.0f - a0;
            float a00 = a0 * a0, a01 = a0 * a1, a11 = a1 * a1;
            float b0[3], b1[3];
            for (int k = 0; k < 3; k++) {
                b0[k] = a0 * c->img[3 * i + k];
                b1[k] = a1 * c->img[3 * i + k];
            }
            const int nx[4] = {x > 0 ? x - 1 : x, x < w - 1 ? x + 1 : x, x, x};
            const int ny[4] = {y, y, y > 0 ? y - 1 : y, y < h - 1 ? y + 1 : y};
            for (int n = 0; n < 4; n++) {
                size_t j = (size_t)ny[n] * w + nx[n];
                float da = EPS + OMEGA * fabsf(a0 - c->a[j]);
                a00 += da;
                a11 += da;
                for (int k = 0; k < 3; k++) {
                    b0[k] += da * c->F[3 * j + k];
                    b1[k] += da * c->B[3 * j + k];
                }
            }
            float inv = 1.0f / (a00 * a11 - a01 * a01);
            for (int k = 0; k < 3; k++) {
                float f = (a11 * b0[k] - a01 * b1[k]) * inv, b = (a00 * b1[k] - a01 * b0[k]) * inv;
                c->F2[3 * i + k] = f < 0 ? 0 : f > 1 ? 1 : f;
                c->B2[3 * i + k] = b < 0 ? 0 : b > 1 ? 1 : b;
            }
        }
}

/* Nearest-neighbour resample of `bands` interleaved floats. */
static void nearest(const float *src, int sw, int sh, int bands, float *dst, int dw, int dh)
{
    for (int y = 0; y < dh; y++) {
        int sy = (int)((long long)y * sh / dh);
        for (int x = 0; x < dw; x++) {
            int sx = (int)((long long)x * sw / dw);
            memcpy(dst + ((size_t)y * dw + x) * bands, src + ((size_t)sy * sw + sx) * bands, sizeof(float) * bands);
        }
    }
}

/* Box-average shrink of u8 pixels to floats in [0, 1]. */
static void box_down(const uint8_t *src, int sw, int sh, int bands, float *dst, int dw, int dh)
{
    for (int y = 0; y < dh; y++) {
        int y0 = (int)((long long)y * sh / dh), y1 = (int)((long long)(y + 1) * sh / dh);
        if (y1 <= y0)
            y1 = y0 + 1;
        for (int x = 0; x < dw; x++) {
            int x0 = (int)((long long)x * sw / dw), x1 = (int)((long long)(x + 1) * sw / dw);
            if (x1 <= x0)
                x1 = x0 + 1;
            float sum[4] = {0};
            for (int yy = y0; yy < y1; yy++) {
                const uint8_t *p = src + ((size_t)yy * sw + x0) * bands;
                for (int xx = x0; xx < x1; xx++)
                    for (int k = 0; k < bands; k++)
                        sum[k] += *p++;
            }
            float n = (float)(y1 - y0) * (float)(x1 - x0) * 255.0f;
            for (int k = 0; k < bands; k++)
                dst[((size_t)y * dw + x) * bands + k] = sum[k] / n;
        }
    }
}

typedef struct {
    const ad_pixmap *rgb;
    const uint8_t *alpha;
    ad_pixmap *out;
    const float *F, *B; /* at the work size */
    int ww, wh;
} final_ctx;

/* Bilinear sample of a work-size plane at the centre of full-size pixel (x, y). */
static void sample(const float *p, int ww, int wh, double fx, double fy, float out[3])
{
    fx = fx < 0 ? 0 : fx > ww - 1 ? ww - 1 : fx;
    fy = fy < 0 ? 0 : fy > wh - 1 ? wh - 1 : fy;
    int x0 = (int)fx, y0 = (int)fy;
    int x1 = x0 + 1 < ww ? x0 + 1 : x0, y1 = y0 + 1 < wh ? y0 + 1 : y0;
    float dx = (float)(fx - x0), dy = (float)(fy - y0);
    for (int k = 0; k < 3; k++) {
        float top = p[((size_t)y0 * ww + x0) * 3 + k] * (1 - dx) + p[((size_t)y0 * ww + x1) * 3 + k] * dx;
        float bot = p[((size_t)y1 * ww + x0) * 3 + k] * (1 - dx) + p[((size_t)y1 * ww + x1) * 3 + k] * dx;
        out[k] = top * (1 - dy) + bot * dy;
    }
}

static void final_rows(void *arg, int y0, int y1)
{
    const final_ctx *c = arg;
    const int W = c->rgb->width, H = c->rgb->height;
    const double sx = (double)c->ww / W, sy = (double)c->wh / H;
    for (int y = y0; y < y1; y++) {
        const uint8_t *in = c->rgb->data + (size_t)y * W * 3;
        const uint8_t *al = c->alpha + (size_t)y * W;
        uint8_t *o = c->out->data + (size_t)y * W * 3;
        for (int x = 0; x < W; x++, in += 3, o += 3) {
            if (al[x] == 255) {
                memcpy(o, in, 3);
                continue;
            }
            float F[3], B[3];
            double fx = (x + 0.5) * sx - 0.5, fy = (y + 0.5) * sy - 0.5;
            sample(c->F, c->ww, c->wh, fx, fy, F);
            float a = al[x] / 255.0f, wgt = 0;
            if (al[x] > 0) {
                sample(c->B, c->ww, c->wh, fx, fy, B);
                wgt = (a - 0.05f) / 0.25f;
                wgt = wgt < 0 ? 0 : wgt > 1 ? 1 : wgt;
            }
            for (int k = 0; k < 3; k++) {
                float exact = wgt > 0 ? (in[k] / 255.0f - (1 - a) * B[k]) / a : 0;
                exact = exact < 0 ? 0 : exact > 1 ? 1 : exact;
                float v = wgt * exact + (1 - wgt) * F[k];
                o[k] = (uint8_t)(v * 255.0f + 0.5f);
            }
        }
    }
}

ad_status ad_matte_foreground(const ad_pixmap *rgb, const uint8_t *alpha, ad_pixmap *out, int threads, ad_err *err)
{
    if (rgb->bands != 3 || out->bands != 3 || out->width != rgb->width || out->height != rgb->height)
        return ad_err_set(err, AD_EINVAL, "foreground: want RGB in and out of the same size");
    const int W = rgb->width, H = rgb->height;
    double scale = (double)W * H > WORK_PIXELS ? sqrt((double)WORK_PIXELS / ((double)W * H)) : 1.0;
    int ww = (int)(W * scale + 0.5), wh = (int)(H * scale + 0.5);
    ww = ww < 1 ? 1 : ww;
    wh = wh < 1 ? 1 : wh;
    size_t n = (size_t)ww * wh;
    float *img = malloc(n * 3 * sizeof(float)), *a = malloc(n * sizeof(float));
    float *limg = malloc(n * 3 * sizeof(float)), *la = malloc(n * sizeof(float));
    float *F = malloc(n * 3 * sizeof(float)), *B = malloc(n * 3 * sizeof(float));
    float *F2 = malloc(n * 3 * sizeof(float)), *B2 = malloc(n * 3 * sizeof(float));
    ad_status st = AD_OK;
    if (!img || !a || !limg || !la || !F || !B || !F2 || !B2) {
        st = ad_err_set(err, AD_ENOMEM, "out of memory for foreground estimation");
        goto out;
    }
    box_down(rgb->data, W, H, 3, img, ww, wh);
    box_down(alpha, W, H, 1, a, ww, wh);

    /* level 0 is one pixel: the mean colours of the subject and the rest */
    double fs[3] = {0}, bs[3] = {0}, fw = 1e-9, bw = 1e-9;
    for (size_t i = 0; i < n; i++)
        for (int k = 0; k < 3; k++) {
            fs[k] += a[i] * img[3 * i + k];
            bs[k] += (1 - a[i]) * img[3 * i + k];
        }
    for (size_t i = 0; i < n; i++)
        fw += a[i], bw += 1 - a[i];
    for (int k = 0; k < 3; k++) {
        F[k] = (float)(fs[k] / fw);
        B[k] = (float)(bs[k] / bw);
    }
    int pw = 1, ph = 1;
    int longest = ww > wh ? ww : wh;
    int levels = longest > 1 ? (int)ceil(log2((double)longest)) : 0;
    for (int l = 1; l <= levels; l++) {
        int w = (int)lround(pow(ww, (double)l / levels)), h = (int)lround(pow(wh, (double)l / levels));
        w = w < 1 ? 1 : w;
        h = h < 1 ? 1 : h;
        nearest(img, ww, wh, 3, limg, w, h);
        nearest(a, ww, wh, 1, la, w, h);
        nearest(F, pw, ph, 3, F2, w, h); /* the previous level, brought up */
        nearest(B, pw, ph, 3, B2, w, h);
        float *t = F;
        F = F2, F2 = t;
        t = B, B = B2, B2 = t;
        int iterations = (long long)w * h <= 32 * 32 ? 10 : 2;
        for (int it = 0; it < iterations; it++) {
            step_ctx c = {w, h, limg, la, F, B, F2, B2};
            ad_parallel_for(h, (long long)w * h < 65536 ? 1 : threads, step_rows, &c);
            t = F, F = F2, F2 = t;
            t = B, B = B2, B2 = t;
        }
        pw = w, ph = h;
    }
    final_ctx fc = {rgb, alpha, out, F, B, pw, ph};
    ad_parallel_for(H, threads, final_rows, &fc);
out:
    free(img);
    free(a);
    free(limg);
    free(la);
    free(F);
    free(B);
    free(F2);
    free(B2);
    return st;
}
