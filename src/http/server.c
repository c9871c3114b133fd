/* server.c — see server.h. The libmicrohttpd access handler is called
 * several times per request: first with only the headers, then once per
 * chunk of body, then with no data. We answer on the last call, never on the
 * first: libmicrohttpd 0.9.75 closes the keep-alive connection when a
 * response is queued on the first call. */
#include "http/server.h"

#include <errno.h>
#include <microhttpd.h>
#include <netdb.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

struct ad_http_server {
    struct MHD_Daemon *daemon;
    ad_http_config cfg;
    int port;
    size_t memory_in_use; /* bytes of bodies held in memory now (__atomic) */
};

typedef struct header {
    char *name, *value;
    struct header *next;
} header;

struct ad_http_resp {
    int status;
    char *content_type;
    void *data;
    size_t len;
    int fd;
    uint64_t offset, file_len;
    ad_http_read_fn read; /* streamed body */
    void (*free_ctx)(void *);
    void *ctx;
    uint64_t stream_len;
    header *headers;
};

struct ad_http_req {
    struct MHD_Connection *conn;
    ad_http_server *srv;
    char *uri;         /* as sent; path and query point into a copy */
    char *path;        /* owned copy of the uri, cut at '?' */
    const char *query; /* into path's allocation */
    const char *method;
    char *body;
    size_t len, cap;
    int calls;
    ad_http_body_mode mode;
    ad_http_sink_fn sink;
    void (*sink_release)(void *);
    void *sink_ctx;
    int sink_failed;   /* the sink refused: the rest is dropped */
    int too_big;       /* body over its limit: 413 */
    int over_budget;   /* no memory for the body now: 503 */
    uint64_t received; /* body bytes so far */
    size_t dropped;    /* bytes of a refused body read and dropped */
    double started;    /* s, monotonic: when the headers were in */
    char id[65];       /* X-Request-Id */
    const char *label; /* static */
    char subject[40];
    int status;
    uint64_t bytes;
    int dispatched; /* handler has been called */
    int suspended;  /* connection suspended by us */
    int answered;   /* ad_http_respond was called; resp may be NULL (500) */
    int deferred;   /* the handler will answer later */
    ad_http_resp *resp;
    pthread_mutex_t lock;
};

/* ---------------------------------------------------------------- responses */

static ad_http_resp *resp_new(int status, const char *content_type)
{
    ad_http_resp *r = calloc(1, sizeof *r);
    if (r == NULL)
        return NULL;
    r->status = status;
    r->fd = -1;
    if (content_type && (r->content_type = strdup(content_type)) == NULL) {
        free(r);
        return NULL;
    }
    return r;
}

ad_http_resp *ad_http_resp_take(int status, const char *content_type, void *data, size_t len)
{
    ad_http_resp *r = resp_new(status, content_type);
    if (r == NULL) {
        free(data);
        return NULL;
    }
    r->data = data;
    r->len = len;
    return r;
}

ad_http_resp *ad_http_resp_file(int status, const char *content_type, int fd, uint64_t offset, uint64_t len)
{
    ad_http_resp *r = resp_new(status, content_type);
    if (r == NULL) {
        close(fd);
        return NULL;
    }
    r->fd = fd;
    r->offset = offset;
    r->file_len = len;
    return r;
}

ad_http_resp *ad_http_resp_stream(int status, const char *content_type, uint64_t len, ad_http_read_fn read,
                                  void (*free_ctx)(void *ctx), void *ctx)
{
    ad_http_resp *r = resp_new(status, content_type);
    if (r == NULL) {
        if (free_ctx)
            free_ctx(ctx);
        return NULL;
    }
    r->read = read;
    r->free_ctx = free_ctx;
    r->ctx = ctx;
    r->stream_len = len;
    return r;
}

int ad_http_resp_header(ad_http_resp *resp, const char *name, const char *value)
{
    if (resp == NULL)
        return 0;
    header *h = calloc(1, sizeof *h);
    if (h == NULL || (h->name = strdup(name)) == NULL || (h->value = strdup(value)) == NULL) {
        if (h)
            free(h->name);
        free(h);
        return 0;
    }
    header **tail = &resp->headers;
    while (*tail)
        tail = &(*tail)->next;
    *tail = h;
    return 1;
}

