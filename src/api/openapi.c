/* openapi.c — GET /api/v1/openapi.json: the API's OpenAPI 3.1 document.
 * The document is src/api/openapi.json, built into the binary (nothing is
 * read at run time, so an installed binary serves it from anywhere). The
 * test suite checks it against the OpenAPI 3.1 schema and against the route
 * table, both ways (tests/api/test_openapi.c). */
#include <stdlib.h>
#include <string.h>

#include "api/internal.h"

/* The bytes of openapi.json between two symbols (the assembler reads the
 * file: no generator, no xxd). */
__asm__(".section .rodata\n"
        ".global ad_openapi_json\n"
        ".balign 16\n"
        "ad_openapi_json:\n"
        ".incbin \"src/api/openapi.json\"\n"
        ".global ad_openapi_json_end\n"
        "ad_openapi_json_end:\n"
        ".byte 0\n"
        ".previous\n");
extern const char ad_openapi_json[], ad_openapi_json_end[];

ad_http_resp *ad_handle_openapi(ad_api *api, ad_http_req *req, const ad_route_args *a)
{
    (void)api, (void)req, (void)a;
    size_t len = (size_t)(ad_openapi_json_end - ad_openapi_json);
    char *copy = malloc(len);
    if (copy == NULL)
        return ad_reply_error(503, "out_of_memory", NULL, "out of memory");
    memcpy(copy, ad_openapi_json, len);
    return ad_http_resp_take(200, "application/json", copy, len);
}
