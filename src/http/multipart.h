/* multipart.h — a strict parser for multipart/form-data bodies (RFC 7578)
 * held whole in memory. Network input: every length is bounded, a missing
 * closing delimiter is an error, and parts point into the caller's body (no
 * copies), so it is cheap and fuzzable as a pure function. */
#ifndef AD_HTTP_MULTIPART_H
#define AD_HTTP_MULTIPART_H

#include <stddef.h>

#include "base/err.h"

typedef struct {
    char name[64];      /* the form field name */
    char filename[256]; /* "" when the part has none */
    int has_filename;
    char content_type[128]; /* "" when the part has none */
    const char *data;       /* lent: points into the body */
    size_t len;
} ad_multipart_part;

/* Take the boundary out of a Content-Type header value
 * ("multipart/form-data; boundary=xyz"). AD_EINVAL when the type is not
 * multipart/form-data or the boundary is missing or invalid. */
ad_status ad_multipart_boundary(const char *content_type, char boundary[72], ad_err *err);

/* Split body into at most max parts. AD_EINVAL (malformed: message says
 * where) or AD_ETOOBIG (more than max parts). */
ad_status ad_multipart_parse(const char *boundary, const char *body, size_t len, ad_multipart_part *parts, int max,
                             int *n, ad_err *err);

#endif
