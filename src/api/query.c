/* query.c — see query.h. */
#include "api/query.h"

#include <stdlib.h>
#include <string.h>

#include "base/hex.h"

/* Decode [s, s+len) into a new string; NULL on a bad escape or a NUL. */
static char *decode(const char *s, size_t len)
{
    char *out = malloc(len + 1), *o = out;
    if (out == NULL)
        return NULL;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (c == '+') {
            c = ' ';
        } else if (c == '%') {
            int h, l;
            if (i + 2 >= len || (h = ad_hex_value(s[i + 1])) < 0 || (l = ad_hex_value(s[i + 2])) < 0) {
                free(out);
                return NULL;
            }
            c = (char)(h * 16 + l);
            i += 2;
        }
        if (c == '\0') {
            free(out);
            return NULL;
        }
        *o++ = c;
    }
    *o = '\0';
    return out;
}

ad_status ad_query_parse(const char *qs, int max_params, ad_query *q, ad_err *err)
{
    q->v = NULL;
    q->n = 0;
    if (qs == NULL)
        return AD_OK;
    const char *p = qs;
    while (*p) {
        const char *end = strchr(p, '&');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (len > 0) {
            if (q->n >= max_params)
                return ad_err_set(err, AD_EINVAL, "more than %d query parameters", max_params);
            const char *eq = memchr(p, '=', len);
            ad_query_param *nv = realloc(q->v, sizeof *nv * (size_t)(q->n + 1));
            if (nv == NULL)
                return ad_err_set(err, AD_ENOMEM, "out of memory");
            q->v = nv;
            ad_query_param *qp = &q->v[q->n];
            qp->key = decode(p, eq ? (size_t)(eq - p) : len);
            qp->value = eq ? decode(eq + 1, len - (size_t)(eq - p) - 1) : NULL;
            q->n++;
            if (qp->key == NULL || (eq && qp->value == NULL))
                return ad_err_set(err, AD_EINVAL, "malformed percent-encoding in the query string");
        }
        p += len;
        if (*p == '&')
            p++;
    }
    return AD_OK;
}

void ad_query_cleanup(ad_query *q)
{
    for (int i = 0; i < q->n; i++) {
        free(q->v[i].key);
        free(q->v[i].value);
    }
    free(q->v);
    q->v = NULL;
    q->n = 0;
}
