/* head.h — an HTTP/1.x request head (request line and header fields) parsed
 * from the bytes a client sent, and every way it can be refused.
 *
 * Pure functions over untrusted input, no I/O: the server (server.c) feeds
 * what it has read, and the fuzz target feeds anything. What is accepted is
 * strict where leniency is a smuggling risk behind a proxy (one framing
 * only, CRLF line ends, no folded or space-padded field names) and plain
 * RFC 9112 elsewhere. A refusal carries the HTTP status and a short message
 * for the JSON error body, so every answer the server gives is its own. */
#ifndef AD_HTTP_HEAD_H
#define AD_HTTP_HEAD_H

#include <stddef.h>
#include <stdint.h>

/* Header fields kept per request; more is a 431. */
#define AD_HTTP_MAX_FIELDS 100

typedef struct {
    const char *name, *value; /* NUL-terminated, inside the parsed buffer */
} ad_http_field;

typedef enum {
    AD_HTTP_BODY_NONE,    /* no body */
    AD_HTTP_BODY_LENGTH,  /* Content-Length bytes */
    AD_HTTP_BODY_CHUNKED, /* Transfer-Encoding: chunked */
} ad_http_framing;

typedef struct {
    const char *method, *target; /* target: as sent ("/path?query") */
    int minor;                   /* HTTP/1.<minor>: 0 or 1 */
    ad_http_field fields[AD_HTTP_MAX_FIELDS];
    int n_fields;
    ad_http_framing framing;
    uint64_t length;     /* for AD_HTTP_BODY_LENGTH */
    int keep_alive;      /* what the client asked for (version and Connection) */
    int expect_continue; /* Expect: 100-continue */
} ad_http_head;

typedef enum {
    AD_HEAD_INCOMPLETE, /* no blank line yet: read more */
    AD_HEAD_OK,         /* *used bytes were the head; the body (if any) follows */
    AD_HEAD_REFUSED,    /* answer *status with *message (static) and close */
} ad_head_result;

/* The length of the head at the start of buf (through its blank line, or
 * through a bare LF, which ad_http_head_parse then refuses at once), or 0
 * when it is not all there yet. *scanned (0 at first) remembers how far
 * earlier calls looked, so that a head sent a byte at a time is not
 * searched again from its start each time. */
size_t ad_http_head_len(const char *buf, size_t len, size_t *scanned);

/* Parse the head of length len (from ad_http_head_len) in place: buf is
 * modified (names and values are NUL-terminated in it) and out points into
 * it, so buf must outlive out. A refusal names the status (400, 413, 431,
 * 501, 505) and a message; *code is the JSON error code. */
ad_head_result ad_http_head_parse(char *buf, size_t len, ad_http_head *out, int *status, const char **code,
                                  const char **message);

/* The first field named name (case-insensitive), NULL when absent. */
const char *ad_http_head_field(const ad_http_head *h, const char *name);

/* ---- chunked bodies (RFC 9112 7.1), decoded as they arrive ------------- */

typedef struct {
    int state;
    uint64_t left;  /* bytes of the current chunk's data still to come */
    size_t line;    /* bytes of the current size or trailer line so far */
    size_t trailer; /* bytes of trailer fields so far */
    int digits;
} ad_http_chunked;

typedef enum {
    AD_CHUNKED_MORE,  /* consumed everything given; the body goes on */
    AD_CHUNKED_DONE,  /* the last chunk and trailers are in; *used bytes were the body's */
    AD_CHUNKED_ERROR, /* malformed: 400 */
} ad_chunked_result;

/* Decode in[0..len) in place: the data bytes are moved to the front of in
 * and their count stored in *data_len; *used is how many input bytes were
 * consumed (less than len only when DONE: the rest is the next request). */
ad_chunked_result ad_http_chunked_decode(ad_http_chunked *d, char *in, size_t len, size_t *used, size_t *data_len);

#endif
