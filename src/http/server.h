/* server.h — the HTTP front: listening, connections, request bodies and
 * responses; an HTTP/1.1 server of its own (server.c says why).
 *
 * A few I/O threads do all socket I/O. A request is handed to the
 * application once its body has arrived (bounded by max_body); the
 * application answers at once (cheap metadata calls) or defers and answers
 * later from any thread (CPU-heavy work on its own pool), in which case the
 * connection waits meanwhile and other clients are served. Every answer the
 * server gives by itself (a malformed head, a body over a limit) is a JSON
 * error like the application's. The server knows nothing about routes. */
#ifndef AD_HTTP_SERVER_H
#define AD_HTTP_SERVER_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"

typedef struct ad_http_server ad_http_server;
typedef struct ad_http_req ad_http_req;
typedef struct ad_http_resp ad_http_resp;

/* Called on an I/O thread once per request with the whole body received.
 * It must either call ad_http_respond before returning, or call
 * ad_http_defer and later ad_http_respond (from any thread). */
typedef void (*ad_http_handler)(void *app, ad_http_req *req);

/* How a request's body is taken. */
typedef enum {
    AD_HTTP_BODY_MEMORY,  /* held in memory, up to max_memory_body (JSON bodies) */
    AD_HTTP_BODY_SINK,    /* handed to the sink set with ad_http_set_sink, up to max_body */
    AD_HTTP_BODY_DISCARD, /* read and dropped: the handler will refuse the request */
} ad_http_body_mode;

/* Called on an I/O thread once a request's headers are in, before any of
 * its body: says how the body is taken (and may set a sink). */
typedef ad_http_body_mode (*ad_http_headers_fn)(void *app, ad_http_req *req);

/* A finished request, for the access log and metrics. */
typedef struct {
    const char *id; /* the request id (X-Request-Id) */
    const char *method;
    const char *label;   /* what the application named the request (a route template), or "-" */
    const char *subject; /* who made it, as the application put it ("" when unknown) */
    int status;          /* 0 when no answer was sent */
    uint64_t bytes;      /* body bytes of the answer */
    double ms;           /* from the headers to the end */
    int completed;       /* the answer went out whole */
} ad_http_done;

typedef void (*ad_http_done_fn)(void *app, const ad_http_done *done);

typedef struct {
    const char *listen;       /* "HOST:PORT" (IPv4 or [IPv6]) */
    int threads;              /* I/O threads (>= 1) */
    size_t max_body;          /* bytes of a streamed body; larger bodies get 413 */
    size_t max_memory_body;   /* bytes of a body held in memory; larger get 413 */
    size_t max_memory_total;  /* bytes of bodies held in memory at once; beyond, 503 */
    size_t max_header;        /* bytes of request line + headers */
    unsigned max_connections; /* concurrent connections */
    unsigned timeout;         /* s; idle connections are closed */
    unsigned head_timeout;    /* s from a head's first byte to its end, else 408 and closed (0: none) */
    unsigned min_rate;        /* bytes/s a body must average after its first 10 s (0: no floor); else the
                                 connection is closed */
    ad_http_handler handler;
    ad_http_headers_fn on_headers; /* NULL: every body in memory */
    ad_http_done_fn on_done;       /* NULL: nothing; called on an I/O thread */
    void *app;
} ad_http_config;

/* Bind and start serving. The process must ignore SIGPIPE (a client gone
 * mid-answer; sendfile has no MSG_NOSIGNAL): `assetd serve` does.
 * Errors: AD_EINVAL (bad listen address), AD_EIO (bind failed; message
 * says why). *out is freed with ad_http_stop. */
ad_status ad_http_start(const ad_http_config *cfg, ad_http_server **out, ad_err *err);

/* The port actually bound (useful with port 0). */
int ad_http_port(const ad_http_server *s);

/* Stop accepting, close connections and join the I/O threads. Deferred
 * requests must have been answered first. Accepts NULL. */
void ad_http_stop(ad_http_server *s);

/* --- requests: lent to the handler until the response is given ---------- */

const char *ad_http_method(const ad_http_req *r);
/* Path without the query, not percent-decoded ("/api/v1/assets/abc"). */
const char *ad_http_path(const ad_http_req *r);
/* Raw query after '?', "" when none, not decoded. */
const char *ad_http_query(const ad_http_req *r);
/* The request's id: the client's X-Request-Id when it sent a sane one (1-64
 * of [A-Za-z0-9._-]), else a new random one; sent back on every answer. */
