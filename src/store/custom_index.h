/* custom_index.h — custom data as index entries, so that both metadata
 * backends answer `custom_data.<path>=<value>` filters from an index
 * (integrations.md section 3): each scalar reached from the object's top
 * through object keys is one entry (path, key, tag), kept in the
 * custom_index table beside its asset's seq and rewritten in the
 * transaction that writes the custom data. A filter value becomes the
 * probes that find exactly the entries it equals.
 *
 * An entry's key is its value as text under a tag saying its type: 's' a
 * string (its text; 'h' and the SHA-256 hex of a string over
 * AD_CUSTOM_KEY_MAX bytes), 'n' a number (printed "%.17g", so 800, 800.0
 * and 8e2 are one key), 'b' true/false, 'z' null. Arrays are not entered,
 * keys containing '.' cannot be named by a dotted path and are skipped,
 * and so are paths deeper than 8 or longer than AD_CUSTOM_PATH_MAX. Pure
 * functions, unit-tested. */
#ifndef AD_STORE_CUSTOM_INDEX_H
#define AD_STORE_CUSTOM_INDEX_H

#include "base/err.h"
#include "store/records.h"

#define AD_CUSTOM_KEY_MAX 200

typedef struct {
    char path[AD_CUSTOM_PATH_MAX + 1];
    char key[AD_CUSTOM_KEY_MAX + 1];
    char tag[2];
} ad_custom_entry;

/* The entries of custom data (JSON object text): *out is a malloc'd array
 * of *n (NULL when none), freed with free. AD_EINVAL when json is not an
 * object. */
ad_status ad_custom_index_entries(const char *json, ad_custom_entry **out, int *n, ad_err *err);

/* What a filter value equals: up to 4 keys, each with the tags it is
 * found under ("sn": the string "800" and the number 800). Returns the
 * count. */
typedef struct {
    char key[AD_CUSTOM_KEY_MAX + 1];
    char tags[5];
} ad_custom_probe;
int ad_custom_index_probes(const char *value, ad_custom_probe out[4]);

/* A filter's path is well-formed: 1..AD_CUSTOM_PATH_MAX bytes of non-empty
 * dot-separated keys, at most 8. */
int ad_custom_index_path_ok(const char *path);

#endif
