/* finish.h — the output options applied to a finished matte (private to
 * cutout/): the subject's colour at soft edges, crop to the subject with a
 * margin, shrink, flatten onto a colour, clear transparent colour, and the
 * encoding (PNG, lossless WebP, JPEG). Runs on whole images in memory; the
 * plain result (no such option) takes the streamed path in cutout.c. */
#ifndef AD_CUTOUT_FINISH_H
#define AD_CUTOUT_FINISH_H

#include "cutout/cutout.h"
#include "matte/matte.h"

/* alpha >= this counts as the subject for its box (about 10%: soft hair
 * is inside the box, faint noise far away is not) */
#define AD_CUTOUT_BOX_ALPHA 26

/* rgb: the oriented original (3 bands); scaler: the mask brought to rgb's
 * size. Fills out's data, len, content_type, width, height and subject
 * (pixels: out->pixels instead of data, len and content_type, and
 * opt->format not applied). Errors: AD_ENOMEM, AD_EBACKEND (encoder). */
ad_status ad_cutout_finish(const ad_pixmap *rgb, const ad_matte_scaler *scaler, const ad_cutout_options *opt,
                           int threads, int pixels, ad_cutout_result *out, ad_err *err);

#endif
