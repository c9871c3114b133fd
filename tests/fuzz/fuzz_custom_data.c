/* fuzz_custom_data.c — custom data JSON (api/custom_data, jansson strict),
 * its index entries (store/custom_index) and a search filter's probes.
 * Invariants: what is accepted is stored in a form that is accepted again,
 * unchanged (idempotent normalisation); every index entry has a path a
 * filter may name and a key that fits; a value's probes are 1 to 4 keys
 * with known tags; every scalar string value entered is found by the
 * probes of its own text. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "api/custom_data.h"
#include "store/custom_index.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *out = NULL, *again = NULL;
    if (ad_custom_data_normalise((const char *)data, size, 65536, &out, NULL) == AD_OK) {
        size_t n = strlen(out);
        if (ad_custom_data_normalise(out, n, 1 << 20, &again, NULL) != AD_OK || strcmp(out, again) != 0)
            abort();
        ad_custom_entry *e = NULL;
        int ne = 0;
        if (ad_custom_index_entries(out, &e, &ne, NULL) != AD_OK)
            abort();
        for (int i = 0; i < ne; i++) {
            if (!ad_custom_index_path_ok(e[i].path) || strlen(e[i].key) > AD_CUSTOM_KEY_MAX ||
                !strchr("shnbz", e[i].tag[0]) || e[i].tag[1])
                abort();
            if (e[i].tag[0] == 's') { /* its own text finds it */
                ad_custom_probe p[4];
                int np = ad_custom_index_probes(e[i].key, p), found = 0;
                for (int k = 0; k < np; k++)
                    found |= strcmp(p[k].key, e[i].key) == 0 && strchr(p[k].tags, 's') != NULL;
                if (!found)
                    abort();
            }
        }
        free(e);
    }
    /* the input as a filter value */
    char value[AD_CUSTOM_VALUE_MAX + 1];
    size_t vl = size < AD_CUSTOM_VALUE_MAX ? size : AD_CUSTOM_VALUE_MAX;
    memcpy(value, data, vl);
    value[vl] = '\0';
    ad_custom_probe p[4];
    int np = ad_custom_index_probes(value, p);
    if (np < 1 || np > 4)
        abort();
    for (int k = 0; k < np; k++)
        if (!p[k].tags[0] || strspn(p[k].tags, "shnbz") != strlen(p[k].tags))
            abort();
    free(out);
    free(again);
    return 0;
}
