/* blobs_s3.c — the blob part in an S3-compatible object store, through
 * libcurl with its own SigV4 signing (CURLOPT_AWS_SIGV4). Objects are
 * blobs/ab/cd/<sha256> in one bucket (made at open when missing).
 *
 * Writers stage into DATA/s3-stage; commit uploads (one PUT signed with the
 * content's SHA-256, which is the address; a multipart upload above 16 MiB)
 * unless the object exists already. Readers never stream from the network
 * on an I/O thread: a blob is fetched whole into a local cache
 * (DATA/blob-cache, bounded, least recently used first out) by the thread
 * that opens it — a worker, never the event loop — and served from there
 * with sendfile. Blobs are immutable, so a cached copy is never stale.
 *
 * Failures: 5xx and network errors are retried three times with backoff;
 * an unreachable store is AD_EBUSY (the API answers 503 + Retry-After). */
#include <curl/curl.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/breaker.h"
#include "base/fsutil.h"
#include "base/sha256.h"
#include "store/blobs.h"
#include "store/read_cache.h"
#include "store/staging.h"

/* Above this a blob goes up in parts of PART bytes. */
#define MULTIPART_OVER (16 << 20)
#define PART (8 << 20)
#define EMPTY_SHA "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

typedef struct {
    ad_blobs base;
    char endpoint[512], bucket[64], region[64];
    char userpwd[600], sigv4[128];
    char stage[PATH_MAX - 64];
    ad_read_cache *cache; /* the local copies: read_cache.h */
    long timeout_s;       /* a transfer without progress this long fails */
    ad_breaker breaker;   /* open: calls fail at once (breaker.h) */
    pthread_key_t curl_key;
} s3_blobs;

typedef ad_staged_writer s3_writer; /* staging.h */

typedef struct {
    ad_blob_reader base;
    int fd;
    int64_t size;
} s3_reader;

/* ------------------------------------------------------------------ HTTP */

typedef struct {
    const char *method;  /* GET PUT HEAD DELETE POST */
    const char *key;     /* object key, or NULL for the bucket */
    const char *query;   /* canonical: sorted, every name with '=', values encoded; or NULL */
    const char *payload; /* x-amz-content-sha256 */
    int in_fd;           /* upload from this fd ... */
    int64_t in_off, in_len;
    const char *in_mem; /* ... or from memory */
    size_t in_mem_len;
    int out_fd;        /* GET body to this fd (-1: into out) */
    const char *range; /* "bytes=a-b" or NULL */
    /* results */
    long status;
    char *out; /* body (error text, XML listings), malloc'd */
    size_t out_len;
    int64_t length; /* Content-Length of the answer */
    char etag[128];
    char last_modified[64];
} s3_call;

static void free_curl(void *p) { curl_easy_cleanup(p); }

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static void curl_init(void) { curl_global_init(CURL_GLOBAL_DEFAULT); }

static CURL *handle(s3_blobs *b)
{
    CURL *c = pthread_getspecific(b->curl_key);
    if (c == NULL && (c = curl_easy_init()) != NULL)
        pthread_setspecific(b->curl_key, c);
    return c;
}

typedef struct {
    s3_call *call;
    int64_t sent;
} upload_state;

static size_t read_cb(char *buf, size_t sz, size_t n, void *ud)
{
    upload_state *u = ud;
    s3_call *c = u->call;
    size_t want = sz * n;
    int64_t left = (c->in_mem ? (int64_t)c->in_mem_len : c->in_len) - u->sent;
    if (left <= 0)
        return 0;
    if ((int64_t)want > left)
        want = (size_t)left;
    if (c->in_mem) {
        memcpy(buf, c->in_mem + u->sent, want);
    } else {
        ssize_t got = pread(c->in_fd, buf, want, (off_t)(c->in_off + u->sent));
        if (got <= 0)
            return CURL_READFUNC_ABORT;
        want = (size_t)got;
    }
    u->sent += (int64_t)want;
    return want;
}

static size_t write_cb(char *p, size_t sz, size_t n, void *ud)
{
    s3_call *c = ud;
    size_t len = sz * n;
    if (c->out_fd >= 0 && c->status / 100 == 2)
        return ad_file_write_all(c->out_fd, p, len, NULL) == AD_OK ? len : 0;
    if (c->out_len + len > (64u << 20)) /* listings and error texts only */
        return 0;
    char *o = realloc(c->out, c->out_len + len + 1);
    if (o == NULL)
        return 0;
    memcpy(o + c->out_len, p, len);
    c->out = o;
    c->out_len += len;
    c->out[c->out_len] = '\0';
    return len;
}

