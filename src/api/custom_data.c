/* custom_data.c — see custom_data.h. */
#include "api/custom_data.h"

#include <jansson.h>

ad_status ad_custom_data_normalise(const char *text, size_t len, size_t max, char **out, ad_err *err)
{
    json_error_t je;
    *out = NULL;
    if (len > max)
        return ad_err_set(err, AD_ETOOBIG, "custom_data is %zu bytes; the limit is %zu", len, max);
    json_t *j = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
    if (j == NULL)
        return ad_err_set(err, AD_EINVAL, "custom_data is not valid JSON: %s (at %d)", je.text, je.position);
    if (!json_is_object(j)) {
        json_decref(j);
        return ad_err_set(err, AD_EINVAL, "custom_data must be a JSON object");
    }
    *out = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(j);
    return *out ? AD_OK : ad_err_set(err, AD_ENOMEM, "out of memory");
}
