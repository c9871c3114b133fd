/* config.h — every setting of assetd, declared once in one table (config.c):
 * name, type, default, range and help. Flags (--name-with-dashes), environment
 * variables (ASSETD_NAME_WITH_UNDERSCORES), --help and the README's table all
 * derive from it. Precedence: default < environment < command line. */
#ifndef AD_CONFIG_CONFIG_H
#define AD_CONFIG_CONFIG_H

#include <stdio.h>

#include "base/err.h"

typedef struct {
    /* engine */
    char *model;            /* "medium" | "small" */
    char *model_dir;        /* folder holding isnet-<model>.onnx */
    char *ort_library;      /* path of libonnxruntime.so */
    char *ort_provider;     /* execution provider */
    char *ort_profile;      /* "lean" | "fast" */
    long long ort_threads;  /* intra-op threads per inference, 0 = all cores */
    long long max_pixels;   /* largest image processed */
} ad_config;

/* Fill cfg from defaults, then the environment, then flags found in argv.
 * Recognised flags (and their values) are removed from argv and *argc is
 * updated; anything else is left for the command. Errors (value out of range,
 * not a number, unknown model): AD_EINVAL naming the setting. Free with
 * ad_config_cleanup even on failure. */
ad_status ad_config_load(ad_config *cfg, int *argc, char **argv, ad_err *err);
void ad_config_cleanup(ad_config *cfg);

/* Path of the model file the config selects, into buf. */
ad_status ad_config_model_path(const ad_config *cfg, char *buf, size_t len, ad_err *err);

/* One line per setting: flag, environment variable, default, help. */
void ad_config_print_help(FILE *f);

#endif