static void header_value(const char *line, size_t len, const char *name, char *out, size_t outlen)
{
    size_t nl = strlen(name);
    if (len <= nl + 1 || strncasecmp(line, name, nl) != 0 || line[nl] != ':')
        return;
    const char *v = line + nl + 1;
    while (*v == ' ')
        v++;
    size_t vl = (size_t)(line + len - v);
    while (vl > 0 && (v[vl - 1] == '\r' || v[vl - 1] == '\n'))
        vl--;
    snprintf(out, outlen, "%.*s", (int)vl, v);
}

static size_t header_cb(char *p, size_t sz, size_t n, void *ud)
{
    s3_call *c = ud;
    size_t len = sz * n;
    if (len > 9 && strncmp(p, "HTTP/", 5) == 0) {
        const char *sp = memchr(p, ' ', len);
        c->status = sp ? strtol(sp + 1, NULL, 10) : 0;
    }
    char cl[32] = "";
    header_value(p, len, "Content-Length", cl, sizeof cl);
    if (cl[0])
        c->length = atoll(cl);
    header_value(p, len, "ETag", c->etag, sizeof c->etag);
    header_value(p, len, "Last-Modified", c->last_modified, sizeof c->last_modified);
    return len;
}

/* One signed request, retried on a refused or broken connection and on
 * 5xx (3 more times, 100 ms, 400 ms, 1.6 s apart), never on a deadline: a
 * store that does not answer within --store-timeout opens the breaker,
 * and calls fail at once (AD_EBUSY: 503) until a probe gets an answer. */
static ad_status call(s3_blobs *b, s3_call *c, ad_err *err)
{
    CURL *h = handle(b);
    char url[2048], payload[128];
    if (h == NULL)
        return ad_err_set(err, AD_ENOMEM, "out of memory");
    if (!ad_breaker_allow(&b->breaker)) {
        char why[160];
        ad_breaker_down(&b->breaker, why, sizeof why);
        return ad_err_set(err, AD_EBUSY, "the object store is not answering (%s); retrying it in the background", why);
    }
    snprintf(url, sizeof url, "%s/%s%s%s%s%s", b->endpoint, b->bucket, c->key ? "/" : "", c->key ? c->key : "",
             c->query ? "?" : "", c->query ? c->query : "");
    snprintf(payload, sizeof payload, "x-amz-content-sha256: %s", c->payload ? c->payload : EMPTY_SHA);
    CURLcode cc = CURLE_OK;
    for (int attempt = 0; attempt < 4; attempt++) {
        if (attempt)
            nanosleep(&(struct timespec){0, 100000000L << (2 * (attempt - 1))}, NULL);
        free(c->out);
        c->out = NULL;
        c->out_len = 0;
        c->status = 0;
        c->length = -1;
        c->etag[0] = c->last_modified[0] = '\0';
        if (c->out_fd >= 0 && (ftruncate(c->out_fd, 0) != 0 || lseek(c->out_fd, 0, SEEK_SET) != 0))
            return ad_err_set(err, AD_EIO, "cannot reset a local download: %s", strerror(errno));
        struct curl_slist *hdrs = curl_slist_append(NULL, payload);
        char range[96];
        if (c->range) {
            snprintf(range, sizeof range, "Range: %s", c->range);
            hdrs = curl_slist_append(hdrs, range);
        }
        /* no "Expect:" to suppress 100-continue: libcurl 7.88 signs the
         * header it then leaves out, and the store refuses the signature */
        upload_state up = {c, 0};
        curl_easy_reset(h);
        curl_easy_setopt(h, CURLOPT_URL, url);
        curl_easy_setopt(h, CURLOPT_AWS_SIGV4, b->sigv4);
        curl_easy_setopt(h, CURLOPT_USERPWD, b->userpwd);
        curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
        curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
        if (getenv("ASSETD_S3_DEBUG"))
            curl_easy_setopt(h, CURLOPT_VERBOSE, 1L);
        curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, b->timeout_s < 3 ? b->timeout_s * 1000L : 3000L);
        /* a deadline on progress, not on the whole: a large blob may take
         * minutes, a store that stopped answering fails in timeout_s */
        curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
        curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, b->timeout_s);
        curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, write_cb);
        curl_easy_setopt(h, CURLOPT_WRITEDATA, c);
        curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, header_cb);
        curl_easy_setopt(h, CURLOPT_HEADERDATA, c);
        if (strcmp(c->method, "HEAD") == 0) {
            curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
        } else if (strcmp(c->method, "PUT") == 0 || strcmp(c->method, "POST") == 0) {
            curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
            curl_easy_setopt(h, CURLOPT_READFUNCTION, read_cb);
            curl_easy_setopt(h, CURLOPT_READDATA, &up);
            curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE,
                             (curl_off_t)(c->in_mem       ? (int64_t)c->in_mem_len
                                          : c->in_fd >= 0 ? c->in_len
                                                          : 0));
            if (strcmp(c->method, "POST") == 0)
                curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, "POST");
        } else if (strcmp(c->method, "GET") != 0) {
            curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, c->method);
        }
        cc = curl_easy_perform(h);
        curl_slist_free_all(hdrs);
        if (cc == CURLE_OK && c->status < 500) {
            ad_breaker_ok(&b->breaker);
            return AD_OK;
        }
        if (cc == CURLE_OPERATION_TIMEDOUT)
            break;
    }
    char why[160];
    if (cc == CURLE_OPERATION_TIMEDOUT)
        snprintf(why, sizeof why, "no answer within %ld s", b->timeout_s);
    else if (cc != CURLE_OK)
        snprintf(why, sizeof why, "%s", curl_easy_strerror(cc));
    else
        snprintf(why, sizeof why, "HTTP %ld", c->status);
    ad_breaker_fail(&b->breaker, why);
    return ad_err_set(err, AD_EBUSY, "object store unavailable: %s", why);
}