void ad_http_resp_free(ad_http_resp *r)
{
    if (r == NULL)
        return;
    for (header *h = r->headers, *next; h; h = next) {
        next = h->next;
        free(h->name);
        free(h->value);
        free(h);
    }
    if (r->fd >= 0)
        close(r->fd);
    if (r->free_ctx)
        r->free_ctx(r->ctx);
    free(r->data);
    free(r->content_type);
    free(r);
}

typedef struct {
    ad_http_read_fn read;
    void (*free_ctx)(void *);
    void *ctx;
} stream_ctx;

static ssize_t stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    stream_ctx *s = cls;
    long n = s->read(s->ctx, pos, buf, max);
    if (n < 0)
        return MHD_CONTENT_READER_END_WITH_ERROR;
    if (n == 0)
        return MHD_CONTENT_READER_END_OF_STREAM;
    return (ssize_t)n;
}

static void stream_free(void *cls)
{
    stream_ctx *s = cls;
    if (s->free_ctx)
        s->free_ctx(s->ctx);
    free(s);
}

/* Hand resp to libmicrohttpd; resp is consumed. */
static enum MHD_Result queue_resp(struct MHD_Connection *c, ad_http_req *req, ad_http_resp *r)
{
    static const char fallback[] =
        "{\"error\":{\"code\":\"internal\",\"message\":\"out of memory building the response\",\"param\":null}}";
    struct MHD_Response *m;
    int status;
    if (r == NULL) {
        m = MHD_create_response_from_buffer(sizeof fallback - 1, (void *)fallback, MHD_RESPMEM_PERSISTENT);
        if (m == NULL)
            return MHD_NO;
        MHD_add_response_header(m, "Content-Type", "application/json");
        MHD_add_response_header(m, "X-Content-Type-Options", "nosniff");
        if (req) {
            MHD_add_response_header(m, "X-Request-Id", req->id);
            req->status = 500;
            req->bytes = sizeof fallback - 1;
        }
        enum MHD_Result ok = MHD_queue_response(c, 500, m);
        MHD_destroy_response(m);
        return ok;
    }
    if (r->fd >= 0) {
        m = MHD_create_response_from_fd_at_offset64(r->file_len, r->fd, r->offset);
        if (m)
            r->fd = -1; /* now libmicrohttpd's to close */
    } else if (r->read) {
        stream_ctx *sc = malloc(sizeof *sc);
        m = NULL;
        if (sc) {
            *sc = (stream_ctx){r->read, r->free_ctx, r->ctx};
            m = MHD_create_response_from_callback(r->stream_len == UINT64_MAX ? MHD_SIZE_UNKNOWN : r->stream_len,
                                                  64 * 1024, stream_read, sc, stream_free);
            if (m)
                r->free_ctx = NULL; /* now stream_free's */
            else
                free(sc);
        }
    } else {
        m = r->data ? MHD_create_response_from_buffer(r->len, r->data, MHD_RESPMEM_MUST_FREE)
                    : MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
        if (m)
            r->data = NULL; /* now libmicrohttpd's to free */
    }
    status = r->status;
    uint64_t bytes = r->fd >= 0 || r->file_len ? r->file_len : r->read ? r->stream_len : r->len;
    if (m == NULL) {
        ad_http_resp_free(r);
        return queue_resp(c, req, NULL);
    }
    if (r->content_type)
        MHD_add_response_header(m, "Content-Type", r->content_type);
    /* a browser takes the type as given, never guesses one from the bytes */
    MHD_add_response_header(m, "X-Content-Type-Options", "nosniff");
    if (req) {
        MHD_add_response_header(m, "X-Request-Id", req->id);
        req->status = status;
        req->bytes = bytes == UINT64_MAX ? 0 : bytes;
    }
    for (header *h = r->headers; h; h = h->next)
        MHD_add_response_header(m, h->name, h->value);
    ad_http_resp_free(r);
    enum MHD_Result ok = MHD_queue_response(c, (unsigned)status, m);
    MHD_destroy_response(m);
    return ok;
}

/* ----------------------------------------------------------------- requests */

const char *ad_http_method(const ad_http_req *r) { return r->method; }
const char *ad_http_request_id(const ad_http_req *r) { return r->id; }
void ad_http_set_label(ad_http_req *r, const char *label) { r->label = label; }
void ad_http_set_subject(ad_http_req *r, const char *subject)
{
    snprintf(r->subject, sizeof r->subject, "%s", subject ? subject : "");
}
const char *ad_http_path(const ad_http_req *r) { return r->path; }
const char *ad_http_query(const ad_http_req *r) { return r->query; }

const char *ad_http_header(const ad_http_req *r, const char *name)
{
    return MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, name);
}

