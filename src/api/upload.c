/* upload.c — POST /api/v1/assets, streamed: the body (raw, or a
 * multipart/form-data form with a `file` part and an optional
 * `custom_data` part) goes through the incremental multipart parser
 * straight into a blob writer, hashed as it passes, as it arrives on the
 * I/O thread; nothing but the custom data and the parser's window is held
 * in memory. When the body is in, the handler (off the event loop: the
 * header probe of a hostile TIFF can take seconds) commits the blob, reads
 * the image header from the store, and records the asset. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/internal.h"
#include "http/multipart.h"
#include "image/image.h"

typedef struct {
    ad_api *api;
    ad_store_writer *w; /* the file's bytes (NULL until the file part begins) */
    ad_multipart *mp;   /* multipart bodies */
    int multipart, files, customs, in_file, in_custom;
    char client_type[128]; /* the type the client gave the file ("" none) */
    char part_filename[256];
    int has_part_filename;
    char *custom; /* the custom_data part, at most max_custom_data + 1 bytes */
    size_t custom_len;
    ad_http_resp *refusal; /* the first refusal, answered when the body is in */
    ad_err perr;           /* a malformed body: why */
    int malformed;
} upload;

/* Filenames are shown back and used to name derived assets: UTF-8, no
 * control characters, no path separators, 1..255 bytes. */
int ad_upload_filename_ok(const char *s)
{
    size_t n = strlen(s);
    if (n < 1 || n > 255 || strcmp(s, ".") == 0 || strcmp(s, "..") == 0)
        return 0;
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        int extra;
        unsigned cp;
        if (*p < 0x80) {
            if (*p < 0x20 || *p == 0x7f || *p == '/' || *p == '\\')
                return 0;
            p++;
            continue;
        } else if ((*p & 0xe0) == 0xc0) {
            extra = 1, cp = *p & 0x1f;
        } else if ((*p & 0xf0) == 0xe0) {
            extra = 2, cp = *p & 0x0f;
        } else if ((*p & 0xf8) == 0xf0) {
            extra = 3, cp = *p & 0x07;
        } else {
            return 0;
        }
        p++;
        for (int i = 0; i < extra; i++, p++) {
            if ((*p & 0xc0) != 0x80)
                return 0;
            cp = (cp << 6) | (*p & 0x3f);
        }
        if ((extra == 1 && cp < 0x80) || (extra == 2 && cp < 0x800) || (extra == 3 && cp < 0x10000) || cp > 0x10ffff ||
            (cp >= 0xd800 && cp <= 0xdfff))
            return 0; /* overlong, out of range or a surrogate */
    }
    return 1;
}

/* A media type as stored and sent back: printable ASCII with a '/'. */
static int content_type_ok(const char *s)
{
    size_t n = strlen(s);
    if (n < 3 || n > 127 || strchr(s, '/') == NULL)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (s[i] < 0x20 || s[i] > 0x7e)
            return 0;
    return 1;
}

static void refuse(upload *u, ad_http_resp *r)
{
    if (u->refusal == NULL)
        u->refusal = r;
    else
        ad_http_resp_free(r);
}

static ad_status start_file(upload *u, ad_err *err)
{
    ad_status rc = ad_store_writer_new(u->api->cfg.store, &u->w, err);
    if (rc != AD_OK)
        refuse(u, ad_reply_status(rc, err, NULL));
    return rc;
}

static ad_status part_begin(void *ctx, const ad_multipart_part *p, ad_err *err)
{
    upload *u = ctx;
    int is_file = strcmp(p->name, "file") == 0, is_custom = strcmp(p->name, "custom_data") == 0;
    if (!is_file && !is_custom) {
        refuse(u, ad_reply_error(400, "invalid_parameter", p->name, "form field '%s' is not part of this endpoint",
                                 p->name));
        return ad_err_set(err, AD_EINVAL, "unknown field");
    }
    if ((is_file && u->files++) || (is_custom && u->customs++)) {
        refuse(u,
               ad_reply_error(400, "invalid_parameter", p->name, "form field '%s' is given more than once", p->name));
        return ad_err_set(err, AD_EINVAL, "repeated field");
    }
    u->in_file = is_file;
    u->in_custom = is_custom;
    if (is_file) {
        snprintf(u->client_type, sizeof u->client_type, "%s", p->content_type);
        snprintf(u->part_filename, sizeof u->part_filename, "%s", p->filename);
        u->has_part_filename = p->has_filename;
        return start_file(u, err);
    }
    return AD_OK;
}