/* A non-2xx answer as a status, with the store's own words. */
static ad_status http_fail(const s3_call *c, ad_err *err, const char *what)
{
    const char *code = c->out ? strstr(c->out, "<Code>") : NULL;
    char text[80] = "";
    if (code)
        snprintf(text, sizeof text, "%.*s", (int)strcspn(code + 6, "<"), code + 6);
    ad_status st = c->status == 404 ? AD_ENOTFOUND : c->status == 403 ? AD_EBACKEND : AD_EBACKEND;
    return ad_err_set(err, st, "object store: %s: HTTP %ld %s", what, c->status, text);
}

static void key_of(const char *sha, char out[96]) { snprintf(out, 96, "blobs/%.2s/%.2s/%s", sha, sha + 2, sha); }

/* ----------------------------------------------------------------- cache */

/* Make the staged file tmp the local copy of sha (read_cache.h: bounded by
 * disk blocks and entries, least recently used out first, O(1)). */
static void keep_in_cache(s3_blobs *b, const char *tmp, const char *sha) { ad_read_cache_keep(b->cache, tmp, sha); }

/* --------------------------------------------------------------- writers */

static ad_status s3_writer_new(ad_blobs *base, ad_blob_writer **out, ad_err *err)
{
    return ad_staged_writer_new(base, ((s3_blobs *)base)->stage, out, err);
}

