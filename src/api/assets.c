/* assets.c — the asset and conversion routes: upload (raw or multipart),
 * list, read, delete, custom data, file download, conversions; and jobs. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/custom_data.h"
#include "api/internal.h"
#include "http/multipart.h"
#include "image/image.h"

/* Filenames are shown back and used to name derived assets: UTF-8, no
 * control characters, no path separators, 1..255 bytes. */
static int filename_ok(const char *s)
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

/* Custom data as stored, or the refusal naming custom_data. */
static ad_http_resp *parse_custom_data(ad_api *api, const char *text, size_t len, char **out)
{
    ad_err err = AD_ERR_INIT;
    ad_status st = ad_custom_data_normalise(text, len, api->cfg.max_custom_data, out, &err);
    if (st == AD_OK)
        return NULL;
    if (st == AD_ETOOBIG)
        return ad_reply_error(413, "too_large", "custom_data", "%s", err.msg);
    if (st == AD_EINVAL)
        return ad_reply_error(400, "invalid_parameter", "custom_data", "%s", err.msg);
    return ad_reply_status(st, &err, "custom_data");
}

static ad_http_resp *store_asset(ad_api *api, const char *filename, const char *content_type, const void *data,
                                 size_t len, const char *custom_data)
{
    ad_store *s = api->cfg.store;
    ad_err err = AD_ERR_INIT;
    ad_asset a = {0};
    ad_image_info info;
    ad_err probe_err = AD_ERR_INIT;
    a.filename = (char *)filename;
    a.content_type = (char *)content_type;
    a.size = (int64_t)len;
    a.width = a.height = -1;
    a.custom_data = (char *)(custom_data ? custom_data : "{}");
    /* header only: an image's size is known without decoding its pixels */
    if (ad_image_probe(data, len, &info, &probe_err) == AD_OK) {
        a.width = info.width;
        a.height = info.height;
    }
    ad_time_rfc3339(a.created_at);
    ad_blob_pin pin = {0};
    ad_status st = ad_id_new(a.id, &err);
    /* the pin keeps the bytes from a concurrent collector (a delete of
     * another asset with the same bytes) until the row commits */
    if (st == AD_OK && (st = ad_store_put_blob(s, data, len, &pin, &err)) == AD_OK) {
        memcpy(a.sha256, pin.sha256, sizeof a.sha256);
        if ((st = ad_store_insert_asset(s, &a, &pin, &err)) != AD_OK)
            ad_store_unpin(s, &pin);
    }
    if (st != AD_OK)
        return ad_reply_status(st, &err, NULL);
    ad_http_resp *r = ad_reply_json(201, ad_asset_json(&a));
    char loc[80];
    snprintf(loc, sizeof loc, "/api/v1/assets/%s", a.id);
    ad_http_resp_header(r, "Location", loc);
    return r;
}

