/* options.c — the declaration table and what derives from it. */
#include "cutout/options.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/sha256.h"

#define O(field, type, choices, min, max, def, api, help)                                   \
    {                                                                                       \
#field, type, choices, min, max, def, offsetof(ad_cutout_options, field), api, help \
    }

static const ad_option_decl decls[] = {
    O(channels, AD_OPT_ENUM, "rgba|alpha", 0, 0, "rgba", 0,
      "rgba: the cut-out (original pixels, the mask as alpha); alpha: the 8-bit mask as a grey PNG"),
};
#define NDECLS (int)(sizeof decls / sizeof decls[0])

const ad_option_decl *ad_cutout_option_decls(int *n)
{
    *n = NDECLS;
    return decls;
}

static int *slot(ad_cutout_options *o, const ad_option_decl *d) { return (int *)((char *)o + d->offset); }

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

static ad_status assign(ad_cutout_options *o, const ad_option_decl *d, const char *value, ad_err *err)
{
    if (d->type == AD_OPT_ENUM) {
        int i = choice_index(d->choices, value);
        if (i < 0) {
            char shown[40];
            snprintf(shown, sizeof shown, "%s", d->choices);
            for (char *p = shown; *p; p++)
                if (*p == '|')
                    *p = ',';
            return ad_err_set(err, AD_EINVAL, "%s must be one of %s", d->name, shown);
        }
        *slot(o, d) = i;
        return AD_OK;
    }
    char *end;
    errno = 0;
    long long v = strtoll(value, &end, 10);
    if (errno || end == value || *end || v < d->min || v > d->max)
        return ad_err_set(err, AD_EINVAL, "%s must be an integer from %lld to %lld", d->name, d->min, d->max);
    *slot(o, d) = (int)v;
    return AD_OK;
}

void ad_cutout_options_default(ad_cutout_options *o)
{
    memset(o, 0, sizeof *o); /* padding too: the key hashes the bytes */
    for (int i = 0; i < NDECLS; i++)
        assign(o, &decls[i], decls[i].def, NULL);
}

const ad_option_decl *ad_cutout_option_find(const char *name, int api_only)
{
    for (int i = 0; i < NDECLS; i++)
        if (strcmp(decls[i].name, name) == 0 && (!api_only || decls[i].api))
            return &decls[i];
    return NULL;
}

ad_status ad_cutout_option_set(ad_cutout_options *o, const char *name, const char *value, int api_only, ad_err *err)
{
    const ad_option_decl *d = ad_cutout_option_find(name, api_only);
    if (d == NULL)
        return ad_err_set(err, AD_ENOTFOUND, "unknown option '%s'", name);
    return assign(o, d, value, err);
}

void ad_cutout_options_key(const ad_cutout_options *o, char out[65]) { ad_sha256_hex(o, sizeof *o, out); }

void ad_cutout_options_describe(const ad_cutout_options *o, char *buf, size_t len)
{
    size_t at = 0;
    buf[0] = '\0';
    for (int i = 0; i < NDECLS && at < len; i++) {
        int v = *slot((ad_cutout_options *)o, &decls[i]);
        if (decls[i].type == AD_OPT_ENUM) {
            const char *p = decls[i].choices;
            for (int k = 0; k < v && p; k++)
                p = strchr(p, '|') ? strchr(p, '|') + 1 : NULL;
            size_t l = p ? strcspn(p, "|") : 1;
            at += (size_t)snprintf(buf + at, len - at, "%s%s=%.*s", i ? " " : "", decls[i].name, (int)l, p ? p : "?");
        } else {
            at += (size_t)snprintf(buf + at, len - at, "%s%s=%d", i ? " " : "", decls[i].name, v);
        }
    }
}

const char *ad_cutout_content_type(const ad_cutout_options *o)
{
    (void)o;
    return "image/png"; /* both channel layouts are PNGs */
}