static ad_status put_multipart(s3_blobs *b, const char *key, int fd, int64_t size, ad_err *err)
{
    s3_call c = {.method = "POST", .key = key, .query = "uploads=", .out_fd = -1, .in_fd = -1};
    ad_status rc = call(b, &c, err);
    if (rc == AD_OK && c.status / 100 != 2)
        rc = http_fail(&c, err, "start a multipart upload");
    char upload_id[512] = "", enc[1024] = "";
    const char *u = c.out ? strstr(c.out, "<UploadId>") : NULL;
    if (rc == AD_OK && u)
        snprintf(upload_id, sizeof upload_id, "%.*s", (int)strcspn(u + 10, "<"), u + 10);
    free(c.out);
    if (rc != AD_OK)
        return rc;
    if (!upload_id[0])
        return ad_err_set(err, AD_EBACKEND, "object store: no upload id");
    char *e = curl_easy_escape(handle(b), upload_id, 0);
    snprintf(enc, sizeof enc, "%s", e ? e : upload_id);
    curl_free(e);
    int parts = (int)((size + PART - 1) / PART);
    size_t xcap = 128 + (size_t)parts * 200;
    char *xml = malloc(xcap);
    if (xml == NULL)
        return ad_err_set(err, AD_ENOMEM, "out of memory");
    size_t xl = (size_t)snprintf(xml, xcap, "<CompleteMultipartUpload>");
    for (int i = 0; rc == AD_OK && i < parts; i++) {
        char q[1200];
        snprintf(q, sizeof q, "partNumber=%d&uploadId=%s", i + 1, enc);
        int64_t off = (int64_t)i * PART, len = size - off < PART ? size - off : PART;
        s3_call p = {.method = "PUT",
                     .key = key,
                     .query = q,
                     .payload = "UNSIGNED-PAYLOAD",
                     .in_fd = fd,
                     .in_off = off,
                     .in_len = len,
                     .out_fd = -1};
        rc = call(b, &p, err);
        if (rc == AD_OK && p.status / 100 != 2)
            rc = http_fail(&p, err, "upload a part");
        if (rc == AD_OK)
            xl += (size_t)snprintf(xml + xl, xcap - xl, "<Part><PartNumber>%d</PartNumber><ETag>%s</ETag></Part>",
                                   i + 1, p.etag);
        free(p.out);
    }
    if (rc == AD_OK) {
        xl += (size_t)snprintf(xml + xl, xcap - xl, "</CompleteMultipartUpload>");
        char q[1100], hash[65];
        snprintf(q, sizeof q, "uploadId=%s", enc);
        ad_sha256_hex(xml, xl, hash);
        s3_call d = {.method = "POST",
                     .key = key,
                     .query = q,
                     .payload = hash,
                     .in_mem = xml,
                     .in_mem_len = xl,
                     .in_fd = -1,
                     .out_fd = -1};
        rc = call(b, &d, err);
        /* a 200 may still carry an error in its body */
        if (rc == AD_OK && (d.status / 100 != 2 || (d.out && strstr(d.out, "<Error>"))))
            rc = http_fail(&d, err, "complete a multipart upload");
        free(d.out);
    }
    if (rc != AD_OK) {
        char q[1100];
        ad_err ignore = AD_ERR_INIT;
        snprintf(q, sizeof q, "uploadId=%s", enc);
        s3_call a = {.method = "DELETE", .key = key, .query = q, .in_fd = -1, .out_fd = -1};
        call(b, &a, &ignore);
        free(a.out);
    }
    free(xml);
    return rc;
}

static ad_status s3_commit(ad_blob_writer *base, const char *sha, ad_err *err)
{
    s3_writer *w = (s3_writer *)base;
    s3_blobs *b = (s3_blobs *)base->blobs;
    char key[96];
    struct stat st;
    ad_status rc = AD_OK;
    key_of(sha, key);
    if (fstat(w->fd, &st) != 0) {
        rc = ad_err_set(err, AD_EIO, "staged blob: %s", strerror(errno));
        goto out;
    }
    s3_call h = {.method = "HEAD", .key = key, .in_fd = -1, .out_fd = -1};
    if ((rc = call(b, &h, err)) != AD_OK)
        goto out;
    free(h.out);
    if (h.status == 200)
        goto cached; /* the same bytes are there (the caller pinned them) */
    if (st.st_size > MULTIPART_OVER) {
        rc = put_multipart(b, key, w->fd, st.st_size, err);
    } else {
        /* signed with the content's SHA-256 (its address): the store checks it */
        s3_call p = {.method = "PUT",
                     .key = key,
                     .payload = sha,
                     .in_fd = w->fd,
                     .in_off = 0,
                     .in_len = st.st_size,
                     .out_fd = -1};
        rc = call(b, &p, err);
        if (rc == AD_OK && p.status / 100 != 2)
            rc = http_fail(&p, err, "store a blob");
        free(p.out);
    }
    if (rc != AD_OK)
        goto out;
cached:
    close(w->fd);
    keep_in_cache(b, w->tmp, sha);
    free(w);
    return AD_OK;
out:
    ad_staged_abort(base);
    return rc;
}

/* --------------------------------------------------------------- readers */

