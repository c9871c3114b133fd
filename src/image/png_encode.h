/* png_encode.h — a fast, lossless PNG writer for 8-bit grey or RGBA pixmaps.
 *
 * Why our own: the result PNG of a 12 MP photo is 48 MB of RGBA, and libpng's
 * defaults spend ~1 s on it, longer than the model. This writer filters rows
 * and deflates horizontal bands on several threads at once (as pigz does):
 * each band is a raw deflate stream ended with a sync flush, so the bands
 * concatenate into one valid zlib stream; each band becomes its own IDAT
 * chunk, and the Adler-32 of the whole is combined from the bands'. */
#ifndef AD_IMAGE_PNG_ENCODE_H
#define AD_IMAGE_PNG_ENCODE_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "base/pixmap.h"

typedef struct {
    int level;    /* zlib level 0..9 */
    int strategy; /* zlib strategy (Z_DEFAULT_STRATEGY, Z_RLE, Z_HUFFMAN_ONLY, ...) */
    int filter;   /* PNG row filter 0..4 (none, sub, up, average, paeth) */
    int threads;  /* <= 0: all cores */
} ad_png_options;

/* The defaults chosen by bench/png_bench (see docs/engine.md). */
void ad_png_options_default(ad_png_options *opt);

/* Produces row y (width * bands bytes) into out. Called from several threads
 * at once, for different rows; each row may be asked for more than once. */
typedef void (*ad_png_row_fn)(void *ctx, int y, uint8_t *out);

/* Encode an image whose rows come from row_fn: 1 band (grey), 3 (RGB) or 4 (RGBA).
 * The pixels never need to exist all at once, which is how the pipeline
 * composes the cut-out while encoding it. On success *png is a new malloc'd
 * buffer the caller frees. Errors: AD_EINVAL (bad geometry), AD_ENOMEM. */
ad_status ad_png_encode_rows(int width, int height, int bands, ad_png_row_fn row_fn, void *ctx,
                             const ad_png_options *opt, void **png, size_t *len, ad_err *err);

/* Encode a pixmap (1, 3 or 4 bands); opt may be NULL for the defaults. */
ad_status ad_png_encode(const ad_pixmap *pm, const ad_png_options *opt, void **png, size_t *len, ad_err *err);

#endif
