/* server.c — see server.h. An HTTP/1.1 server of its own (RFC 9112), in the
 * manner of h2o's and redis's event loops: a few I/O threads, each an epoll
 * loop over the connections it accepted, all non-blocking.
 *
 * Why not a library: every answer must be the service's own JSON, and
 * libmicrohttpd (used before) answered malformed request lines, a missing
 * Host or an absurd Content-Length itself, in HTML, with no hook to change
 * it (issue 11). Here the request head is parsed by http/head, and every
 * refusal goes out through the same path as a handler's answer.
 *
 * A connection is a small state machine driven by conn_run: read the head,
 * read the body (to memory, a sink or nowhere), hand the request to the
 * handler, write the answer, then the next request (keep-alive, pipelined
 * bytes kept) or a graceful close (our side shut, the client's last bytes
 * read and dropped for a moment, so that it reads the answer rather than a
 * reset). A handler that defers leaves its connection parked (no events)
 * until ad_http_respond, from any thread, puts it on its I/O thread's ready
 * list and wakes that thread. Only the I/O thread touches a connection; the
 * request's lock covers the answer handed over. */
#include "http/server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/random.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "http/head.h"

#define IO_CHUNK 65536           /* bytes read or streamed per step */
#define LINGER_S 2.0             /* s a closing connection's input is still read and dropped */
#define LINGER_BYTES (16u << 20) /* and at most this many bytes */
#define RATE_GRACE_S 10.0        /* a body's first seconds are free; after them it must average min_rate */

typedef struct conn conn;

typedef struct {
    ad_http_server *srv;
    pthread_t tid;
    int ep;        /* epoll */
    int wake;      /* eventfd: a deferred answer came, a slot freed, or stop */
    int listening; /* the listening socket is in ep */
    conn *conns;   /* every connection of this thread */
    pthread_mutex_t lock;
    conn *ready;    /* connections whose deferred answer came (under lock) */
    conn *incoming; /* connections another thread accepted for this one (under lock) */
    char buf[IO_CHUNK];
} io_thread;

struct ad_http_server {
    ad_http_config cfg;
    int fd; /* listening */
    int port;
    int n_threads;
    io_thread *threads;
    int stopping;         /* __atomic */
    unsigned n_conns;     /* open connections (__atomic) */
    unsigned paused;      /* threads that stopped accepting at the limit (__atomic) */
    unsigned next_thread; /* the thread the next accepted connection goes to (__atomic) */
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
    conn *c;
    ad_http_server *srv;
    char *head_buf; /* the head as sent, parsed in place into head */
    ad_http_head head;
    char *path;        /* owned copy of the target, cut at '?' */
    const char *query; /* into path's allocation */
    const char *method;
    char *body;
    size_t len, cap;
    ad_http_body_mode mode;
    ad_http_sink_fn sink;
    void (*sink_release)(void *);
    void *sink_ctx;
    int sink_failed;   /* the sink refused: the rest is dropped */
    int too_big;       /* body over its limit: 413 */
    int over_budget;   /* no memory for the body now: 503 */
    uint64_t received; /* body bytes so far */
    uint64_t dropped;  /* bytes of a refused body read and dropped */
    double started;    /* s, monotonic: when the head was in */
    char id[65];       /* X-Request-Id */
    const char *label; /* static */
    const void *tag;   /* the application's, static: ad_http_set_tag */
    char subject[40];
    int status;
    uint64_t bytes;
    pthread_mutex_t lock; /* the fields below, between the handler's thread and the I/O thread */
    int answered;         /* ad_http_respond was called; resp may be NULL (500) */
    int deferred;         /* the handler will answer later */
    int waiting;          /* the connection is parked until the answer */
    ad_http_resp *resp;
};

enum { S_HEAD, S_BODY, S_HANDLER, S_WRITE, S_LINGER, S_CLOSED };

struct conn {
    int fd;
    io_thread *t;
    conn *prev, *next, *ready_next;
    int state;
    unsigned events; /* what epoll watches for now */
    int in_epoll;    /* the socket is in the thread's epoll (not while parked) */
    int drained;     /* the last read came back short: wait for epoll before reading again */
    double last;     /* s, monotonic: the last progress (for the idle timeout) */
    double head_t0;  /* s, monotonic: the first byte of the head being read (0: none yet) */
    char *in;        /* bytes read but not yet used: the head, pipelined requests */
    size_t in_len, in_cap, scanned;
    ad_http_req *req; /* the request being read, handled or answered */
    uint64_t body_left;
    ad_http_chunked chunked;
    int keep_alive; /* another request may follow this one */
    /* the answer being written */
    char *out; /* status line and headers; kept for the next answer */
    size_t out_len, out_off, out_cap;
    ad_http_resp *resp;
    int no_body, chunked_out;
    uint64_t sent; /* body bytes sent */
    char *sbuf;    /* a streamed body's current piece, framed */
    size_t s_len, s_off;
    int s_end;         /* the stream has ended (its last piece is in sbuf) */
    double linger_end; /* s, monotonic */
    uint64_t lingered;
};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

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

int ad_http_resp_status(const ad_http_resp *r) { return r ? r->status : 500; }

const void *ad_http_resp_data(const ad_http_resp *r, size_t *len)
{
    *len = 0;
    if (r == NULL || r->fd >= 0 || r->read)
        return NULL;
    *len = r->len;
    return r->data;
}

int ad_http_resp_rewrite(ad_http_resp *r, int status, const char *content_type, void *data, size_t len)
{
    char *ct = content_type ? strdup(content_type) : NULL;
    if (r == NULL || r->fd >= 0 || r->read || (content_type && ct == NULL)) {
        free(ct);
        free(data);
        return 0;
    }
    free(r->data);
    free(r->content_type);
    r->status = status;
    r->content_type = ct;
    r->data = data;
    r->len = len;
    return 1;
}

