/* removebg.c — remove.bg's API on assetd (integrations.md section 5):
 * POST /v1.0/removebg and GET /v1.0/account, so that a client written for
 * remove.bg works once its base URL points here.
 *
 * The image comes as image_file (a multipart part), image_file_b64 (a form
 * field or a JSON field) or image_url (fetched through net/fetch.h, the
 * same guard as webhooks); options come as form fields, JSON fields or
 * query parameters, by remove.bg's names and values, and are mapped onto
 * the cut-out's own options (cutout/options.h): the same pipeline, presets,
 * limits, queue and 503 as every cut-out route. Nothing is stored, as on
 * the one-shot route. An option assetd does not do is refused by name,
 * never ignored. Errors leave in remove.bg's shape: the router rewrites
 * every refusal of these routes (ad_reply_removebg_shape, reply.c).
 *
 * The body streams into an unnamed temporary file (api/spool.h, as the
 * one-shot route's): a multipart form's image part alone, or a JSON or
 * form body whole (an image in base64 is as large as the upload limit allows, not the
 * small ceiling of JSON bodies), read back once the request is in. */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "api/internal.h"
#include "api/spool.h"
#include "api/query.h"
#include "base/base64.h"
#include "base/clock.h"
#include "base/log.h"
#include "base/zip.h"
#include "http/multipart.h"
#include "image/image.h"
#include "image/png_encode.h"
#include "net/fetch.h"

#define MAX_FIELDS 32
#define FIELD_MAX 4096

enum { PART_NONE, PART_IMAGE, PART_TEXT };

typedef struct {
    char name[40];
    char *value; /* owned */
} rb_field;

typedef struct {
    ad_api *api;
    ad_spool sp; /* the image part (multipart), or the whole body */
    int multipart;
    int b64;    /* the image part is image_file_b64's text */
    int images; /* image parts seen */
    int part;   /* PART_*: the part being read */
    ad_multipart *mp;
    rb_field fields[MAX_FIELDS];
    int nfields;
    char *text; /* the text field being read */
    size_t text_len;
    int malformed;
    ad_err perr;
} rb_body;

/* What the request asks, in assetd's terms. */
typedef enum { RB_AUTO, RB_PNG, RB_JPG, RB_ZIP } rb_format;

typedef struct {
    ad_api *api;
    ad_http_req *req;
    rb_body *b;
    void *src; /* the image's bytes (b64 decoded or fetched), or NULL: the spooled image part */
    size_t src_len;
    ad_cutout_options opt;
    int64_t budget; /* size: pixels the result may have, 0: the original's */
    char type[16];
    rb_format format;
    int json; /* Accept: application/json */
    char ratelimit[3][24];
    double queued_at;
} rb_task;

static void refuse(rb_body *b, ad_http_resp *r) { ad_spool_refuse(&b->sp, r); }

static ad_status part_begin(void *ctx, const ad_multipart_part *p, ad_err *err)
{
    rb_body *b = ctx;
    if (strcmp(p->name, "image_file") == 0 || strcmp(p->name, "image_file_b64") == 0) {
        if (b->images++) {
            refuse(b, ad_reply_error(400, "multiple_sources", p->name,
                                     "give one image: image_file, image_file_b64 "
                                     "or image_url"));
            return ad_err_set(err, AD_EINVAL, "two images");
        }
        b->b64 = p->name[10] == '_';
        b->part = PART_IMAGE;
        return AD_OK;
    }
    if (strcmp(p->name, "bg_image_file") == 0) {
        refuse(b, ad_reply_error(400, "unsupported_parameter", "bg_image_file",
                                 "bg_image_file is not supported by assetd: use bg_color, or compose the cut-out "
                                 "yourself"));
        return ad_err_set(err, AD_EINVAL, "unsupported");
    }
    if (b->nfields == MAX_FIELDS || strlen(p->name) >= sizeof b->fields[0].name) {
        refuse(b, ad_reply_error(400, "invalid_parameter", NULL, "too many form fields, or a name too long"));
        return ad_err_set(err, AD_EINVAL, "fields");
    }
    snprintf(b->fields[b->nfields].name, sizeof b->fields[0].name, "%.39s", p->name);
    b->text_len = 0;
    if ((b->text = malloc(FIELD_MAX + 1)) == NULL)
        return ad_err_set(err, AD_ENOMEM, "out of memory");
    b->part = PART_TEXT;
    return AD_OK;
}

