/* gtset.h — a set of photos with ground truth (SET/images/NAME.*,
 * SET/masks/NAME.png; ../shared/data/bgeval and bgeval-ecssd300, read in
 * place) and the scores the quality benchmarks print: MAE, IoU at 0.5 and
 * max F-beta (beta^2 = 0.3 over 256 thresholds, as ../shared/data/score.py).
 * Shared by preset_bench and curve_bench; static functions, one header, as
 * tests/harness.h is. */
#ifndef AD_BENCH_GTSET_H
#define AD_BENCH_GTSET_H

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/fsutil.h"
#include "base/parallel.h"
#include "calib/model_open.h"
#include "config/config.h"
#include "cutout/options.h"
#include "image/image.h"
#include "infer/model.h"

typedef struct {
    double mae, iou, maxf, ms;
} gt_score;

static int gt_cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* The image file names of SET/images, sorted, at most max (caller frees
 * each and the array); -1 when the folder cannot be read. */
static int gt_list(const char *set, int max, char ***out)
{
    char dir[1024];
    snprintf(dir, sizeof dir, "%s/images", set);
    DIR *d = opendir(dir);
    if (d == NULL)
        return -1;
    char **names = NULL;
    int n = 0;
    struct dirent *de;
    while ((de = readdir(d)))
        if (de->d_name[0] != '.') {
            names = realloc(names, sizeof *names * (size_t)(n + 1));
            names[n++] = strdup(de->d_name);
        }
    closedir(d);
    qsort(names, (size_t)n, sizeof *names, gt_cmp_str);
    for (int i = max; i < n; i++)
        free(names[i]);
    *out = names;
    return n < max ? n : max;
}

/* SET/images/NAME and SET/masks/STEM.png. */
static void gt_paths(const char *set, const char *name, char *img, char *mask, size_t len)
{
    char stem[512];
    snprintf(stem, sizeof stem, "%s", name);
    char *dot = strrchr(stem, '.');
    if (dot)
        *dot = '\0';
    snprintf(img, len, "%s/images/%s", set, name);
    snprintf(mask, len, "%s/masks/%s.png", set, stem);
}

/* Decode a file as it is (no orientation, bands kept). */
static int gt_load(const char *path, ad_pixmap *pm)
{
    void *buf;
    size_t len;
    ad_err e = AD_ERR_INIT;
    if (ad_file_read(path, 1u << 30, &buf, &len, &e) != AD_OK)
        return 0;
    int ok = ad_image_decode_raw(buf, len, pm, &e) == AD_OK;
    free(buf);
    return ok;
}

/* A predicted mask (its first band) against the truth, same size. */
static gt_score gt_score_mask(const ad_pixmap *pred, const ad_pixmap *gt)
{
    size_t n = (size_t)gt->width * gt->height;
    double mae = 0;
    long inter = 0, uni = 0, npos = 0, pos[256] = {0}, neg[256] = {0};
    for (size_t i = 0; i < n; i++) {
        int p = pred->data[i * pred->bands], g = gt->data[i * gt->bands];
        mae += abs(p - g) / 255.0;
        inter += p >= 128 && g >= 128;
        uni += p >= 128 || g >= 128;
        if (g >= 128)
            pos[p]++, npos++;
        else
            neg[p]++;
    }
    double best = 0;
    long tp = 0, fp = 0;
    for (int t = 255; t >= 0; t--) {
        tp += pos[t];
        fp += neg[t];
        if (tp == 0 || npos == 0)
            continue;
        double prec = (double)tp / (double)(tp + fp), rec = (double)tp / (double)npos;
        double f = 1.3 * prec * rec / (0.3 * prec + rec);
        if (f > best)
            best = f;
    }
    return (gt_score){mae / (double)n, uni ? (double)inter / (double)uni : 1.0, best, 0};
}

/* ISNet medium at this side, as the settings (ASSETD_* variables) say:
 * precision, profile, the model cache. */
/* The model at side (0: the side preset runs at under the settings). */
static inline ad_model *gt_open_model_for(int side, int preset, const char *who)
{
    ad_config cfg;
    ad_err e = AD_ERR_INIT;
    char *argv[] = {(char *)who, NULL};
    int argc = 1;
    ad_model *m = NULL;
    int ok = ad_config_load(&cfg, &argc, argv, &e) == AD_OK;
    if (ok && side == 0)
        side = ad_cutout_preset_side(&cfg, preset);
    if (!ok || ad_calib_open_model(&cfg, ad_cpu_count(), side, &m, &e) != AD_OK) {
        fprintf(stderr, "%s: model at %d: %s\n", who, side, e.msg);
        exit(1);
    }
    ad_config_cleanup(&cfg);
    return m;
}

static inline ad_model *gt_open_model(int side, const char *who) { return gt_open_model_for(side, AD_PRESET_DEFAULT, who); }

#endif
