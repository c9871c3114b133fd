/* fuzz_multipart.c — multipart/form-data bodies (http/multipart). Input:
 * a Content-Type header line, '\n', then the body. Invariant: every part
 * lies inside the body. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http/multipart.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *nl = memchr(data, '\n', size);
    if (nl == NULL)
        return 0;
    size_t hl = (size_t)(nl - data);
    char *ct = malloc(hl + 1);
    size_t bl = size - hl - 1;
    char *body = malloc(bl ? bl : 1); /* exact size: ASan catches any overread */
    if (ct == NULL || body == NULL)
        goto out;
    memcpy(ct, data, hl);
    ct[hl] = '\0';
    memcpy(body, nl + 1, bl);
    char boundary[72];
    ad_multipart_part parts[8];
    int n = 0;
    if (ad_multipart_boundary(ct, boundary, NULL) == AD_OK &&
        ad_multipart_parse(boundary, body, bl, parts, 8, &n, NULL) == AD_OK) {
        for (int i = 0; i < n; i++)
            if (parts[i].data < body || parts[i].data + parts[i].len > body + bl || !parts[i].name[0])
                abort();
    }
out:
    free(ct);
    free(body);
    return 0;
}