/* The local copy of sha, fetched whole when missing. */
static ad_status local_copy(s3_blobs *b, const char *sha, int *fd_out, ad_err *err)
{
    char key[96];
    int fd = ad_read_cache_open_copy(b->cache, sha);
    if (fd >= 0) {
        *fd_out = fd;
        return AD_OK;
    }
    char stage[PATH_MAX], tmp[PATH_MAX];
    snprintf(stage, sizeof stage, "%s/fetch", b->stage);
    ad_status rc = ad_file_tmp_open(stage, 0600, tmp, &fd, err);
    if (rc != AD_OK)
        return rc;
    key_of(sha, key);
    s3_call g = {.method = "GET", .key = key, .in_fd = -1, .out_fd = fd};
    rc = call(b, &g, err);
    if (rc == AD_OK && g.status / 100 != 2)
        rc = http_fail(&g, err, "read a blob");
    free(g.out);
    struct stat st;
    if (rc == AD_OK && (fstat(fd, &st) != 0 || (g.length >= 0 && st.st_size != g.length)))
        rc = ad_err_set(err, AD_EIO, "object store: a short read of blob %.12s", sha);
    close(fd);
    /* opened before it is kept: an eviction right after (a blob over the
     * whole bound) cannot take the bytes from this reader */
    if (rc == AD_OK && (fd = open(tmp, O_RDONLY | O_CLOEXEC)) < 0)
        rc = ad_err_set(err, AD_EIO, "blob cache: %s", strerror(errno));
    if (rc != AD_OK) {
        unlink(tmp);
        return rc;
    }
    keep_in_cache(b, tmp, sha);
    *fd_out = fd;
    return AD_OK;
}

static ad_status s3_open_reader(ad_blobs *base, const char *sha, ad_blob_reader **out, ad_err *err)
{
    s3_blobs *b = (s3_blobs *)base;
    int fd;
    struct stat st;
    *out = NULL;
    ad_status rc = local_copy(b, sha, &fd, err);
    if (rc != AD_OK)
        return rc;
    s3_reader *r = calloc(1, sizeof *r);
    if (r == NULL || fstat(fd, &st) != 0) {
        close(fd);
        free(r);
        return ad_err_set(err, AD_ENOMEM, "out of memory");
    }
    r->base.blobs = base;
    r->fd = fd;
    r->size = st.st_size;
    *out = &r->base;
    return AD_OK;
}

static int64_t s3_size(ad_blob_reader *r) { return ((s3_reader *)r)->size; }
static int s3_fd(ad_blob_reader *r) { return ((s3_reader *)r)->fd; }

static ad_status s3_read(ad_blob_reader *base, uint64_t offset, void *buf, size_t len, size_t *got, ad_err *err)
{
    ssize_t n;
    do
        n = pread(((s3_reader *)base)->fd, buf, len, (off_t)offset);
    while (n < 0 && errno == EINTR);
    if (n < 0)
        return ad_err_set(err, AD_EIO, "blob read: %s", strerror(errno));
    *got = (size_t)n;
    return AD_OK;
}

static void s3_close_reader(ad_blob_reader *base)
{
    s3_reader *r = (s3_reader *)base;
    if (r == NULL)
        return;
    close(r->fd);
    free(r);
}

/* ----------------------------------------------------- stat, remove, list */

/* "Mon, 30 Nov 2026 09:00:00 GMT" or "2026-11-30T09:00:00.000Z" in ms,
 * rounded up to the end of its second: the store keeps seconds, and a blob
 * must never look older than it is (the grace period counts from it). */
static int64_t parse_time(const char *t)
{
    struct tm tm = {0};
    const char *end = strptime(t, "%a, %d %b %Y %H:%M:%S", &tm);
    if (end == NULL)
        end = strptime(t, "%Y-%m-%dT%H:%M:%S", &tm);
    return end ? (int64_t)timegm(&tm) * 1000 + 999 : 0;
}

static ad_status s3_stat(ad_blobs *base, const char *sha, ad_blob_info *out, ad_err *err)
{
    s3_blobs *b = (s3_blobs *)base;
    char key[96];
    key_of(sha, key);
    s3_call h = {.method = "HEAD", .key = key, .in_fd = -1, .out_fd = -1};
    ad_status rc = call(b, &h, err);
    if (rc == AD_OK && h.status == 404)
        rc = ad_err_set(err, AD_ENOTFOUND, "blob %.12s not found", sha);
    else if (rc == AD_OK && h.status / 100 != 2)
        rc = http_fail(&h, err, "stat a blob");
    if (rc == AD_OK) {
        out->size = h.length;
        out->mtime_ms = parse_time(h.last_modified);
    }
    free(h.out);
    return rc;
}