static ad_status part_data(void *ctx, const char *data, size_t len, ad_err *err)
{
    rb_body *b = ctx;
    if (b->part == PART_IMAGE && ad_spool_write(&b->sp, data, len) != 0)
        return ad_err_set(err, AD_EIO, "spool failed");
    if (b->part == PART_TEXT) {
        if (b->text_len + len > FIELD_MAX) {
            refuse(b, ad_reply_error(400, "invalid_parameter", b->fields[b->nfields].name,
                                     "form field '%s' is longer than %d bytes", b->fields[b->nfields].name, FIELD_MAX));
            return ad_err_set(err, AD_EINVAL, "long field");
        }
        memcpy(b->text + b->text_len, data, len);
        b->text_len += len;
    }
    return AD_OK;
}

static ad_status part_end(void *ctx, ad_err *err)
{
    (void)err;
    rb_body *b = ctx;
    if (b->part == PART_TEXT) {
        b->text[b->text_len] = '\0';
        b->fields[b->nfields++].value = b->text;
        b->text = NULL;
    }
    b->part = PART_NONE;
    return AD_OK;
}

static const ad_multipart_callbacks form = {part_begin, part_data, part_end};

static int take(void *ctx, const char *data, size_t len)
{
    rb_body *b = ctx;
    if (b->sp.refusal || b->malformed)
        return 0;
    if (!b->multipart) {
        ad_spool_write(&b->sp, data, len);
        return 0;
    }
    ad_err e = AD_ERR_INIT;
    if (ad_multipart_feed(b->mp, data, len, &e) != AD_OK && b->sp.refusal == NULL) {
        b->malformed = 1;
        b->perr = e;
    }
    return 0;
}

static void release(void *ctx)
{
    rb_body *b = ctx;
    ad_spool_close(&b->sp);
    ad_multipart_free(b->mp);
    for (int i = 0; i < b->nfields; i++)
        free(b->fields[i].value);
    free(b->text);
    free(b);
}

ad_http_body_mode ad_removebg_begin(ad_api *api, ad_http_req *req)
{
    rb_body *b = calloc(1, sizeof *b);
    if (b == NULL)
        return AD_HTTP_BODY_DISCARD;
    b->api = api;
    ad_spool_open(&b->sp, api->cfg.tmp_dir);
    if (b->sp.fd >= 0) {
        const char *ct = ad_http_header(req, "Content-Type");
        char boundary[72];
        if (ct && strncasecmp(ct, "multipart/form-data", 19) == 0) {
            b->multipart = 1;
            if (ad_multipart_boundary(ct, boundary, &b->perr) != AD_OK ||
                ad_multipart_new(boundary, MAX_FIELDS + 2, &form, b, &b->mp, &b->perr) != AD_OK)
                b->malformed = 1;
        }
    }
    ad_http_set_sink(req, take, release, b);
    return AD_HTTP_BODY_SINK;
}

/* ---- the request's fields: multipart, JSON or form, and the query ---- */

static ad_http_resp *add_field(rb_body *b, const char *name, const char *value, size_t len)
{
    for (int i = 0; i < b->nfields; i++)
        if (strcmp(b->fields[i].name, name) == 0)
            return ad_reply_error(400, "invalid_parameter", name, "parameter '%.40s' is given more than once", name);
    if (b->nfields == MAX_FIELDS || strlen(name) >= sizeof b->fields[0].name)
        return ad_reply_error(400, "invalid_parameter", NULL, "too many parameters, or a name too long");
    char *v = malloc(len + 1);
    if (v == NULL)
        return ad_reply_error(503, "out_of_memory", NULL, "out of memory; retry later");
    memcpy(v, value, len);
    v[len] = '\0';
    snprintf(b->fields[b->nfields].name, sizeof b->fields[0].name, "%.39s", name);
    b->fields[b->nfields++].value = v;
    return NULL;
}

static const char *field(const rb_body *b, const char *name)
{
    for (int i = 0; i < b->nfields; i++)
        if (strcmp(b->fields[i].name, name) == 0)
            return b->fields[i].value;
    return NULL;
}

/* A JSON body's fields: strings as they are, booleans and numbers as
 * their text, null as not given. */