const char *ad_http_body(const ad_http_req *r, size_t *len)
{
    *len = r->body ? r->len : 0;
    return r->body ? r->body : "";
}

void ad_http_set_sink(ad_http_req *r, ad_http_sink_fn write, void (*release)(void *ctx), void *ctx)
{
    r->sink = write;
    r->sink_release = release;
    r->sink_ctx = ctx;
}

void *ad_http_sink_ctx(const ad_http_req *r) { return r->sink_ctx; }

void ad_http_defer(ad_http_req *r)
{
    pthread_mutex_lock(&r->lock);
    r->deferred = 1;
    pthread_mutex_unlock(&r->lock);
}

void ad_http_respond(ad_http_req *r, ad_http_resp *resp)
{
    pthread_mutex_lock(&r->lock);
    r->resp = resp; /* NULL: queue() answers 500 */
    r->answered = 1;
    if (r->suspended) {
        r->suspended = 0;
        MHD_resume_connection(r->conn);
    }
    pthread_mutex_unlock(&r->lock);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A request id: 16 hex digits from a per-thread generator seeded once
 * from the kernel (ids need to be unique, not secret). */
static void new_request_id(char out[17])
{
    static __thread uint64_t state;
    if (state == 0) {
        if (getrandom(&state, sizeof state, 0) != (ssize_t)sizeof state || state == 0)
            state = (uint64_t)(uintptr_t)&state ^ (uint64_t)time(NULL) ^ 0x9e3779b97f4a7c15u;
    }
    state ^= state << 13, state ^= state >> 7, state ^= state << 17;
    snprintf(out, 17, "%016llx", (unsigned long long)state);
}

/* The client's X-Request-Id, when it is one we can echo safely. */
static int request_id_ok(const char *v)
{
    size_t n = v ? strlen(v) : 0;
    if (n < 1 || n > 64)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!((v[i] >= 'a' && v[i] <= 'z') || (v[i] >= 'A' && v[i] <= 'Z') || (v[i] >= '0' && v[i] <= '9') ||
              v[i] == '.' || v[i] == '_' || v[i] == '-'))
            return 0;
    return 1;
}

static void *uri_cb(void *cls, const char *uri, struct MHD_Connection *c)
{
    ad_http_req *r = calloc(1, sizeof *r);
    if (r == NULL)
        return NULL;
    r->srv = cls;
    r->conn = c;
    r->label = "-";
    r->started = now_s();
    new_request_id(r->id);
    pthread_mutex_init(&r->lock, NULL);
    if ((r->path = strdup(uri ? uri : "/")) == NULL) {
        pthread_mutex_destroy(&r->lock);
        free(r);
        return NULL;
    }
    char *q = strchr(r->path, '?');
    if (q) {
        *q = '\0';
        r->query = q + 1;
    } else {
        r->query = "";
    }
    return r;
}

static void completed_cb(void *cls, struct MHD_Connection *c, void **con_cls, enum MHD_RequestTerminationCode toe)
{
    ad_http_req *r = *con_cls;
    if (r == NULL)
        return;
    ad_http_server *s = r->srv;
    if (s->cfg.on_done) {
        if (r->status == 0) { /* answered by libmicrohttpd itself, if at all */
            const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_HTTP_STATUS);
            r->status = ci ? (int)ci->http_status : 0;
        }
        ad_http_done d = {.id = r->id,
                          .method = r->method ? r->method : "-",
                          .label = r->label,
                          .subject = r->subject,
                          .status = r->status,
                          .bytes = r->bytes,
                          .ms = (now_s() - r->started) * 1000.0,
                          .completed = toe == MHD_REQUEST_TERMINATED_COMPLETED_OK};
        s->cfg.on_done(s->cfg.app, &d);
    }
    ad_http_resp_free(r->resp);
    if (r->sink_release)
        r->sink_release(r->sink_ctx);
    if (r->body)
        __atomic_sub_fetch(&r->srv->memory_in_use, r->cap, __ATOMIC_RELAXED);
    free(r->body);
    free(r->path);
    pthread_mutex_destroy(&r->lock);
    free(r);
    *con_cls = NULL;
}

static ad_http_resp *error_resp(int status, const char *code, const char *message)
{
    char buf[256];
    int n = snprintf(buf, sizeof buf, "{\"error\":{\"code\":\"%s\",\"message\":\"%s\",\"param\":null}}", code, message);
    char *body = strdup(buf);
    return body ? ad_http_resp_take(status, "application/json", body, (size_t)n) : NULL;
}

