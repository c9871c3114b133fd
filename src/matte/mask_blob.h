/* mask_blob.h — a model's 8-bit mask as bytes to keep (api/masks.c stores
 * them as blobs): a magic, the size, and the mask deflated. Masks are mostly
 * runs of 0 and 255, so a 1024 x 1024 mask (1 MiB) keeps in tens of KB.
 *
 *   "ADMASK1\n"  u32 width  u32 height (little-endian)  zlib stream
 *
 * Decoding checks everything it can — magic, size, the stream's own
 * checksum, the exact length — so a damaged blob is refused, never used. */
#ifndef AD_MATTE_MASK_BLOB_H
#define AD_MATTE_MASK_BLOB_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"

/* Encode a width x height mask into a new malloc'd *out of *len bytes.
 * Errors: AD_ENOMEM, AD_EINVAL (bad size). */
ad_status ad_mask_blob_encode(const uint8_t *mask, int width, int height, void **out, size_t *len, ad_err *err);

/* Decode a blob whose mask must be width x height into a new malloc'd
 * *mask. AD_EINVAL (with the reason) for anything damaged or of another
 * size; AD_ENOMEM. */
ad_status ad_mask_blob_decode(const void *blob, size_t len, int width, int height, uint8_t **mask, ad_err *err);

#endif
