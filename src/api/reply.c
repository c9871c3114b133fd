/* reply.c — JSON replies, the spec's error shape, the asset's JSON form, and
 * sending stored blobs with conditional and partial GET. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "api/internal.h"
#include "store/records_json.h"
#include "http/range.h"

ad_http_resp *ad_reply_json(int status, json_t *j)
{
    char *text = j ? json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(j);
    if (text == NULL)
        return NULL; /* the server answers 500 */
    return ad_http_resp_take(status, "application/json", text, strlen(text));
}

ad_http_resp *ad_reply_error(int status, const char *code, const char *param, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    json_t *j = json_pack("{s:{s:s, s:s, s:o}}", "error", "code", code, "message", msg, "param",
                          param ? json_string(param) : json_null());
    if (j == NULL) /* message not UTF-8 (it echoes input): say less */
        j = json_pack("{s:{s:s, s:s, s:n}}", "error", "code", code, "message", "request refused", "param");
    ad_http_resp *r = ad_reply_json(status, j);
    if (r && status == 401)
        ad_http_resp_header(r, "WWW-Authenticate", "Bearer");
    return r;
}

ad_http_resp *ad_reply_status(ad_status st, const ad_err *err, const char *param)
{
    int http = ad_status_http(st);
    ad_http_resp *r =
        ad_reply_error(http, ad_status_code(st), param, "%s", err && err->msg[0] ? err->msg : ad_status_name(st));
    if (r && http == 503)
        ad_http_resp_header(r, "Retry-After", "1");
    return r;
}

json_t *ad_asset_json(const ad_asset *a) { return ad_asset_to_json(a); }

/* A blob sent from a reader that has no file descriptor. */
typedef struct {
    ad_store_reader *r;
    uint64_t first;
} blob_stream;

static long blob_stream_read(void *ctx, uint64_t offset, char *buf, size_t max)
{
    blob_stream *b = ctx;
    size_t got = 0;
    ad_err err = AD_ERR_INIT;
    if (ad_store_reader_read(b->r, b->first + offset, buf, max, &got, &err) != AD_OK)
        return -1;
    return (long)got;
}

static void blob_stream_free(void *ctx)
{
    blob_stream *b = ctx;
    ad_store_reader_close(b->r);
    free(b);
}

/* The body [first, first + len) of the blob r (taken). */
static ad_http_resp *blob_body(int status, const char *content_type, ad_store_reader *r, uint64_t first, uint64_t len)
{
    int fd = ad_store_reader_fd(r);
    if (fd >= 0) {
        /* close-on-exec from the start (one call, and no window where a
         * fork elsewhere could inherit it) */
        int own = fcntl(fd, F_DUPFD_CLOEXEC, 0);
        ad_store_reader_close(r);
        if (own < 0)
            return ad_reply_error(503, "out_of_memory", NULL, "no file descriptor for the download");
        return ad_http_resp_file(status, content_type, own, first, len);
    }
    blob_stream *b = malloc(sizeof *b);
    if (b == NULL) {
        ad_store_reader_close(r);
        return NULL;
    }
    b->r = r;
    b->first = first;
    return ad_http_resp_stream(status, content_type, len, blob_stream_read, blob_stream_free, b);
}

/* Raster image types a browser shows and never runs; anything else (HTML,
 * SVG, XML, PDF, scripts, unknown types) is sent as an attachment, so an
 * uploaded page cannot run in the service's origin. */
static int safe_inline(const char *ct)
{
    static const char *const types[] = {"image/png",  "image/jpeg", "image/gif", "image/webp", "image/avif",
                                        "image/heif", "image/tiff", "image/jxl", "image/jp2"};
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
        if (strcasecmp(ct, types[i]) == 0)
            return 1;
    return 0;
}

/* Content-Disposition with the name to save as (RFC 6266): an ASCII
 * fallback, and the UTF-8 name percent-encoded. */
static void disposition(const char *ct, const char *filename, int attachment, char *out, size_t len)
{
    char ascii[256], enc[800];
    size_t a = 0, e = 0;
    for (const unsigned char *p = (const unsigned char *)filename; *p && a < sizeof ascii - 1; p++)
        ascii[a++] = *p < 0x80 && *p >= 0x20 && *p != '"' && *p != '\\' && *p != '%' ? (char)*p : '_';
    ascii[a] = '\0';
    for (const unsigned char *p = (const unsigned char *)filename; *p && e + 4 < sizeof enc; p++) {
        if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || strchr("-._~", *p))
            enc[e++] = (char)*p;
        else
            e += (size_t)snprintf(enc + e, sizeof enc - e, "%%%02X", *p);
    }
    enc[e] = '\0';
    snprintf(out, len, "%s; filename=\"%s\"; filename*=UTF-8''%s",
             !attachment && safe_inline(ct) ? "inline" : "attachment", ascii, enc);
}