static ad_http_resp *json_fields(rb_body *b, const char *text)
{
    json_error_t je;
    json_t *j = json_loadb(text, b->sp.len, JSON_REJECT_DUPLICATES, &je);
    ad_http_resp *r = NULL;
    if (!json_is_object(j)) {
        r = ad_reply_error(400, "invalid_body", NULL, "the body must be a JSON object%s%s", j ? "" : ": ",
                           j ? "" : je.text);
        goto out;
    }
    const char *k;
    json_t *v;
    json_object_foreach(j, k, v)
    {
        char num[64];
        if (json_is_null(v))
            continue;
        if (json_is_string(v))
            r = add_field(b, k, json_string_value(v), json_string_length(v));
        else if (json_is_boolean(v))
            r = add_field(b, k, json_is_true(v) ? "true" : "false", json_is_true(v) ? 4 : 5);
        else if (json_is_integer(v))
            r = add_field(b, k, num, (size_t)snprintf(num, sizeof num, "%lld", (long long)json_integer_value(v)));
        else
            r = ad_reply_error(400, "invalid_parameter", k, "'%.40s' must be a string, a number or a boolean", k);
        if (r)
            goto out;
    }
out:
    json_decref(j);
    return r;
}

static ad_http_resp *query_fields(rb_body *b, const char *text)
{
    ad_query q = {0};
    ad_err err = AD_ERR_INIT;
    ad_http_resp *r = NULL;
    if (ad_query_parse(text ? text : "", MAX_FIELDS, &q, &err) != AD_OK)
        return ad_reply_error(400, "invalid_parameter", NULL, "malformed parameters: %s", err.msg);
    for (int i = 0; i < q.n && r == NULL; i++) {
        const char *v = q.v[i].value ? q.v[i].value : "";
        r = add_field(b, q.v[i].key, v, strlen(v));
    }
    ad_query_cleanup(&q);
    return r;
}

/* ---- remove.bg's options onto assetd's ---------------------------------- */

#define BAD(name, ...) ad_reply_error(400, "invalid_parameter", name, __VA_ARGS__)

static ad_http_resp *set_option(ad_cutout_options *opt, const char *name, const char *value, const char *as)
{
    ad_err err = AD_ERR_INIT;
    if (ad_cutout_option_set(opt, name, value, 1, &err) != AD_OK)
        return ad_reply_error(400, "invalid_parameter", as, "%s", err.msg);
    return NULL;
}

/* crop_margin capped as remove.bg caps it: 50% of the subject, 500 px */
static ad_http_resp *set_margin(ad_cutout_options *opt, const char *value)
{
    ad_http_resp *r = set_option(opt, "crop_margin", value, "crop_margin");
    for (int i = 0; r == NULL && i < 4; i++) {
        int cap = opt->crop_margin.percent[i] ? 50 : 500;
        if (opt->crop_margin.v[i] > cap)
            opt->crop_margin.v[i] = cap;
    }
    return r;
}

static int one_of(const char *v, const char *const *list)
{
    for (int i = 0; list[i]; i++)
        if (strcmp(v, list[i]) == 0)
            return i;
    return -1;
}

/* Each field: a source, an option mapped, an option refused by name, or
 * an unknown name refused. */