ad_http_resp *ad_handle_upload(ad_api *api, ad_http_req *req, const ad_route_args *args)
{
    (void)args;
    static const char *const allowed[] = {"filename", NULL};
    ad_query q = {0};
    ad_http_resp *r = NULL;
    char *custom = NULL;
    if (!ad_query_strict(req, allowed, &q, &r))
        goto out;
    const char *filename = ad_query_get(&q, "filename");
    if (filename && !filename_ok(filename)) {
        r = ad_reply_error(400, "invalid_parameter", "filename",
                           "filename must be 1-255 bytes of UTF-8 without control characters or slashes");
        goto out;
    }
    size_t len;
    const char *body = ad_http_body(req, &len);
    const char *ct = ad_http_header(req, "Content-Type");
    if (ct && strncasecmp(ct, "multipart/form-data", 19) == 0) {
        char boundary[72];
        ad_multipart_part parts[8];
        int n = 0;
        ad_err err = AD_ERR_INIT;
        if (ad_multipart_boundary(ct, boundary, &err) != AD_OK ||
            ad_multipart_parse(boundary, body, len, parts, 8, &n, &err) != AD_OK) {
            r = ad_reply_error(400, "invalid_parameter", "body", "malformed multipart body: %s", err.msg);
            goto out;
        }
        const ad_multipart_part *file = NULL, *cd = NULL;
        for (int i = 0; i < n; i++) {
            const ad_multipart_part *p = &parts[i];
            const ad_multipart_part **slot = strcmp(p->name, "file") == 0          ? &file
                                             : strcmp(p->name, "custom_data") == 0 ? &cd
                                                                                   : NULL;
            if (slot == NULL) {
                r = ad_reply_error(400, "invalid_parameter", p->name, "form field '%s' is not part of this endpoint",
                                   p->name);
                goto out;
            }
            if (*slot) {
                r = ad_reply_error(400, "invalid_parameter", p->name, "form field '%s' is given more than once",
                                   p->name);
                goto out;
            }
            *slot = p;
        }
        if (file == NULL) {
            r = ad_reply_error(400, "missing_parameter", "file", "the form has no 'file' part");
            goto out;
        }
        if (cd && (r = parse_custom_data(api, cd->data, cd->len, &custom)) != NULL)
            goto out;
        const char *name = filename ? filename : file->has_filename && file->filename[0] ? file->filename : "upload";
        if (!filename_ok(name)) {
            r = ad_reply_error(400, "invalid_parameter", "filename",
                               "the file part's filename must be 1-255 bytes of UTF-8 without control characters "
                               "or slashes");
            goto out;
        }
        const char *type = file->content_type[0] ? file->content_type : "application/octet-stream";
        if (!content_type_ok(type)) {
            r = ad_reply_error(400, "invalid_parameter", "Content-Type", "the file part's Content-Type is invalid");
            goto out;
        }
        if (file->len == 0) {
            r = ad_reply_error(400, "missing_parameter", "file", "the file part is empty");
            goto out;
        }
        r = store_asset(api, name, type, file->data, file->len, custom);
        goto out;
    }
    if (ct == NULL)
        ct = "application/octet-stream";
    if (!content_type_ok(ct)) {
        r = ad_reply_error(400, "invalid_parameter", "Content-Type", "Content-Type is invalid");
        goto out;
    }
    if (len == 0) {
        r = ad_reply_error(400, "missing_parameter", "file", "the request body (the file) is empty");
        goto out;
    }
    r = store_asset(api, filename ? filename : "upload", ct, body, len, NULL);
out:
    free(custom);
    ad_query_cleanup(&q);
    return r;
}

/* A decimal number of 1..18 digits, so it fits int64 without overflow. */
static int parse_count(const char *s, int64_t *out)
{
    size_t n = strlen(s);
    if (n < 1 || n > 18)
        return 0;
    int64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return 0;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return 1;
}

ad_http_resp *ad_handle_list(ad_api *api, ad_http_req *req, const ad_route_args *args)
{
    (void)args;
    static const char *const allowed[] = {"limit", "cursor", NULL};
    ad_query q = {0};
    ad_http_resp *r = NULL;
    ad_asset *v = NULL;
    int n = 0;
    if (!ad_query_strict(req, allowed, &q, &r))
        goto out;
    int64_t limit = 20, cursor = 0;
    const char *ls = ad_query_get(&q, "limit"), *cs = ad_query_get(&q, "cursor");
    if (ls && (!parse_count(ls, &limit) || limit < 1 || limit > 100)) {
        r = ad_reply_error(400, "invalid_parameter", "limit", "limit must be an integer from 1 to 100");
        goto out;
    }
    if (cs && (!parse_count(cs, &cursor) || cursor < 1)) {
        r = ad_reply_error(400, "invalid_parameter", "cursor", "cursor must be a next_cursor from a previous page");
        goto out;
    }
    ad_err err = AD_ERR_INIT;
    ad_store *s = api->cfg.store;
    /* one more than asked tells whether another page exists */
    ad_status st = ad_store_list_assets(s, cursor, (int)limit + 1, &v, &n, &err);
    if (st != AD_OK) {
        r = ad_reply_status(st, &err, NULL);
        goto out;
    }
    json_t *items = json_array();
    for (int i = 0; i < n && i < limit; i++)
        json_array_append_new(items, ad_asset_json(&v[i]));
    json_t *next = json_null();
    if (n > limit) {
        char buf[32];
        snprintf(buf, sizeof buf, "%" PRId64, v[limit - 1].seq);
        json_decref(next);
        next = json_string(buf);
    }
    r = ad_reply_json(200, json_pack("{s:o, s:o}", "items", items, "next_cursor", next));
out:
    for (int i = 0; i < n; i++)
        ad_asset_cleanup(&v[i]);
    free(v);
    ad_query_cleanup(&q);
    return r;
}

static ad_http_resp *load_asset(ad_api *api, const char *id, ad_asset *a)
{
    ad_err err = AD_ERR_INIT;
    ad_status st = ad_store_get_asset(api->cfg.store, id, a, &err);
    if (st == AD_ENOTFOUND)
        return ad_reply_error(404, "not_found", "asset_id", "no asset with this id");
    if (st != AD_OK)
        return ad_reply_status(st, &err, NULL);
    return NULL;
}

