/* curve_bench.c — how strong a contrast curve on the model's probabilities
 * should be. One model pass per photo (optionally also the mirrored pass),
 * then every curve is applied to a copy of the probabilities on the model
 * grid, quantised, upscaled as the pipeline does and scored against the
 * ground truth (MAE, IoU at 0.5, max F-beta), with paired better/worse
 * counts against no curve. Used to choose the default preset's curve on
 * ../shared/data/bgeval-ecssd300 (docs/engine.md).
 *
 *   build/bench/curve_bench [-n MAX] [-m] [-s SIDE] SET_DIR   (-m: with the mirrored pass; SIDE 896) */
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/fsutil.h"
#include "image/image.h"
#include "infer/model.h"
#include "matte/matte.h"

#define NCURVES 7
static const char *const names[NCURVES] = {"none",   "smoothstep", "smoothstep x2", "gain 1.5",
                                           "gain 2", "gain 2.5",   "gain 3"};

/* gain g: p^g / (p^g + (1-p)^g), symmetric about 0.5 like smoothstep */
static void curve(int k, float *p, size_t n)
{
    if (k == 0)
        return;
    if (k == 1 || k == 2) { /* smoothstep, once or twice (the presets' curve is twice: ad_matte_curve) */
        for (int r = 0; r < k; r++)
            for (size_t i = 0; i < n; i++) {
                float v = p[i] < 0 ? 0 : p[i] > 1 ? 1 : p[i];
                p[i] = v * v * (3 - 2 * v);
            }
        return;
    }
    double g = 1.5 + 0.5 * (k - 3);
    for (size_t i = 0; i < n; i++) {
        double a = pow(p[i] < 0 ? 0 : p[i], g), b = pow(p[i] > 1 ? 0 : 1 - p[i], g);
        p[i] = (float)(a + b > 0 ? a / (a + b) : 0);
    }
}

typedef struct {
    double mae, iou, f;
} score;

