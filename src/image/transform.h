/* transform.h — an image fitted to a box and encoded for a browser
 * (delivery, api/delivery.c), with libvips: shrink-on-load for JPEG and
 * WebP (a 12 MP photo made 400 px wide is never decoded whole), EXIF
 * orientation, colour to sRGB, contain / cover / fill as CSS object-fit, no
 * enlargement unless asked, alpha kept where the format has it, and
 * WebP, AVIF (when this libvips can encode it), progressive JPEG or PNG.
 *
 * The options are declared once as rows (base/decl.h): parsing, refusals
 * naming the option, the canonical text of a delivery URL and the API
 * description all come from them. */
#ifndef AD_IMAGE_TRANSFORM_H
#define AD_IMAGE_TRANSFORM_H

#include <stddef.h>
#include <stdint.h>

#include "base/decl.h"
#include "base/err.h"
#include "base/pixmap.h"

typedef enum { AD_FIT_CONTAIN, AD_FIT_COVER, AD_FIT_FILL } ad_fit;
typedef enum { AD_OUT_AUTO, AD_OUT_WEBP, AD_OUT_AVIF, AD_OUT_JPG, AD_OUT_PNG } ad_out_format;

/* Initialise with ad_transform_default (the rows' defaults). */
typedef struct {
    int w, h;    /* the box, pixels; 0: not given (one alone keeps the aspect ratio) */
    int fit;     /* ad_fit */
    int enlarge; /* may scale up */
    int format;  /* ad_out_format */
    int q;       /* lossy quality 1..100; 0: the encoder's default */
} ad_transform;

/* The options' rows (offsets into ad_transform). */
extern const ad_decl ad_transform_params[];
extern const int ad_transform_nparams;

void ad_transform_default(ad_transform *t);

/* 1 when the running libvips can encode AVIF (checked once). */
int ad_image_can_avif(void);

/* What the client takes, from its Accept header (NULL: none). */
typedef struct {
    int avif, webp;
} ad_accept;
void ad_accept_parse(const char *accept, ad_accept *out);

/* The format a result is encoded in: format itself unless AD_OUT_AUTO,
 * which is AVIF when accepted and encodable, else WebP when accepted,
 * else PNG when the result has alpha, JPEG otherwise (AVIF asked where it
 * cannot be encoded: WebP). */
int ad_transform_resolve(int format, const ad_accept *acc, int has_alpha);

/* The encoded result: data malloc'd (free), content_type static. */
typedef struct {
    void *data;
    size_t len;
    const char *content_type;
    int width, height;
} ad_transformed;

/* Transform encoded image bytes. The source's pixels (after orientation)
 * must be at most max_pixels (0: no limit), else AD_ETOOBIG; not an image
 * or corrupt: AD_EUNSUPPORTED; AD_ENOMEM. */
ad_status ad_image_transform(const void *buf, size_t len, uint64_t max_pixels, const ad_transform *t,
                             const ad_accept *acc, ad_transformed *out, ad_err *err);

/* Transform pixels in memory (1 grey, 3 RGB or 4 RGBA bands, sRGB): a
 * cut-out. focus (may be NULL: the centre) is the box cover keeps in view
 * (its centre, as far as the image allows): the subject's. */
ad_status ad_image_transform_pixmap(const ad_pixmap *px, const int focus[4], const ad_transform *t,
                                    const ad_accept *acc, ad_transformed *out, ad_err *err);

#endif
