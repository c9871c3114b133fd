/* cutout.c — see cutout.h. */
#include "cutout/cutout.h"

#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "cutout/finish.h"
#include "image/image.h"
#include "image/png_encode.h"
#include "matte/matte.h"

typedef struct {
    const ad_matte_scaler *scaler;
    const ad_pixmap *rgb;
    int *first, *last; /* per row: the subject's first and last column, -1: none */
} row_ctx;

/* Note where row y's subject is (rows may be made twice, by any thread:
 * the same values are written each time). */
static void note_row(row_ctx *c, int y, const uint8_t *alpha, int step)
{
    int first = -1, last = -1;
    for (int x = 0; x < c->scaler->width; x++)
        if (alpha[(size_t)x * step] >= AD_CUTOUT_BOX_ALPHA) {
            if (first < 0)
                first = x;
            last = x;
        }
    c->first[y] = first;
    c->last[y] = last;
}

static void cutout_row(void *ctx, int y, uint8_t *out)
{
    row_ctx *c = ctx;
    ad_matte_compose_row(c->scaler, c->rgb, y, out);
    note_row(c, y, out + 3, 4);
}

static void mask_row(void *ctx, int y, uint8_t *out)
{
    row_ctx *c = ctx;
    ad_matte_scaler_row(c->scaler, y, out, 1);
    note_row(c, y, out, 1);
}

static ad_cutout_box box_of_rows(const int *first, const int *last, int h)
{
    int x0 = -1, x1 = -1, y0 = -1, y1 = -1;
    for (int y = 0; y < h; y++) {
        if (first[y] < 0)
            continue;
        if (y0 < 0)
            y0 = y;
        y1 = y;
        if (x0 < 0 || first[y] < x0)
            x0 = first[y];
        if (last[y] > x1)
            x1 = last[y];
    }
    return y0 < 0 ? (ad_cutout_box){0, 0, 0, 0} : (ad_cutout_box){x0, y0, x1 - x0 + 1, y1 - y0 + 1};
}

/* The preset's model passes, as its row says: one, or one more on the
 * mirrored input combined as a soft maximum; then the contrast curve where
 * the row has one (not preset=reference, which keeps the reference
 * pipeline's mask). tensor is consumed. */
static ad_status run_passes(ad_model *model, const ad_cutout_options *opt, float *tensor, float *prob, ad_err *err)
{
    const int side = ad_model_side(model);
    const size_t plane = (size_t)side * side;
    ad_status rc = ad_model_run(model, tensor, prob, err);
    const ad_preset_def *p = ad_cutout_preset(opt->preset);
    if (rc == AD_OK && p->mirrored) {
        float *mirrored = malloc(plane * sizeof(float));
        if (mirrored == NULL)
            return ad_err_set(err, AD_ENOMEM, "out of memory for the second pass");
        ad_matte_flip_planes(tensor, 3, side);
        if ((rc = ad_model_run(model, tensor, mirrored, err)) == AD_OK)
            ad_matte_combine_mirrored(prob, mirrored, side);
        free(mirrored);
    }
    if (rc == AD_OK && p->curve)
        ad_matte_curve(prob, plane);
    return rc;
}

void ad_cutout_result_cleanup(ad_cutout_result *r)
{
    if (r == NULL)
        return;
    free(r->data);
    ad_pixmap_cleanup(&r->pixels);
    memset(r, 0, sizeof *r);
}

void ad_cutout_mask_cleanup(ad_cutout_mask *m)
{
    if (m == NULL)
        return;
    free(m->data);
    memset(m, 0, sizeof *m);
}

/* The preset's mask from the decoded image: input tensor, passes, quantise.
 * On success *out is a new side * side mask. */
static ad_status make_mask(ad_model *model, const ad_pixmap *rgb, const ad_cutout_options *opt, ad_matte_grid grid,
                           uint8_t **out, ad_cutout_timing *t, ad_err *err)
{
    const int side = ad_model_side(model);
    const size_t plane = (size_t)side * side;
    float *tensor = malloc(3 * plane * sizeof(float));
    float *prob = malloc(plane * sizeof(float));
    uint8_t *mask = malloc(plane);
    ad_status rc;
    double t0 = ad_clock_ms(), t1;
    if (!tensor || !prob || !mask) {
        rc = ad_err_set(err, AD_ENOMEM, "out of memory for model buffers");
        goto out;
    }
    if ((rc = ad_matte_prepare_input(rgb, side, grid, tensor, err)) != AD_OK)
        goto out;
    t1 = ad_clock_ms();
    t->resize = t1 - t0;
    rc = run_passes(model, opt, tensor, prob, err);
    t0 = ad_clock_ms();
    t->infer = t0 - t1;
    if (rc != AD_OK)
        goto out;
    ad_matte_quantise(prob, plane, mask);
    *out = mask;
    mask = NULL;
out:
    free(tensor);
    free(prob);
    free(mask);
    return rc;
}

