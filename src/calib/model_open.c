/* model_open.c — see model_open.h. */
#include "calib/model_open.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/log.h"
#include "base/fsutil.h"
#include "base/sha256.h"
#include "calib/calibrate.h"

static void base_config(const ad_config *cfg, int threads, int side, const char *path, ad_model_config *mc)
{
    ad_model_config_defaults(mc);
    mc->ort_library = cfg->ort_library;
    mc->model_path = path;
    mc->provider = cfg->ort_provider;
    mc->profile = strcmp(cfg->ort_profile, "fast") == 0 ? AD_MODEL_FAST : AD_MODEL_LEAN;
    mc->intra_threads = cfg->ort_threads > 0 ? (int)cfg->ort_threads : threads;
    mc->side = side;
    mc->cache_dir = cfg->model_cache_dir;
}

int ad_calib_int8(const ad_config *cfg)
{
    return strcmp(cfg->model, "medium") == 0 && strcmp(cfg->model_precision, "int8") == 0;
}

int ad_calib_weight_bits(const ad_config *cfg)
{
    /* Without VNNI, ORT's u8 x s8 kernels add products in pairs into
     * int16 and saturate at full 8-bit weights: use 7 bits there. */
    if (strcmp(cfg->int8_weights, "auto") == 0)
        return ad_model_cpu_has_vnni() ? 8 : 7;
    return strcmp(cfg->int8_weights, "7") == 0 ? 7 : 8;
}

const char *ad_calib_precision(const ad_config *cfg)
{
    if (strcmp(cfg->model, "small") == 0)
        return "uint8";
    if (!ad_calib_int8(cfg))
        return "fp32";
    return ad_calib_weight_bits(cfg) == 8 ? "int8" : "int8-w7"; /* 7-bit weights: other numbers */
}

ad_status ad_calib_ranges(const ad_config *cfg, int threads, char *out, size_t len, ad_err *err)
{
    char model[4096], identity[4400];
    char **photos = NULL;
    int n = 0;
    ad_model *probe = NULL;
    ad_status rc;
    struct stat ms = {0}, ls = {0};
    if (!*cfg->model_cache_dir)
        return ad_err_set(err, AD_EINVAL, "model_precision int8 needs a model_cache_dir for its calibration");
    if ((rc = ad_config_model_path(cfg, model, sizeof model, err)) != AD_OK)
        return rc;
    if ((rc = ad_calib_list_photos(cfg->calib_dir, &photos, &n, err)) != AD_OK) {
        ad_err_set(err, rc, "%s; or use --model-precision fp32", err->msg);
        return rc;
    }
    /* The model by content (size and hashes of its ends: an installed copy
     * of the same file finds the same ranges), the runtime by size. */
    FILE *f = fopen(model, "rb");
    if (f == NULL) {
        rc = ad_err_set(err, AD_ENOTFOUND, "model file %s not found (run scripts/setup.sh)", model);
        goto out;
    }
    if (fstat(fileno(f), &ms) != 0 || !S_ISREG(ms.st_mode)) {
        fclose(f); /* a pipe would block the reads below, and the load after */
        rc = ad_err_set(err, AD_EBACKEND, "model file %s is not a regular file", model);
        goto out;
    }
    stat(cfg->ort_library, &ls);
    fclose(f);
    char ends[65];
    ad_file_ends_sha256(model, ends);
    snprintf(identity, sizeof identity, "%s|%lld|%s|%lld", cfg->model, (long long)ms.st_size, ends,
             (long long)ls.st_size);
    char key[65];
    ad_calib_key((const char *const *)photos, n, identity, key);
    snprintf(out, len, "%s/calib-%.16s.txt", cfg->model_cache_dir, key);
    if (access(out, R_OK) == 0)
        goto out;
    if (mkdir(cfg->model_cache_dir, 0755) != 0 && access(cfg->model_cache_dir, W_OK) != 0) {
        rc = ad_err_set(err, AD_EIO, "cannot create %s", cfg->model_cache_dir);
        goto out;
    }
    ad_log(AD_LOG_INFO, "model", "calibrating the int8 model on %d photos from %s (once per machine)", n,
           cfg->calib_dir);
    ad_model_config mc;
    base_config(cfg, threads, AD_CALIB_SIDE, model, &mc);
    mc.precision = AD_PRECISION_PROBE;
    mc.profile = AD_MODEL_LEAN;
    if ((rc = ad_model_open(&mc, &probe, err)) != AD_OK)
        goto out;
    ad_calib_config cc = {
        .photos = (const char *const *)photos,
        .nphotos = n,
        .tail = AD_CALIB_TAIL,
        .max_pixels = (int)(cfg->max_pixels < 100000000 ? cfg->max_pixels : 100000000),
        .log_progress = 1,
    };
    rc = ad_calib_run(probe, &cc, out, err);
out:
    ad_model_close(probe);
    for (int i = 0; i < n; i++)
        free(photos[i]);
    free(photos);
    return rc;
}

ad_status ad_calib_open_model(const ad_config *cfg, int threads, int side, ad_model **out, ad_err *err)
{
    char path[4096], ranges[4200];
    ad_status rc = ad_config_model_path(cfg, path, sizeof path, err);
    if (rc != AD_OK)
        return rc;
    ad_model_config mc;
    base_config(cfg, threads, side, path, &mc);
    if (ad_calib_int8(cfg)) {
        if ((rc = ad_calib_ranges(cfg, threads, ranges, sizeof ranges, err)) != AD_OK)
            return rc;
        mc.precision = AD_PRECISION_INT8;
        mc.ranges_path = ranges;
        mc.weight_bits = ad_calib_weight_bits(cfg);
    }
    return ad_model_open(&mc, out, err);
}
