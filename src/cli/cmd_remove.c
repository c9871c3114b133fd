/* cmd_remove.c — `assetd remove`: the pipeline on files, one or a batch. */
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/version.h"
#include "base/fsutil.h"
#include "base/parallel.h"
#include "calib/model_open.h"
#include "cli/cli.h"
#include "cutout/cutout.h"

/* Input files larger than this are refused before reading (the pixel limit
 * catches decompression bombs; this catches absurd files). */
#define MAX_INPUT_BYTES (1024ull * 1024 * 1024)

/* Read all of stdin (up to MAX_INPUT_BYTES). */
static ad_status read_stdin(void **out, size_t *len, ad_err *err)
{
    size_t cap = 1 << 20, n = 0;
    char *buf = malloc(cap);
    *out = NULL;
    *len = 0;
    if (buf == NULL)
        return ad_err_set(err, AD_ENOMEM, "out of memory");
    for (;;) {
        if (n == cap) {
            if (cap >= MAX_INPUT_BYTES) {
                free(buf);
                return ad_err_set(err, AD_ETOOBIG, "standard input is larger than 1 GiB");
            }
            char *b = realloc(buf, cap *= 2);
            if (b == NULL) {
                free(buf);
                return ad_err_set(err, AD_ENOMEM, "out of memory");
            }
            buf = b;
        }
        size_t k = fread(buf + n, 1, cap - n, stdin);
        n += k;
        if (k == 0)
            break;
    }
    if (ferror(stdin)) {
        free(buf);
        return ad_err_set(err, AD_EIO, "cannot read standard input");
    }
    *out = buf;
    *len = n;
    return AD_OK;
}

/* The option a flag names, dashed or with underscores, "--name" or
 * "--name=value" (then *inline_value points at the value), or NULL. */
static const ad_option_decl *option_of(const char *arg, const char **inline_value)
{
    char name[64];
    *inline_value = NULL;
    if (strncmp(arg, "--", 2) != 0)
        return NULL;
    size_t n = strcspn(arg + 2, "=");
    if (n == 0 || n >= sizeof name)
        return NULL;
    memcpy(name, arg + 2, n);
    name[n] = '\0';
    for (char *p = name; *p; p++)
        if (*p == '-')
            *p = '_';
    const ad_option_decl *od = ad_cutout_option_find(name, 0);
    if (od && arg[2 + n] == '=')
        *inline_value = arg + 3 + n;
    return od;
}

/* The format an output file's name asks for by its extension: -1 when it
 * has none we know (then --format decides alone). */
static int format_of_name(const char *path)
{
    const char *slash = strrchr(path, '/'), *dot = strrchr(path, '.');
    if (dot == NULL || (slash && dot < slash))
        return -1;
    if (strcasecmp(dot, ".png") == 0)
        return AD_FORMAT_PNG;
    if (strcasecmp(dot, ".webp") == 0)
        return AD_FORMAT_WEBP;
    if (strcasecmp(dot, ".jpg") == 0 || strcasecmp(dot, ".jpeg") == 0)
        return AD_FORMAT_JPG;
    return -1;
}

static int remove_one(ad_model *model, const ad_cutout_options *opt, const ad_cutout_limits *lim, const char *in,
                      const char *out, ad_cutout_timing *t)
{
    ad_err err = AD_ERR_INIT;
    void *buf = NULL;
    size_t len = 0;
    ad_cutout_result res = {0};
    const char *in_name = strcmp(in, "-") == 0 ? "standard input" : in;
    ad_status rc =
        strcmp(in, "-") == 0 ? read_stdin(&buf, &len, &err) : ad_file_read(in, MAX_INPUT_BYTES, &buf, &len, &err);
    if (rc == AD_OK)
        rc = ad_cutout_run(model, buf, len, opt, lim, &res, &err);
    if (t)
        *t = res.timing;
    if (rc == AD_OK && strcmp(out, "-") == 0) {
        if (fwrite(res.data, 1, res.len, stdout) != res.len || fflush(stdout) != 0) {
            fprintf(stderr, "assetd: cannot write the result to standard output\n");
            rc = AD_EIO;
        }
    } else if (rc == AD_OK) {
        ad_err werr = AD_ERR_INIT;
        rc = ad_file_write_atomic(out, res.data, res.len, 0666, &werr);
        if (rc != AD_OK)
            fprintf(stderr, "assetd: %s: %s\n", out, werr.msg);
    } else {
        /* ad_file_read already names the path; the pipeline does not. */
        if (strstr(err.msg, in_name) == err.msg)
            fprintf(stderr, "assetd: %s\n", err.msg);
        else
            fprintf(stderr, "assetd: %s: %s\n", in_name, err.msg);
    }
    free(buf);
    ad_cutout_result_cleanup(&res);
    return rc == AD_OK ? 0 : ad_status_exit(rc);
}

