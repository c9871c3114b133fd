/* cutout_bench.c — per-stage timing of the pipeline, in process.
 *
 *   cutout_bench [-n RUNS] [--model medium|small] [--threads N] IMAGE...
 *
 * Loads the model once, runs one warm-up, then RUNS timed runs per image and
 * prints the median of each stage of the pipeline as it runs:
 *   decode   bytes -> 8-bit sRGB pixels, orientation applied (libvips does
 *            the decode, EXIF rotation and ICC -> sRGB in one pass);
 *   resize   stretch to the model's side + normalise to float planes;
 *   infer    ONNX Runtime;
 *   quant    probabilities -> 8-bit mask + the upscaler's tables;
 *   encode   mask upscale + compose + PNG encode, fused: each encoder
 *            thread computes its own rows, the RGBA image is never whole;
 * then, to show what the fused pass is made of, the same three steps timed
 * apart (upscale, compose, png: separate passes over whole images),
 * end-to-end / inference, and the process's peak RSS so far. Run one image
 * per process to read its own peak RSS.
 * Settings as for assetd (--ort-profile fast, --model small, ...); BENCH_SPIN=1
 * lets ORT's threads spin-wait. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "base/fsutil.h"
#include "base/parallel.h"
#include "calib/model_open.h"
#include "config/config.h"
#include "cutout/cutout.h"
#include "base/clock.h"
#include "image/image.h"
#include "image/png_encode.h"
#include "matte/matte.h"

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* Mask upscale, compose and PNG encode as three separate whole-image passes
 * (a synthetic mask: the arithmetic does not depend on its values). ms[3]. */
static int time_apart(const void *buf, size_t len, const ad_config *cfg, int side, double *ms)
{
    ad_err err = AD_ERR_INIT;
    ad_pixmap rgb = {0}, alpha = {0}, rgba = {0};
    uint8_t *mask = malloc((size_t)side * side);
    void *png = NULL;
    size_t png_len = 0;
    int rc = 1;
    if (mask == NULL || ad_image_decode_rgb(buf, len, (uint64_t)cfg->max_pixels, &rgb, &err) != AD_OK)
        goto out;
    for (size_t i = 0; i < (size_t)side * side; i++)
        mask[i] = (uint8_t)(i % (size_t)side < (size_t)side / 2 ? 255 : i % 256);
    if (ad_pixmap_init(&alpha, rgb.width, rgb.height, 1, &err) != AD_OK ||
        ad_pixmap_init(&rgba, rgb.width, rgb.height, 4, &err) != AD_OK)
        goto out;
    double t0 = ad_clock_ms();
    if (ad_matte_upscale(mask, side, side, &alpha, AD_MATTE_GRID_CENTRED, 0, &err) != AD_OK)
        goto out;
    double t1 = ad_clock_ms();
    if (ad_matte_compose(&rgb, mask, side, side, &rgba, AD_MATTE_GRID_CENTRED, 0, &err) != AD_OK)
        goto out;
    double t2 = ad_clock_ms();
    ad_png_options po;
    ad_png_options_default(&po);
    if (ad_png_encode(&rgba, &po, &png, &png_len, &err) != AD_OK)
        goto out;
    double t3 = ad_clock_ms();
    ms[0] = t1 - t0;
    ms[1] = t2 - t1;
    ms[2] = t3 - t2;
    rc = 0;
out:
    if (rc)
        fprintf(stderr, "cutout_bench: %s\n", err.msg);
    free(mask);
    free(png);
    ad_pixmap_cleanup(&rgb);
    ad_pixmap_cleanup(&alpha);
    ad_pixmap_cleanup(&rgba);
    return rc;
}

static long peak_rss_mib(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss / 1024;
}

int main(int argc, char **argv)
{
    ad_config cfg;
    ad_err err = AD_ERR_INIT;
    int runs = 3;
    if (ad_config_load(&cfg, &argc, argv, &err) != AD_OK || ad_image_startup(argv[0], &err) != AD_OK) {
        fprintf(stderr, "cutout_bench: %s\n", err.msg);
        return 1;
    }
    int first = 1;
    if (argc > 2 && strcmp(argv[1], "-n") == 0) {
        runs = atoi(argv[2]);
        first = 3;
    }
    if (runs < 1 || runs > 64)
        runs = 3;
    const int model_side = (int)cfg.model_side, threads = cfg.ort_threads > 0 ? (int)cfg.ort_threads : ad_cpu_count();
    ad_model *model = NULL;
    if (ad_calib_open_model(&cfg, threads, model_side, &model, &err) != AD_OK) {
        fprintf(stderr, "cutout_bench: %s\n", err.msg);
        return 1;
    }
    printf("# model=%s precision=%s side=%d profile=%s threads=%d runs=%d (median ms)\n", cfg.model,
           ad_calib_precision(&cfg), model_side, cfg.ort_profile, threads, runs);
    printf("%-22s %11s %7s %7s %7s %7s %7s %7s %6s %8s %8s | %7s %7s %7s\n", "image", "size", "decode", "resize",
           "infer", "quant", "encode", "total", "ratio", "png_KiB", "rss_MiB", "upscale", "compose", "png");
    ad_cutout_options opt;
    ad_cutout_options_default(&opt);
    ad_cutout_limits lim = {(uint64_t)cfg.max_pixels, 0};
    for (int i = first; i < argc; i++) {
        void *buf;
        size_t len;
        if (ad_file_read(argv[i], 1u << 30, &buf, &len, &err) != AD_OK) {
            fprintf(stderr, "cutout_bench: %s\n", err.msg);
            return 1;
        }
        double st[6][64];
        ad_cutout_timing t = {0};
        size_t png_len = 0;
        for (int r = -1; r < runs; r++) { /* r == -1: warm-up, not counted */
            ad_cutout_result res;
            if (ad_cutout_run(model, buf, len, &opt, &lim, &res, &err) != AD_OK) {
                fprintf(stderr, "cutout_bench: %s: %s\n", argv[i], err.msg);
                return 1;
            }
            t = res.timing;
            png_len = res.len;
            ad_cutout_result_cleanup(&res);
            if (r < 0)
                continue;
            st[0][r] = t.decode;
            st[1][r] = t.resize;
            st[2][r] = t.infer;
            st[3][r] = t.compose;
            st[4][r] = t.encode;
            st[5][r] = t.total;
        }
        double m[6];
        for (int k = 0; k < 6; k++)
            m[k] = median(st[k], runs);
        const char *name = strrchr(argv[i], '/') ? strrchr(argv[i], '/') + 1 : argv[i];
        char size[32];
        snprintf(size, sizeof size, "%dx%d", t.width, t.height);
        long rss = peak_rss_mib(); /* before the separate passes below */
        double apart[3];
        if (time_apart(buf, len, &cfg, model_side, apart) != 0)
            return 1;
        printf("%-22s %11s %7.0f %7.0f %7.0f %7.0f %7.0f %7.0f %6.3f %8zu %8ld | %7.0f %7.0f %7.0f\n", name, size, m[0],
               m[1], m[2], m[3], m[4], m[5], m[5] / m[2], png_len / 1024, rss, apart[0], apart[1], apart[2]);
        fflush(stdout);
        free(buf);
    }
    ad_model_close(model);
    ad_config_cleanup(&cfg);
    return 0;
}