ad_http_resp *ad_handle_get_asset(ad_api *api, ad_http_req *req, const ad_route_args *args)
{
    (void)req;
    ad_asset a;
    ad_http_resp *r = load_asset(api, args->asset_id, &a);
    if (r == NULL) {
        r = ad_reply_json(200, ad_asset_json(&a));
        ad_asset_cleanup(&a);
    }
    return r;
}

ad_http_resp *ad_handle_delete_asset(ad_api *api, ad_http_req *req, const ad_route_args *args)
{
    (void)req;
    ad_err err = AD_ERR_INIT;
    ad_status st = ad_store_delete_asset(api->cfg.store, args->asset_id, &err);
    if (st == AD_ENOTFOUND)
        return ad_reply_error(404, "not_found", "asset_id", "no asset with this id");
    if (st != AD_OK)
        return ad_reply_status(st, &err, NULL);
    return ad_http_resp_take(204, NULL, NULL, 0);
}

ad_http_resp *ad_handle_put_custom_data(ad_api *api, ad_http_req *req, const ad_route_args *args)
{
    ad_err err = AD_ERR_INIT;
    char *custom = NULL;
    size_t len;
    const char *body = ad_http_body(req, &len);
    ad_http_resp *r = parse_custom_data(api, body, len, &custom);
    if (r)
        goto out;
    ad_status st = ad_store_set_custom_data(api->cfg.store, args->asset_id, custom, &err);
    if (st == AD_ENOTFOUND)
        r = ad_reply_error(404, "not_found", "asset_id", "no asset with this id");
    else if (st != AD_OK)
        r = ad_reply_status(st, &err, NULL);
    else
        r = ad_handle_get_asset(api, req, args);
out:
    free(custom);
    return r;
}

ad_http_resp *ad_handle_get_file(ad_api *api, ad_http_req *req, const ad_route_args *args)
{
    ad_asset a;
    ad_http_resp *r = load_asset(api, args->asset_id, &a);
    if (r == NULL) {
        r = ad_reply_blob(api, req, a.sha256, a.content_type, 1);
        ad_asset_cleanup(&a);
    }
    return r;
}

ad_http_resp *ad_handle_get_conversion(ad_api *api, ad_http_req *req, const ad_route_args *args)
{
    ad_err err = AD_ERR_INIT;
    ad_conversion c;
    ad_status st = ad_store_get_conversion(api->cfg.store, args->asset_id, args->conversion_name, &c, &err);
    if (st == AD_ENOTFOUND)
        return ad_reply_error(404, "not_found", "conversion_name", "no conversion '%s' on this asset",
                              args->conversion_name);
    if (st != AD_OK)
        return ad_reply_status(st, &err, NULL);
    return ad_reply_blob(api, req, c.sha256, c.content_type, 0);
}

ad_http_resp *ad_handle_delete_conversion(ad_api *api, ad_http_req *req, const ad_route_args *args)
{
    (void)req;
    ad_err err = AD_ERR_INIT;
    ad_status st = ad_store_delete_conversion(api->cfg.store, args->asset_id, args->conversion_name, &err);
    if (st == AD_ENOTFOUND)
        return ad_reply_error(404, "not_found", "conversion_name", "no conversion '%s' on this asset",
                              args->conversion_name);
    if (st != AD_OK)
        return ad_reply_status(st, &err, NULL);
    return ad_http_resp_take(204, NULL, NULL, 0);
}

ad_http_resp *ad_handle_get_job(ad_api *api, ad_http_req *req, const ad_route_args *args)
{
    (void)req;
    ad_err err = AD_ERR_INIT;
    ad_job j;
    ad_status st = ad_store_get_job(api->cfg.store, args->job_id, &j, &err);
    if (st == AD_ENOTFOUND)
        return ad_reply_error(404, "not_found", "job_id", "no job with this id");
    if (st != AD_OK)
        return ad_reply_status(st, &err, NULL);
    json_t *result = j.result ? json_loads(j.result, 0, NULL) : NULL;
    ad_http_resp *r =
        ad_reply_json(200, json_pack("{s:s, s:s, s:s, s:i, s:o, s:o, s:s, s:o}", "id", j.id, "kind", j.kind, "status",
                                     ad_job_status_name(j.status), "attempts", j.attempts, "error",
                                     j.error ? json_string(j.error) : json_null(), "result",
                                     result ? result : json_null(), "created_at", j.created_at, "finished_at",
                                     j.finished_at[0] ? json_string(j.finished_at) : json_null()));
    ad_job_cleanup(&j);
    return r;
}
