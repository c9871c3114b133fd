/* custom_data.c — see custom_data.h. */
#include "api/custom_data.h"

#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

/* jansson reads every number as a double or an int64: a number that
 * underflows to 0 (1e-400) or overflows would be stored silently as
 * something else. Find the first number token (outside strings) whose
 * value does not survive, for the refusal. Returns its offset or -1. */
static long lossy_number(const char *t, size_t len, char *shown, size_t shown_len)
{
    for (size_t i = 0; i < len; i++) {
        if (t[i] == '"') { /* skip the string, escapes included */
            for (i++; i < len && t[i] != '"'; i++)
                if (t[i] == '\\')
                    i++;
            continue;
        }
        if (t[i] != '-' && (t[i] < '0' || t[i] > '9'))
            continue;
        size_t j = i + 1, real = 0;
        while (j < len && ((t[j] >= '0' && t[j] <= '9') || t[j] == '.' || t[j] == 'e' || t[j] == 'E' || t[j] == '+' ||
                           t[j] == '-'))
            real |= t[j] == '.' || t[j] == 'e' || t[j] == 'E', j++;
        char num[64];
        size_t n = j - i < sizeof num - 1 ? j - i : sizeof num - 1;
        memcpy(num, t + i, n);
        num[n] = '\0';
        if (real) {
            errno = 0;
            double v = strtod(num, NULL);
            /* ERANGE: beyond a double, or so small it came out 0 or
             * denormal (its digits lost) */
            (void)v;
            if (errno == ERANGE) {
                snprintf(shown, shown_len, "%s", num);
                return (long)i;
            }
        }
        i = j - 1;
    }
    return -1;
}

ad_status ad_custom_data_normalise(const char *text, size_t len, size_t max, char **out, ad_err *err)
{
    json_error_t je;
    *out = NULL;
    if (len > max)
        return ad_err_set(err, AD_ETOOBIG, "custom_data is %zu bytes; the limit is %zu", len, max);
    json_t *j = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
    if (j == NULL)
        return ad_err_set(err, AD_EINVAL, "custom_data is not valid JSON: %s (at %d)", je.text, je.position);
    char shown[64];
    long at = lossy_number(text, len, shown, sizeof shown);
    if (at >= 0) {
        json_decref(j);
        return ad_err_set(err, AD_EINVAL,
                          "custom_data has the number %s (at %ld), which a double cannot hold; send it as a string",
                          shown, at);
    }
    if (!json_is_object(j)) {
        json_decref(j);
        return ad_err_set(err, AD_EINVAL, "custom_data must be a JSON object");
    }
    *out = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(j);
    return *out ? AD_OK : ad_err_set(err, AD_ENOMEM, "out of memory");
}
