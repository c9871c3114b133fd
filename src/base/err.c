/* err.c — status table and first-error-wins detail. */
#include "base/err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static const struct {
    const char *name;
    int http;
    int exit;
} status_table[AD_STATUS_COUNT] = {
    [AD_OK] = {"ok", 200, 0},
    [AD_EINVAL] = {"invalid", 400, 2},
    [AD_ENOTFOUND] = {"not_found", 404, 3},
    [AD_ECONFLICT] = {"conflict", 409, 4},
    [AD_ETOOBIG] = {"too_big", 413, 5},
    [AD_EUNSUPPORTED] = {"unsupported", 415, 6},
    [AD_EIO] = {"io", 500, 7},
    [AD_EBACKEND] = {"backend", 500, 8},
    [AD_ETIMEOUT] = {"timeout", 504, 9},
    [AD_ENOMEM] = {"no_memory", 500, 10},
    [AD_EBUSY] = {"busy", 503, 11},
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
int ad_status_exit(ad_status code) { return valid(code) ? status_table[code].exit : 1; }
