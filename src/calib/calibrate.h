/* calibrate.h — measure the activation ranges the int8 model is built from
 * (infer/quantize.h): run the fp32 model, with every activation to quantise
 * exposed, over a fixed set of real photos, and keep for each activation the
 * value below which (and above which) only a `tail` fraction of all its
 * values fall. Clipping those rare extremes tracks fp32 better than min/max
 * (measured on ISNet: the 1e-5 tails did best). The tails are exact: the
 * k most extreme values of each side are kept across photos by selection,
 * no histogram.
 *
 * Each photo is used as it is and, mirrored, as its 75% centre crop, so 64
 * photos give 128 samples. */
#ifndef AD_CALIB_CALIBRATE_H
#define AD_CALIB_CALIBRATE_H

#include "base/err.h"
#include "infer/model.h"

#define AD_CALIB_TAIL 1e-5
/* The side calibration runs at: ranges are per activation, not per side,
 * and are used for every side; a smaller side keeps setup quick. */
#define AD_CALIB_SIDE 512

typedef struct {
    const char *const *photos; /* paths */
    int nphotos;
    double tail;      /* fraction clipped on each side, e.g. AD_CALIB_TAIL */
    int max_pixels;   /* decode limit per photo */
    int log_progress; /* log a line every few photos */
} ad_calib_config;

/* The tails of n activations over `samples` samples: feed each sample's
 * values (reordered in place), then read each activation's clip points —
 * the value with a `tail` fraction of all values above it (hi) and below
 * it (lo). Exact; kept in memory: 2 x tail x values x samples floats. */
typedef struct ad_calib_tails ad_calib_tails;
ad_calib_tails *ad_calib_tails_new(int n, double tail, int samples);                /* NULL: out of memory */
int ad_calib_tails_add(ad_calib_tails *t, int index, float *data, size_t n);        /* -1: out of memory */
int ad_calib_tails_range(const ad_calib_tails *t, int index, float *lo, float *hi); /* -1: nothing fed */
void ad_calib_tails_free(ad_calib_tails *t);

/* Run calibration with the probe session `probe` (precision
 * AD_PRECISION_PROBE) and write the ranges to out_path (quantize.h's
 * format, atomically). A photo that does not decode is an error: the set is
 * fixed, so a missing one means a broken setup. */
ad_status ad_calib_run(ad_model *probe, const ad_calib_config *cfg, const char *out_path, ad_err *err);

/* The calibration photos in dir (*.jpg, *.png, sorted by name): *paths is
 * the caller's (free each and the array). Errors: AD_ENOTFOUND (no folder
 * or no photo). */
ad_status ad_calib_list_photos(const char *dir, char ***paths, int *n, ad_err *err);

/* Fill key (>= 65 bytes) with the hex hash naming one calibration: the
 * photos' names and sizes, the tail, the side and the model's identity
 * text (path, size, runtime version). */
void ad_calib_key(const char *const *photos, int n, const char *model_identity, char key[65]);

#endif