ad_http_resp *ad_reply_blob(ad_api *api, ad_http_req *req, const char *sha256, const char *content_type,
                            const char *filename, int flags)
{
    char etag[70], tmp[96];
    ad_err err = AD_ERR_INIT;
    ad_store_reader *rd = NULL;
    snprintf(etag, sizeof etag, "\"%s\"", sha256);
    if (ad_http_etag_match(ad_http_header(req, "If-None-Match"), etag)) {
        ad_http_resp *r = ad_http_resp_take(304, NULL, NULL, 0);
        ad_http_resp_header(r, "ETag", etag);
        if (!(flags & AD_BLOB_PUBLIC))
            ad_http_resp_header(r, "Cache-Control",
                                flags & AD_BLOB_IMMUTABLE ? "private, max-age=31536000, immutable"
                                                          : "private, no-cache");
        return r;
    }
    ad_status st = ad_store_reader_open(api->cfg.store, sha256, &rd, &err);
    if (st != AD_OK)
        return ad_reply_error(st == AD_ENOTFOUND ? 500 : ad_status_http(st), "storage_error", NULL,
                              "the stored file is unreadable (%s)", ad_status_name(st));
    uint64_t size = (uint64_t)ad_store_reader_size(rd), first = 0, last = size ? size - 1 : 0;
    const char *range = ad_http_header(req, "Range");
    if (!ad_http_if_range_ok(ad_http_header(req, "If-Range"), etag))
        range = NULL; /* the client's copy is of other bytes: send them all */
    ad_range_result rr = ad_http_range_parse(range, size, &first, &last);
    ad_http_resp *r;
    if (rr == AD_RANGE_UNSATISFIABLE) {
        ad_store_reader_close(rd);
        r = ad_reply_error(416, "invalid_parameter", "Range", "range not satisfiable for %" PRIu64 " bytes", size);
        snprintf(tmp, sizeof tmp, "bytes */%" PRIu64, size);
        ad_http_resp_header(r, "Content-Range", tmp);
        return r;
    }
    if (rr == AD_RANGE_OK) {
        r = blob_body(206, content_type, rd, first, last - first + 1);
        snprintf(tmp, sizeof tmp, "bytes %" PRIu64 "-%" PRIu64 "/%" PRIu64, first, last, size);
        ad_http_resp_header(r, "Content-Range", tmp);
    } else {
        r = blob_body(200, content_type, rd, 0, size);
    }
    ad_http_resp_header(r, "ETag", etag);
    ad_http_resp_header(r, "Accept-Ranges", "bytes");
    if (flags & AD_BLOB_PUBLIC)
        return r;
    char cd[1200];
    disposition(content_type, filename, flags & AD_BLOB_ATTACHMENT, cd, sizeof cd);
    ad_http_resp_header(r, "Content-Disposition", cd);
    /* an asset's bytes never change; a conversion may be replaced */
    ad_http_resp_header(r, "Cache-Control",
                        flags & AD_BLOB_IMMUTABLE ? "private, max-age=31536000, immutable" : "private, no-cache");
    return r;
}

ad_http_resp *ad_reply_asset_status(ad_status st, const ad_err *err)
{
    if (st == AD_OK)
        return NULL;
    if (st == AD_ENOTFOUND)
        return ad_reply_error(404, "not_found", "asset_id", "no asset with this id");
    return ad_reply_status(st, err, NULL);
}

ad_http_resp *ad_load_asset(ad_api *api, const char *id, ad_asset *a)
{
    ad_err err = AD_ERR_INIT;
    return ad_reply_asset_status(ad_store_get_asset(api->cfg.store, id, a, &err), &err);
}

/* ---- remove.bg's error shape (its routes, api/removebg.c: the router
 * rewrites their refusals with this) ---------------------------------- */

void ad_reply_removebg_shape(ad_http_resp *r)
{
    int status = ad_http_resp_status(r);
    size_t len;
    const char *body = ad_http_resp_data(r, &len);
    if (status < 400 || body == NULL)
        return;
    json_t *j = json_loadb(body, len, 0, NULL);
    json_t *e = json_object_get(j, "error");
    const char *code = json_string_value(json_object_get(e, "code"));
    const char *msg = json_string_value(json_object_get(e, "message"));
    const char *param = json_string_value(json_object_get(e, "param"));
    if (code == NULL || msg == NULL) {
        json_decref(j);
        return;
    }
    /* remove.bg's statuses: 403 for a key, 429 for a rate, 400 for the
     * rest of what the client sent; the server's own trouble stays 5xx */
    int to = status == 401 || (status == 403 && param && strcmp(param, "Authorization") == 0) ? 403
             : status == 429 || status >= 500                                                 ? status
                                                                                              : 400;
    if (status == 401)
        code = "auth_failed";
    else if (status == 429)
        code = "rate_limit_exceeded"; /* remove.bg's name */
    char title[64];
    snprintf(title, sizeof title, "%s", status == 401 ? "Invalid API key" : code);
    for (char *p = title; *p; p++)
        if (*p == '_')
            *p = ' ';
    if (title[0] >= 'a' && title[0] <= 'z')
        title[0] = (char)(title[0] - 'a' + 'A');
    if (status == 401)
        msg = "a valid API key is required (X-Api-Key: <key>, or Authorization: Bearer <key>)";
    json_t *out = json_pack("{s:[{s:s, s:s, s:s}]}", "errors", "title", title, "code", code, "detail", msg);
    char *text = out ? json_dumps(out, JSON_COMPACT) : NULL;
    if (text)
        ad_http_resp_rewrite(r, to, "application/json", text, strlen(text));
    json_decref(out);
    json_decref(j);
}
