/* server.h — the HTTP front: listening, connections, request bodies and
 * responses, over libmicrohttpd (the only module that sees its API).
 *
 * libmicrohttpd's internal epoll thread(s) do all socket I/O. A request is
 * handed to the application once its body has arrived (bounded by
 * max_body); the application answers at once (cheap metadata calls) or defers
 * and answers later from any thread (CPU-heavy work on its own pool), in
 * which case the connection is suspended meanwhile and other clients are
 * served. The server knows nothing about routes or JSON. */
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

typedef struct {
    const char *listen;       /* "HOST:PORT" (IPv4 or [IPv6]) */
    int threads;              /* I/O threads (>= 1) */
    size_t max_body;          /* bytes; larger bodies get 413 */
    size_t max_header;        /* bytes of request line + headers per connection */
    unsigned max_connections; /* concurrent connections */
    unsigned timeout;         /* s; idle connections are closed */
    ad_http_handler handler;
    void *app;
} ad_http_config;

/* Bind and start serving. Errors: AD_EINVAL (bad listen address), AD_EIO
 * (bind failed; message says why). *out is freed with ad_http_stop. */
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
/* A request header (case-insensitive name), NULL when absent. */
const char *ad_http_header(const ad_http_req *r, const char *name);
/* The body (NUL-terminated for convenience; len excludes the NUL). */
const char *ad_http_body(const ad_http_req *r, size_t *len);

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

#endif
