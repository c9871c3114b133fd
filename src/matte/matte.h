/* matte.h — the pixel arithmetic around the model: the stretch-to-square and
 * normalisation that build its input, the quantisation of its output, and the
 * upscale of the mask into the alpha channel of the result.
 *
 * On AD_MATTE_GRID_REFERENCE the arithmetic reproduces the reference pipeline
 * (@imgly/background-removal, written up in shared/peers/README.md) exactly:
 * 4-tap bilinear sampling with "asymmetric" coordinates (src = dst * src_len /
 * dst_len, no half-pixel offset), weights and sums in double precision in the
 * reference's order, round-half-up to uint8; input (u8 - 128) / 256 planar
 * RGB; output floor(p * 255). The presets other than reference sample pixel
 * centres instead (ad_matte_grid), and shape the probabilities with a curve.
 * Pure C, no third-party types; every function is reentrant. */
#ifndef AD_MATTE_MATTE_H
#define AD_MATTE_MATTE_H

#include <stddef.h>
#include <stdint.h>

#include "base/pixmap.h"

/* Round a non-negative double half up, as JavaScript's Math.round does. */
static inline uint8_t ad_matte_round_u8(double v)
{
    int i = (int)v; /* v >= 0: truncation is floor */
    if (v - (double)i >= 0.5)
        i++;
    return (uint8_t)(i > 255 ? 255 : i);
}

/* Where a resized pixel samples its source. The reference's "asymmetric"
 * coordinates, src = dst * src_len / dst_len, put every sample up to half a
 * source pixel to the top left of where it belongs (and the last row and
 * column are never reached); pixel centres, src = (dst + 0.5) * scale - 0.5
 * (clamped to the edges), put it where it belongs. The model input and the
 * mask use the same grid, so only the alignment changes; preset=reference
 * keeps the reference's, the other presets sample centres (the 300 ECSSD
 * photos: MAE -1%, docs/engine.md). */
typedef enum { AD_MATTE_GRID_REFERENCE, AD_MATTE_GRID_CENTRED } ad_matte_grid;

/* Bilinear resize of an interleaved u8 image with `bands` channels, producing
 * destination rows [row_begin, row_end) of a dst_w x dst_h image into dst
 * (dst points at row 0 of the whole destination). */
void ad_matte_resize_rows(const uint8_t *src, int src_w, int src_h, int bands, uint8_t *dst, int dst_w, int dst_h,
                          int row_begin, int row_end, ad_matte_grid grid);

/* Build the model input from an RGB pixmap: resize to side x side, then
 * planar float32 (u8 - 128) / 256 into tensor[3 * side * side]. */
ad_status ad_matte_prepare_input(const ad_pixmap *rgb, int side, ad_matte_grid grid, float *tensor, ad_err *err);

/* Convert model probabilities (already sigmoid) to an 8-bit mask:
 * floor(p * 255) computed in double, clamped to [0, 255]. */
void ad_matte_quantise(const float *prob, size_t n, uint8_t *mask);

/* The contrast curve of the presets, in place. First a lean to the
 * subject: the odds times e^0.5, so 0.378 becomes the midpoint (the model
 * misses parts of subjects far more than it invents them, and 0.5 is not
 * the best threshold on average). Then smoothstep 3p^2 - 2p^3 four times
 * (confident pixels get more so), but never flatter than one 8-bit level
 * per doubling of p (or 1 - p) past 0.01, so thresholds in the tails still
 * separate pixels (maxF). 0 and 1 stay put. On 300 ECSSD photos, one pass:
 * MAE -2% for the lean, -2% and maxF +0.005 for the tail (bench/curve_bench,
 * docs/engine.md). */
void ad_matte_curve(float *prob, size_t n);

/* The mirrored pass of the best preset: flip each plane of a planar
 * tensor (planes of side x side) left to right, in place. */
void ad_matte_flip_planes(float *tensor, int planes, int side);

/* prob = ((p^4 + q^4) / 2)^(1/4), q the pass on the mirrored input brought
 * back: best's combination of its two passes, the power mean of order 4,
 * a soft maximum. Where one pass misses part of the subject (the model's
 * commonest large error) the other's finding wins; where both agree the
 * value stays (bench/curve_bench -m compares it with the plain mean, the
 * log-odds mean and the maximum). */
void ad_matte_combine_mirrored(float *prob, const float *flipped, int side);

/* Upscaling of a mask to an image's size, one row at a time: the sampling
 * tables are computed once, then rows may be produced in any order from any
 * number of threads (the scaler is read-only after init). */
typedef struct {
    const uint8_t *mask; /* borrowed; must outlive the scaler */
    int mask_w, mask_h, width, height;
    int *x1, *x2, *y1, *y2;
    double *dx, *dy;
} ad_matte_scaler;

/* Fails with AD_ENOMEM or AD_EINVAL (bad sizes); clean up either way. */
ad_status ad_matte_scaler_init(ad_matte_scaler *s, const uint8_t *mask, int mask_w, int mask_h, int width, int height,
                               ad_matte_grid grid, ad_err *err);
void ad_matte_scaler_cleanup(ad_matte_scaler *s);

/* Write row y of the upscaled mask: width values, one every `step` bytes of
 * out (1 for a grey mask, 4 to fill the alpha of RGBA). */
void ad_matte_scaler_row(const ad_matte_scaler *s, int y, uint8_t *out, int step);

/* Row y of the cut-out: RGB from rgb's row y untouched, alpha from the
 * scaler. out holds width * 4 bytes. */
void ad_matte_compose_row(const ad_matte_scaler *s, const ad_pixmap *rgb, int y, uint8_t *out);

/* Whole-image forms of the two above, on `threads` threads (<= 0: all
 * cores); out is allocated by the caller at rgb's size with 4 bands (compose)
 * or 1 band (upscale). */
ad_status ad_matte_compose(const ad_pixmap *rgb, const uint8_t *mask, int mask_w, int mask_h, ad_pixmap *out,
                           ad_matte_grid grid, int threads, ad_err *err);
ad_status ad_matte_upscale(const uint8_t *mask, int mask_w, int mask_h, ad_pixmap *out, ad_matte_grid grid, int threads,
                           ad_err *err);

#endif
