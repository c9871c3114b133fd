/* model_open.h — the model the settings name, opened ready to run: for the
 * int8 precision, the activation ranges are measured first when this
 * machine has none yet for this model, runtime and photo set (~1 min, once;
 * kept in the model cache under a name hashing all three), then the
 * quantised graph is built (and cached by infer/model_ort.c). The CLI, the
 * server and the benchmarks all open their model here, so they run the
 * same arithmetic. */
#ifndef AD_CALIB_MODEL_OPEN_H
#define AD_CALIB_MODEL_OPEN_H

#include <stddef.h>

#include "base/err.h"
#include "config/config.h"
#include "infer/model.h"

/* Is the int8 model in force (model_precision int8 on the medium model)? */
int ad_calib_int8(const ad_config *cfg);

/* Bits of the int8 model's weights: the int8_weights setting, where
 * "auto" is 8 on a CPU with VNNI and 7 without. */
int ad_calib_weight_bits(const ad_config *cfg);

/* The arithmetic in force, for ids and labels: "int8", "int8-w7" (7-bit
 * weights, a CPU without VNNI), "fp32" or "uint8" (the small model's
 * dynamic quantisation). Static string. */
const char *ad_calib_precision(const ad_config *cfg);

/* The int8 model's ranges file into out (calibrated now if missing).
 * threads: ORT threads when the settings leave them at 0. Errors: those of
 * calibration (AD_ENOTFOUND without photos: the message says to run
 * scripts/setup.sh or use fp32), AD_EINVAL (no model cache dir). */
ad_status ad_calib_ranges(const ad_config *cfg, int threads, char *out, size_t len, ad_err *err);

/* Open the configured model at side x side. The caller closes *out. */
ad_status ad_calib_open_model(const ad_config *cfg, int threads, int side, ad_model **out, ad_err *err);

#endif
