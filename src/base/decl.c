/* decl.c — parsing and printing by declaration; see decl.h. */
#include "base/decl.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const ad_decl *ad_decl_find(const ad_decl *t, int n, const char *name)
{
    for (int i = 0; i < n; i++)
        if (!(t[i].flags & AD_DECL_PREFIX) && strcmp(t[i].name, name) == 0)
            return &t[i];
    return NULL;
}

size_t ad_decl_prefix_len(const ad_decl *d) { return strcspn(d->name, "{"); }

const ad_decl *ad_decl_find_prefix(const ad_decl *t, int n, const char *name)
{
    for (int i = 0; i < n; i++)
        if ((t[i].flags & AD_DECL_PREFIX) && strncmp(t[i].name, name, ad_decl_prefix_len(&t[i])) == 0)
            return &t[i];
    return NULL;
}

/* The index of value among "a|b|c", or -1. */
static int choice_index(const char *choices, const char *value)
{
    size_t vl = strlen(value);
    int i = 0;
    for (const char *p = choices;; i++) {
        const char *bar = strchr(p, '|');
        size_t l = bar ? (size_t)(bar - p) : strlen(p);
        if (l == vl && strncmp(p, value, l) == 0)
            return i;
        if (!bar)
            return -1;
        p = bar + 1;
    }
}

static int parse_int(const char *s, long long min, long long max, long long *out)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || end == s || *end || v < min || v > max || !isdigit((unsigned char)s[s[0] == '-']))
        return 0;
    *out = v;
    return 1;
}

static ad_status refuse_choice(const ad_decl *d, ad_err *err)
{
    char shown[160];
    snprintf(shown, sizeof shown, "%s", d->choices);
    for (char *p = shown; *p; p++)
        if (*p == '|')
            *p = ',';
    return ad_err_set(err, AD_EINVAL, "%s must be one of %s", d->name, shown);
}

ad_status ad_decl_set(const ad_decl *d, void *base, const char *value, ad_err *err)
{
    void *f = (char *)base + d->offset;
    switch (d->type) {
    case AD_DECL_ENUM: {
        int i = choice_index(d->choices, value);
        if (i < 0)
            return refuse_choice(d, err);
        *(int *)f = i;
        return AD_OK;
    }
    case AD_DECL_INT: {
        long long v;
        /* an integer with choices is one of them, written as they are */
        if (d->choices && choice_index(d->choices, value) < 0)
            return refuse_choice(d, err);
        if (!parse_int(value, d->min, d->max, &v))
            return ad_err_set(err, AD_EINVAL, "%s must be an integer from %lld to %lld", d->name, d->min, d->max);
        *(int *)f = (int)v;
        return AD_OK;
    }
    case AD_DECL_BOOL:
        if (strcmp(value, "true") == 0 || strcmp(value, "1") == 0)
            *(int *)f = 1;
        else if (strcmp(value, "false") == 0 || strcmp(value, "0") == 0)
            *(int *)f = 0;
        else
            return ad_err_set(err, AD_EINVAL, "%s must be true or false", d->name);
        return AD_OK;
    case AD_DECL_STRING: {
        size_t n = strlen(value);
        if ((long long)n < d->min || (long long)n > d->max || n >= d->size || (d->valid && !d->valid(value)))
            return ad_err_set(err, AD_EINVAL, "%s must be %s", d->name, d->expects ? d->expects : "text");
        memcpy(f, value, n + 1);
        return AD_OK;
    }
    case AD_DECL_CUSTOM:
        if (!d->parse(value, f))
            return ad_err_set(err, AD_EINVAL, "%s must be %s", d->name, d->expects ? d->expects : "valid");
        return AD_OK;
    }
    return ad_err_set(err, AD_EINVAL, "%s: bad declaration", d->name);
}

void ad_decl_defaults(const ad_decl *t, int n, void *base)
{
    for (int i = 0; i < n; i++)
        if (*t[i].def) /* "": none (all zero) */
            ad_decl_set(&t[i], base, t[i].def, NULL);
}

int ad_decl_describe(const ad_decl *d, const void *base, char *buf, size_t len)
{
    const void *f = (const char *)base + d->offset;
    switch (d->type) {
    case AD_DECL_ENUM: {
        const char *p = d->choices;
        for (int k = 0; k < *(const int *)f && p; k++)
            p = strchr(p, '|') ? strchr(p, '|') + 1 : NULL;
        return snprintf(buf, len, "%s=%.*s", d->name, p ? (int)strcspn(p, "|") : 1, p ? p : "?");
    }
    case AD_DECL_INT:
        return snprintf(buf, len, "%s=%d", d->name, *(const int *)f);
    case AD_DECL_BOOL:
        return snprintf(buf, len, "%s=%s", d->name, *(const int *)f ? "true" : "false");
    case AD_DECL_STRING:
        return snprintf(buf, len, "%s=%s", d->name, (const char *)f);
    case AD_DECL_CUSTOM: {
        int n = snprintf(buf, len, "%s=", d->name);
        if (n < 0 || (size_t)n >= len)
            return n;
        return n + d->print(f, buf + n, len - (size_t)n);
    }
    }
    return 0;
}

void ad_decl_kind(const ad_decl *d, char *buf, size_t len)
{
    switch (d->type) {
    case AD_DECL_ENUM:
        snprintf(buf, len, "one of %s", d->choices);
        return;
    case AD_DECL_INT:
        if (d->choices)
            snprintf(buf, len, "one of %s", d->choices);
        else
            snprintf(buf, len, "integer %lld..%lld", d->min, d->max);
        return;
    case AD_DECL_BOOL:
        snprintf(buf, len, "true or false");
        return;
    case AD_DECL_STRING:
    case AD_DECL_CUSTOM:
        snprintf(buf, len, "%s", d->expects ? d->expects : "text");
        return;
    }
    buf[0] = '\0';
}
