/* cmd_remove.c — `assetd remove`: the pipeline on files, one or a batch. */
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/clock.h"
#include "base/fsutil.h"
#include "base/parallel.h"
#include "cli/cli.h"
#include "cutout/cutout.h"

/* Input files larger than this are refused before reading (the pixel limit
 * catches decompression bombs; this catches absurd files). */
#define MAX_INPUT_BYTES (1024ull * 1024 * 1024)

static int remove_one(ad_model *model, const ad_cutout_options *opt, const ad_cutout_limits *lim, const char *in,
                      const char *out, ad_cutout_timing *t)
{
    ad_err err = AD_ERR_INIT;
    void *buf = NULL;
    size_t len = 0;
    ad_cutout_result res = {0};
    ad_status rc = ad_file_read(in, MAX_INPUT_BYTES, &buf, &len, &err);
    if (rc == AD_OK)
        rc = ad_cutout_run(model, buf, len, opt, lim, &res, &err);
    if (t)
        *t = res.timing;
    if (rc == AD_OK) {
        ad_err werr = AD_ERR_INIT;
        rc = ad_file_write_atomic(out, res.data, res.len, 0666, &werr);
        if (rc != AD_OK)
            fprintf(stderr, "assetd: %s: %s\n", out, werr.msg);
    } else {
        /* ad_file_read already names the path; the pipeline does not. */
        if (strstr(err.msg, in) == err.msg)
            fprintf(stderr, "assetd: %s\n", err.msg);
        else
            fprintf(stderr, "assetd: %s: %s\n", in, err.msg);
    }
    free(buf);
    ad_cutout_result_cleanup(&res);
    return rc == AD_OK ? 0 : ad_status_exit(rc);
}

int ad_cmd_remove(ad_config *cfg, int argc, char **argv)
{
    ad_cutout_options opt;
    ad_cutout_limits lim = {(uint64_t)cfg->max_pixels, 0};
    ad_cutout_options_default(&opt);
    const char *outdir = NULL;
    const char *inputs[4096];
    int ninputs = 0;
    for (int i = 1; i < argc; i++) {
        const ad_option_decl *od;
        if (strcmp(argv[i], "--mask") == 0) {
            opt.channels = AD_CHANNELS_ALPHA; /* the short name for --channels alpha */
        } else if (strncmp(argv[i], "--", 2) == 0 && (od = ad_cutout_option_find(argv[i] + 2, 0)) != NULL) {
            ad_err oerr = AD_ERR_INIT;
            if (i + 1 >= argc) {
                fprintf(stderr, "assetd remove: %s needs a value\n", argv[i]);
                return 2;
            }
            if (ad_cutout_option_set(&opt, od->name, argv[++i], 0, &oerr) != AD_OK) {
                fprintf(stderr, "assetd remove: %s\n", oerr.msg);
                return 2;
            }
        } else if (strcmp(argv[i], "-o") == 0 && i + 1 < argc) {
            outdir = argv[++i];
        } else if (argv[i][0] == '-' && argv[i][1] != '\0') {
            fprintf(stderr, "assetd remove: unknown option '%s'\n", argv[i]);
            return 2;
        } else if (ninputs < (int)(sizeof inputs / sizeof inputs[0])) {
            inputs[ninputs++] = argv[i];
        } else {
            fprintf(stderr, "assetd remove: too many inputs\n");
            return 2;
        }
    }
    if (outdir == NULL && ninputs != 2) {
        fprintf(stderr, "usage: assetd remove [--model medium|small] [--mask] INPUT OUTPUT.png\n"
                        "       assetd remove [--model medium|small] [--mask] -o DIR INPUT...\n");
        return 2;
    }
    if (outdir && ninputs == 0) {
        fprintf(stderr, "assetd remove: no inputs given\n");
        return 2;
    }
    if (outdir) {
        struct stat st;
        if (stat(outdir, &st) != 0 && mkdir(outdir, 0777) != 0) {
            fprintf(stderr, "assetd: %s: cannot create output folder\n", outdir);
            return 7;
        }
    }

    ad_err err = AD_ERR_INIT;
    ad_model *model = NULL;
    if (ad_cli_open_model(cfg, ad_cpu_count(), &model, &err) != AD_OK) {
        fprintf(stderr, "assetd: %s\n", err.msg);
        return ad_status_exit(err.code);
    }
    int worst = 0, failed = 0;
    if (outdir == NULL) {
        worst = remove_one(model, &opt, &lim, inputs[0], inputs[1], NULL);
    } else {
        double t0 = ad_clock_ms();
        for (int i = 0; i < ninputs; i++) {
            char base[PATH_MAX], out[PATH_MAX];
            snprintf(base, sizeof base, "%s", inputs[i]);
            char *name = basename(base);
            char *dot = strrchr(name, '.');
            if (dot && dot != name)
                *dot = '\0';
            snprintf(out, sizeof out, "%s/%s.png", outdir, name);
            ad_cutout_timing t = {0};
            int r = remove_one(model, &opt, &lim, inputs[i], out, &t);
            if (r != 0) {
                failed++;
                worst = r;
            } else {
                fprintf(stderr, "[%d/%d] %s -> %s (%dx%d, %.0f ms)\n", i + 1, ninputs, inputs[i], out, t.width,
                        t.height, t.total);
            }
        }
        fprintf(stderr, "done: %d ok, %d failed in %.1f s\n", ninputs - failed, failed, (ad_clock_ms() - t0) / 1000.0);
    }
    ad_model_close(model);
    return worst;
}
