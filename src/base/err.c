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
    const char *help; /* what the exit code means, for `assetd help` */
} status_table[AD_STATUS_COUNT] = {
    [AD_OK] = {"ok", 200, "ok", 0, "done"},
    [AD_EINVAL] = {"invalid", 400, "invalid_parameter", 2, "a wrong command line, setting or option"},
    [AD_ENOTFOUND] = {"not_found", 404, "not_found", 3, "an input, key or asset that does not exist"},
    [AD_ECONFLICT] = {"conflict", 409, "conflict", 4, "the store is in use by another server"},
    [AD_ETOOBIG] = {"too_big", 413, "too_large", 5, "an input over a limit (bytes, --max-pixels)"},
    [AD_EUNSUPPORTED] = {"unsupported", 415, "unsupported_media_type", 6, "an input that is not an image we read"},
    [AD_EIO] = {"io", 507, "storage_error", 7, "an output or store that cannot be written"},
    [AD_EBACKEND] = {"backend", 500, "internal_error", 8, "the model, ONNX Runtime or a store failed"},
    [AD_ETIMEOUT] = {"timeout", 504, "timeout", 9, "out of time"},
    [AD_ENOMEM] = {"no_memory", 503, "out_of_memory", 10, "out of memory"},
    [AD_EBUSY] = {"busy", 503, "busy", 11, "saturated, try again"},
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

const char *ad_status_help(ad_status code) { return valid(code) ? status_table[code].help : "unknown"; }