static ad_http_resp *too_large(void)
{
    return error_resp(413, "body_too_large", "request body exceeds the configured limit");
}

/* Bytes of a refused body read and dropped, so that the client reads our
 * answer rather than a reset mid-upload; past this, stop and close. */
static uint64_t drain_limit(const ad_http_server *s)
{
    uint64_t four = 4 * (uint64_t)s->cfg.max_body;
    return four > (256u << 20) ? four : (256u << 20);
}

/* A body's first seconds are free; after them it must average min_rate. */
#define RATE_GRACE_S 10.0

typedef struct {
    int n;   /* Content-Length headers */
    int bad; /* one is not a plain decimal that fits 63 bits */
    uint64_t value;
    size_t header_bytes;
} header_scan;

static enum MHD_Result scan_header(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
    header_scan *h = cls;
    (void)kind;
    h->header_bytes += strlen(key) + (value ? strlen(value) : 0) + 4;
    if (strcasecmp(key, "Content-Length") == 0) {
        h->n++;
        uint64_t v = 0;
        const char *p = value ? value : "";
        if (*p == '\0' || strlen(p) > 18)
            h->bad = 1;
        for (; *p && !h->bad; p++) {
            if (*p < '0' || *p > '9')
                h->bad = 1;
            v = v * 10 + (uint64_t)(*p - '0');
        }
        h->value = v;
    }
    return MHD_YES;
}

/* The headers are in: refuse what must not be read further, and decide
 * how the body is taken. Returns a response to queue now, or NULL. */
static ad_http_resp *on_headers(ad_http_server *s, ad_http_req *r, struct MHD_Connection *c)
{
    header_scan h = {0};
    MHD_get_connection_values(c, MHD_HEADER_KIND, scan_header, &h);
    /* two lengths (or one that is not a number) frame the body two ways: a
     * proxy in front may read it one way and us another (smuggling) */
    if (h.n > 1)
        return error_resp(400, "invalid_header", "more than one Content-Length header");
    if (h.bad)
        return error_resp(400, "invalid_header", "Content-Length is not a valid length");
    if (strlen(r->path) + strlen(r->query) + h.header_bytes > s->cfg.max_header)
        return error_resp(431, "header_too_large", "request line and headers exceed the configured max_header");
    /* a declared length over every limit: no sink is set up for it */
    int over = h.n == 1 && h.value > s->cfg.max_body;
    r->mode = over ? AD_HTTP_BODY_DISCARD : s->cfg.on_headers ? s->cfg.on_headers(s->cfg.app, r) : AD_HTTP_BODY_MEMORY;
    if (r->mode == AD_HTTP_BODY_SINK && r->sink == NULL)
        r->mode = AD_HTTP_BODY_DISCARD;
    if (r->mode == AD_HTTP_BODY_MEMORY && h.n == 1 && h.value > s->cfg.max_memory_body)
        over = 1;
    if (over) {
        r->too_big = 1;
        /* a client waiting for 100 Continue has sent nothing yet: refuse
         * now (the connection closes, which costs nothing here) */
        const char *expect = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Expect");
        if (expect && strcasecmp(expect, "100-continue") == 0)
            return too_large();
    }
    return NULL;
}

/* Keep n bytes of body in memory, within the request's and the server's
 * budget. */
static void keep_in_memory(ad_http_server *s, ad_http_req *r, const char *data, size_t n)
{
    if (r->len + n > s->cfg.max_memory_body) {
        r->too_big = 1;
        return;
    }
    if (r->len + n + 1 > r->cap) {
        size_t cap = r->cap ? r->cap : 16384;
        while (cap < r->len + n + 1)
            cap *= 2;
        if (cap > s->cfg.max_memory_body + 1)
            cap = s->cfg.max_memory_body + 1;
        size_t more = cap - r->cap;
        if (__atomic_add_fetch(&s->memory_in_use, more, __ATOMIC_RELAXED) > s->cfg.max_memory_total) {
            __atomic_sub_fetch(&s->memory_in_use, more, __ATOMIC_RELAXED);
            r->over_budget = 1;
            return;
        }
        char *b = realloc(r->body, cap);
        if (b == NULL) {
            __atomic_sub_fetch(&s->memory_in_use, more, __ATOMIC_RELAXED);
            r->over_budget = 1;
            return;
        }
        r->body = b;
        r->cap = cap;
    }
    memcpy(r->body + r->len, data, n);
    r->len += n;
    r->body[r->len] = '\0';
}