static ad_http_resp *map_fields(const rb_body *b, rb_task *t)
{
    static const char *const sizes[] = {"preview", "small", "regular", "medium", "hd", "full", "4k", "auto", NULL};
    static const int64_t budgets[] = {250000, 250000, 250000, 1500000, 4000000, 0, 0, 0};
    static const char *const types[] = {"auto", "person",  "product",        "animal",
                                        "car",  "graphic", "transportation", NULL};
    static const char *const formats[] = {"auto", "png", "jpg", "zip", NULL};
    static const char *const bools[] = {"true", "false", "1", "0", NULL};
    ad_cutout_options_default(&t->opt);
    snprintf(t->type, sizeof t->type, "auto");
    t->budget = 250000; /* remove.bg's default size: preview */
    int crop = 0;
    const char *margin = NULL;
    ad_http_resp *r = NULL;
    for (int i = 0; i < b->nfields && r == NULL; i++) {
        const char *n = b->fields[i].name, *v = b->fields[i].value;
        int k;
        if (strcmp(n, "image_file_b64") == 0 || strcmp(n, "image_url") == 0)
            continue; /* the sources: taken below */
        if (*v == '\0')
            continue; /* an empty field is one not given, as remove.bg reads forms */
        if (strcmp(n, "size") == 0) {
            if ((k = one_of(v, sizes)) < 0)
                r = BAD(n, "size must be preview, small, regular, medium, hd, full, 4k or auto (not '%.40s')", v);
            else
                t->budget = budgets[k];
        } else if (strcmp(n, "type") == 0) {
            if (one_of(v, types) < 0)
                r = BAD(n, "type must be auto, person, product, animal, car, graphic or transportation (not '%.40s')",
                        v);
            else
                snprintf(t->type, sizeof t->type, "%s", v);
        } else if (strcmp(n, "format") == 0) {
            if ((k = one_of(v, formats)) < 0)
                r = BAD(n, "format must be auto, png, jpg or zip (not '%.40s')", v);
            else
                t->format = (rb_format)k;
        } else if (strcmp(n, "channels") == 0) {
            r = set_option(&t->opt, "channels", v, n);
        } else if (strcmp(n, "bg_color") == 0) {
            r = set_option(&t->opt, "bg_color", v, n);
        } else if (strcmp(n, "crop") == 0) {
            if ((k = one_of(v, bools)) < 0)
                r = BAD(n, "crop must be true or false (not '%.40s')", v);
            else
                crop = k == 0 || k == 2;
        } else if (strcmp(n, "crop_margin") == 0) {
            margin = v;
        } else if (strcmp(n, "semitransparency") == 0 || strcmp(n, "scale") == 0 || strcmp(n, "position") == 0 ||
                   strcmp(n, "roi") == 0) {
            r = set_option(&t->opt, n, v, n); /* assetd's options of the same names */
        } else if (strcmp(n, "add_shadow") == 0) {
            if ((k = one_of(v, bools)) < 0)
                r = BAD(n, "add_shadow must be true or false (not '%.40s')", v);
            else if (k == 0 || k == 2)
                r = BAD(n, "add_shadow=%.40s is not supported by assetd (no shadows are drawn)", v);
        } else if (strcmp(n, "bg_image_url") == 0 || strcmp(n, "bg_image_file") == 0) {
            r = BAD(n, "%s is not supported by assetd: use bg_color, or compose the cut-out yourself", n);
        } else {
            r = BAD(n,
                    "unknown parameter '%.40s' (remove.bg's: image_file, image_file_b64, image_url, size, type, "
                    "format, channels, bg_color, crop, crop_margin, scale, position, roi, semitransparency, "
                    "add_shadow)",
                    n);
        }
    }
    if (r)
        return r;
    /* crop_margin only has an effect with crop=true, as on remove.bg */
    if (crop && (r = set_option(&t->opt, "crop", "true", "crop")) == NULL && margin)
        r = set_margin(&t->opt, margin);
    if (r == NULL && margin && !crop) {
        /* still checked: a malformed margin is refused either way */
        ad_cutout_options scratch;
        ad_cutout_options_default(&scratch);
        r = set_option(&scratch, "crop_margin", margin, "crop_margin");
    }
    /* format: auto is PNG unless nothing is transparent (an opaque
     * bg_color, or the mask alone) */
    int opaque = t->opt.bg_color.set && t->opt.bg_color.a == 255 && t->opt.channels == AD_CHANNELS_RGBA;
    if (r == NULL && (t->format == RB_JPG || (t->format == RB_AUTO && opaque)))
        r = set_option(&t->opt, "format", "jpg", "format");
    if (r == NULL && t->format == RB_ZIP) {
        if (t->opt.channels == AD_CHANNELS_ALPHA)
            return BAD("format", "format=zip with channels=%s: the ZIP holds the colour image and its alpha", "alpha");
        r = set_option(&t->opt, "foreground", "on", "format"); /* the colour image's edges */
    }
    return r;
}

/* ---- the answer ------------------------------------------------------ */

/* format=zip: color.jpg (the subject's colours) and alpha.png (its
 * alpha), as remove.bg packs them. */
static ad_status make_zip(const ad_pixmap *pm, void **out, size_t *len, ad_err *err)
{
    ad_pixmap rgb = {0}, alpha = {0};
    void *jpg = NULL, *png = NULL;
    size_t jl = 0, pl = 0;
    ad_status st;
    if ((st = ad_pixmap_init(&rgb, pm->width, pm->height, 3, err)) != AD_OK ||
        (st = ad_pixmap_init(&alpha, pm->width, pm->height, 1, err)) != AD_OK)
        goto out;
    size_t n = (size_t)pm->width * pm->height;
    for (size_t i = 0; i < n; i++) {
        memcpy(rgb.data + 3 * i, pm->data + (size_t)pm->bands * i, 3);
        alpha.data[i] = pm->bands == 4 ? pm->data[4 * i + 3] : 255;
    }
    ad_png_options po;
    ad_png_options_default(&po);
    if ((st = ad_image_encode_jpeg(&rgb, &jpg, &jl, err)) != AD_OK ||
        (st = ad_png_encode(&alpha, &po, &png, &pl, err)) != AD_OK)
        goto out;
    ad_zip_entry e[2] = {{"color.jpg", jpg, jl}, {"alpha.png", png, pl}};
    st = ad_zip_store(e, 2, out, len, err);
out:
    free(jpg);
    free(png);
    ad_pixmap_cleanup(&rgb);
    ad_pixmap_cleanup(&alpha);
    return st;
}

