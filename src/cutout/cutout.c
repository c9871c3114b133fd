/* cutout.c — see cutout.h. */
#include "cutout/cutout.h"

#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "image/image.h"
#include "image/png_encode.h"
#include "matte/matte.h"

typedef struct {
    const ad_matte_scaler *scaler;
    const ad_pixmap *rgb;
} row_ctx;

static void cutout_row(void *ctx, int y, uint8_t *out)
{
    row_ctx *c = ctx;
    ad_matte_compose_row(c->scaler, c->rgb, y, out);
}

static void mask_row(void *ctx, int y, uint8_t *out)
{
    row_ctx *c = ctx;
    ad_matte_scaler_row(c->scaler, y, out, 1);
}

void ad_cutout_result_cleanup(ad_cutout_result *r)
{
    if (r == NULL)
        return;
    free(r->data);
    memset(r, 0, sizeof *r);
}

ad_status ad_cutout_run(ad_model *model, const void *buf, size_t len, const ad_cutout_options *opt,
                        const ad_cutout_limits *lim, ad_cutout_result *out, ad_err *err)
{
    const int side = ad_model_side(model);
    const size_t plane = (size_t)side * side;
    ad_pixmap rgb = {0};
    ad_matte_scaler scaler = {0};
    float *tensor = NULL, *prob = NULL;
    uint8_t *mask = NULL;
    ad_cutout_timing t = {0};
    ad_status rc;
    double t0 = ad_clock_ms(), t1;
    const int mask_only = opt->channels == AD_CHANNELS_ALPHA;
    memset(out, 0, sizeof *out);

    if ((rc = ad_image_decode_rgb(buf, len, lim->max_pixels, &rgb, err)) != AD_OK)
        goto out;
    t1 = ad_clock_ms();
    t.decode = t1 - t0;
    t.width = rgb.width;
    t.height = rgb.height;

    tensor = malloc(3 * plane * sizeof(float));
    prob = malloc(plane * sizeof(float));
    mask = malloc(plane);
    if (!tensor || !prob || !mask) {
        rc = ad_err_set(err, AD_ENOMEM, "out of memory for model buffers");
        goto out;
    }
    if ((rc = ad_matte_prepare_input(&rgb, side, tensor, err)) != AD_OK)
        goto out;
    t0 = ad_clock_ms();
    t.resize = t0 - t1;

    rc = ad_model_run(model, tensor, prob, err);
    free(tensor);
    tensor = NULL;
    if (rc != AD_OK)
        goto out;
    t1 = ad_clock_ms();
    t.infer = t1 - t0;

    ad_matte_quantise(prob, plane, mask);
    if ((rc = ad_matte_scaler_init(&scaler, mask, side, side, rgb.width, rgb.height, err)) != AD_OK)
        goto out;
    t0 = ad_clock_ms();
    t.compose = t0 - t1;

    /* Compose and encode in one pass: each encoder thread asks for its rows,
     * so the RGBA image is never held whole. */
    ad_png_options po;
    ad_png_options_default(&po);
    po.threads = lim->threads;
    row_ctx rc_ctx = {&scaler, &rgb};
    rc = ad_png_encode_rows(rgb.width, rgb.height, mask_only ? 1 : 4, mask_only ? mask_row : cutout_row, &rc_ctx, &po,
                            &out->data, &out->len, err);
    out->content_type = "image/png";
    t1 = ad_clock_ms();
    t.encode = t1 - t0;
    t.total = t.decode + t.resize + t.infer + t.compose + t.encode;
out:
    ad_pixmap_cleanup(&rgb);
    ad_matte_scaler_cleanup(&scaler);
    free(tensor);
    free(prob);
    free(mask);
    out->timing = t;
    out->width = t.width;
    out->height = t.height;
    return rc;
}
