/* err.h — the project-wide status codes and the error detail a caller passes
 * down. Every module returns an ad_status and fills an ad_err; one table maps
 * each code to its HTTP status, its JSON error code and its CLI exit code. */
#ifndef AD_BASE_ERR_H
#define AD_BASE_ERR_H

#include <stddef.h>

typedef enum {
    AD_OK = 0,
    AD_EINVAL,       /* caller gave something malformed */
    AD_ENOTFOUND,    /* no such thing */
    AD_ECONFLICT,    /* state does not allow it */
    AD_ETOOBIG,      /* over a configured limit (bytes, pixels) */
    AD_EUNSUPPORTED, /* well-formed but not something we can process */
    AD_EIO,          /* filesystem or network I/O failed */
    AD_EBACKEND,     /* a library or store below us failed */
    AD_ETIMEOUT,     /* ran out of time */
    AD_ENOMEM,       /* allocation failed */
    AD_EBUSY,        /* saturated; try again later */
    AD_STATUS_COUNT
} ad_status;

/* Detail for the first error on a path. Set once: later ad_err_set calls on an
 * already-set err are ignored, so the root cause is what gets reported. */
typedef struct {
    ad_status code;
    char msg[256];
} ad_err;

#define AD_ERR_INIT  \
    {                \
        AD_OK, { 0 } \
    }

/* Record code + printf-style message unless err already holds an error.
 * err may be NULL. Returns code, so `return ad_err_set(err, ...)` reads well. */
ad_status ad_err_set(ad_err *err, ad_status code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

void ad_err_clear(ad_err *err);

/* Short stable name of a code ("invalid", "not_found", ...). */
const char *ad_status_name(ad_status code);

/* HTTP status a code maps to (400, 404, 409, 413, 415, 500, 503, 504, 507). */
int ad_status_http(ad_status code);

/* The JSON error code a status is reported with ("invalid_parameter", ...). */
const char *ad_status_code(ad_status code);

/* Process exit code a code maps to for the CLI (0 for AD_OK). */
int ad_status_exit(ad_status code);

/* What a code's exit means to a person at the command line (static). */
const char *ad_status_help(ad_status code);

#endif
