/* preset_bench.c — each preset's time beside its quality, on a set with
 * ground truth (../shared/data/bgeval or bgeval-ecssd300: images/ and
 * masks/, read in place). For each preset the pipeline runs in-process
 * (as the server's workers do) with channels=alpha; per image it scores
 * MAE, IoU at 0.5 and max F-beta (beta^2 = 0.3, 256 thresholds, as
 * ../shared/data/score.py does), and per preset it prints the means, the
 * time per image, and the paired count of images better / worse than the
 * default preset by MAE (20 photos cannot rank small differences; the 300
 * can).
 *
 *   build/bench/preset_bench [-n MAX] [-p preset,preset] SET_DIR */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/fsutil.h"
#include "cutout/cutout.h"
#include "image/image.h"
#include "infer/model.h"

typedef struct {
    double mae, iou, maxf, ms;
} score;

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static int load(const char *path, ad_pixmap *pm)
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

static score score_mask(const ad_pixmap *pred, const ad_pixmap *gt)
{
    size_t n = (size_t)gt->width * gt->height;
    double mae = 0;
    long inter = 0, uni = 0, npos = 0;
    long pos[256] = {0}, neg[256] = {0};
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
    return (score){mae / (double)n, uni ? (double)inter / (double)uni : 1.0, best, 0};
}

static ad_model *open_model(int side)
{
    ad_model_config mc;
    ad_model_config_defaults(&mc);
    mc.ort_library = "deps/onnxruntime/lib/libonnxruntime.so";
    mc.model_path = "deps/models/isnet-medium.onnx";
    mc.cache_dir = "deps/model-cache";
    mc.side = side;
    ad_model *m = NULL;
    ad_err e = AD_ERR_INIT;
    if (ad_model_open(&mc, &m, &e) != AD_OK) {
        fprintf(stderr, "preset_bench: model at %d: %s\n", side, e.msg);
        exit(1);
    }
    return m;
}

int main(int argc, char **argv)
{
    int max = 1000000;
    const char *presets = "default,reference,fast,best";
    const char *set = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-n") == 0 && i + 1 < argc)
            max = atoi(argv[++i]);
        else if (strcmp(argv[i], "-p") == 0 && i + 1 < argc)
            presets = argv[++i];
        else
            set = argv[i];
    }
    if (set == NULL) {
        fprintf(stderr, "usage: preset_bench [-n MAX] [-p preset,...] SET_DIR\n");
        return 2;
    }
    ad_err e = AD_ERR_INIT;
    if (ad_image_startup(argv[0], &e) != AD_OK)
        return 1;
    char dir[1024];
    snprintf(dir, sizeof dir, "%s/images", set);
    DIR *d = opendir(dir);
    if (d == NULL) {
        fprintf(stderr, "preset_bench: no %s\n", dir);
        return 1;
    }
    char **names = NULL;
    int n = 0;
    struct dirent *de;
    while ((de = readdir(d)))
        if (de->d_name[0] != '.') {
            names = realloc(names, sizeof *names * (size_t)(n + 1));
            names[n++] = strdup(de->d_name);
        }
    closedir(d);
    qsort(names, (size_t)n, sizeof *names, cmp_str);
    if (n > max)
        n = max;

    char list[256];
    snprintf(list, sizeof list, "%s", presets);
    score *def = NULL;
    printf("# %d images from %s; channels=alpha, in-process, one cut-out at a time\n", n, set);
    printf("%-10s %5s %9s %8s %7s %7s %s\n", "preset", "side", "ms/image", "MAE", "IoU", "maxF", "vs default (MAE)");
    for (char *tok = strtok(list, ","); tok; tok = strtok(NULL, ",")) {
        ad_cutout_options opt;
        ad_cutout_options_default(&opt);
        if (ad_cutout_option_set(&opt, "preset", tok, 0, &e) != AD_OK) {
            fprintf(stderr, "preset_bench: %s\n", e.msg);
            return 2;
        }
        opt.channels = AD_CHANNELS_ALPHA;
        int side = opt.preset == AD_PRESET_FAST ? 640 : 896;
        ad_model *m = open_model(side);
        score *s = calloc((size_t)n, sizeof *s);
        double sum_mae = 0, sum_iou = 0, sum_f = 0, sum_ms = 0;
        ad_cutout_limits lim = {.max_pixels = 400000000};
        for (int i = 0; i < n; i++) {
            char ip[2048], mp[2048], stem[512];
            snprintf(ip, sizeof ip, "%s/images/%s", set, names[i]);
            snprintf(stem, sizeof stem, "%s", names[i]);
            char *dot = strrchr(stem, '.');
            if (dot)
                *dot = '\0';
            snprintf(mp, sizeof mp, "%s/masks/%s.png", set, stem);
            void *buf;
            size_t len;
            ad_cutout_result res;
            ad_pixmap pred = {0}, gt = {0};
            if (ad_file_read(ip, 1u << 30, &buf, &len, &e) != AD_OK ||
                ad_cutout_run(m, buf, len, &opt, &lim, &res, &e) != AD_OK ||
                ad_image_decode_raw(res.data, res.len, &pred, &e) != AD_OK || !load(mp, &gt) ||
                gt.width != pred.width || gt.height != pred.height) {
                fprintf(stderr, "preset_bench: %s: %s\n", names[i], e.msg);
                return 1;
            }
            s[i] = score_mask(&pred, &gt);
            s[i].ms = res.timing.total;
            sum_mae += s[i].mae, sum_iou += s[i].iou, sum_f += s[i].maxf, sum_ms += s[i].ms;
            ad_cutout_result_cleanup(&res);
            ad_pixmap_cleanup(&pred);
            ad_pixmap_cleanup(&gt);
            free(buf);
        }
        char vs[64] = "-";
        if (def && opt.preset != AD_PRESET_DEFAULT) {
            int better = 0, worse = 0;
            for (int i = 0; i < n; i++)
                better += s[i].mae<def[i].mae - 1e-6, worse += s[i].mae> def[i].mae + 1e-6;
            snprintf(vs, sizeof vs, "better on %d, worse on %d", better, worse);
        }
        printf("%-10s %5d %9.0f %8.4f %7.3f %7.3f %s\n", tok, side, sum_ms / n, sum_mae / n, sum_iou / n, sum_f / n,
               vs);
        fflush(stdout);
        if (opt.preset == AD_PRESET_DEFAULT)
            def = s;
        else
            free(s);
        ad_model_close(m);
    }
    /* (a preset listed before the default gets no paired count) */
    free(def);
    for (int i = 0; i < n; i++)
        free(names[i]);
    free(names);
    ad_image_shutdown();
    return 0;
}