static ad_status s3_remove(ad_blobs *base, const char *sha, ad_err *err)
{
    s3_blobs *b = (s3_blobs *)base;
    char key[96];
    key_of(sha, key);
    ad_read_cache_drop(b->cache, sha); /* the local copy first: it must not outlive the object */
    s3_call d = {.method = "DELETE", .key = key, .in_fd = -1, .out_fd = -1};
    ad_status rc = call(b, &d, err);
    if (rc == AD_OK && d.status / 100 != 2 && d.status != 404)
        rc = http_fail(&d, err, "remove a blob");
    free(d.out);
    return rc;
}

/* The text of <tag>...</tag> at or after p, into out; the position after
 * it, or NULL. */
static const char *xml_text(const char *p, const char *end, const char *tag, char *out, size_t len)
{
    char open[48], close_[48];
    snprintf(open, sizeof open, "<%s>", tag);
    snprintf(close_, sizeof close_, "</%s>", tag);
    const char *a = strstr(p, open);
    if (a == NULL || (end && a > end))
        return NULL;
    a += strlen(open);
    const char *z = strstr(a, close_);
    if (z == NULL)
        return NULL;
    snprintf(out, len, "%.*s", (int)(z - a), a);
    return z + strlen(close_);
}

static ad_status s3_list(ad_blobs *base, ad_blobs_list_fn fn, void *ctx, ad_err *err)
{
    s3_blobs *b = (s3_blobs *)base;
    char token[1024] = "";
    for (;;) {
        char q[2300];
        if (token[0]) {
            char *e = curl_easy_escape(handle(b), token, 0);
            snprintf(q, sizeof q, "continuation-token=%s&list-type=2&prefix=blobs%%2F", e ? e : "");
            curl_free(e);
        } else {
            snprintf(q, sizeof q, "list-type=2&prefix=blobs%%2F");
        }
        s3_call l = {.method = "GET", .query = q, .in_fd = -1, .out_fd = -1};
        ad_status rc = call(b, &l, err);
        if (rc == AD_OK && l.status / 100 != 2)
            rc = http_fail(&l, err, "list blobs");
        if (rc != AD_OK) {
            free(l.out);
            return rc;
        }
        const char *p = l.out ? l.out : "";
        int stop = 0;
        while (!stop) {
            const char *c = strstr(p, "<Contents>"), *ce = c ? strstr(c, "</Contents>") : NULL;
            if (c == NULL || ce == NULL)
                break;
            char key[256] = "", size[32] = "", when[64] = "";
            xml_text(c, ce, "Key", key, sizeof key);
            xml_text(c, ce, "Size", size, sizeof size);
            xml_text(c, ce, "LastModified", when, sizeof when);
            const char *sha = strrchr(key, '/');
            if (sha && ad_sha256_valid(sha + 1)) {
                ad_blob_info info = {atoll(size), parse_time(when)};
                stop = fn(ctx, sha + 1, &info);
            }
            p = ce + 11;
        }
        char truncated[16] = "";
        xml_text(l.out ? l.out : "", NULL, "IsTruncated", truncated, sizeof truncated);
        token[0] = '\0';
        if (strcmp(truncated, "true") == 0)
            xml_text(l.out, NULL, "NextContinuationToken", token, sizeof token);
        free(l.out);
        if (stop || !token[0])
            return AD_OK;
    }
}

/* ------------------------------------------------------------- open/close */

static void s3_close(ad_blobs *base)
{
    s3_blobs *b = (s3_blobs *)base;
    if (b == NULL)
        return;
    CURL *c = pthread_getspecific(b->curl_key);
    if (c) {
        curl_easy_cleanup(c);
        pthread_setspecific(b->curl_key, NULL);
    }
    pthread_key_delete(b->curl_key);
    ad_read_cache_close(b->cache);
    ad_breaker_destroy(&b->breaker);
    free(b);
}

static ad_status mkdir_private(const char *p, ad_err *err)
{
    if (mkdir(p, 0700) == 0 || errno == EEXIST)
        return AD_OK;
    return ad_err_set(err, AD_EIO, "cannot create %s: %s", p, strerror(errno));
}

/* Staging files are left only by a crash; this instance's own folder. */
static void sweep_stage(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    while (d && (de = readdir(d))) {
        char p[PATH_MAX];
        if (strstr(de->d_name, ".tmp.") == NULL)
            continue;
        snprintf(p, sizeof p, "%.3000s/%s", dir, de->d_name);
        unlink(p);
    }
    if (d)
        closedir(d);
}

