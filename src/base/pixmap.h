/* pixmap.h — a plain interleaved 8-bit pixel buffer, the currency between the
 * image (libvips), matte and encoder modules. No third-party types cross. */
#ifndef AD_BASE_PIXMAP_H
#define AD_BASE_PIXMAP_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"

typedef struct {
    int width;
    int height;
    int bands;     /* 1 (mask), 3 (RGB) or 4 (RGBA) */
    uint8_t *data; /* width*height*bands bytes, rows packed; owned by the pixmap */
} ad_pixmap;

/* Allocate an uninitialised pixmap. Fails with AD_ENOMEM or AD_EINVAL (bad
 * sizes or overflow); on failure *pm is zeroed. Free with ad_pixmap_cleanup. */
ad_status ad_pixmap_init(ad_pixmap *pm, int width, int height, int bands, ad_err *err);

/* Release the pixels; pm itself is caller storage. Safe on a zeroed pixmap. */
void ad_pixmap_cleanup(ad_pixmap *pm);

static inline size_t ad_pixmap_stride(const ad_pixmap *pm) { return (size_t)pm->width * (size_t)pm->bands; }

#endif
