/* range.c — see range.h. */
#include "http/range.h"

#include <string.h>

/* Decimal digits into *out; returns characters read, 0 if none or overflow. */
static int digits(const char *s, uint64_t *out)
{
    uint64_t v = 0;
    int i = 0;
    for (; s[i] >= '0' && s[i] <= '9'; i++) {
        if (i >= 19)
            return 0; /* more than we can hold: treat as malformed */
        v = v * 10 + (uint64_t)(s[i] - '0');
    }
    *out = v;
    return i;
}

ad_range_result ad_http_range_parse(const char *v, uint64_t size, uint64_t *first, uint64_t *last)
{
    if (v == NULL || strncmp(v, "bytes=", 6) != 0)
        return AD_RANGE_NONE;
    v += 6;
    while (*v == ' ')
        v++;
    uint64_t a = 0, b = 0;
    int na = digits(v, &a);
    if (v[na] != '-')
        return AD_RANGE_NONE;
    int nb = digits(v + na + 1, &b);
    const char *rest = v + na + 1 + nb;
    while (*rest == ' ')
        rest++;
    if (*rest != '\0')
        return AD_RANGE_NONE; /* several ranges or junk: allowed to ignore */
    if (na == 0) {
        if (nb == 0)
            return AD_RANGE_NONE;
        if (b == 0 || size == 0) /* suffix of zero bytes */
            return AD_RANGE_UNSATISFIABLE;
        *first = b >= size ? 0 : size - b;
        *last = size - 1;
        return AD_RANGE_OK;
    }
    if (nb > 0 && b < a)
        return AD_RANGE_NONE; /* invalid range-spec: ignore the header */
    if (a >= size)
        return AD_RANGE_UNSATISFIABLE;
    *first = a;
    *last = nb == 0 || b >= size ? size - 1 : b;
    return AD_RANGE_OK;
}

int ad_http_etag_match(const char *inm, const char *etag)
{
    if (inm == NULL)
        return 0;
    size_t el = strlen(etag);
    const char *p = inm;
    while (*p) {
        while (*p == ' ' || *p == ',' || *p == '\t')
            p++;
        if (*p == '*')
            return 1;
        if (p[0] == 'W' && p[1] == '/')
            p += 2;
        const char *start = p;
        if (*p == '"') {
            p++;
            while (*p && *p != '"')
                p++;
            if (*p == '"')
                p++;
        } else {
            while (*p && *p != ',')
                p++;
        }
        if ((size_t)(p - start) == el && memcmp(start, etag, el) == 0)
            return 1;
        while (*p && *p != ',')
            p++;
    }
    return 0;
}

int ad_http_if_range_ok(const char *if_range, const char *etag)
{
    if (if_range == NULL)
        return 1;
    while (*if_range == ' ' || *if_range == '\t')
        if_range++;
    size_t n = strlen(if_range);
    while (n > 0 && (if_range[n - 1] == ' ' || if_range[n - 1] == '\t'))
        n--;
    return n == strlen(etag) && strncmp(if_range, etag, n) == 0;
}