ad_http_resp *ad_http_resp_copy(const ad_http_resp *r)
{
    if (r == NULL || r->fd >= 0 || r->read)
        return NULL;
    void *data = NULL;
    if (r->len && (data = malloc(r->len)) == NULL)
        return NULL;
    if (r->len)
        memcpy(data, r->data, r->len);
    ad_http_resp *c = ad_http_resp_take(r->status, r->content_type, data, r->len);
    for (const header *h = r->headers; c && h; h = h->next)
        if (!ad_http_resp_header(c, h->name, h->value)) {
            ad_http_resp_free(c);
            return NULL;
        }
    return c;
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

/* ----------------------------------------------------------------- requests */

const char *ad_http_method(const ad_http_req *r) { return r->method; }
const char *ad_http_request_id(const ad_http_req *r) { return r->id; }
void ad_http_set_label(ad_http_req *r, const char *label) { r->label = label; }
void ad_http_set_tag(ad_http_req *r, const void *tag) { r->tag = tag; }
const void *ad_http_tag(const ad_http_req *r) { return r->tag; }
void ad_http_set_subject(ad_http_req *r, const char *subject)
{
    snprintf(r->subject, sizeof r->subject, "%s", subject ? subject : "");
}
const char *ad_http_path(const ad_http_req *r) { return r->path; }
const char *ad_http_query(const ad_http_req *r) { return r->query; }

const char *ad_http_header(const ad_http_req *r, const char *name) { return ad_http_head_field(&r->head, name); }

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

static void wake(io_thread *t)
{
    uint64_t one = 1;
    if (write(t->wake, &one, sizeof one) < 0 && errno != EAGAIN)
        fprintf(stderr, "http: cannot wake an I/O thread: %s\n", strerror(errno));
}

void ad_http_respond(ad_http_req *r, ad_http_resp *resp)
{
    pthread_mutex_lock(&r->lock);
    r->resp = resp; /* NULL: the server answers 500 */
    r->answered = 1;
    if (r->waiting) { /* parked: hand it back to its I/O thread */
        r->waiting = 0;
        io_thread *t = r->c->t;
        pthread_mutex_lock(&t->lock);
        r->c->ready_next = t->ready;
        t->ready = r->c;
        pthread_mutex_unlock(&t->lock);
        wake(t);
    }
    pthread_mutex_unlock(&r->lock);
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

static ad_http_req *req_new(conn *c)
{
    ad_http_req *r = calloc(1, sizeof *r);
    if (r == NULL)
        return NULL;
    r->c = c;
    r->srv = c->t->srv;
    r->label = "-";
    r->method = "-";
    r->path = NULL;
    r->query = "";
    r->started = now_s();
    new_request_id(r->id);
    pthread_mutex_init(&r->lock, NULL);
    return r;
}

/* The request is over (answered, or its connection gone): report it and
 * free it. */
static void req_finish(ad_http_req *r, int completed)
{
    ad_http_server *s = r->srv;
    if (s->cfg.on_done) {
        ad_http_done d = {.id = r->id,
                          .method = r->method,
                          .label = r->label,
                          .subject = r->subject,
                          .status = r->status,
                          .bytes = r->bytes,
                          .ms = (now_s() - r->started) * 1000.0,
                          .completed = completed};
        s->cfg.on_done(s->cfg.app, &d);
    }
    ad_http_resp_free(r->resp);
    if (r->sink_release)
        r->sink_release(r->sink_ctx);
    if (r->body)
        __atomic_sub_fetch(&s->memory_in_use, r->cap, __ATOMIC_RELAXED);
    free(r->body);
    free(r->path);
    free(r->head_buf);
    pthread_mutex_destroy(&r->lock);
    free(r);
}

static ad_http_resp *error_resp(int status, const char *code, const char *message)
{
    char buf[320];
    int n = snprintf(buf, sizeof buf, "{\"error\":{\"code\":\"%s\",\"message\":\"%s\",\"param\":null}}", code, message);
    char *body = strdup(buf);
    return body ? ad_http_resp_take(status, "application/json", body, (size_t)n) : NULL;
}

static ad_http_resp *too_large(void)
{
    return error_resp(413, "body_too_large", "request body exceeds the configured limit");
}

/* Bytes of a refused body read and dropped, so that the client reads our
 * answer rather than a reset mid-upload; past this, answer and close. */
static uint64_t drain_limit(const ad_http_server *s)
{
    uint64_t four = 4 * (uint64_t)s->cfg.max_body;
    return four > (256u << 20) ? four : (256u << 20);
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

/* ---------------------------------------------------------------- answering */

static const char *reason(int status)
{
    switch (status) {
    case 200:
        return "OK";
    case 201:
        return "Created";
    case 202:
        return "Accepted";
    case 204:
        return "No Content";
    case 206:
        return "Partial Content";
    case 301:
        return "Moved Permanently";
    case 302:
        return "Found";
    case 303:
        return "See Other";
    case 304:
        return "Not Modified";
    case 307:
        return "Temporary Redirect";
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 406:
        return "Not Acceptable";
    case 408:
        return "Request Timeout";
    case 409:
        return "Conflict";
    case 410:
        return "Gone";
    case 411:
        return "Length Required";
    case 412:
        return "Precondition Failed";
    case 413:
        return "Content Too Large";
    case 414:
        return "URI Too Long";
    case 415:
        return "Unsupported Media Type";
    case 416:
        return "Range Not Satisfiable";
    case 422:
        return "Unprocessable Content";
    case 428:
        return "Precondition Required";
    case 429:
        return "Too Many Requests";
    case 431:
        return "Request Header Fields Too Large";
    case 500:
        return "Internal Server Error";
    case 501:
        return "Not Implemented";
    case 502:
        return "Bad Gateway";
    case 503:
        return "Service Unavailable";
    case 504:
        return "Gateway Timeout";
    case 505:
        return "HTTP Version Not Supported";
    case 507:
        return "Insufficient Storage";
    default:
        return "Status";
    }
}

/* The Date header's value, made once a second per thread. */
static const char *http_date(void)
{
    static __thread time_t made = -1;
    static __thread char text[40];
    time_t t = time(NULL);
    if (t != made) {
        struct tm tm;
        gmtime_r(&t, &tm);
        strftime(text, sizeof text, "%a, %d %b %Y %H:%M:%S GMT", &tm);
        made = t;
    }
    return text;
}

/* Append to the connection's head buffer; 0 when out of memory. */
static int out_add(conn *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int out_add(conn *c, const char *fmt, ...)
{
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(c->out + c->out_len, c->out_cap - c->out_len, fmt, ap);
        va_end(ap);
        if (n < 0)
            return 0;
        if (c->out_len + (size_t)n < c->out_cap) {
            c->out_len += (size_t)n;
            return 1;
        }
        size_t want = (c->out_cap + (size_t)n) * 2;
        char *o = realloc(c->out, want);
        if (o == NULL)
            return 0;
        c->out = o;
        c->out_cap = want;
    }
}

/* Start writing resp (taken; NULL: a 500) as the answer to the current
 * request. */
static void answer(conn *c, ad_http_resp *r)
{
    static const char fallback[] =
        "{\"error\":{\"code\":\"internal\",\"message\":\"out of memory building the response\",\"param\":null}}";
    ad_http_req *req = c->req;
    if (r == NULL) {
        char *body = strdup(fallback);
        r = body ? ad_http_resp_take(500, "application/json", body, sizeof fallback - 1) : NULL;
    }
    uint64_t len = r == NULL ? 0 : r->fd >= 0 ? r->file_len : r->read ? r->stream_len : r->len;
    int status = r ? r->status : 500;
    c->resp = r;
    c->sent = 0;
    c->s_len = c->s_off = 0;
    c->s_end = 0;
    c->no_body = strcmp(req->method, "HEAD") == 0 || status == 204 || status == 304 || r == NULL;
    /* HTTP/1.0 has no chunks: a body of unknown length ends with the
     * connection */
    c->chunked_out = len == UINT64_MAX && req->head.minor == 1;
    if (len == UINT64_MAX && !c->chunked_out && !c->no_body)
        c->keep_alive = 0;
    if (__atomic_load_n(&c->t->srv->stopping, __ATOMIC_RELAXED))
        c->keep_alive = 0;
    req->status = status;
    req->bytes = len == UINT64_MAX || c->no_body ? 0 : len;

    c->out_len = c->out_off = 0;
    if (c->out == NULL && (c->out = malloc(c->out_cap = 512)) == NULL) {
        c->state = S_CLOSED;
        return;
    }
    int ok = out_add(c, "HTTP/1.1 %d %s\r\nDate: %s\r\n", status, reason(status), http_date());
    if (r && r->content_type)
        ok = ok && out_add(c, "Content-Type: %s\r\n", r->content_type);
    /* a browser takes the type as given, never guesses one from the bytes */
    ok = ok && out_add(c, "X-Content-Type-Options: nosniff\r\nX-Request-Id: %s\r\n", req->id);
    for (header *h = r ? r->headers : NULL; h && ok; h = h->next)
        ok = out_add(c, "%s: %s\r\n", h->name, h->value);
    if (status != 204 && status != 304 && ok) {
        if (c->chunked_out)
            ok = out_add(c, "Transfer-Encoding: chunked\r\n");
        else if (len != UINT64_MAX)
            ok = out_add(c, "Content-Length: %llu\r\n", (unsigned long long)len);
    }
    if (ok && !c->keep_alive)
        ok = out_add(c, "Connection: close\r\n");
    else if (ok && req->head.minor == 0)
        ok = out_add(c, "Connection: keep-alive\r\n");
    ok = ok && out_add(c, "\r\n");
    if (!ok) {
        c->state = S_CLOSED;
        return;
    }
    c->state = S_WRITE;
}

/* Refuse the request now, with the body (if any) left unread: the
 * connection closes after the answer. */
static void refuse(conn *c, ad_http_resp *r)
{
    c->keep_alive = 0;
    answer(c, r);
}

/* ------------------------------------------------------------ the request */

/* The handler's turn: the body is in (or refused). */
static void dispatch(conn *c)
{
    ad_http_server *s = c->t->srv;
    ad_http_req *r = c->req;
    if (r->too_big) {
        answer(c, too_large());
        return;
    }
    if (r->over_budget) {
        answer(c, error_resp(503, "busy", "too many request bodies in memory; retry later"));
        return;
    }
    s->cfg.handler(s->cfg.app, r);
    pthread_mutex_lock(&r->lock);
    if (r->answered) {
        ad_http_resp *resp = r->resp;
        r->resp = NULL;
        pthread_mutex_unlock(&r->lock);
        answer(c, resp);
        return;
    }
    if (!r->deferred) { /* the handler neither answered nor deferred */
        pthread_mutex_unlock(&r->lock);
        answer(c, NULL);
        return;
    }
    r->waiting = 1; /* parked until ad_http_respond */
    c->state = S_HANDLER;
    pthread_mutex_unlock(&r->lock);
}

/* The head is the first head_len bytes of c->in: parse it and decide how
 * the body is taken. */
static void begin_request(conn *c, size_t head_len)
{
    ad_http_server *s = c->t->srv;
    ad_http_req *r = c->req = req_new(c);
    if (r == NULL || (r->head_buf = malloc(head_len + 1)) == NULL) {
        c->state = S_CLOSED;
        return;
    }
    memcpy(r->head_buf, c->in, head_len);
    r->head_buf[head_len] = '\0';
    memmove(c->in, c->in + head_len, c->in_len - head_len);
    c->in_len -= head_len;
    c->scanned = 0;

    int status;
    const char *code, *message;
    if (ad_http_head_parse(r->head_buf, head_len, &r->head, &status, &code, &message) != AD_HEAD_OK) {
        memset(&r->head, 0, sizeof r->head);
        r->head.minor = 1;
        refuse(c, error_resp(status, code, message));
        return;
    }
    r->method = r->head.method;
    if ((r->path = strdup(r->head.target)) == NULL) {
        c->state = S_CLOSED;
        return;
    }
    char *q = strchr(r->path, '?');
    if (q) {
        *q = '\0';
        r->query = q + 1;
    }
    const char *rid = ad_http_head_field(&r->head, "X-Request-Id");
    if (request_id_ok(rid))
        snprintf(r->id, sizeof r->id, "%s", rid);
    c->keep_alive = r->head.keep_alive;
    c->body_left = r->head.framing == AD_HTTP_BODY_LENGTH ? r->head.length : 0;
    memset(&c->chunked, 0, sizeof c->chunked);

    /* a declared length over every limit: no sink is set up for it */
    int over = r->head.framing == AD_HTTP_BODY_LENGTH && r->head.length > s->cfg.max_body;
    r->mode = over ? AD_HTTP_BODY_DISCARD : s->cfg.on_headers ? s->cfg.on_headers(s->cfg.app, r) : AD_HTTP_BODY_MEMORY;
    if (r->mode == AD_HTTP_BODY_SINK && r->sink == NULL)
        r->mode = AD_HTTP_BODY_DISCARD;
    if (r->mode == AD_HTTP_BODY_MEMORY && r->head.framing == AD_HTTP_BODY_LENGTH &&
        r->head.length > s->cfg.max_memory_body)
        over = 1;
    if (r->head.framing == AD_HTTP_BODY_NONE) {
        dispatch(c);
        return;
    }
    if (over) {
        r->too_big = 1;
        /* a client waiting for 100 Continue has sent nothing yet, and a
         * length past what would be drained is never read whole: refuse
         * now, not at the idle timeout */
        if (r->head.expect_continue || (r->head.framing == AD_HTTP_BODY_LENGTH && r->head.length > drain_limit(s))) {
            refuse(c, too_large());
            return;
        }
    } else if (r->head.expect_continue && r->head.minor == 1) {
        static const char go[] = "HTTP/1.1 100 Continue\r\n\r\n";
        /* the first bytes on a connection with nothing else to send: they
         * fit in the socket's buffer, or the connection is broken */
        if (send(c->fd, go, sizeof go - 1, MSG_NOSIGNAL) != (ssize_t)(sizeof go - 1)) {
            c->state = S_CLOSED;
            return;
        }
    }
    c->state = S_BODY;
}

/* n bytes of body arrived: keep them, stream them or drop them. Returns 0,
 * or -1 when the request was answered (refused) meanwhile. */
static int take_body(conn *c, const char *data, size_t n)
{
    ad_http_server *s = c->t->srv;
    ad_http_req *r = c->req;
    r->received += n;
    /* checked on every read, data or not: chunk extensions and trailers
     * move the idle timer but are not progress (issue 30) */
    double elapsed = now_s() - r->started;
    if (s->cfg.min_rate && elapsed > RATE_GRACE_S && (double)r->received < (double)s->cfg.min_rate * elapsed) {
        fprintf(stderr, "http: a request body arrives at %.0f bytes/s, under the minimum of %u: refused\n",
                (double)r->received / elapsed, s->cfg.min_rate);
        refuse(c, error_resp(408, "body_too_slow", "the request body arrives slower than the configured minimum rate"));
        return -1;
    }
    if (n == 0)
        return 0;
    int refused = r->too_big || r->over_budget || r->sink_failed || r->mode == AD_HTTP_BODY_DISCARD;
    if (!refused && r->mode == AD_HTTP_BODY_SINK) {
        if (r->received > s->cfg.max_body) {
            r->too_big = 1;
            if (r->sink_release) { /* the staged bytes go now, not when the drain ends */
                r->sink_release(r->sink_ctx);
                r->sink_release = NULL;
                r->sink_ctx = NULL;
            }
        } else if (r->sink(r->sink_ctx, data, n) != 0) {
            r->sink_failed = 1;
        }
    } else if (!refused) {
        keep_in_memory(s, r, data, n);
    }
    if ((r->too_big || r->over_budget) && r->body) { /* what was kept is of no use now */
        __atomic_sub_fetch(&s->memory_in_use, r->cap, __ATOMIC_RELAXED);
        free(r->body);
        r->body = NULL;
        r->len = r->cap = 0;
    }
    if (r->too_big || r->over_budget || r->sink_failed || r->mode == AD_HTTP_BODY_DISCARD) {
        r->dropped += n;
        if (r->dropped > drain_limit(s)) { /* not worth reading further: answer and close */
            c->keep_alive = 0;
            dispatch(c);
            return -1;
        }
    }
    return 0;
}

/* Body bytes in buf[0..len): framed, taken; *used is how many belonged to
 * this request. Returns 1 when the body is complete, 0 when more is
 * needed, -1 when the request was answered or the connection must close. */
static int frame_body(conn *c, char *buf, size_t len, size_t *used)
{
    if (c->req->head.framing == AD_HTTP_BODY_LENGTH) {
        size_t n = (uint64_t)len < c->body_left ? len : (size_t)c->body_left;
        *used = n;
        c->body_left -= n;
        if (take_body(c, buf, n) != 0)
            return -1;
        return c->body_left == 0;
    }
    size_t data;
    ad_chunked_result cr = ad_http_chunked_decode(&c->chunked, buf, len, used, &data);
    if (cr == AD_CHUNKED_ERROR) {
        refuse(c, error_resp(400, "bad_request", "malformed chunked request body"));
        return -1;
    }
    if (take_body(c, buf, data) != 0)
        return -1;
    return cr == AD_CHUNKED_DONE;
}

/* ------------------------------------------------------------ connections */

/* Make room for n more bytes in c->in. */
static int in_reserve(conn *c, size_t n)
{
    if (c->in_len + n <= c->in_cap)
        return 1;
    size_t cap = c->in_cap ? c->in_cap : 4096;
    while (cap < c->in_len + n)
        cap *= 2;
    char *p = realloc(c->in, cap);
    if (p == NULL)
        return 0;
    c->in = p;
    c->in_cap = cap;
    return 1;
}

/* Each step moves the connection on as far as the socket allows and
 * returns 1 when its state changed (run again), 0 when it waits for the
 * socket. */

static int step_head(conn *c)
{
    ad_http_server *s = c->t->srv;
    size_t limit = s->cfg.max_header;
    for (;;) {
        /* blank lines before a request are allowed (RFC 9112 2.2) */
        size_t skip = 0;
        while (skip + 1 < c->in_len && c->in[skip] == '\r' && c->in[skip + 1] == '\n')
            skip += 2;
        if (skip) {
            memmove(c->in, c->in + skip, c->in_len - skip);
            c->in_len -= skip;
            c->scanned = 0;
        }
        if (c->in_len > 0 && c->head_t0 == 0)
            c->head_t0 = now_s(); /* bytes of the next request (pipelined, or just read) */
        size_t n = ad_http_head_len(c->in, c->in_len, &c->scanned);
        if (n > 0 || c->in_len > limit) {
            c->head_t0 = 0;
            if (n == 0 || n > limit) {
                if ((c->req = req_new(c)) == NULL) {
                    c->state = S_CLOSED;
                    return 1;
                }
                c->req->head.minor = 1;
                refuse(c, error_resp(431, "header_too_large",
                                     "request line and headers exceed the configured max_header"));
                return 1;
            }
            begin_request(c, n);
            return 1;
        }
        if (!in_reserve(c, limit + 2 - c->in_len < 4096 ? limit + 2 - c->in_len : 4096)) {
            c->state = S_CLOSED;
            return 1;
        }
        /* a read that came back short emptied the socket: another would
         * only say EAGAIN (a system call per request saved) */
        if (c->drained)
            return 0;
        size_t room = c->in_cap - c->in_len;
        ssize_t k = recv(c->fd, c->in + c->in_len, room, 0);
        if (k > 0) {
            c->in_len += (size_t)k;
            c->drained = (size_t)k < room;
            c->last = now_s();
            continue;
        }
        if (k < 0 && (errno == EAGAIN || errno == EINTR))
            return 0;
        c->state = S_CLOSED; /* the client is gone, between requests or mid-head */
        return 1;
    }
}

#define BODY_TURN (1u << 20) /* bytes of one body read per turn of its I/O thread */

static int step_body(conn *c)
{
    io_thread *t = c->t;
    if (c->in_len > 0) { /* bytes read with the head */
        size_t used = 0;
        int done = frame_body(c, c->in, c->in_len, &used);
        if (done < 0)
            return 1;
        memmove(c->in, c->in + used, c->in_len - used);
        c->in_len -= used;
        if (done) {
            dispatch(c);
            return 1;
        }
    }
    /* A turn of at most BODY_TURN bytes: a client that sends as fast as we
     * read would otherwise hold this thread until its body ends, while the
     * other bodies it serves wait (eight 80 MiB uploads on an ASan build:
     * one waited past the body-rate floor's 10 s and got a 408). epoll is
     * level-triggered: the rest is reported again, after the others. */
    size_t turn = 0;
    for (;;) {
        if (turn >= BODY_TURN)
            return 0;
        size_t want = sizeof t->buf;
        if (c->req->head.framing == AD_HTTP_BODY_LENGTH && c->body_left < want)
            want = (size_t)c->body_left; /* never read into the next request */
        ssize_t k = recv(c->fd, t->buf, want, 0);
        if (k < 0 && (errno == EAGAIN || errno == EINTR))
            return 0;
        if (k > 0)
            turn += (size_t)k;
        if (k <= 0) {
            c->state = S_CLOSED; /* gone mid-body */
            return 1;
        }
        c->last = now_s();
        size_t used = 0;
        int done = frame_body(c, t->buf, (size_t)k, &used);
        if (done < 0)
            return 1;
        if (done) {
            if (used < (size_t)k) { /* the next request's first bytes */
                if (!in_reserve(c, (size_t)k - used)) {
                    c->state = S_CLOSED;
                    return 1;
                }
                memcpy(c->in + c->in_len, t->buf + used, (size_t)k - used);
                c->in_len += (size_t)k - used;
            }
            dispatch(c);
            return 1;
        }
    }
}

/* The next piece of a streamed body into c->sbuf, framed as a chunk when
 * chunked. Returns 0, or -1 when the stream failed. */
static int fill_stream(conn *c)
{
    ad_http_resp *r = c->resp;
    if (c->sbuf == NULL && (c->sbuf = malloc(IO_CHUNK + 32)) == NULL)
        return -1;
    size_t max = IO_CHUNK;
    if (r->stream_len != UINT64_MAX && r->stream_len - c->sent < max)
        max = (size_t)(r->stream_len - c->sent);
    long n = max ? r->read(r->ctx, c->sent, c->sbuf + 16, max) : 0;
    if (n < 0 || (size_t)n > max || (n == 0 && r->stream_len != UINT64_MAX && c->sent < r->stream_len))
        return -1;
    c->sent += (uint64_t)n;
    if (n == 0)
        c->s_end = 1;
    if (!c->chunked_out) {
        c->s_off = 16;
        c->s_len = 16 + (size_t)n;
        return 0;
    }
    if (n == 0) {
        memcpy(c->sbuf, "0\r\n\r\n", 5);
        c->s_off = 0;
        c->s_len = 5;
        return 0;
    }
    char size[17];
    int sl = snprintf(size, sizeof size, "%lx\r\n", n);
    c->s_off = 16 - (size_t)sl;
    memcpy(c->sbuf + c->s_off, size, (size_t)sl);
    memcpy(c->sbuf + 16 + n, "\r\n", 2);
    c->s_len = 16 + (size_t)n + 2;
    return 0;
}

/* The answer is out: report the request and go on to the next one, or
 * close. */
static void end_answer(conn *c)
{
    if (c->resp && c->resp->read && c->resp->stream_len == UINT64_MAX)
        c->req->bytes = c->sent;
    ad_http_resp_free(c->resp);
    c->resp = NULL;
    req_finish(c->req, 1);
    c->req = NULL;
    if (c->keep_alive) {
        c->state = S_HEAD;
        return;
    }
    /* our side is done; the client's last bytes are read and dropped for a
     * moment so that it sees the answer, not a reset */
    shutdown(c->fd, SHUT_WR);
    c->linger_end = now_s() + LINGER_S;
    c->lingered = 0;
    c->state = S_LINGER;
}

static int step_write(conn *c)
{
    ad_http_resp *r = c->resp;
    for (;;) {
        ssize_t k;
        if (c->out_off < c->out_len) {
            /* the head, with a body in memory in the same call */
            struct iovec iov[2] = {{c->out + c->out_off, c->out_len - c->out_off}, {NULL, 0}};
            int n = 1;
            if (r && !c->no_body && r->fd < 0 && r->read == NULL && r->len > 0) {
                iov[1] = (struct iovec){r->data, r->len};
                n = 2;
            }
            struct msghdr mh = {.msg_iov = iov, .msg_iovlen = (size_t)n};
            k = sendmsg(c->fd, &mh, MSG_NOSIGNAL);
            if (k > 0) {
                size_t head = c->out_len - c->out_off;
                if ((size_t)k >= head) {
                    c->out_off = c->out_len;
                    c->sent += (size_t)k - head;
                } else {
                    c->out_off += (size_t)k;
                }
            }
        } else if (r == NULL || c->no_body) {
            end_answer(c);
            return 1;
        } else if (r->fd >= 0) {
            if (c->sent == r->file_len) {
                end_answer(c);
                return 1;
            }
            off_t off = (off_t)(r->offset + c->sent);
            uint64_t left = r->file_len - c->sent;
            k = sendfile(c->fd, r->fd, &off, left > (1u << 20) ? (1u << 20) : (size_t)left);
            if (k == 0) { /* the file is shorter than it said */
                c->state = S_CLOSED;
                return 1;
            }
            if (k > 0)
                c->sent += (uint64_t)k;
        } else if (r->read) {
            if (c->s_off == c->s_len) {
                if (c->s_end) {
                    end_answer(c);
                    return 1;
                }
                if (fill_stream(c) != 0) {
                    c->state = S_CLOSED;
                    return 1;
                }
                continue;
            }
            k = send(c->fd, c->sbuf + c->s_off, c->s_len - c->s_off, MSG_NOSIGNAL);
            if (k > 0)
                c->s_off += (size_t)k;
        } else {
            if (c->sent == r->len) {
                end_answer(c);
                return 1;
            }
            k = send(c->fd, (char *)r->data + c->sent, r->len - c->sent, MSG_NOSIGNAL);
            if (k > 0)
                c->sent += (uint64_t)k;
        }
        if (k > 0) {
            c->last = now_s();
            continue;
        }
        if (k < 0 && (errno == EAGAIN || errno == EINTR))
            return 0;
        c->state = S_CLOSED; /* the client is gone mid-answer */
        return 1;
    }
}

static int step_linger(conn *c)
{
    for (;;) {
        ssize_t k = recv(c->fd, c->t->buf, sizeof c->t->buf, 0);
        if (k < 0 && (errno == EAGAIN || errno == EINTR))
            return 0;
        if (k <= 0 || (c->lingered += (uint64_t)k) > LINGER_BYTES) {
            c->state = S_CLOSED;
            return 1;
        }
    }
}

static void conn_close(conn *c)
{
    io_thread *t = c->t;
    ad_http_server *s = t->srv;
    if (c->req)
        req_finish(c->req, 0);
    ad_http_resp_free(c->resp);
    if (c->in_epoll)
        epoll_ctl(t->ep, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
    if (c->prev)
        c->prev->next = c->next;
    else
        t->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    free(c->in);
    free(c->out);
    free(c->sbuf);
    free(c);
    __atomic_sub_fetch(&s->n_conns, 1, __ATOMIC_RELAXED);
    if (__atomic_load_n(&s->paused, __ATOMIC_RELAXED)) /* a slot is free: whoever stopped accepting resumes */
        for (int i = 0; i < s->n_threads; i++)
            wake(&s->threads[i]);
}

/* Drive c until it waits for its socket (or a deferred answer), then
 * watch for what it waits for. */
static void conn_run(conn *c, int readable)
{
    if (readable)
        c->drained = 0;
    for (;;) {
        int moved = 0;
        switch (c->state) {
        case S_HEAD:
            moved = step_head(c);
            break;
        case S_BODY:
            moved = step_body(c);
            break;
        case S_WRITE:
            moved = step_write(c);
            break;
        case S_LINGER:
            moved = step_linger(c);
            break;
        case S_HANDLER:
            break;
        case S_CLOSED:
            conn_close(c);
            return;
        }
        if (!moved)
            break;
    }
    /* parked for its handler, the socket leaves epoll altogether: epoll
     * reports a hang-up or an error whatever it is asked for, and would
     * report it again and again until the answer came */
    if (c->state == S_HANDLER) {
        if (c->in_epoll && epoll_ctl(c->t->ep, EPOLL_CTL_DEL, c->fd, NULL) == 0)
            c->in_epoll = 0;
        return;
    }
    unsigned want = c->state == S_WRITE ? EPOLLOUT : EPOLLIN;
    if (want != c->events || !c->in_epoll) {
        struct epoll_event ev = {.events = want, .data.ptr = c};
        if (epoll_ctl(c->t->ep, c->in_epoll ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, c->fd, &ev) == 0) {
            c->events = want;
            c->in_epoll = 1;
        } else {
            /* cannot be watched: no event would ever come for it */
            fprintf(stderr, "http: epoll_ctl: %s: closing a connection\n", strerror(errno));
            conn_close(c);
        }
    }
}

/* ------------------------------------------------------------- I/O threads */

static void listen_on(io_thread *t, int on)
{
    ad_http_server *s = t->srv;
    if (on == t->listening)
        return;
    struct epoll_event ev = {.events = EPOLLIN | EPOLLEXCLUSIVE, .data.ptr = NULL};
    if (epoll_ctl(t->ep, on ? EPOLL_CTL_ADD : EPOLL_CTL_DEL, s->fd, &ev) != 0)
        return;
    t->listening = on;
    if (on)
        __atomic_sub_fetch(&s->paused, 1, __ATOMIC_RELAXED);
    else
        __atomic_add_fetch(&s->paused, 1, __ATOMIC_RELAXED);
}

/* Take c (accepted for t, by any thread) into t's loop. */
static void adopt(io_thread *t, conn *c)
{
    c->events = EPOLLIN;
    c->in_epoll = 1;
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
    if (epoll_ctl(t->ep, EPOLL_CTL_ADD, c->fd, &ev) != 0) {
        close(c->fd);
        free(c);
        __atomic_sub_fetch(&t->srv->n_conns, 1, __ATOMIC_RELAXED);
        return;
    }
    c->next = t->conns;
    if (t->conns)
        t->conns->prev = c;
    t->conns = c;
}

/* Accept what is waiting and deal the connections to the threads in turn:
 * whichever thread wakes for the listening socket takes a burst of them,
 * and kept to itself they would queue behind each other on one core
 * while the other thread idles (p99 of reads under cut-outs was 8 times
 * worse). */
static void accept_some(io_thread *t)
{
    ad_http_server *s = t->srv;
    for (int i = 0; i < 64; i++) {
        /* at the limit, further connections wait in the kernel's backlog */
        if (__atomic_add_fetch(&s->n_conns, 1, __ATOMIC_RELAXED) > s->cfg.max_connections) {
            __atomic_sub_fetch(&s->n_conns, 1, __ATOMIC_RELAXED);
            listen_on(t, 0);
            return;
        }
        int fd = accept4(s->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        conn *c = fd >= 0 ? calloc(1, sizeof *c) : NULL;
        if (c == NULL) {
            __atomic_sub_fetch(&s->n_conns, 1, __ATOMIC_RELAXED);
            if (fd >= 0)
                close(fd);
            else if (errno == EMFILE || errno == ENFILE)
                fprintf(stderr, "http: cannot accept: %s\n", strerror(errno));
            return;
        }
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        io_thread *to = &s->threads[__atomic_fetch_add(&s->next_thread, 1, __ATOMIC_RELAXED) % (unsigned)s->n_threads];
        c->fd = fd;
        c->t = to;
        c->state = S_HEAD;
        c->last = now_s();
        if (to == t) {
            adopt(t, c);
            continue;
        }
        pthread_mutex_lock(&to->lock);
        c->next = to->incoming;
        to->incoming = c;
        pthread_mutex_unlock(&to->lock);
        wake(to);
    }
}

/* A head that took longer than the head timeout from its first byte: a
 * client trickling it a byte at a time would keep its slot forever, the
 * idle timer restarting on every byte (issue 30). Answered 408, closed. */
static void head_too_slow(conn *c)
{
    if ((c->req = req_new(c)) == NULL) {
        conn_close(c);
        return;
    }
    c->req->head.minor = 1;
    c->head_t0 = 0;
    refuse(c, error_resp(408, "header_timeout", "the request head took longer than the configured header_timeout"));
    conn_run(c, 0);
}

/* Close the connections idle for longer than the timeout; one waiting for
 * its handler is not idle. */
static void sweep(io_thread *t, double now)
{
    unsigned timeout = t->srv->cfg.timeout;
    unsigned head_timeout = t->srv->cfg.head_timeout;
    for (conn *c = t->conns, *next; c; c = next) {
        next = c->next;
        if (c->state == S_HEAD && head_timeout && c->head_t0 > 0 && now - c->head_t0 > (double)head_timeout) {
            head_too_slow(c);
            continue;
        }
        if (c->state == S_LINGER ? now > c->linger_end
                                 : c->state != S_HANDLER && timeout && now - c->last > (double)timeout)
            conn_close(c);
    }
}

static void *io_main(void *arg)
{
    io_thread *t = arg;
    ad_http_server *s = t->srv;
    double swept = now_s();
    struct epoll_event ev[64];
    while (!__atomic_load_n(&s->stopping, __ATOMIC_RELAXED)) {
        int n = epoll_wait(t->ep, ev, 64, 1000);
        for (int i = 0; i < n; i++) {
            if (ev[i].data.ptr == NULL) {
                accept_some(t);
            } else if (ev[i].data.ptr == t) {
                uint64_t v;
                if (read(t->wake, &v, sizeof v) < 0 && errno != EAGAIN)
                    fprintf(stderr, "http: wake: %s\n", strerror(errno));
            } else {
                conn_run(ev[i].data.ptr, (ev[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) != 0);
            }
        }
        /* connections dealt to this thread, and deferred answers that came */
        pthread_mutex_lock(&t->lock);
        conn *ready = t->ready, *incoming = t->incoming;
        t->ready = t->incoming = NULL;
        pthread_mutex_unlock(&t->lock);
        while (incoming) {
            conn *c = incoming;
            incoming = c->next;
            c->next = NULL;
            adopt(t, c);
        }
        while (ready) {
            conn *c = ready;
            ready = c->ready_next;
            pthread_mutex_lock(&c->req->lock);
            ad_http_resp *resp = c->req->resp;
            c->req->resp = NULL;
            pthread_mutex_unlock(&c->req->lock);
            answer(c, resp);
            conn_run(c, 0);
        }
        if (!t->listening && __atomic_load_n(&s->n_conns, __ATOMIC_RELAXED) < s->cfg.max_connections)
            listen_on(t, 1);
        double now = now_s();
        if (now - swept >= 1.0) {
            sweep(t, now);
            swept = now;
        }
    }
    for (conn *c = t->conns, *next; c; c = next) {
        next = c->next;
        if (c->state == S_HANDLER) /* its handler still holds the request: leave it be */
            continue;
        conn_close(c);
    }
    pthread_mutex_lock(&t->lock);
    for (conn *c = t->incoming, *next; c; c = next) { /* dealt, never adopted */
        next = c->next;
        close(c->fd);
        free(c);
        __atomic_sub_fetch(&s->n_conns, 1, __ATOMIC_RELAXED);
    }
    t->incoming = NULL;
    pthread_mutex_unlock(&t->lock);
    return NULL;
}

/* ------------------------------------------------------------------- server */

static ad_status parse_listen(const char *listen, struct sockaddr_storage *ss, ad_err *err)
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
    freeaddrinfo(ai);
    return AD_OK;
}

static void threads_free(ad_http_server *s)
{
    for (int i = 0; i < s->n_threads; i++) {
        io_thread *t = &s->threads[i];
        if (t->ep >= 0)
            close(t->ep);
        if (t->wake >= 0)
            close(t->wake);
        pthread_mutex_destroy(&t->lock);
    }
    free(s->threads);
}

ad_status ad_http_start(const ad_http_config *cfg, ad_http_server **out, ad_err *err)
{
    struct sockaddr_storage ss = {0};
    ad_status rc = parse_listen(cfg->listen, &ss, err);
    *out = NULL;
    if (rc != AD_OK)
        return rc;
    ad_http_server *s = calloc(1, sizeof *s);
    if (s == NULL)
        return ad_err_set(err, AD_ENOMEM, "out of memory");
    s->cfg = *cfg;
    if (s->cfg.max_connections == 0)
        s->cfg.max_connections = 1;
    /* SO_REUSEADDR (a restart may bind while old connections linger) but
     * never SO_REUSEPORT (a second server on the same address must fail,
     * not share it), and a plain reason when the address is taken */
    int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0), one = 1;
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
    s->fd = fd;
    struct sockaddr_storage bound;
    socklen_t bl = sizeof bound;
    if (getsockname(fd, (struct sockaddr *)&bound, &bl) == 0)
        s->port = ntohs(bound.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&bound)->sin6_port
                                                    : ((struct sockaddr_in *)&bound)->sin_port);
    s->n_threads = cfg->threads > 0 ? cfg->threads : 1;
    if ((s->threads = calloc((size_t)s->n_threads, sizeof *s->threads)) == NULL) {
        close(fd);
        free(s);
        return ad_err_set(err, AD_ENOMEM, "out of memory");
    }
    for (int i = 0; i < s->n_threads; i++) {
        io_thread *t = &s->threads[i];
        t->srv = s;
        pthread_mutex_init(&t->lock, NULL);
        t->ep = epoll_create1(EPOLL_CLOEXEC);
        t->wake = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
        struct epoll_event ev = {.events = EPOLLIN, .data.ptr = t};
        if (t->ep < 0 || t->wake < 0 || epoll_ctl(t->ep, EPOLL_CTL_ADD, t->wake, &ev) != 0) {
            int e = errno;
            s->n_threads = i + 1;
            threads_free(s);
            close(fd);
            free(s);
            return ad_err_set(err, AD_EIO, "cannot start the HTTP server: %s", strerror(e));
        }
        struct epoll_event lev = {.events = EPOLLIN | EPOLLEXCLUSIVE, .data.ptr = NULL};
        if (epoll_ctl(t->ep, EPOLL_CTL_ADD, fd, &lev) == 0)
            t->listening = 1;
    }
    for (int i = 0; i < s->n_threads; i++) {
        if (pthread_create(&s->threads[i].tid, NULL, io_main, &s->threads[i]) != 0) {
            __atomic_store_n(&s->stopping, 1, __ATOMIC_RELAXED);
            for (int j = 0; j < i; j++) {
                wake(&s->threads[j]);
                pthread_join(s->threads[j].tid, NULL);
            }
            threads_free(s);
            close(fd);
            free(s);
            return ad_err_set(err, AD_EIO, "cannot start the HTTP server's threads");
        }
    }
    *out = s;
    return AD_OK;
}

int ad_http_port(const ad_http_server *s) { return s->port; }

void ad_http_stop(ad_http_server *s)
{
    if (s == NULL)
        return;
    __atomic_store_n(&s->stopping, 1, __ATOMIC_RELAXED);
    for (int i = 0; i < s->n_threads; i++)
        wake(&s->threads[i]);
    for (int i = 0; i < s->n_threads; i++)
        pthread_join(s->threads[i].tid, NULL);
    threads_free(s);
    close(s->fd);
    free(s);
}
