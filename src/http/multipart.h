/* multipart.h — a strict, incremental parser for multipart/form-data
 * bodies (RFC 7578): bytes are fed as they arrive from the network, in any
 * pieces, and each part's data is handed on as it is found, so a body is
 * never held whole. Network input: every length is bounded (part headers,
 * parts), a missing closing delimiter is an error, and splitting the same
 * body differently gives the same parts (the fuzz target checks it). */
#ifndef AD_HTTP_MULTIPART_H
#define AD_HTTP_MULTIPART_H

#include <stddef.h>

#include "base/err.h"

/* A part's headers. */
typedef struct {
    char name[64];      /* the form field name */
    char filename[256]; /* "" when the part has none */
    int has_filename;
    char content_type[128]; /* "" when the part has none */
} ad_multipart_part;

/* What the parser calls, in order, for each part: begin (headers parsed),
 * data (zero or more times, in order), end. A callback returns AD_OK to go
 * on; any other status (with err set) stops the parser, which then returns
 * it. Any callback may be NULL. */
typedef struct {
    ad_status (*begin)(void *ctx, const ad_multipart_part *part, ad_err *err);
    ad_status (*data)(void *ctx, const char *data, size_t len, ad_err *err);
    ad_status (*end)(void *ctx, ad_err *err);
} ad_multipart_callbacks;

typedef struct ad_multipart ad_multipart;

/* Take the boundary out of a Content-Type header value
 * ("multipart/form-data; boundary=xyz"). AD_EINVAL when the type is not
 * multipart/form-data or the boundary is missing or invalid. */
ad_status ad_multipart_boundary(const char *content_type, char boundary[72], ad_err *err);

/* A parser for a body with this boundary, allowing at most max_parts
 * parts. cb and ctx are lent for its life. Errors: AD_EINVAL, AD_ENOMEM. */
ad_status ad_multipart_new(const char *boundary, int max_parts, const ad_multipart_callbacks *cb, void *ctx,
                           ad_multipart **out, ad_err *err);

/* Feed the next len bytes of the body. Errors: AD_EINVAL (malformed:
 * message says where), AD_ETOOBIG (too many parts, part headers too long),
 * or what a callback returned. After an error, feeding again returns it. */
ad_status ad_multipart_feed(ad_multipart *m, const char *data, size_t len, ad_err *err);

/* The body ended: AD_OK only when its closing delimiter was seen. */
ad_status ad_multipart_finish(ad_multipart *m, ad_err *err);

void ad_multipart_free(ad_multipart *m); /* accepts NULL */

#endif
