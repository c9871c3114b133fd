/* image.h — decoding uploaded bytes into pixels, with libvips (the only module
 * that sees it). Decoding applies EXIF orientation, converts any colour model
 * and depth (grey, CMYK, 16-bit, palette, embedded ICC profile) to 8-bit sRGB,
 * and drops an existing alpha channel. Size limits are checked from the header
 * before any pixel is decoded. All functions are thread-safe after
 * ad_image_startup. */
#ifndef AD_IMAGE_IMAGE_H
#define AD_IMAGE_IMAGE_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "base/pixmap.h"

typedef struct {
    int width, height; /* after EXIF orientation */
    char format[16];   /* loader name: "jpeg", "png", "webp", "tiff", "gif", "heif", ... */
} ad_image_info;

/* Initialise libvips once per process (argv0 may be NULL). Returns
 * AD_EBACKEND if libvips cannot start. */
ad_status ad_image_startup(const char *argv0, ad_err *err);
void ad_image_shutdown(void);

/* Read the header only: format and oriented size. AD_EUNSUPPORTED when the
 * bytes are not an image libvips can load; AD_ETOOBIG (with info's size
 * filled) when the header declares a size larger than the decoders take. */
ad_status ad_image_probe(const void *buf, size_t len, ad_image_info *info, ad_err *err);

/* Bytes read on demand (a stored blob): up to len bytes at offset into buf;
 * returns the count, 0 at the end, -1 on an error. */
typedef long (*ad_image_read_fn)(void *ctx, uint64_t offset, void *buf, size_t len);

/* ad_image_probe for size bytes read on demand: only the parts the header
 * needs are read, so a large stored file is never held in memory. Same
 * results as ad_image_probe. */
ad_status ad_image_probe_reader(ad_image_read_fn read, void *ctx, uint64_t size, ad_image_info *info, ad_err *err);

/* The media type of a format ad_image_probe named ("jpeg" ->
 * "image/jpeg"), or NULL. */
const char *ad_image_media_type(const char *format);

/* The usual file extension of an image media type ("image/jpeg" ->
 * "jpg"), or NULL for a type that is not one of ours. */
const char *ad_image_extension(const char *media_type);

/* Decode to an oriented 8-bit sRGB RGB pixmap (caller owns *out, release with
 * ad_pixmap_cleanup). max_pixels (0 = unlimited) is checked before decoding:
 * AD_ETOOBIG. Truncated or corrupt data: AD_EUNSUPPORTED, nothing allocated. */
ad_status ad_image_decode_rgb(const void *buf, size_t len, uint64_t max_pixels, ad_pixmap *out, ad_err *err);

/* A preview: the image oriented, in sRGB, shrunk (never enlarged) to fit
 * side x side, as WebP (keeps alpha; every current browser shows it).
 * Caller frees *out with free(). Errors as ad_image_decode_rgb. */
ad_status ad_image_preview(const void *buf, size_t len, uint64_t max_pixels, int side, void **out, size_t *out_len,
                           ad_err *err);

/* Apply EXIF orientation `o` (1..8) to an interleaved pixmap: *out is a new
 * pixmap (caller owns). Orientation 1 copies. Pure C; exposed for tests. */
ad_status ad_image_orient(const ad_pixmap *in, int o, ad_pixmap *out, ad_err *err);

/* Encode an 8-bit pixmap (1 or 4 bands) as PNG with libvips' encoder (the
 * slow, small reference encoder; the service uses png_encode.h). Caller frees
 * *png with free(). Used by tests to cross-check our encoder. */
ad_status ad_image_encode_png_vips(const ad_pixmap *pm, void **png, size_t *len, ad_err *err);

/* Shrink an 8-bit pixmap (1, 3 or 4 bands) to fit max_side x max_side
 * (lanczos3; alpha premultiplied while filtering, so no dark fringes).
 * *out is new (caller owns); a pixmap that already fits is copied. */
ad_status ad_image_shrink(const ad_pixmap *in, int max_side, ad_pixmap *out, ad_err *err);

/* Resize an 8-bit pixmap (1, 3 or 4 bands) to exactly width x height,
 * larger or smaller, filtered as ad_image_shrink. *out is new. */
ad_status ad_image_resize(const ad_pixmap *in, int width, int height, ad_pixmap *out, ad_err *err);

/* Encode an 8-bit pixmap with libvips: WebP lossless (1, 3 or 4 bands;
 * the colour of fully transparent pixels may change) or JPEG at quality 90 (1 or 3 bands). Caller frees *out
 * with free(). */
ad_status ad_image_encode_webp_lossless(const ad_pixmap *pm, void **out, size_t *len, ad_err *err);
ad_status ad_image_encode_jpeg(const ad_pixmap *pm, void **out, size_t *len, ad_err *err);

/* Decode any image to an interleaved 8-bit pixmap keeping its bands as they
 * are after conversion to sRGB (1 for grey, 3/4 for colour with/without
 * alpha) and without orientation. For tests and tools that read results. */
ad_status ad_image_decode_raw(const void *buf, size_t len, ad_pixmap *out, ad_err *err);

#endif
