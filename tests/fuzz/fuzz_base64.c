/* fuzz_base64.c — base64 as remove.bg's clients send it (base/base64:
 * either alphabet, padding or none, whitespace, a data: URL's prefix).
 * Invariants: what decodes re-encodes and decodes to the same bytes; the
 * decoded length is at most three quarters of the input's. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/base64.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    void *out = NULL, *again = NULL;
    char *text = NULL;
    size_t n = 0, tn = 0, an = 0;
    if (ad_base64_decode((const char *)data, size, &out, &n, NULL) == AD_OK) {
        if (n > size / 4 * 3 + 3)
            abort();
        if (ad_base64_encode(out, n, &text, &tn, NULL) != AD_OK ||
            ad_base64_decode(text, tn, &again, &an, NULL) != AD_OK || an != n || (n && memcmp(out, again, n) != 0))
            abort();
    }
    free(out);
    free(text);
    free(again);
    return 0;
}