static int s3_down(ad_blobs *base, char *why, size_t len)
{
    return ad_breaker_down(&((s3_blobs *)base)->breaker, why, len);
}

static ad_status s3_open(const ad_store_config *cfg, ad_blobs **out, ad_err *err)
{
    *out = NULL;
    const char *missing = !cfg->s3_endpoint || !cfg->s3_endpoint[0]       ? "--s3-endpoint"
                          : !cfg->s3_bucket || !cfg->s3_bucket[0]         ? "--s3-bucket"
                          : !cfg->s3_access_key || !cfg->s3_access_key[0] ? "--s3-access-key"
                          : !cfg->s3_secret_key || !cfg->s3_secret_key[0] ? "--s3-secret-key"
                                                                          : NULL;
    if (missing)
        return ad_err_set(err, AD_EINVAL, "the s3 blob store needs %s", missing);
    pthread_once(&curl_once, curl_init);
    s3_blobs *b = calloc(1, sizeof *b);
    if (b == NULL)
        return ad_err_set(err, AD_ENOMEM, "out of memory");
    b->base.ops = &ad_blobs_s3_ops;
    /* the start waits longer than a request would: a store just started
     * may take its time over the first bucket call */
    b->timeout_s = 30;
    ad_breaker_init(&b->breaker, 1000.0); /* a probe every second while down */
    if (pthread_key_create(&b->curl_key, free_curl) != 0) {
        ad_breaker_destroy(&b->breaker);
        free(b);
        return ad_err_set(err, AD_ENOMEM, "no thread key");
    }
    snprintf(b->endpoint, sizeof b->endpoint, "%s", cfg->s3_endpoint);
    size_t el = strlen(b->endpoint);
    while (el > 0 && b->endpoint[el - 1] == '/')
        b->endpoint[--el] = '\0';
    snprintf(b->bucket, sizeof b->bucket, "%s", cfg->s3_bucket);
    snprintf(b->region, sizeof b->region, "%s", cfg->s3_region && cfg->s3_region[0] ? cfg->s3_region : "us-east-1");
    snprintf(b->userpwd, sizeof b->userpwd, "%s:%s", cfg->s3_access_key, cfg->s3_secret_key);
    snprintf(b->sigv4, sizeof b->sigv4, "aws:amz:%s:s3", b->region);
    snprintf(b->stage, sizeof b->stage, "%.3000s/s3-stage", cfg->data_dir);
    char cache[PATH_MAX];
    snprintf(cache, sizeof cache, "%.3000s/blob-cache", cfg->data_dir);
    ad_status rc = mkdir_private(cfg->data_dir, err);
    if (rc == AD_OK)
        rc = mkdir_private(b->stage, err);
    if (rc == AD_OK)
        rc = ad_read_cache_open(cache, (cfg->blob_cache_mb > 0 ? cfg->blob_cache_mb : 1024) << 20,
                                cfg->blob_cache_entries > 0 ? cfg->blob_cache_entries : 262144, &b->cache, err);
    if (rc == AD_OK) {
        sweep_stage(b->stage);
        /* the bucket, made when missing; this also says whether the store
         * answers and takes our keys */
        s3_call c = {.method = "PUT", .in_mem = "", .in_mem_len = 0, .in_fd = -1, .out_fd = -1};
        rc = call(b, &c, err);
        if (rc == AD_OK && c.status / 100 != 2 && c.status != 409)
            rc = http_fail(&c, err, "create the bucket");
        free(c.out);
    }
    if (rc != AD_OK) {
        s3_close(&b->base);
        return rc;
    }
    b->timeout_s = cfg->timeout_ms > 0 ? (long)((cfg->timeout_ms + 999) / 1000) : 5;
    *out = &b->base;
    return AD_OK;
}

const ad_blobs_ops ad_blobs_s3_ops = {
    .name = "s3",
    .remote = 1,
    .open = s3_open,
    .close = s3_close,
    .down = s3_down,
    .writer_new = s3_writer_new,
    .write = ad_staged_write,
    .commit = s3_commit,
    .abort = ad_staged_abort,
    .open_reader = s3_open_reader,
    .size = s3_size,
    .read = s3_read,
    .fd = s3_fd,
    .close_reader = s3_close_reader,
    .stat = s3_stat,
    .remove = s3_remove,
    .list = s3_list,
};