/* The options of `assetd remove` after its forms (ad_cli_usage): --mask,
 * then every cut-out option from its declaration, as a dashed flag. */
void ad_cmd_remove_options(FILE *f)
{
    int n;
    const ad_option_decl *d = ad_cutout_option_decls(&n);
    fprintf(f, "options (--name VALUE or --name=VALUE):\n"
               "  --mask                 the 8-bit mask alone (= --channels alpha)\n");
    for (int i = 0; i < n; i++) {
        char flag[64], kind[400];
        ad_config_flag(d[i].name, flag, sizeof flag);
        ad_decl_kind(&d[i], kind, sizeof kind);
        fprintf(f, "  %-22s %s (%s; default %s)\n", flag, d[i].help, kind, *d[i].def ? d[i].def : "none");
    }
    fprintf(f, "  --model medium|small   and every other setting: assetd help\n");
}

/* The folder a file is written into must exist and be writable: checked
 * before the model is loaded, so a typo costs no time. */
static int output_ok(const char *out)
{
    char dir[PATH_MAX];
    struct stat st;
    snprintf(dir, sizeof dir, "%s", out);
    const char *d = dirname(dir);
    if (stat(d, &st) != 0 || !S_ISDIR(st.st_mode)) {
        fprintf(stderr, "assetd: %s: the folder %s does not exist\n", out, d);
        return 0;
    }
    if (access(d, W_OK) != 0) {
        fprintf(stderr, "assetd: %s: the folder %s cannot be written\n", out, d);
        return 0;
    }
    if (stat(out, &st) == 0 && S_ISDIR(st.st_mode)) {
        fprintf(stderr, "assetd: %s: is a folder (use -o DIR for a batch)\n", out);
        return 0;
    }
    return 1;
}

/* Batch output names: DIR/<stem>.png; a stem that another input of the
 * batch has already taken gets -2, -3, ... (never an overwrite). */
static char (*batch_outputs(const char *outdir, const char *const *inputs, int n, const char *ext))[PATH_MAX]
{
    char(*out)[PATH_MAX] = calloc((size_t)n, PATH_MAX);
    if (out == NULL)
        return NULL;
    for (int i = 0; i < n; i++) {
        char base[PATH_MAX];
        snprintf(base, sizeof base, "%s", inputs[i]);
        char *name = basename(base);
        char *dot = strrchr(name, '.');
        if (dot && dot != name)
            *dot = '\0';
        snprintf(out[i], PATH_MAX, "%.3000s/%.200s.%s", outdir, name, ext);
        for (int k = 2, j = 0; j < i; j++)
            if (strcmp(out[i], out[j]) == 0) {
                snprintf(out[i], PATH_MAX, "%.3000s/%.200s-%d.%s", outdir, name, k++, ext);
                j = -1; /* check the new name against all again */
            }
    }
    return out;
}

