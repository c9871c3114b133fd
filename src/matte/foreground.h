/* foreground.h — the subject's own colour where the mask is soft.
 *
 * Where alpha is between 0 and 1 (hair, fur, motion blur) a pixel mixes the
 * subject's colour F with the old background's B: I = a F + (1 - a) B. Kept
 * as it is, that pixel carries the old background onto a new one as a halo.
 * This estimates F by multi-level foreground estimation (Germer, Uelwer,
 * Conrad and Harmeling, "Fast multi-level foreground estimation", 2020):
 * F and B are solved for coarse to fine, each pixel from its four
 * neighbours, weighted by how alike their alphas are. The levels run on a
 * copy of the image shrunk to at most ~0.6 MP (so a 12 MP photo costs what
 * a small one does); at full size each soft pixel is then solved exactly
 * for F given the smooth background estimate, F = (I - (1 - a) B) / a, blended
 * towards the smooth F where a is too small for that division to be stable.
 * Opaque pixels keep their colour exactly. Pure C, deterministic. */
#ifndef AD_MATTE_FOREGROUND_H
#define AD_MATTE_FOREGROUND_H

#include <stdint.h>

#include "base/pixmap.h"

/* rgb: 3 bands; alpha: rgb->width * rgb->height bytes; out: allocated by the
 * caller with rgb's size and 3 bands (may not alias rgb). threads <= 0: all
 * cores. Errors: AD_EINVAL, AD_ENOMEM. */
ad_status ad_matte_foreground(const ad_pixmap *rgb, const uint8_t *alpha, ad_pixmap *out, int threads, ad_err *err);

#endif
