/* curve_bench.c — what to do with the model's probabilities before they
 * become the mask. One model pass per photo (with -m also the pass on the
 * mirrored photo); then every candidate curve is applied to a copy of the
 * probabilities on the model grid, quantised, upscaled as the pipeline does
 * and scored against the ground truth (MAE, IoU at 0.5, max F-beta), with
 * paired better/worse counts against no curve. With -m the passes are
 * first combined as preset=best does, and a second table compares ways of
 * combining them, each followed by the presets' curve. Used to choose the
 * presets' arithmetic on ../shared/data/bgeval-ecssd300 (docs/engine.md).
 *
 *   build/bench/curve_bench [-n MAX] [-m] [-s SIDE] [-d DIR] SET_DIR
 *   (SIDE 896; -d: also write each pass's probabilities on the model grid,
 *   DIR/NAME.SIDE.f32 and with -m DIR/NAME.SIDE.mirror.f32 (still mirrored),
 *   raw native floats, for experiments outside the pipeline) */
#include <math.h>

#include "gtset.h"
#include "matte/matte.h"

#define NCURVES 8
static const char *const names[NCURVES] = {"none",   "smoothstep", "smoothstep x2",  "smoothstep x4",
                                           "gain 2", "gain 3",     "curve, no lean", "presets' curve"};

/* The odds divided by the presets' lean (e^0.5): what ad_matte_curve
 * applies first, undone, to measure the rest of the curve alone. */
static void unlean(float *p, size_t n)
{
    const double k = exp(0.5);
    for (size_t i = 0; i < n; i++)
        p[i] = (float)(p[i] / (p[i] + k * (1.0 - p[i])));
}

/* gain g: p^g / (p^g + (1-p)^g), symmetric about 0.5 like smoothstep;
 * the presets' curve is ad_matte_curve (a lean, smoothstep x4, a tail) */
