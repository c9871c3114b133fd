/* curve_bench.c — how strong a contrast curve on the model's probabilities
 * should be. One model pass per photo (optionally also the mirrored pass),
 * then every curve is applied to a copy of the probabilities on the model
 * grid, quantised, upscaled as the pipeline does and scored against the
 * ground truth (MAE, IoU at 0.5, max F-beta), with paired better/worse
 * counts against no curve. Used to choose the default preset's curve on
 * ../shared/data/bgeval-ecssd300 (docs/engine.md).
 *
 *   build/bench/curve_bench [-n MAX] [-m [-l]] [-s SIDE] [-d DIR] SET_DIR
 *   (-m: with the mirrored pass, averaged; -l: averaged as log-odds, as
 *   preset=best does;
 *   SIDE 896; -d: also write each pass's probabilities on the model grid,
 *   DIR/NAME.SIDE.f32 and with -m DIR/NAME.SIDE.mirror.f32 (still mirrored),
 *   raw native floats, for experiments outside the pipeline) */
#include <math.h>

#include "gtset.h"
#include "matte/matte.h"

#define NCURVES 7
static const char *const names[NCURVES] = {"none",   "smoothstep", "smoothstep x2", "smoothstep x4",
                                           "gain 2", "gain 3",     "presets' curve"};

/* gain g: p^g / (p^g + (1-p)^g), symmetric about 0.5 like smoothstep;
 * the presets' curve is ad_matte_curve (smoothstep x4 with a tail) */
static void curve(int k, float *p, size_t n)
{
    if (k == 0)
        return;
    if (k == 6) {
        ad_matte_curve(p, n);
        return;
    }
    if (k <= 3) { /* smoothstep once, twice or four times */
        int times = k == 3 ? 4 : k;
        for (int r = 0; r < times; r++)
            for (size_t i = 0; i < n; i++) {
                float v = p[i] < 0 ? 0 : p[i] > 1 ? 1 : p[i];
                p[i] = v * v * (3 - 2 * v);
            }
        return;
    }
    double g = k == 4 ? 2.0 : 3.0;
    for (size_t i = 0; i < n; i++) {
        double a = pow(p[i] < 0 ? 0 : p[i], g), b = pow(p[i] > 1 ? 0 : 1 - p[i], g);
        p[i] = (float)(a + b > 0 ? a / (a + b) : 0);
    }
}

/* DIR/NAME-without-extension.SIDE[.mirror].f32 */
static int dump_probs(const char *dir, const char *file, int side, const char *tag, const float *p, size_t n)
{
    char path[2048];
    const char *dot = strrchr(file, '.');
    int stem = dot ? (int)(dot - file) : (int)strlen(file);
    snprintf(path, sizeof path, "%s/%.*s.%d%s.f32", dir, stem, file, side, tag);
    FILE *f = fopen(path, "wb");
    int ok = f != NULL && fwrite(p, sizeof *p, n, f) == n;
    if (f != NULL && fclose(f) != 0)
        ok = 0;
    if (!ok)
        fprintf(stderr, "curve_bench: cannot write %s\n", path);
    return ok;
}

