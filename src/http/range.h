/* range.h — conditional and partial GETs: If-None-Match against an entity
 * tag (RFC 7232) and a single byte Range (RFC 7233). Pure functions over
 * header values from the network. */
#ifndef AD_HTTP_RANGE_H
#define AD_HTTP_RANGE_H

#include <stdint.h>

typedef enum {
    AD_RANGE_NONE,          /* absent, malformed, several ranges or another unit: send it all (200) */
    AD_RANGE_OK,            /* send [*first, *last] (206) */
    AD_RANGE_UNSATISFIABLE, /* 416 with Content-Range: bytes * / size */
} ad_range_result;

/* Range header value (may be NULL) for a representation of size bytes. */
ad_range_result ad_http_range_parse(const char *value, uint64_t size, uint64_t *first, uint64_t *last);

/* 1 when an If-None-Match value (may be NULL) matches etag (given with its
 * quotes), by weak comparison, or is "*". */
int ad_http_etag_match(const char *if_none_match, const char *etag);

/* 1 when a Range may be honoured under an If-Range value (may be NULL):
 * absent, or the same entity tag compared strongly (RFC 7233 3.2). A date,
 * a weak tag or another tag: 0, and the whole representation is sent, so
 * a resumed download never splices old and new bytes. */
int ad_http_if_range_ok(const char *if_range, const char *etag);

#endif