static void curve(int k, float *p, size_t n)
{
    if (k == 0)
        return;
    if (k >= 6) {
        if (k == 6)
            unlean(p, n);
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

/* Ways to combine a pass p with the mirrored pass q (already brought
 * back); the presets' is ad_matte_combine_mirrored. Log-odds: the odds'
 * geometric mean, each probability kept within [1/510, 1 - 1/510] so that
 * one confident pass cannot veto the other (best's rule until 2026-11-30). */
#define NCOMBOS 4
static const char *const combo_names[NCOMBOS] = {"mean", "log-odds mean", "power mean 4", "maximum"};

static double clamp_prob(float p)
{
    const double lo = 1.0 / 510.0;
    return p < lo ? lo : p > 1.0 - lo ? 1.0 - lo : (double)p;
}

static void combine(int k, float *p, const float *flipped, int side)
{
    if (k == 2) {
        ad_matte_combine_mirrored(p, flipped, side);
        return;
    }
    for (int y = 0; y < side; y++)
        for (int x = 0; x < side; x++) {
            float *a = p + (size_t)y * side + x, b = flipped[(size_t)y * side + side - 1 - x];
            if (k == 0) {
                *a = 0.5f * (*a + b);
            } else if (k == 1) {
                double u = clamp_prob(*a), v = clamp_prob(b), g = sqrt(u * v), h = sqrt((1 - u) * (1 - v));
                *a = (float)(g / (g + h));
            } else {
                *a = *a > b ? *a : b;
            }
        }
}

static void print_table(const char *title, const char *const *rows, int nrows, const gt_score *s, int n, const char *vs)
{
    printf("%-15s %8s %7s %7s vs %s (MAE)\n", title, "MAE", "IoU", "maxF", vs);
    for (int k = 0; k < nrows; k++) {
        double mae = 0, iou = 0, f = 0;
        int better = 0, worse = 0;
        for (int i = 0; i < n; i++) {
            gt_score a = s[(size_t)i * nrows + k], z = s[(size_t)i * nrows];
            mae += a.mae, iou += a.iou, f += a.maxf;
            better += a.mae<z.mae - 1e-7, worse += a.mae> z.mae + 1e-7;
        }
        printf("%-15s %8.5f %7.4f %7.4f better on %d, worse on %d\n", rows[k], mae / n, iou / n, f / n, better, worse);
    }
}

/* Quantise, upscale to the photo as the pipeline does, score. */
static int score_probs(const float *p, int side, uint8_t *mask, ad_pixmap *up, const ad_pixmap *gt, gt_score *out)
{
    ad_err e = AD_ERR_INIT;
    ad_matte_quantise(p, (size_t)side * side, mask);
    if (ad_matte_upscale(mask, side, side, up, AD_MATTE_GRID_CENTRED, 0, &e) != AD_OK)
        return 0;
    *out = gt_score_mask(up, gt);
    return 1;
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
    int max = 1000000, mirror = 0, side_opt = 896;
    const char *set = NULL, *dump = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-n") == 0 && i + 1 < argc)
            max = atoi(argv[++i]);
        else if (strcmp(argv[i], "-m") == 0)
            mirror = 1;
        else if (strcmp(argv[i], "-s") == 0 && i + 1 < argc)
            side_opt = atoi(argv[++i]);
        else if (strcmp(argv[i], "-d") == 0 && i + 1 < argc)
            dump = argv[++i];
        else
            set = argv[i];
    }
    if (set == NULL) {
        fprintf(stderr, "usage: curve_bench [-n MAX] [-m] [-s SIDE] [-d DIR] SET_DIR\n");
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
    gt_score *s = calloc((size_t)n * NCURVES, sizeof *s), *c = calloc((size_t)n * NCOMBOS, sizeof *c);
    float *tensor = malloc(3 * plane * sizeof(float)), *prob = malloc(plane * sizeof(float));
    float *prob2 = malloc(plane * sizeof(float)), *work = malloc(plane * sizeof(float));
    uint8_t *mask = malloc(plane);
    for (int i = 0; i < n; i++) {
        char ip[2048], mp[2048];
        gt_paths(set, files[i], ip, mp, sizeof ip);
        void *buf;
        size_t len;
        ad_pixmap rgb = {0}, gt = {0}, up = {0};
        if (ad_file_read(ip, 1u << 30, &buf, &len, &e) != AD_OK ||
            ad_image_decode_rgb(buf, len, 0, &rgb, &e) != AD_OK || !gt_load(mp, &gt) || gt.width != rgb.width ||
            gt.height != rgb.height || ad_matte_prepare_input(&rgb, side, AD_MATTE_GRID_CENTRED, tensor, &e) != AD_OK ||
            ad_model_run(m, tensor, prob, &e) != AD_OK || ad_pixmap_init(&up, rgb.width, rgb.height, 1, &e) != AD_OK) {
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
            for (int k = 0; k < NCOMBOS; k++) {
                memcpy(work, prob, plane * sizeof(float));
                combine(k, work, prob2, side);
                ad_matte_curve(work, plane);
                if (!score_probs(work, side, mask, &up, &gt, &c[(size_t)i * NCOMBOS + k]))
                    return 1;
            }
            ad_matte_combine_mirrored(prob, prob2, side);
        }
        for (int k = 0; k < NCURVES; k++) {
            memcpy(work, prob, plane * sizeof(float));
            curve(k, work, plane);
            if (!score_probs(work, side, mask, &up, &gt, &s[(size_t)i * NCURVES + k]))
                return 1;
        }
        ad_pixmap_cleanup(&up);
        free(buf);
        ad_pixmap_cleanup(&rgb);
        ad_pixmap_cleanup(&gt);
    }
    printf("# %d images from %s, side %d%s\n", n, set, side,
           mirror ? ", combined with the mirrored pass as preset=best does" : "");
    print_table("curve", names, NCURVES, s, n, "none");
    if (mirror) {
        printf("# the two passes combined, then the presets' curve\n");
        print_table("combination", combo_names, NCOMBOS, c, n, "mean");
    }
    for (int i = 0; i < n; i++)
        free(files[i]);
    free(files);
    free(s);
    free(c);
    free(tensor);
    free(prob);
    free(prob2);
    free(work);
    free(mask);
    ad_model_close(m);
    return 0;
}