static void run_removebg(void *arg)
{
    rb_task *t = arg;
    ad_api *api = t->api;
    ad_err err = AD_ERR_INIT;
    ad_http_resp *r = NULL;
    ad_cutout_result res = {0};
    void *data = NULL;
    size_t len = 0;
    const char *ctype = NULL;
    if ((r = ad_bg_waited_too_long(api, t->queued_at)) != NULL)
        goto out;
    if (t->src == NULL) { /* image_file: the spooled part */
        char *buf;
        if ((r = ad_spool_read(&t->b->sp, &buf)) != NULL)
            goto out;
        t->src = buf;
        t->src_len = t->b->sp.len;
    }
    /* size: a pixel budget, as a side the result must fit */
    ad_image_info info;
    if (t->budget > 0 && ad_image_probe(t->src, t->src_len, &info, &err) == AD_OK &&
        (int64_t)info.width * info.height > t->budget) {
        double k = sqrt((double)t->budget / ((double)info.width * info.height));
        int side = (int)floor((info.width > info.height ? info.width : info.height) * k);
        t->opt.max_side = side > 0 ? side : 1;
    }
    ad_err_clear(&err);
    ad_mask_origin origin;
    if ((r = ad_bg_cutout(api, t->src, t->src_len, &t->opt, "image_file", NULL,
                          t->format == RB_ZIP ? AD_CUTOUT_PIXELS : 0, &res, &origin, &err)) != NULL)
        goto out;
    if (t->format == RB_ZIP) {
        if (make_zip(&res.pixels, &data, &len, &err) != AD_OK) {
            r = ad_reply_error(500, "encode_failed", NULL, "the ZIP could not be made: %s", err.msg);
            goto out;
        }
        ctype = "application/zip";
    } else {
        data = res.data;
        len = res.len;
        ctype = res.content_type;
        res.data = NULL;
    }
    if (t->json) {
        char *b64 = NULL;
        size_t b64_len;
        if (ad_base64_encode(data, len, &b64, &b64_len, &err) != AD_OK) {
            r = ad_reply_error(503, "out_of_memory", NULL, "out of memory; retry later");
            goto out;
        }
        json_t *j = json_pack("{s:{s:s, s:i, s:i, s:i, s:i}}", "data", "result_b64", b64, "foreground_top",
                              res.subject.top, "foreground_left", res.subject.left, "foreground_width",
                              res.subject.width, "foreground_height", res.subject.height);
        free(b64);
        r = ad_reply_json(200, j);
    } else {
        r = ad_http_resp_take(200, ctype, data, len);
        data = NULL;
    }
    ad_bg_describe_result(api, &res, t->opt.preset, r);
    ad_http_resp_header(r, "X-Type", strcmp(t->type, "auto") == 0 ? "other" : t->type);
    ad_http_resp_header(r, "X-Credits-Charged", "0");
    ad_http_resp_header(r, "Cache-Control", "no-store");
out:
    if (r) {
        static const char *const names[3] = {"X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset"};
        for (int i = 0; i < 3; i++)
            if (t->ratelimit[i][0])
                ad_http_resp_header(r, names[i], t->ratelimit[i]);
    }
    ad_log(AD_LOG_INFO, "removebg", "bytes=%zu status=%s ms=%.0f", t->src_len,
           r && err.code == AD_OK ? "ok" : ad_status_name(err.code), res.timing.total);
    free(data);
    free(t->src);
    ad_cutout_result_cleanup(&res);
    ad_api_finish(api, t->req, r);
    free(t);
}