static enum MHD_Result access_cb(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                                 const char *version, const char *upload_data, size_t *upload_data_size, void **con_cls)
{
    ad_http_server *s = cls;
    ad_http_req *r = *con_cls;
    if (r == NULL)
        return MHD_NO; /* uri_cb ran out of memory: drop the connection */
    r->method = method;
    if (r->calls++ == 0) {
        /* libmicrohttpd may have answered already (a request it could not
         * parse, such as a length past 64 bits): do not answer twice */
        const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_HTTP_STATUS);
        if (ci && ci->http_status)
            return MHD_YES;
        const char *rid = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Request-Id");
        if (request_id_ok(rid))
            snprintf(r->id, sizeof r->id, "%s", rid);
        /* headers only: answer on a later call, unless the request must
         * not be read further */
        ad_http_resp *refuse = on_headers(s, r, c);
        return refuse ? queue_resp(c, r, refuse) : MHD_YES;
    }
    if (*upload_data_size > 0) {
        size_t n = *upload_data_size;
        *upload_data_size = 0;
        r->received += n;
        double elapsed = now_s() - r->started;
        /* libmicrohttpd cannot send an answer before the body is in, so a
         * body too slow to wait for is cut: the connection is closed */
        if (s->cfg.min_rate && elapsed > RATE_GRACE_S && (double)r->received < (double)s->cfg.min_rate * elapsed) {
            fprintf(stderr, "http: a request body arrives at %.0f bytes/s, under the minimum of %u: closing\n",
                    (double)r->received / elapsed, s->cfg.min_rate);
            return MHD_NO;
        }
        int refused = r->too_big || r->over_budget || r->sink_failed || r->mode == AD_HTTP_BODY_DISCARD;
        if (!refused && r->mode == AD_HTTP_BODY_SINK) {
            if (r->received > s->cfg.max_body) {
                r->too_big = 1;
                if (r->sink_release) { /* the staged bytes go now, not when the drain ends */
                    r->sink_release(r->sink_ctx);
                    r->sink_release = NULL;
                    r->sink_ctx = NULL;
                }
            } else if (r->sink(r->sink_ctx, upload_data, n) != 0) {
                r->sink_failed = 1;
            }
        } else if (!refused) {
            keep_in_memory(s, r, upload_data, n);
        }
        if (r->too_big || r->over_budget) {
            if (r->body) { /* what was kept is of no use now */
                __atomic_sub_fetch(&s->memory_in_use, r->cap, __ATOMIC_RELAXED);
                free(r->body);
                r->body = NULL;
                r->len = r->cap = 0;
            }
        }
        if (r->too_big || r->over_budget || r->sink_failed || r->mode == AD_HTTP_BODY_DISCARD) {
            r->dropped += n;
            if (r->dropped > drain_limit(s)) /* not worth reading further: close */
                return MHD_NO;
        }
        return MHD_YES;
    }
    if (r->too_big)
        return queue_resp(c, r, too_large());
    if (r->over_budget)
        return queue_resp(c, r, error_resp(503, "busy", "too many request bodies in memory; retry later"));
    pthread_mutex_lock(&r->lock);
    if (!r->dispatched) {
        r->dispatched = 1;
        pthread_mutex_unlock(&r->lock);
        s->cfg.handler(s->cfg.app, r);
        pthread_mutex_lock(&r->lock);
    }
    if (r->answered) {
        ad_http_resp *resp = r->resp;
        r->resp = NULL;
        pthread_mutex_unlock(&r->lock);
        return queue_resp(c, r, resp);
    }
    if (!r->deferred) {
        pthread_mutex_unlock(&r->lock);
        return queue_resp(c, r, NULL); /* handler neither answered nor deferred */
    }
    /* deferred: wait for ad_http_respond to resume us */
    r->suspended = 1;
    MHD_suspend_connection(c);
    pthread_mutex_unlock(&r->lock);
    return MHD_YES;
}

/* ------------------------------------------------------------------- daemon */

/* libmicrohttpd's own messages (its format strings, never ours or a
 * client's) */
__attribute__((format(printf, 2, 0))) static void log_cb(void *cls, const char *fmt, va_list ap)
{
    fprintf(stderr, "http: ");
    vfprintf(stderr, fmt, ap);
}

