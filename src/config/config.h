/* config.h — every setting of assetd, declared once in one table (config.c):
 * name, type, default, range and help. Flags (--name-with-dashes), environment
 * variables (ASSETD_NAME_WITH_UNDERSCORES), --help and the README's table all
 * derive from it. Precedence: default < file (--config) < environment <
 * command line. Secrets (api_key) are never printed. */
#ifndef AD_CONFIG_CONFIG_H
#define AD_CONFIG_CONFIG_H

#include <stdio.h>

#include "base/err.h"

typedef struct {
    /* engine */
    char *model;               /* "medium" | "small" */
    char *model_dir;           /* folder holding isnet-<model>.onnx */
    char *ort_library;         /* path of libonnxruntime.so */
    char *ort_provider;        /* execution provider */
    char *ort_profile;         /* "lean" | "fast" */
    long long ort_threads;     /* intra-op threads per inference, 0 = all cores */
    long long model_side;      /* model input side, pixels (multiple of 32) */
    long long model_side_fast; /* the side of preset=fast's model */
    long long model_side_best; /* the side of preset=best's model */
    char *model_precision;     /* "int8" | "fp32" (medium only) */
    char *int8_weights;        /* "auto" | "8" | "7" */
    char *calib_dir;           /* int8 calibration photos */
    char *model_cache_dir;     /* optimised-model cache, "" = none */
    long long max_pixels;      /* largest image processed */
    /* service */
    char *listen;       /* HOST:PORT */
    char *data_dir;     /* the embedded store's folder */
    char *store;        /* store backend name */
    char *api_key;      /* seeded at start-up ("" = none) */
    char *cors_origins; /* browser origins allowed ("" = none) */
    char *database_url; /* postgres store (secret) */
    char *s3_endpoint, *s3_bucket, *s3_region;
    char *s3_access_key, *s3_secret_key; /* secrets */
    long long blob_cache_mb;
    long long blob_cache_entries;
    long long store_timeout;
    long long http_threads;    /* I/O threads */
    long long workers;         /* concurrent cut-outs (0: auto) */
    long long queue_depth;     /* cut-outs waiting beyond those running */
    long long max_body;        /* bytes */
    long long max_header;      /* bytes */
    long long max_body_memory; /* MiB of bodies in memory at once */
    long long min_upload_rate; /* bytes/s after 10 s */
    long long max_connections;
    long long max_custom_data;                      /* bytes of custom_data JSON */
    long long cache_mb;                             /* finished cut-outs kept in memory, MiB */
    long long mask_store_mb;                        /* stored masks' bound, MiB (0: none) */
    char *delivery_secrets;                         /* comma-separated (secret) */
    char *public_url;                               /* delivery URLs' origin ("" = the listen address) */
    long long variant_store_mb;                     /* delivery variants' bound, MiB (0: none) */
    long long render_queue;                         /* delivery renders waiting */
    long long request_timeout;                      /* s; idle connection timeout */
    long long header_timeout;                       /* s; a head's whole time */
    long long rate_limit, rate_burst;               /* per key, requests/s (0: none) */
    long long cutout_rate_limit, cutout_rate_burst; /* per key, cut-outs/s (0: none) */
    long long job_attempts;
    long long job_backoff_ms;
    long long job_retention_days;
    long long job_start_delay_ms;
    long long job_lease_ms;
    long long welcome;              /* serve prints a quick start */
    long long gc_grace;             /* s */
    char *allow_private_urls;       /* where outbound requests may go besides public addresses (net/guard.h) */
    long long fetch_timeout;        /* s */
    long long webhook_max_attempts; /* then a delivery is given up */
    long long webhook_max_age;      /* hours */
    long long webhook_log_days;
    long long metrics; /* GET /metrics on the main listener */
    char *config;      /* the settings file read ("" = none) */
} ad_config;

/* Fill cfg from defaults, then the environment, then flags found in argv.
 * Recognised flags (and their values) are removed from argv and *argc is
 * updated; anything else is left for the command. Errors (value out of range,
 * not a number, unknown model): AD_EINVAL naming the setting. Free with
 * ad_config_cleanup even on failure. */
ad_status ad_config_load(ad_config *cfg, int *argc, char **argv, ad_err *err);
void ad_config_cleanup(ad_config *cfg);

/* The path of rel in the deps folder (models, ONNX Runtime, test photos:
 * beside the binary, or PREFIX/lib/assetd when installed), into buf. */
ad_status ad_config_deps_path(const char *rel, char *buf, size_t len);

/* Path of the model file the config selects, into buf. */
ad_status ad_config_model_path(const ad_config *cfg, char *buf, size_t len, ad_err *err);

/* Concurrent cut-outs and ORT intra-op threads per cut-out for this
 * machine: workers and ort_threads as set, or chosen so that
 * workers x threads = cores (one inference with all cores is as fast per
 * image and needs one model arena's memory, not several). */
void ad_config_concurrency(const ad_config *cfg, int *workers, int *threads);

/* An integer setting's value by name; -1 for an unknown or string one. */
long long ad_config_int(const ad_config *cfg, const char *name);

/* A string setting's value by name (snake_case or the flag's spelling);
 * NULL for an unknown or integer setting. Borrowed from cfg. */
const char *ad_config_str(const ad_config *cfg, const char *name);

/* The flag spelling of a setting's or option's name ("s3_bucket" ->
 * "--s3-bucket") into buf. */
void ad_config_flag(const char *name, char *buf, size_t len);

/* One line per setting: flag, environment variable, default, help. */
void ad_config_print_help(FILE *f);

#endif