int main(int argc, char **argv)
{
    int max = 1000000, mirror = 0, logodds = 0, side_opt = 896;
    const char *set = NULL, *dump = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-n") == 0 && i + 1 < argc)
            max = atoi(argv[++i]);
        else if (strcmp(argv[i], "-m") == 0)
            mirror = 1;
        else if (strcmp(argv[i], "-l") == 0)
            logodds = 1;
        else if (strcmp(argv[i], "-s") == 0 && i + 1 < argc)
            side_opt = atoi(argv[++i]);
        else if (strcmp(argv[i], "-d") == 0 && i + 1 < argc)
            dump = argv[++i];
        else
            set = argv[i];
    }
    if (set == NULL) {
        fprintf(stderr, "usage: curve_bench [-n MAX] [-m [-l]] [-s SIDE] [-d DIR] SET_DIR\n");
        return 2;
    }
    ad_err e = AD_ERR_INIT;
    if (ad_image_startup(argv[0], &e) != AD_OK)
        return 1;
    ad_model *m = gt_open_model(side_opt, "curve_bench");
    const int side = ad_model_side(m);
    const size_t plane = (size_t)side * side;
    char **files = NULL;
    int n = gt_list(set, max, &files);
    if (n < 0) {
        fprintf(stderr, "curve_bench: no %s/images\n", set);
        return 1;
    }
    gt_score *s = calloc((size_t)n * NCURVES, sizeof *s);
    float *tensor = malloc(3 * plane * sizeof(float)), *prob = malloc(plane * sizeof(float));
    float *prob2 = malloc(plane * sizeof(float)), *work = malloc(plane * sizeof(float));
    uint8_t *mask = malloc(plane);
    for (int i = 0; i < n; i++) {
        char ip[2048], mp[2048];
        gt_paths(set, files[i], ip, mp, sizeof ip);
        void *buf;
        size_t len;
        ad_pixmap rgb = {0}, gt = {0};
        if (ad_file_read(ip, 1u << 30, &buf, &len, &e) != AD_OK ||
            ad_image_decode_rgb(buf, len, 0, &rgb, &e) != AD_OK || !gt_load(mp, &gt) || gt.width != rgb.width ||
            gt.height != rgb.height || ad_matte_prepare_input(&rgb, side, tensor, &e) != AD_OK ||
            ad_model_run(m, tensor, prob, &e) != AD_OK) {
            fprintf(stderr, "curve_bench: %s: %s\n", files[i], e.msg);
            return 1;
        }
        if (dump && !dump_probs(dump, files[i], side, "", prob, plane))
            return 1;
        if (mirror) {
            ad_matte_flip_planes(tensor, 3, side);
            if (ad_model_run(m, tensor, prob2, &e) != AD_OK)
                return 1;
            if (dump && !dump_probs(dump, files[i], side, ".mirror", prob2, plane))
                return 1;
            if (logodds)
                ad_matte_average_mirrored_logodds(prob, prob2, side);
            else
                ad_matte_average_mirrored(prob, prob2, side);
        }
        ad_pixmap up = {0};
        if (ad_pixmap_init(&up, rgb.width, rgb.height, 1, &e) != AD_OK)
            return 1;
        for (int k = 0; k < NCURVES; k++) {
            memcpy(work, prob, plane * sizeof(float));
            curve(k, work, plane);
            ad_matte_quantise(work, plane, mask);
            if (ad_matte_upscale(mask, side, side, &up, 0, &e) != AD_OK)
                return 1;
            s[(size_t)i * NCURVES + k] = gt_score_mask(&up, &gt);
        }
        ad_pixmap_cleanup(&up);
        free(buf);
        ad_pixmap_cleanup(&rgb);
        ad_pixmap_cleanup(&gt);
    }
    printf("# %d images from %s, side %d%s\n", n, set, side,
           !mirror   ? ""
           : logodds ? ", averaged with the mirrored pass as log-odds"
                     : ", averaged with the mirrored pass");
    printf("%-14s %8s %7s %7s %s\n", "curve", "MAE", "IoU", "maxF", "vs none (MAE)");
    for (int k = 0; k < NCURVES; k++) {
        double mae = 0, iou = 0, f = 0;
        int better = 0, worse = 0;
        for (int i = 0; i < n; i++) {
            gt_score a = s[(size_t)i * NCURVES + k], z = s[(size_t)i * NCURVES];
            mae += a.mae, iou += a.iou, f += a.maxf;
            better += a.mae<z.mae - 1e-7, worse += a.mae> z.mae + 1e-7;
        }
        printf("%-14s %8.5f %7.4f %7.4f better on %d, worse on %d\n", names[k], mae / n, iou / n, f / n, better, worse);
    }
    return 0;
}