static ad_status parse_listen(const char *listen, struct sockaddr_storage *ss, int *v6, ad_err *err)
{
    char host[256];
    const char *colon = strrchr(listen, ':');
    if (colon == NULL || colon == listen || colon[1] == '\0')
        return ad_err_set(err, AD_EINVAL, "listen '%s' is not HOST:PORT", listen);
    size_t hl = (size_t)(colon - listen);
    if (listen[0] == '[' && colon[-1] == ']') {
        listen++;
        hl -= 2;
    }
    if (hl >= sizeof host)
        return ad_err_set(err, AD_EINVAL, "listen '%s': host too long", listen);
    memcpy(host, listen, hl);
    host[hl] = '\0';
    struct addrinfo hints = {.ai_flags = AI_NUMERICSERV | AI_PASSIVE, .ai_socktype = SOCK_STREAM}, *ai;
    int rc = getaddrinfo(host, colon + 1, &hints, &ai);
    if (rc != 0)
        return ad_err_set(err, AD_EINVAL, "listen '%s': %s", listen, gai_strerror(rc));
    memcpy(ss, ai->ai_addr, ai->ai_addrlen);
    *v6 = ai->ai_family == AF_INET6;
    freeaddrinfo(ai);
    return AD_OK;
}

/* libmicrohttpd answers a request line or headers that overflow its
 * per-connection pool itself, in HTML; a pool above max_header lets ours
 * (JSON, 431) come first. But libmicrohttpd 0.9.75 zeroes the whole pool
 * between two requests on a kept-alive connection: at 4 x max_header + 64
 * KiB that memset was 10% of the CPU of a stream of small GETs (perf), so
 * the pool is twice max_header and a little room for the answer's
 * headers. */
static size_t pool_size(const ad_http_config *cfg)
{
    size_t p = cfg->max_header * 2 + 16384;
    return p < (1u << 20) ? p : (1u << 20);
}

ad_status ad_http_start(const ad_http_config *cfg, ad_http_server **out, ad_err *err)
{
    struct sockaddr_storage ss = {0};
    int v6 = 0;
    ad_status rc = parse_listen(cfg->listen, &ss, &v6, err);
    *out = NULL;
    if (rc != AD_OK)
        return rc;
    ad_http_server *s = calloc(1, sizeof *s);
    if (s == NULL)
        return ad_err_set(err, AD_ENOMEM, "out of memory");
    s->cfg = *cfg;
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG;
    if (v6)
        flags |= MHD_USE_IPv6;
    /* our own listening socket: SO_REUSEADDR (a restart may bind while old
     * connections linger) but never SO_REUSEPORT (a second server on the
     * same address must fail, not share it), and a plain reason when the
     * address is taken */
    int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;
    socklen_t sl = ss.ss_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
        bind(fd, (struct sockaddr *)&ss, sl) != 0 || listen(fd, SOMAXCONN) != 0) {
        int e = errno;
        if (fd >= 0)
            close(fd);
        free(s);
        return ad_err_set(err, AD_EIO, "cannot listen on %s: %s", cfg->listen,
                          e == EADDRINUSE ? "address in use (another server is listening there)" : strerror(e));
    }
    s->daemon = MHD_start_daemon(flags, 0, NULL, NULL, access_cb, s, MHD_OPTION_EXTERNAL_LOGGER, log_cb, s,
                                 MHD_OPTION_LISTEN_SOCKET, fd, MHD_OPTION_THREAD_POOL_SIZE,
                                 (unsigned)(cfg->threads > 0 ? cfg->threads : 1), MHD_OPTION_URI_LOG_CALLBACK, uri_cb,
                                 s, MHD_OPTION_NOTIFY_COMPLETED, completed_cb, s, MHD_OPTION_CONNECTION_LIMIT,
                                 cfg->max_connections, MHD_OPTION_CONNECTION_TIMEOUT, cfg->timeout,
                                 MHD_OPTION_CONNECTION_MEMORY_LIMIT, pool_size(cfg), MHD_OPTION_END);
    if (s->daemon == NULL) {
        close(fd);
        free(s);
        return ad_err_set(err, AD_EIO, "cannot start the HTTP server on %s", cfg->listen);
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(s->daemon, MHD_DAEMON_INFO_BIND_PORT);
    s->port = info ? info->port : 0;
    *out = s;
    return AD_OK;
}

int ad_http_port(const ad_http_server *s) { return s->port; }

void ad_http_stop(ad_http_server *s)
{
    if (s == NULL)
        return;
    MHD_stop_daemon(s->daemon);
    free(s);
}
