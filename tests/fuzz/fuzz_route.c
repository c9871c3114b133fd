/* fuzz_route.c — the route table and id parsing (api/route). Invariant: a
 * handler is only ever given a valid id and conversion name. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "api/bg_params.h"
#include "api/route.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *path = malloc(size + 1);
    if (path == NULL)
        return 0;
    memcpy(path, data, size);
    path[size] = '\0';
    ad_route r;
    ad_route_parse(path, &r);
    if (r.kind >= AD_ROUTE_ASSET && !r.bad_id && !ad_id_valid(r.id))
        abort();
    if (r.kind == AD_ROUTE_CONVERSION && !r.bad_name && !ad_bg_conversion_name_valid(r.name))
        abort();
    if (r.kind != AD_ROUTE_NONE && r.kind != AD_ROUTE_HEALTHZ && !r.api)
        abort();
    free(path);
    return 0;
}
