/* masks.h — stored masks: a model pass happens once per image, fleet-wide
 * (../shared/spec/delivery.md, section 1). The model's 8-bit mask for
 * (source blob, model identity with precision and side, preset) is kept in
 * the store as a blob of its own (matte/mask_blob.h) with a row that finds
 * it (store.h, "stored masks"); every cut-out of an asset asks here first
 * and, on a hit, runs only the finishing. The one-shot route keeps none.
 *
 * A stored mask is verified on every read — its bytes against their
 * SHA-256 address, then the format's own checks — and a damaged one is
 * dropped and made again, never used. */
#ifndef AD_API_MASKS_H
#define AD_API_MASKS_H

#include "api/api.h"
#include "cutout/cutout.h"

typedef enum { AD_MASK_COMPUTED, AD_MASK_STORED } ad_mask_origin;

/* "computed" or "stored": the X-Mask header's value. */
const char *ad_mask_origin_name(ad_mask_origin o);

/* The key of source's mask for preset on this service's model (a hex
 * SHA-256 of the three). */
void ad_masks_key(const ad_api *api, const char *source_sha256, int preset, char key[65]);

/* The stored mask of key into *mask (its side: preset's model's). AD_OK,
 * or AD_ENOTFOUND when none is stored or the stored one was damaged (it is
 * then dropped). Never fails otherwise: the store being away is a miss. */
ad_status ad_masks_load(ad_api *api, const char *key, int preset, ad_cutout_mask *mask);

/* Keep a mask just computed for key, made from source: written once, by
 * whichever caller finishes first (the others' copies are dropped). A
 * failure is logged, never the request's. */
void ad_masks_keep(ad_api *api, const char *key, const char *source_sha256, const ad_cutout_mask *mask);

/* Count a mask's origin in assetd_cutout_mask_total ("stored", "computed",
 * "damaged"). */
void ad_masks_count(ad_api *api, const char *result);

#endif
