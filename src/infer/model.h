/* model.h — the segmentation model (ISNet) as a session of ONNX Runtime,
 * which is loaded with dlopen from a configurable path so the binary does not
 * depend on one ORT build (a GPU build can be pointed at in config). This is
 * the only module that sees ORT's API.
 *
 * One ad_model is shared by all worker threads: ad_model_run is thread-safe
 * (ORT's Run is), each call uses its own input and output buffers. */
#ifndef AD_INFER_MODEL_H
#define AD_INFER_MODEL_H

#include <stddef.h>

#include "base/err.h"

/* The side the ISNet export was made for. The session runs at the side
 * configured (a multiple of 32, see isnet_graph.h): input float32
 * [1,3,S,S], output float32 [1,1,S,S] (probabilities, already sigmoid). */
#define AD_MODEL_EXPORT_SIDE 1024

typedef struct ad_model ad_model;

/* Memory/speed trade-off of the ORT session (figures: ISNet medium, 896^2,
 * 2 threads, process peak; see docs/engine.md). */
typedef enum {
    AD_MODEL_LEAN, /* extended graph optimisations: ~1.3 s, ~0.65 GB */
    AD_MODEL_FAST, /* all optimisations incl. NCHWc layout: ~0.95 s, ~1.2 GB */
} ad_model_profile;

/* Arithmetic of the session. int8 is the fp32 graph with QDQ pairs from a
 * calibration (quantize.h); probe is the fp32 graph with every activation
 * int8 needs a range for also declared an output (calibration runs it). */
typedef enum {
    AD_PRECISION_FP32,
    AD_PRECISION_INT8,
    AD_PRECISION_PROBE,
} ad_model_precision;

typedef struct {
    const char *ort_library; /* path of libonnxruntime.so */
    const char *model_path;  /* .onnx file */
    int intra_threads;       /* ORT intra-op threads; <= 0: all cores */
    int spin;                /* let ORT's pool spin-wait (fast, burns CPU when idle) */
    ad_model_profile profile;
    const char *provider;  /* execution provider: "cpu" (the only one built in) */
    int side;              /* input side S, pixels; the graph is re-targeted to it at load */
    const char *cache_dir; /* where the optimised graph is kept between starts (fast
                            * profile); NULL or "": no cache */
    ad_model_precision precision;
    const char *ranges_path; /* int8: the calibration's ranges (calib.h's file) */
    int weight_bits;         /* int8: 8, or 7 where the CPU lacks VNNI (quantize.h) */
} ad_model_config;

/* Defaults tuned on a 2-core machine (see docs/engine.md). */
void ad_model_config_defaults(ad_model_config *cfg);

/* Load the runtime and the model, check that the model has the expected input
 * and output. Errors: AD_ENOTFOUND (file missing), AD_EBACKEND (library or
 * model rejected; the message carries ORT's text), AD_EINVAL (bad config).
 * The caller owns *out and frees it with ad_model_close. */
ad_status ad_model_open(const ad_model_config *cfg, ad_model **out, ad_err *err);

/* The input side S the session was opened with. */
int ad_model_side(const ad_model *m);

/* 1 when the session was loaded from the optimised-model cache. */
int ad_model_from_cache(const ad_model *m);

/* The runtime's version text (ONNX Runtime's, static). */
const char *ad_model_runtime_version(const ad_model *m);

/* Run one inference. input: 3*S*S floats (planar, normalised); output: S*S
 * floats. Thread-safe; blocks for the duration of the inference. */
ad_status ad_model_run(ad_model *m, const float *input, float *output, ad_err *err);

/* The activations a probe session outputs (besides "output"), in order;
 * borrowed, valid until ad_model_close. 0 for other precisions. */
int ad_model_probe_names(const ad_model *m, const char *const **names);

/* Run a probe session and hand each activation to fn (index into the
 * probe names, n floats; the data is fn's to reorder, not to keep).
 * Errors: AD_EINVAL (not a probe session), AD_EBACKEND. */
typedef void (*ad_model_probe_fn)(void *user, int index, float *data, size_t n);
ad_status ad_model_probe(ad_model *m, const float *input, ad_model_probe_fn fn, void *user, ad_err *err);

/* Does this CPU have the int8 dot-product instructions (AVX-512 VNNI or
 * AVX-VNNI) that let ORT use full 8-bit weights without saturation? */
int ad_model_cpu_has_vnni(void);

/* Release the session. Accepts NULL. */
void ad_model_close(ad_model *m);

#endif