ad_status ad_cutout_run(ad_model *model, const void *buf, size_t len, const ad_cutout_options *opt,
                        const ad_cutout_limits *lim, ad_cutout_result *out, ad_err *err)
{
    ad_cutout_mask m = {0};
    ad_status rc = ad_cutout_run_mask(model, buf, len, opt, lim, &m, 0, out, err);
    ad_cutout_mask_cleanup(&m);
    return rc;
}

ad_status ad_cutout_run_mask(ad_model *model, const void *buf, size_t len, const ad_cutout_options *opt,
                             const ad_cutout_limits *lim, ad_cutout_mask *mask, unsigned flags, ad_cutout_result *out,
                             ad_err *err)
{
    ad_pixmap rgb = {0};
    ad_matte_scaler scaler = {0};
    uint8_t *made = NULL;
    ad_cutout_timing t = {0};
    ad_status rc;
    double t0 = ad_clock_ms(), t1;
    const int mask_only = opt->channels == AD_CHANNELS_ALPHA;
    /* the preset's sampling grid: the reference's for its own, pixel centres else */
    const ad_matte_grid grid = ad_cutout_preset(opt->preset)->grid;
    memset(out, 0, sizeof *out);

    if ((rc = ad_image_decode_rgb(buf, len, lim->max_pixels, &rgb, err)) != AD_OK)
        goto out;
    t1 = ad_clock_ms();
    t.decode = t1 - t0;
    t.width = rgb.width;
    t.height = rgb.height;

    if (mask->data == NULL) {
        if (model == NULL) {
            rc = ad_err_set(err, AD_EBACKEND, "no model and no stored mask");
            goto out;
        }
        if ((rc = make_mask(model, &rgb, opt, grid, &made, &t, err)) != AD_OK)
            goto out;
        mask->data = made;
        mask->side = ad_model_side(model);
    }
    t1 = ad_clock_ms();
    if ((rc = ad_matte_scaler_init(&scaler, mask->data, mask->side, mask->side, rgb.width, rgb.height, grid, err)) !=
        AD_OK)
        goto out;
    t0 = ad_clock_ms();
    t.compose = t0 - t1;

    if (!ad_cutout_options_plain(opt) || (flags & AD_CUTOUT_PIXELS)) {
        /* crop, shrink, colours, other formats, pixels: on whole images */
        rc = ad_cutout_finish(&rgb, &scaler, opt, lim->threads, flags & AD_CUTOUT_PIXELS, out, err);
    } else {
        /* Compose and encode in one pass: each encoder thread asks for its
         * rows, so the RGBA image is never held whole. */
        ad_png_options po;
        ad_png_options_default(&po);
        po.threads = lim->threads;
        row_ctx rc_ctx = {&scaler, &rgb, malloc(sizeof(int) * rgb.height), malloc(sizeof(int) * rgb.height)};
        if (rc_ctx.first == NULL || rc_ctx.last == NULL)
            rc = ad_err_set(err, AD_ENOMEM, "out of memory");
        else
            rc = ad_png_encode_rows(rgb.width, rgb.height, mask_only ? 1 : 4, mask_only ? mask_row : cutout_row,
                                    &rc_ctx, &po, &out->data, &out->len, err);
        if (rc == AD_OK)
            out->subject = box_of_rows(rc_ctx.first, rc_ctx.last, rgb.height);
        free(rc_ctx.first);
        free(rc_ctx.last);
        out->content_type = "image/png";
    }
    t1 = ad_clock_ms();
    t.encode = t1 - t0;
    t.total = t.decode + t.resize + t.infer + t.compose + t.encode;
out:
    if (rc != AD_OK && made != NULL && mask->data == made) {
        /* what was made is kept only with a result */
        ad_cutout_mask_cleanup(mask);
    }
    ad_pixmap_cleanup(&rgb);
    ad_matte_scaler_cleanup(&scaler);
    out->timing = t;
    if (out->width == 0) {
        out->width = t.width;
        out->height = t.height;
    }
    return rc;
}
