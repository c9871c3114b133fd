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

/* RFC 7396 section 2, MergePatch(Target, Patch). Takes target's reference;
 * returns the result's (new or the same). */
static json_t *merge_patch(json_t *target, json_t *patch)
{
    if (!json_is_object(patch)) {
        json_decref(target);
        return json_incref(patch);
    }
    if (!json_is_object(target)) {
        json_decref(target);
        target = json_object();
    }
    const char *k;
    json_t *v;
    json_object_foreach(patch, k, v)
    {
        if (json_is_null(v)) {
            json_object_del(target, k);
        } else {
            json_t *cur = json_object_get(target, k);
            json_t *merged = merge_patch(json_incref(cur), v);
            json_object_set_new(target, k, merged);
        }
    }
    return target;
}

ad_status ad_custom_data_merge(const char *current, const char *patch, size_t len, size_t max, char **out, ad_err *err)
{
    json_error_t je;
    *out = NULL;
    if (len > max)
        return ad_err_set(err, AD_ETOOBIG, "the patch is %zu bytes; custom_data's limit is %zu", len, max);
    json_t *p = json_loadb(patch, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &je);
    if (p == NULL)
        return ad_err_set(err, AD_EINVAL, "the patch is not valid JSON: %s (at %d)", je.text, je.position);
    char shown[64];
    long at = lossy_number(patch, len, shown, sizeof shown);
    if (at >= 0) {
        json_decref(p);
        return ad_err_set(err, AD_EINVAL, "the patch has the number %s (at %ld), which a double cannot hold", shown,
                          at);
    }
    json_t *t = json_loads(current && *current ? current : "{}", 0, NULL);
    t = merge_patch(t ? t : json_object(), p);
    json_decref(p);
    ad_status rc = AD_OK;
    if (!json_is_object(t)) {
        rc = ad_err_set(err, AD_EINVAL, "custom_data must stay a JSON object (the patch is one to merge)");
    } else if ((*out = json_dumps(t, JSON_COMPACT | JSON_PRESERVE_ORDER)) == NULL) {
        rc = ad_err_set(err, AD_ENOMEM, "out of memory");
    } else if (strlen(*out) > max) {
        rc = ad_err_set(err, AD_ETOOBIG, "custom_data would be %zu bytes; the limit is %zu", strlen(*out), max);
        free(*out);
        *out = NULL;
    }
    json_decref(t);
    return rc;
}
