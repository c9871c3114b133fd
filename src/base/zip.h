/* zip.h — a ZIP archive of a few files held in memory, stored without
 * compression (what remove.bg's format=zip answers: a colour JPEG and an
 * alpha PNG, both compressed already). */
#ifndef AD_BASE_ZIP_H
#define AD_BASE_ZIP_H

#include <stddef.h>

#include "base/err.h"

typedef struct {
    const char *name; /* ASCII, at most 255 bytes */
    const void *data;
    size_t len; /* under 4 GiB */
} ad_zip_entry;

/* *out (malloc'd, caller frees) gets the archive of the n entries. */
ad_status ad_zip_store(const ad_zip_entry *e, int n, void **out, size_t *len, ad_err *err);

#endif
