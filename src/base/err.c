/* err.c — status table and first-error-wins detail. */
#include "base/err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* The one mapping of a status to its HTTP status, its JSON error code and
 * its exit code. Storage trouble (disk full, read-only) is the server's,
 * not the client's: 507. Running out of memory or capacity is temporary:
 * 503, answered with Retry-After. */
static const struct {
    const char *name;
    int http;
    const char *code;
    int exit;
} status_table[AD_STATUS_COUNT] = {
    [AD_OK] = {"ok", 200, "ok", 0},
    [AD_EINVAL] = {"invalid", 400, "invalid_parameter", 2},
    [AD_ENOTFOUND] = {"not_found", 404, "not_found", 3},
    [AD_ECONFLICT] = {"conflict", 409, "conflict", 4},
    [AD_ETOOBIG] = {"too_big", 413, "too_large", 5},
    [AD_EUNSUPPORTED] = {"unsupported", 415, "unsupported_media_type", 6},
    [AD_EIO] = {"io", 507, "storage_error", 7},
    [AD_EBACKEND] = {"backend", 500, "internal_error", 8},
    [AD_ETIMEOUT] = {"timeout", 504, "timeout", 9},
    [AD_ENOMEM] = {"no_memory", 503, "out_of_memory", 10},
    [AD_EBUSY] = {"busy", 503, "busy", 11},
};

ad_status ad_err_set(ad_err *err, ad_status code, const char *fmt, ...)
{
    if (err == NULL || err->code != AD_OK)
        return code;
    err->code = code;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
    return code;
}

void ad_err_clear(ad_err *err)
{
    if (err) {
        err->code = AD_OK;
        err->msg[0] = '\0';
    }
}

static int valid(ad_status code) { return (unsigned)code < AD_STATUS_COUNT; }

const char *ad_status_name(ad_status code) { return valid(code) ? status_table[code].name : "unknown"; }
int ad_status_http(ad_status code) { return valid(code) ? status_table[code].http : 500; }
const char *ad_status_code(ad_status code) { return valid(code) ? status_table[code].code : "internal_error"; }
int ad_status_exit(ad_status code) { return valid(code) ? status_table[code].exit : 1; }
