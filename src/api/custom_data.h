/* custom_data.h — validation of an asset's custom data: a JSON object of
 * bounded size, strictly parsed (jansson: valid UTF-8, no NaN, no duplicate
 * keys, no trailing junk), stored in compact form. A pure function over
 * network bytes, so it is unit-tested and fuzzed. */
#ifndef AD_API_CUSTOM_DATA_H
#define AD_API_CUSTOM_DATA_H

#include <stddef.h>

#include "base/err.h"

/* On AD_OK *out is the compact JSON text (caller frees). Errors: AD_ETOOBIG
 * (over max bytes), AD_EINVAL (not JSON, not an object; message says why),
 * AD_ENOMEM. */
ad_status ad_custom_data_normalise(const char *text, size_t len, size_t max, char **out, ad_err *err);

/* RFC 7396 (JSON merge patch): the patch of len bytes (as strictly parsed
 * as custom data, any JSON value) applied to current (stored custom data);
 * a null removes a key, an object merges, anything else replaces. The
 * result must be an object of at most max bytes. On AD_OK *out is its
 * compact text (caller frees). Errors as ad_custom_data_normalise. */
ad_status ad_custom_data_merge(const char *current, const char *patch, size_t len, size_t max, char **out, ad_err *err);

#endif
