/* oneshot.c — POST /api/v1/bg_remove: the image is the body (raw, or a
 * multipart/form-data form with a `file` part), the options are the query
 * (bg_remove's output options), the cut-out is the answer, and nothing is
 * stored. What rembg's and remove.bg's users reach for first.
 *
 * The body streams, as an upload's does, into a private temporary file
 * that has no name (O_TMPFILE, 0600, in the data dir): memory holds only
 * the multipart parser's window, a client that goes away leaves nothing
 * behind, and the file is gone when the request is. The cut-out then runs
 * on the same pool, with the same limits, queue time and 503 as the asset
 * route (bg_remove.c). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "api/bg_params.h"
#include "api/internal.h"
#include "api/spool.h"
#include "base/clock.h"
#include "base/log.h"
#include "http/multipart.h"

typedef struct {
    ad_api *api;
    ad_spool sp; /* the image */
    int multipart, files, in_file;
    ad_multipart *mp;
    ad_err perr; /* a malformed body: why */
    int malformed;
} body;

typedef struct {
    ad_api *api;
    ad_http_req *req;
    body *b;
    ad_cutout_options opt;
    double queued_at;
} oneshot_task;

static void refuse(body *b, ad_http_resp *r) { ad_spool_refuse(&b->sp, r); }

static ad_status part_begin(void *ctx, const ad_multipart_part *p, ad_err *err)
{
    body *b = ctx;
    if (strcmp(p->name, "file") != 0) {
        refuse(b, ad_reply_error(400, "invalid_parameter", p->name,
                                 "form field '%s' is not part of this endpoint (options go in the query)", p->name));
        return ad_err_set(err, AD_EINVAL, "unknown field");
    }
    if (b->files++) {
        refuse(b, ad_reply_error(400, "invalid_parameter", "file", "form field 'file' is given more than once"));
        return ad_err_set(err, AD_EINVAL, "repeated field");
    }
    b->in_file = 1;
    return AD_OK;
}

static ad_status part_data(void *ctx, const char *data, size_t len, ad_err *err)
{
    body *b = ctx;
    if (b->in_file && ad_spool_write(&b->sp, data, len) != 0)
        return ad_err_set(err, AD_EIO, "spool failed");
    return AD_OK;
}

static ad_status part_end(void *ctx, ad_err *err)
{
    (void)err;
    ((body *)ctx)->in_file = 0;
    return AD_OK;
}

static const ad_multipart_callbacks form = {part_begin, part_data, part_end};

static int take(void *ctx, const char *data, size_t len)
{
    body *b = ctx;
    if (b->sp.refusal || b->malformed)
        return 0; /* read and dropped: the refusal answers */
    if (!b->multipart) {
        ad_spool_write(&b->sp, data, len); /* a failure is remembered as the refusal */
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
    body *b = ctx;
    ad_spool_close(&b->sp);
    ad_multipart_free(b->mp);
    free(b);
}

ad_http_body_mode ad_oneshot_begin(ad_api *api, ad_http_req *req)
{
    body *b = calloc(1, sizeof *b);
    if (b == NULL)
        return AD_HTTP_BODY_DISCARD; /* the handler answers 503 */
    b->api = api;
    ad_spool_open(&b->sp, api->cfg.tmp_dir);
    if (b->sp.fd >= 0) {
        const char *ct = ad_http_header(req, "Content-Type");
        char boundary[72];
        if (ct && strncasecmp(ct, "multipart/form-data", 19) == 0) {
            b->multipart = 1;
            if (ad_multipart_boundary(ct, boundary, &b->perr) != AD_OK ||
                ad_multipart_new(boundary, 4, &form, b, &b->mp, &b->perr) != AD_OK)
                b->malformed = 1;
        } else {
            b->files = 1;
        }
    }
    ad_http_set_sink(req, take, release, b);
    return AD_HTTP_BODY_SINK;
}

static void run_oneshot(void *arg)
{
    oneshot_task *t = arg;
    ad_api *api = t->api;
    ad_err err = AD_ERR_INIT;
    ad_http_resp *r = NULL;
    ad_cutout_result res = {0};
    char *src = NULL;
    if ((r = ad_bg_waited_too_long(api, t->queued_at)) != NULL)
        goto out;
    if ((r = ad_spool_read(&t->b->sp, &src)) != NULL)
        goto out;
    size_t got = t->b->sp.len;
    ad_mask_origin origin;
    if ((r = ad_bg_cutout(api, src, got, &t->opt, "file", NULL, 0, &res, &origin, &err)) != NULL)
        goto out;
    r = ad_http_resp_take(200, res.content_type, res.data, res.len);
    res.data = NULL;
    ad_bg_describe_result(api, &res, t->opt.preset, r);
    ad_http_resp_header(r, "X-Mask", ad_mask_origin_name(origin)); /* always computed: nothing is kept */
    ad_http_resp_header(r, "Cache-Control", "no-store");
out:
    ad_log(AD_LOG_INFO, "bg_remove", "oneshot bytes=%zu status=%s ms=%.0f infer_ms=%.0f%s%s", t->b->sp.len,
           r && err.code == AD_OK ? "ok" : ad_status_name(err.code), res.timing.total, res.timing.infer,
           err.msg[0] ? " error=" : "", err.msg);
    free(src);
    ad_cutout_result_cleanup(&res);
    ad_api_finish(api, t->req, r);
    free(t);
}

/* The query: bg_remove's output options only, by bg_remove's rules. */
static ad_http_resp *parse_options(ad_http_req *req, ad_cutout_options *opt)
{
    ad_query q = {0};
    ad_err err = AD_ERR_INIT;
    ad_bg_error be;
    ad_http_resp *r = NULL;
    if (ad_query_parse(ad_http_query(req), 32, &q, &err) != AD_OK)
        r = ad_reply_error(400, "invalid_parameter", NULL, "malformed query string: %s", err.msg);
    else if (ad_bg_options_parse(&q, opt, &be) != AD_OK)
        r = ad_reply_error(400, be.code, be.param, "%s", be.message);
    ad_query_cleanup(&q);
    return r;
}

ad_http_resp *ad_handle_oneshot(ad_api *api, ad_http_req *req, const ad_route_args *args)
{
    (void)args;
    body *b = ad_http_sink_ctx(req);
    ad_cutout_options opt;
    ad_http_resp *r;
    if (b == NULL)
        return ad_reply_error(503, "out_of_memory", NULL, "no memory for the request; retry later");
    if ((r = parse_options(req, &opt)) != NULL)
        return r;
    if ((r = ad_spool_take_refusal(&b->sp)) != NULL)
        return r;
    ad_err e = AD_ERR_INIT;
    if (b->malformed)
        return ad_reply_error(400, "invalid_parameter", "body", "malformed multipart body: %s", b->perr.msg);
    if (b->multipart && ad_multipart_finish(b->mp, &e) != AD_OK)
        return ad_reply_error(400, "invalid_parameter", "body", "malformed multipart body: %s", e.msg);
    if (b->files == 0)
        return ad_reply_error(400, "missing_parameter", "file", "the form has no 'file' part");
    if (b->sp.len == 0)
        return ad_reply_error(400, "missing_parameter", "file", "the request has no image: send it as the body");
    oneshot_task *t = calloc(1, sizeof *t);
    if (t == NULL)
        return ad_reply_error(503, "out_of_memory", NULL, "out of memory; retry later");
    *t = (oneshot_task){api, req, b, opt, ad_clock_ms()};
    if ((r = ad_bg_submit(api, req, run_oneshot, t)) != AD_DEFERRED)
        free(t);
    return r;
}