int ad_cmd_remove(const ad_cli_command *self, ad_config *cfg, int argc, char **argv)
{
    ad_cutout_options opt;
    ad_cutout_limits lim = {(uint64_t)cfg->max_pixels, 0};
    ad_cutout_options_default(&opt);
    char outdir[PATH_MAX] = "";
    const char *inputs[4096];
    int ninputs = 0, format_given = 0;
    for (int i = 1; i < argc; i++) {
        const ad_option_decl *od;
        const char *value;
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            ad_cli_usage(stdout, self);
            return 0;
        } else if (strcmp(argv[i], "--version") == 0) {
            printf("assetd %s\n", AD_VERSION);
            return 0;
        } else if (strcmp(argv[i], "--mask") == 0) {
            opt.channels = AD_CHANNELS_ALPHA; /* the short name for --channels alpha */
        } else if ((od = option_of(argv[i], &value)) != NULL) {
            ad_err oerr = AD_ERR_INIT;
            if (value == NULL && i + 1 >= argc) {
                fprintf(stderr, "assetd remove: %s needs a value\n", argv[i]);
                return 2;
            }
            if (ad_cutout_option_set(&opt, od->name, value ? value : argv[++i], 0, &oerr) != AD_OK) {
                fprintf(stderr, "assetd remove: %s\n", oerr.msg);
                return 2;
            }
            format_given |= strcmp(od->name, "format") == 0;
        } else if (strcmp(argv[i], "-o") == 0) {
            if (i + 1 >= argc || argv[i + 1][0] == '\0') {
                fprintf(stderr, "assetd remove: -o needs a folder\n");
                return 2;
            }
            /* "out/" and "out" name the same folder: no "out//x.png" */
            snprintf(outdir, sizeof outdir, "%s", argv[++i]);
            for (size_t n = strlen(outdir); n > 1 && outdir[n - 1] == '/'; n--)
                outdir[n - 1] = '\0';
        } else if (argv[i][0] == '-' && argv[i][1] != '\0') {
            fprintf(stderr, "assetd remove: unknown option '%s' (assetd remove --help)\n", argv[i]);
            return 2;
        } else if (ninputs < (int)(sizeof inputs / sizeof inputs[0])) {
            inputs[ninputs++] = argv[i];
        } else {
            fprintf(stderr, "assetd remove: too many inputs\n");
            return 2;
        }
    }
    if (!*outdir && ninputs == 0) {
        ad_cli_usage(stderr, self);
        return 2;
    }
    if (!*outdir && ninputs == 1) {
        fprintf(stderr,
                "assetd remove: missing OUTPUT after %s (a file to write, '-' for standard output, "
                "or -o DIR for a batch)\n",
                inputs[0]);
        return 2;
    }
    if (!*outdir && ninputs > 2) {
        fprintf(stderr,
                "assetd remove: %d files given: one INPUT and one OUTPUT, or -o DIR INPUT... for a "
                "batch\n",
                ninputs);
        return 2;
    }
    if (*outdir && ninputs == 0) {
        fprintf(stderr, "assetd remove: -o %s needs at least one INPUT\n", outdir);
        return 2;
    }
    if (!*outdir) {
        /* the output's extension names a format: it must agree with
         * --format, or set it when --format is not given */
        static const char *const names[] = {"png", "webp", "jpg"};
        int named = format_of_name(inputs[1]);
        if (named >= 0 && format_given && named != opt.format) {
            fprintf(stderr, "assetd remove: %s: the name says %s but --format is %s (rename it, or drop one)\n",
                    inputs[1], names[named], names[opt.format]);
            return 2;
        }
        if (named >= 0)
            opt.format = named;
    }
    {
        ad_err oerr = AD_ERR_INIT;
        const char *param = NULL;
        if (ad_cutout_options_check(&opt, &param, &oerr) != AD_OK) {
            fprintf(stderr, "assetd remove: --%s: %s\n", param, oerr.msg);
            return 2;
        }
    }
    char(*outs)[PATH_MAX] = NULL;
    if (*outdir) {
        struct stat st;
        for (int i = 0; i < ninputs; i++)
            if (strcmp(inputs[i], "-") == 0) {
                fprintf(stderr, "assetd remove: '-' (standard input) is for one image, not a batch\n");
                return 2;
            }
        if (stat(outdir, &st) == 0 && !S_ISDIR(st.st_mode)) {
            fprintf(stderr, "assetd: %s: not a folder\n", outdir);
            return 7;
        }
        if (stat(outdir, &st) != 0 && mkdir(outdir, 0777) != 0) {
            fprintf(stderr, "assetd: %s: cannot create the output folder: %s\n", outdir, strerror(errno));
            return 7;
        }
        if (access(outdir, W_OK) != 0) {
            fprintf(stderr, "assetd: %s: the output folder cannot be written\n", outdir);
            return 7;
        }
        static const char *const ext[] = {"png", "webp", "jpg"};
        if ((outs = batch_outputs(outdir, inputs, ninputs, ext[opt.format])) == NULL) {
            fprintf(stderr, "assetd: out of memory\n");
            return 10;
        }
    } else if (strcmp(inputs[1], "-") != 0 && !output_ok(inputs[1])) {
        return 7;
    }

    ad_err err = AD_ERR_INIT;
    ad_model *model = NULL;
    int side = ad_cutout_preset_side(cfg, opt.preset);
    if (ad_calib_open_model(cfg, ad_cpu_count(), side, &model, &err) != AD_OK) {
        fprintf(stderr, "assetd: %s\n", err.msg);
        free(outs);
        return ad_status_exit(err.code);
    }
    int worst = 0, failed = 0;
    if (!*outdir) {
        worst = remove_one(model, &opt, &lim, inputs[0], inputs[1], NULL);
    } else {
        double t0 = ad_clock_ms();
        for (int i = 0; i < ninputs; i++) {
            ad_cutout_timing t = {0};
            int r = remove_one(model, &opt, &lim, inputs[i], outs[i], &t);
            if (r != 0) {
                failed++;
                worst = r;
            } else {
                fprintf(stderr, "[%d/%d] %s -> %s (%dx%d, %.0f ms)\n", i + 1, ninputs, inputs[i], outs[i], t.width,
                        t.height, t.total);
            }
        }
        fprintf(stderr, "done: %d ok, %d failed in %.1f s\n", ninputs - failed, failed, (ad_clock_ms() - t0) / 1000.0);
    }
    free(outs);
    ad_model_close(model);
    return worst;
}
