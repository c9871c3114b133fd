/* image_impl.h — what the files of image/ share and nobody outside sees:
 * libvips' error text taken into an ad_err (image.c). */
#ifndef AD_IMAGE_IMAGE_IMPL_H
#define AD_IMAGE_IMAGE_IMPL_H

#include "base/err.h"

/* libvips keeps one error buffer per process: its first line into err
 * (as "what: text"), then cleared, so the next failure (another request's)
 * does not inherit it. Returns code. */
ad_status ad_image_vips_fail(ad_err *err, ad_status code, const char *what);

#endif