static ad_status part_data(void *ctx, const char *data, size_t len, ad_err *err)
{
    upload *u = ctx;
    if (u->in_file) {
        ad_status rc = ad_store_writer_write(u->w, data, len, err);
        if (rc != AD_OK)
            refuse(u, ad_reply_status(rc, err, NULL));
        return rc;
    }
    size_t max = u->api->cfg.max_custom_data;
    if (u->custom_len + len > max) {
        refuse(u, ad_reply_error(413, "too_large", "custom_data", "custom_data is larger than %zu bytes", max));
        return ad_err_set(err, AD_ETOOBIG, "custom data too large");
    }
    if (u->custom == NULL && (u->custom = malloc(max + 1)) == NULL) {
        refuse(u, ad_reply_error(503, "out_of_memory", NULL, "out of memory"));
        return ad_err_set(err, AD_ENOMEM, "out of memory");
    }
    memcpy(u->custom + u->custom_len, data, len);
    u->custom_len += len;
    return AD_OK;
}

static ad_status part_end(void *ctx, ad_err *err)
{
    upload *u = ctx;
    (void)err;
    u->in_file = u->in_custom = 0;
    return AD_OK;
}

static const ad_multipart_callbacks form = {part_begin, part_data, part_end};

/* The sink: body bytes as they arrive, on an I/O thread. */
static int take(void *ctx, const char *data, size_t len)
{
    upload *u = ctx;
    ad_err err = AD_ERR_INIT;
    if (u->refusal || u->malformed)
        return 1;
    if (!u->multipart) {
        if (ad_store_writer_write(u->w, data, len, &err) == AD_OK)
            return 0;
        refuse(u, ad_reply_status(err.code, &err, NULL));
        return 1;
    }
    if (ad_multipart_feed(u->mp, data, len, &u->perr) == AD_OK)
        return 0;
    u->malformed = u->refusal == NULL;
    return 1;
}

static void release(void *ctx)
{
    upload *u = ctx;
    ad_store_writer_abort(u->w); /* NULL once committed */
    ad_multipart_free(u->mp);
    ad_http_resp_free(u->refusal);
    free(u->custom);
    free(u);
}

ad_http_body_mode ad_upload_begin(ad_api *api, ad_http_req *req)
{
    upload *u = calloc(1, sizeof *u);
    ad_err err = AD_ERR_INIT;
    if (u == NULL)
        return AD_HTTP_BODY_DISCARD; /* the handler answers 503 */
    u->api = api;
    const char *ct = ad_http_header(req, "Content-Type");
    char boundary[72];
    if (ct && strncasecmp(ct, "multipart/form-data", 19) == 0) {
        u->multipart = 1;
        if (ad_multipart_boundary(ct, boundary, &u->perr) != AD_OK ||
            ad_multipart_new(boundary, 8, &form, u, &u->mp, &u->perr) != AD_OK)
            u->malformed = 1;
    } else {
        /* curl sends form-urlencoded when told nothing: that is no file type */
        if (ct && strcasecmp(ct, "application/x-www-form-urlencoded") != 0)
            snprintf(u->client_type, sizeof u->client_type, "%s", ct);
        u->files = 1;
        start_file(u, &err);
    }
    ad_http_set_sink(req, take, release, u);
    return AD_HTTP_BODY_SINK;
}

static long read_blob(void *ctx, uint64_t offset, void *buf, size_t len)
{
    size_t got = 0;
    ad_err err = AD_ERR_INIT;
    return ad_store_reader_read(ctx, offset, buf, len, &got, &err) == AD_OK ? (long)got : -1;
}

/* The committed blob's image header: oriented size and detected type. */
static void probe(ad_store *s, const char *sha, int64_t size, ad_asset *a, const char **detected)
{
    ad_store_reader *r;
    ad_image_info info;
    ad_err err = AD_ERR_INIT;
    *detected = NULL;
    if (ad_store_reader_open(s, sha, &r, &err) != AD_OK)
        return;
    ad_status st = ad_image_probe_reader(read_blob, r, (uint64_t)size, &info, &err);
    /* too large to decode is still an image of a known size: the cut-out
     * answers 413 with it, not 415 */
    if (st == AD_OK || st == AD_ETOOBIG) {
        a->width = info.width;
        a->height = info.height;
        *detected = ad_image_media_type(info.format);
    }
    ad_store_reader_close(r);
}