static score score_mask(const ad_matte_scaler *sc, const ad_pixmap *gt, uint8_t *row)
{
    double mae = 0;
    long inter = 0, uni = 0, npos = 0, pos[256] = {0}, neg[256] = {0};
    for (int y = 0; y < gt->height; y++) {
        ad_matte_scaler_row(sc, y, row, 1);
        for (int x = 0; x < gt->width; x++) {
            int p = row[x], g = gt->data[((size_t)y * gt->width + x) * gt->bands];
            mae += abs(p - g) / 255.0;
            inter += p >= 128 && g >= 128;
            uni += p >= 128 || g >= 128;
            if (g >= 128)
                pos[p]++, npos++;
            else
                neg[p]++;
        }
    }
    double best = 0;
    long tp = 0, fp = 0;
    for (int t = 255; t >= 0; t--) {
        tp += pos[t], fp += neg[t];
        if (tp && npos) {
            double pr = (double)tp / (tp + fp), rc = (double)tp / npos, f = 1.3 * pr * rc / (0.3 * pr + rc);
            best = f > best ? f : best;
        }
    }
    return (score){mae / ((double)gt->width * gt->height), uni ? (double)inter / uni : 1.0, best};
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

int main(int argc, char **argv)
{
    int max = 1000000, mirror = 0, side_opt = 896;
    const char *set = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-n") == 0 && i + 1 < argc)
            max = atoi(argv[++i]);
        else if (strcmp(argv[i], "-m") == 0)
            mirror = 1;
        else if (strcmp(argv[i], "-s") == 0 && i + 1 < argc)
            side_opt = atoi(argv[++i]);
        else
            set = argv[i];
    }
    if (set == NULL) {
        fprintf(stderr, "usage: curve_bench [-n MAX] [-m] [-s SIDE] SET_DIR\n");
        return 2;
    }
    ad_err e = AD_ERR_INIT;
    if (ad_image_startup(argv[0], &e) != AD_OK)
        return 1;
    ad_model_config mc;
    ad_model_config_defaults(&mc);
    mc.ort_library = "deps/onnxruntime/lib/libonnxruntime.so";
    mc.model_path = "deps/models/isnet-medium.onnx";
    mc.cache_dir = "deps/model-cache";
    mc.side = side_opt;
    ad_model *m = NULL;
    if (ad_model_open(&mc, &m, &e) != AD_OK) {
        fprintf(stderr, "curve_bench: %s\n", e.msg);
        return 1;
    }
    const int side = ad_model_side(m);
    const size_t plane = (size_t)side * side;
    char dir[1024];
    snprintf(dir, sizeof dir, "%s/images", set);
    DIR *d = opendir(dir);
    if (d == NULL)
        return 1;
    char **files = NULL;
    int n = 0;
    struct dirent *de;
    while ((de = readdir(d)))
        if (de->d_name[0] != '.') {
            files = realloc(files, sizeof *files * (size_t)(n + 1));
            files[n++] = strdup(de->d_name);
        }
    closedir(d);
    qsort(files, (size_t)n, sizeof *files, cmp_str);
    if (n > max)
        n = max;
    score *s = calloc((size_t)n * NCURVES, sizeof *s);
    float *tensor = malloc(3 * plane * sizeof(float)), *prob = malloc(plane * sizeof(float));
    float *prob2 = malloc(plane * sizeof(float)), *work = malloc(plane * sizeof(float));
    uint8_t *mask = malloc(plane);
    for (int i = 0; i < n; i++) {
        char ip[2048], mp[2048], stem[512];
        snprintf(ip, sizeof ip, "%s/images/%s", set, files[i]);
        snprintf(stem, sizeof stem, "%s", files[i]);
        if (strrchr(stem, '.'))
            *strrchr(stem, '.') = '\0';
        snprintf(mp, sizeof mp, "%s/masks/%s.png", set, stem);
        void *buf, *gbuf;
        size_t len, glen;
        ad_pixmap rgb = {0}, gt = {0};
        if (ad_file_read(ip, 1u << 30, &buf, &len, &e) != AD_OK ||
            ad_image_decode_rgb(buf, len, 0, &rgb, &e) != AD_OK ||
            ad_file_read(mp, 1u << 30, &gbuf, &glen, &e) != AD_OK ||
            ad_image_decode_raw(gbuf, glen, &gt, &e) != AD_OK || gt.width != rgb.width || gt.height != rgb.height ||
            ad_matte_prepare_input(&rgb, side, tensor, &e) != AD_OK || ad_model_run(m, tensor, prob, &e) != AD_OK) {
            fprintf(stderr, "curve_bench: %s: %s\n", files[i], e.msg);
            return 1;
        }
        if (mirror) {
            ad_matte_flip_planes(tensor, 3, side);
            if (ad_model_run(m, tensor, prob2, &e) != AD_OK)
                return 1;
            ad_matte_average_mirrored(prob, prob2, side);
        }
        uint8_t *row = malloc((size_t)rgb.width);
        for (int k = 0; k < NCURVES; k++) {
            memcpy(work, prob, plane * sizeof(float));
            curve(k, work, plane);
            ad_matte_quantise(work, plane, mask);
            ad_matte_scaler sc;
            if (ad_matte_scaler_init(&sc, mask, side, side, rgb.width, rgb.height, &e) != AD_OK)
                return 1;
            s[(size_t)i * NCURVES + k] = score_mask(&sc, &gt, row);
            ad_matte_scaler_cleanup(&sc);
        }
        free(row);
        free(buf);
        free(gbuf);
        ad_pixmap_cleanup(&rgb);
        ad_pixmap_cleanup(&gt);
    }
    printf("# %d images from %s, side %d%s\n", n, set, side, mirror ? ", averaged with the mirrored pass" : "");
    printf("%-14s %8s %7s %7s %s\n", "curve", "MAE", "IoU", "maxF", "vs none (MAE)");
    for (int k = 0; k < NCURVES; k++) {
        double mae = 0, iou = 0, f = 0;
        int better = 0, worse = 0;
        for (int i = 0; i < n; i++) {
            score a = s[(size_t)i * NCURVES + k], z = s[(size_t)i * NCURVES];
            mae += a.mae, iou += a.iou, f += a.f;
            better += a.mae<z.mae - 1e-7, worse += a.mae> z.mae + 1e-7;
        }
        printf("%-14s %8.4f %7.3f %7.3f better on %d, worse on %d\n", names[k], mae / n, iou / n, f / n, better, worse);
    }
    return 0;
}
