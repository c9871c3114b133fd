/* fuzz_range.c — Range and If-None-Match header values (http/range).
 * Input: 8 bytes of representation size, then the Range value, '\n', the
 * If-None-Match value. Invariant: an accepted range lies inside the file. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http/range.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 8)
        return 0;
    uint64_t fsize;
    memcpy(&fsize, data, 8);
    fsize >>= (data[0] & 63); /* small sizes too */
    char *s = malloc(size - 8 + 1);
    if (s == NULL)
        return 0;
    memcpy(s, data + 8, size - 8);
    s[size - 8] = '\0';
    char *inm = strchr(s, '\n');
    if (inm)
        *inm++ = '\0';
    uint64_t first = 0, last = 0;
    if (ad_http_range_parse(s, fsize, &first, &last) == AD_RANGE_OK && (first > last || last >= fsize))
        abort();
    (void)ad_http_etag_match(inm, "\"0123456789abcdef\"");
    free(s);
    return 0;
}