ad_http_resp *ad_handle_upload(ad_api *api, ad_http_req *req, const ad_route_args *args)
{
    upload *u = ad_http_sink_ctx(req);
    ad_store *s = api->cfg.store;
    ad_http_resp *r = NULL;
    char *custom = NULL;
    ad_err err = AD_ERR_INIT;
    ad_blob_pin pin = {0};
    if (u == NULL)
        return ad_reply_error(503, "out_of_memory", NULL, "no memory for the upload; retry later");
    const char *filename = args->query.filename[0] ? args->query.filename : NULL;
    if (!u->malformed && u->mp && ad_multipart_finish(u->mp, &u->perr) != AD_OK)
        u->malformed = u->refusal == NULL;
    if (u->refusal) {
        r = u->refusal;
        u->refusal = NULL;
        goto out;
    }
    if (u->malformed) {
        r = ad_reply_error(400, "invalid_parameter", "body", "malformed multipart body: %s", u->perr.msg);
        goto out;
    }
    if (u->files == 0 || u->w == NULL) {
        r = ad_reply_error(400, "missing_parameter", "file", "the form has no 'file' part");
        goto out;
    }
    if (u->customs && (r = ad_parse_custom_data(api, u->custom ? u->custom : "", u->custom_len, &custom)) != NULL)
        goto out;
    static const char default_name[] = "upload";
    const char *name = filename                                      ? filename
                       : u->has_part_filename && u->part_filename[0] ? u->part_filename
                                                                     : default_name;
    if (!ad_upload_filename_ok(name)) {
        r = ad_reply_error(400, "invalid_parameter", "filename",
                           "the file part's filename must be 1-255 bytes of UTF-8 without control characters or "
                           "slashes");
        goto out;
    }
    if (u->client_type[0] && !content_type_ok(u->client_type)) {
        r = ad_reply_error(400, "invalid_parameter", "Content-Type",
                           u->multipart ? "the file part's Content-Type is invalid" : "Content-Type is invalid");
        goto out;
    }
    if (ad_store_writer_size(u->w) == 0) {
        r = ad_reply_error(400, "missing_parameter", "file",
                           u->multipart ? "the file part is empty" : "the request body (the file) is empty");
        goto out;
    }
    /* the pin keeps the bytes from a concurrent collector (a delete of
     * another asset with the same bytes) until the row commits */
    ad_store_writer *w = u->w;
    u->w = NULL;
    ad_status st = ad_store_writer_commit(w, &pin, &err);
    if (st != AD_OK) {
        r = ad_reply_status(st, &err, NULL);
        goto out;
    }
    ad_asset a = {0};
    const char *detected;
    memcpy(a.sha256, pin.sha256, sizeof a.sha256);
    a.width = a.height = -1;
    /* header only: an image's size and type are known without decoding
     * its pixels; a type the bytes do not prove is the client's word */
    probe(s, pin.sha256, pin.size, &a, &detected);
    /* a raw body without ?filename= is named after what it is */
    char named[32];
    if (name == default_name && detected && ad_image_extension(detected)) {
        snprintf(named, sizeof named, "%s.%s", default_name, ad_image_extension(detected));
        name = named;
    }
    a.filename = (char *)name;
    a.content_type = (char *)(detected ? detected : u->client_type[0] ? u->client_type : "application/octet-stream");
    a.size = pin.size;
    a.custom_data = custom ? custom : (char *)"{}";
    ad_time_rfc3339(a.created_at);
    if ((st = ad_id_new(a.id, &err)) != AD_OK || (st = ad_store_insert_asset(s, &a, &pin, &err)) != AD_OK) {
        ad_store_unpin(s, &pin);
        r = ad_reply_status(st, &err, NULL);
        goto out;
    }
    r = ad_reply_json(201, ad_asset_json(&a));
    char loc[80];
    snprintf(loc, sizeof loc, "/api/v1/assets/%s", a.id);
    ad_http_resp_header(r, "Location", loc);
out:
    free(custom);
    return r;
}
