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
#include "cutout/cutout.h"
#include "gtset.h"

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
    char **names = NULL;
    int n = gt_list(set, max, &names);
    if (n < 0) {
        fprintf(stderr, "preset_bench: no %s/images\n", set);
        return 1;
    }

    char list[256];
    snprintf(list, sizeof list, "%s", presets);
    gt_score *def = NULL;
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
        ad_model *m = gt_open_model_for(0, opt.preset, "preset_bench");
        int side = ad_model_side(m);
        gt_score *s = calloc((size_t)n, sizeof *s);
        double sum_mae = 0, sum_iou = 0, sum_f = 0, sum_ms = 0;
        ad_cutout_limits lim = {.max_pixels = 400000000};
        for (int i = 0; i < n; i++) {
            char ip[2048], mp[2048];
            gt_paths(set, names[i], ip, mp, sizeof ip);
            void *buf;
            size_t len;
            ad_cutout_result res;
            ad_pixmap pred = {0}, gt = {0};
            if (ad_file_read(ip, 1u << 30, &buf, &len, &e) != AD_OK ||
                ad_cutout_run(m, buf, len, &opt, &lim, &res, &e) != AD_OK ||
                ad_image_decode_raw(res.data, res.len, &pred, &e) != AD_OK || !gt_load(mp, &gt) ||
                gt.width != pred.width || gt.height != pred.height) {
                fprintf(stderr, "preset_bench: %s: %s\n", names[i], e.msg);
                return 1;
            }
            s[i] = gt_score_mask(&pred, &gt);
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
