/* cutout.h — the background-removal pipeline: bytes in, PNG out.
 *
 *   decode (image/) -> stretch + normalise (matte/) -> model (infer/)
 *   -> quantise, then upscale + compose fused into the PNG encoder (matte/,
 *      image/png_encode): the RGBA image is produced row by row, never whole
 *
 * Used by the CLI and by the server's workers; reentrant, one model shared by
 * all callers. The result keeps the oriented original's size and its sRGB
 * pixels unchanged, with the mask as alpha (or the mask alone). */
#ifndef AD_CUTOUT_CUTOUT_H
#define AD_CUTOUT_CUTOUT_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "cutout/options.h"
#include "infer/model.h"

/* What the running service or command allows, as opposed to what the
 * caller asks for (options.h). */
typedef struct {
    uint64_t max_pixels; /* refuse larger images (AD_ETOOBIG); 0 = no limit */
    int threads;         /* threads for the per-pixel passes; <= 0: all cores */
} ad_cutout_limits;

/* Wall time of each stage of one run, in ms. */
typedef struct {
    double mask;       /* reading a stored mask (the caller's, api/masks.c); 0 when computed */
    double mask_write; /* keeping a computed mask (the caller's); 0 when stored or not kept */
    double decode, resize, infer;
    double compose; /* quantise + scaler set-up; the per-row compose runs inside encode */
    double encode, total;
    int width, height;
} ad_cutout_timing;

/* A rectangle in pixels. */
typedef struct {
    int left, top, width, height;
} ad_cutout_box;

/* The encoded result; data is owned (ad_cutout_result_cleanup). */
typedef struct {
    void *data;
    size_t len;
    ad_pixmap pixels;         /* AD_CUTOUT_PIXELS: the finished image instead of data (owned) */
    const char *content_type; /* static string, e.g. "image/png" */
    int width, height;        /* of the result (after crop and max_side) */
    ad_cutout_box subject;    /* where alpha >= ~10%, in the oriented original's pixels; width 0: none */
    ad_cutout_timing timing;
} ad_cutout_result;

void ad_cutout_result_cleanup(ad_cutout_result *r);

/* Run the pipeline on an encoded image. The preset's passes run on the
 * model given (the caller picks a smaller one for preset=fast). timing in *out is filled also on
 * failure. Errors: AD_EUNSUPPORTED (not a decodable image), AD_ETOOBIG
 * (pixel limit), AD_EBACKEND (inference), AD_ENOMEM. Nothing is allocated
 * on failure. */
ad_status ad_cutout_run(ad_model *model, const void *buf, size_t len, const ad_cutout_options *opt,
                        const ad_cutout_limits *lim, ad_cutout_result *out, ad_err *err);

/* The model's 8-bit mask at its input side, after the preset's passes and
 * curve: everything a cut-out costs before finishing, which depends only
 * on the source bytes, the model and the preset (what api/masks.c keeps in
 * the store, so that a model pass happens once per image). */
typedef struct {
    uint8_t *data; /* side * side bytes, malloc'd */
    int side;
} ad_cutout_mask;

void ad_cutout_mask_cleanup(ad_cutout_mask *m); /* accepts NULL */

enum {
    /* the finished image as pixels (out->pixels: RGBA, RGB when flattened,
     * grey for channels=alpha), not encoded: opt->format is not applied
     * (a caller that transforms and encodes it itself, api/delivery.c) */
    AD_CUTOUT_PIXELS = 1,
};

/* ad_cutout_run with a mask in hand or wanted. mask->data set: no model
 * pass, only the finishing (model may then be NULL). mask->data NULL: the
 * passes run and, on success, mask gets the mask they made (the caller's
 * to keep or clean up). flags: AD_CUTOUT_*. */
ad_status ad_cutout_run_mask(ad_model *model, const void *buf, size_t len, const ad_cutout_options *opt,
                             const ad_cutout_limits *lim, ad_cutout_mask *mask, unsigned flags, ad_cutout_result *out,
                             ad_err *err);

#endif