ad_http_resp *ad_handle_removebg(ad_api *api, ad_http_req *req, const ad_route_args *args)
{
    rb_body *b = ad_http_sink_ctx(req);
    ad_http_resp *r = NULL;
    char *body = NULL;
    if (b == NULL)
        return ad_reply_error(503, "out_of_memory", NULL, "no memory for the request; retry later");
    if ((r = ad_spool_take_refusal(&b->sp)) != NULL)
        return r;
    ad_err e = AD_ERR_INIT;
    if (b->malformed || (b->multipart && ad_multipart_finish(b->mp, &e) != AD_OK))
        return ad_reply_error(400, "invalid_body", NULL, "malformed multipart body: %s",
                              b->malformed ? b->perr.msg : e.msg);
    if (!b->multipart && b->sp.len > 0) {
        const char *ct = ad_http_header(req, "Content-Type");
        int is_json = ct && strncasecmp(ct, "application/json", 16) == 0;
        int is_form = ct && strncasecmp(ct, "application/x-www-form-urlencoded", 33) == 0;
        if (!is_json && !is_form)
            return ad_reply_error(400, "invalid_body", "Content-Type",
                                  "send multipart/form-data, application/x-www-form-urlencoded or application/json");
        if ((r = ad_spool_read(&b->sp, &body)) != NULL)
            return r;
        r = is_json ? json_fields(b, body) : query_fields(b, body);
        free(body);
        if (r)
            return r;
        b->sp.len = 0; /* the body was fields: no image part */
    }
    if ((r = query_fields(b, ad_http_query(req))) != NULL)
        return r;
    rb_task *t = calloc(1, sizeof *t);
    if (t == NULL)
        return ad_reply_error(503, "out_of_memory", NULL, "out of memory; retry later");
    t->api = api;
    t->req = req;
    t->b = b;
    if ((r = map_fields(b, t)) != NULL)
        goto fail;
    const char *b64 = field(b, "image_file_b64"), *url = field(b, "image_url");
    int sources = (b->images > 0) + (b64 && *b64) + (url && *url);
    if (sources == 0) {
        r = ad_reply_error(400, "missing_source", "image_file",
                           "no image given: send image_file, image_file_b64 or image_url");
        goto fail;
    }
    if (sources > 1) {
        r = ad_reply_error(400, "multiple_sources", "image_file",
                           "give one image: image_file, image_file_b64 or "
                           "image_url");
        goto fail;
    }
    if (b->images && b->b64) { /* image_file_b64 as a multipart part */
        char *text;
        if ((r = ad_spool_read(&b->sp, &text)) != NULL)
            goto fail;
        ad_status st = ad_base64_decode(text, b->sp.len, &t->src, &t->src_len, &e);
        free(text);
        if (st != AD_OK) {
            r = ad_reply_error(400, "invalid_parameter", "image_file_b64", "image_file_b64: %s", e.msg);
            goto fail;
        }
    } else if (b64 && *b64) {
        if (ad_base64_decode(b64, strlen(b64), &t->src, &t->src_len, &e) != AD_OK) {
            r = ad_reply_error(400, "invalid_parameter", "image_file_b64", "image_file_b64: %s", e.msg);
            goto fail;
        }
    } else if (url && *url) {
        ad_status st =
            ad_fetch_url(url, api->cfg.guard, api->cfg.max_body, api->cfg.fetch_timeout_ms, &t->src, &t->src_len, &e);
        if (st != AD_OK) {
            r = ad_reply_error(st == AD_ENOMEM ? 503 : 400, st == AD_ETOOBIG ? "file_too_large" : "invalid_image_url",
                               "image_url", "image_url: %s", e.msg);
            goto fail;
        }
    }
    if (t->src == NULL && b->sp.len == 0) {
        r = ad_reply_error(400, "missing_source", "image_file", "the image is empty");
        goto fail;
    }
    const char *accept = ad_http_header(req, "Accept");
    t->json = accept && strstr(accept, "application/json") != NULL;
    memcpy(t->ratelimit, args->ratelimit, sizeof t->ratelimit);
    t->queued_at = ad_clock_ms();
    if ((r = ad_bg_submit(api, req, run_removebg, t)) == AD_DEFERRED)
        return r;
fail:
    free(t->src);
    free(t);
    return r;
}

ad_http_resp *ad_handle_removebg_account(ad_api *api, ad_http_req *req, const ad_route_args *args)
{
    (void)api, (void)req, (void)args;
    /* unlimited: nothing is counted; a large round number for clients that
     * compare */
    return ad_reply_json(200, json_pack("{s:{s:{s:{s:I, s:I, s:I, s:I}, s:{s:I, s:s}}}}", "data", "attributes",
                                        "credits", "total", (json_int_t)1000000000, "subscription",
                                        (json_int_t)1000000000, "payg", (json_int_t)0, "enterprise", (json_int_t)0,
                                        "api", "free_calls", (json_int_t)1000000000, "sizes", "all"));
}
