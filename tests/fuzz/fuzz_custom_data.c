/* fuzz_custom_data.c — custom data JSON (api/custom_data, jansson strict).
 * Invariant: what is accepted is stored in a form that is accepted again,
 * unchanged (idempotent normalisation). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "api/custom_data.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *out = NULL, *again = NULL;
    if (ad_custom_data_normalise((const char *)data, size, 65536, &out, NULL) == AD_OK) {
        size_t n = strlen(out);
        if (ad_custom_data_normalise(out, n, 1 << 20, &again, NULL) != AD_OK || strcmp(out, again) != 0)
            abort();
    }
    free(out);
    free(again);
    return 0;
}