const char *ad_http_request_id(const ad_http_req *r);
/* Name the request for the access log (label: a static string, such as a
 * route template) and who made it (subject: copied, at most 39 bytes). */
void ad_http_set_label(ad_http_req *r, const char *label);
void ad_http_set_subject(ad_http_req *r, const char *subject);
/* What the application made of the request when its head came in (the
 * route it matched, say), kept for its handler: a pointer to something
 * static, or NULL (the default; also when on_headers was not called). */
void ad_http_set_tag(ad_http_req *r, const void *tag);
const void *ad_http_tag(const ad_http_req *r);
/* A request header (case-insensitive name), NULL when absent. */
const char *ad_http_header(const ad_http_req *r, const char *name);
/* The body held in memory (NUL-terminated for convenience; len excludes
 * the NUL); "" for a streamed or discarded body. */
const char *ad_http_body(const ad_http_req *r, size_t *len);

/* From the headers callback: the body's bytes go to write(ctx, data, len)
 * as they arrive, on an I/O thread (so it must be quick: a buffered file
 * write); a non-zero return drops the rest of the body, and the handler
 * then answers. release(ctx) runs exactly once when the request is done,
 * whether or not the handler was reached (a body over max_body is answered
 * 413 by the server). */
typedef int (*ad_http_sink_fn)(void *ctx, const char *data, size_t len);
void ad_http_set_sink(ad_http_req *r, ad_http_sink_fn write, void (*release)(void *ctx), void *ctx);
/* The sink's ctx (NULL when none), for the handler. */
void *ad_http_sink_ctx(const ad_http_req *r);

/* Answer later: the connection waits (suspended) until ad_http_respond.
 * Call before handing the request to another thread. */
void ad_http_defer(ad_http_req *r);

/* Give the response; takes ownership of resp. Exactly once per request. After
 * it returns the request must not be touched. Thread-safe. */
void ad_http_respond(ad_http_req *r, ad_http_resp *resp);

/* --- responses --------------------------------------------------------- */

/* A response whose body is data (taken: freed by the server). data may be
 * NULL when len is 0. NULL on allocation failure (the server then answers
 * 500 itself when given NULL). */
ad_http_resp *ad_http_resp_take(int status, const char *content_type, void *data, size_t len);
/* A response whose body is len bytes of the open file fd from offset (taken:
 * closed by the server); sent with sendfile. */
ad_http_resp *ad_http_resp_file(int status, const char *content_type, int fd, uint64_t offset, uint64_t len);
/* A streamed response: len bytes (UINT64_MAX: unknown, sent chunked)
 * produced by read(ctx, offset, buf, max), which returns the bytes it put
 * in buf, 0 at the end, or -1 on an error (the connection is then cut).
 * read is called on an I/O thread, so it must be quick (a file or a
 * buffered network stream). free_ctx(ctx) is called once the response is
 * done with, also when it is never sent (taken even on failure). */
typedef long (*ad_http_read_fn)(void *ctx, uint64_t offset, char *buf, size_t max);
ad_http_resp *ad_http_resp_stream(int status, const char *content_type, uint64_t len, ad_http_read_fn read,
                                  void (*free_ctx)(void *ctx), void *ctx);
/* Add a header (copied). Returns 0 on failure. */
int ad_http_resp_header(ad_http_resp *resp, const char *name, const char *value);
void ad_http_resp_free(ad_http_resp *resp);
/* The status of an answer (500 for NULL). */
int ad_http_resp_status(const ad_http_resp *resp);
/* An answer's body when it is in memory (NULL for a file or a stream),
 * *len its length: lent until the answer changes. */
const void *ad_http_resp_data(const ad_http_resp *resp, size_t *len);
/* Replace an in-memory answer's status and body (data taken, even on
 * failure; content_type copied); its headers stay. 0 on failure (a file
 * or stream answer, or out of memory). */
int ad_http_resp_rewrite(ad_http_resp *resp, int status, const char *content_type, void *data, size_t len);
/* A copy of an answer whose body is in memory (NULL for a file or a
 * stream, or out of memory): the same answer for another request. */
ad_http_resp *ad_http_resp_copy(const ad_http_resp *resp);

#endif
