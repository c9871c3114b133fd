/* finish.c — see finish.h. */
#include "cutout/finish.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/parallel.h"
#include "image/image.h"
#include "image/png_encode.h"
#include "matte/foreground.h"

typedef struct {
    const ad_matte_scaler *scaler;
    uint8_t *alpha;
} alpha_ctx;

static void alpha_rows(void *arg, int y0, int y1)
{
    alpha_ctx *c = arg;
    for (int y = y0; y < y1; y++)
        ad_matte_scaler_row(c->scaler, y, c->alpha + (size_t)y * c->scaler->width, 1);
}

/* The box of alpha >= AD_CUTOUT_BOX_ALPHA; width 0 when there is none. */
static ad_cutout_box subject_box(const uint8_t *alpha, int w, int h)
{
    int x0 = w, y0 = h, x1 = -1, y1 = -1;
    for (int y = 0; y < h; y++) {
        const uint8_t *row = alpha + (size_t)y * w;
        int first = -1, last = -1;
        for (int x = 0; x < w; x++)
            if (row[x] >= AD_CUTOUT_BOX_ALPHA) {
                if (first < 0)
                    first = x;
                last = x;
            }
        if (first < 0)
            continue;
        if (y < y0)
            y0 = y;
        y1 = y;
        if (first < x0)
            x0 = first;
        if (last > x1)
            x1 = last;
    }
    if (x1 < 0)
        return (ad_cutout_box){0, 0, 0, 0};
    return (ad_cutout_box){x0, y0, x1 - x0 + 1, y1 - y0 + 1};
}

/* The crop rectangle: the box grown by the margins (may leave the image). */
static ad_cutout_box crop_rect(ad_cutout_box b, const ad_option_margin *m)
{
    int px[4];
    for (int i = 0; i < 4; i++) {
        int base = i % 2 == 0 ? b.height : b.width; /* top, bottom: height; right, left: width */
        px[i] = m->percent[i] ? (int)((long long)base * m->v[i] / 100) : m->v[i];
    }
    return (ad_cutout_box){b.left - px[3], b.top - px[0], b.width + px[1] + px[3], b.height + px[0] + px[2]};
}

/* Copy the part of src inside r into a new pixmap of r's size, 0 elsewhere. */
static ad_status cut(const ad_pixmap *src, ad_cutout_box r, ad_pixmap *out, ad_err *err)
{
    ad_status st = ad_pixmap_init(out, r.width, r.height, src->bands, err);
    if (st != AD_OK)
        return st;
    memset(out->data, 0, (size_t)r.width * r.height * src->bands);
    int x0 = r.left < 0 ? 0 : r.left, x1 = r.left + r.width > src->width ? src->width : r.left + r.width;
    int y0 = r.top < 0 ? 0 : r.top, y1 = r.top + r.height > src->height ? src->height : r.top + r.height;
    for (int y = y0; y < y1 && x1 > x0; y++)
        memcpy(out->data + ((size_t)(y - r.top) * r.width + (x0 - r.left)) * src->bands,
               src->data + ((size_t)y * src->width + x0) * src->bands, (size_t)(x1 - x0) * src->bands);
    return AD_OK;
}

/* RGBA over a colour: opaque colour -> RGB; else RGBA ("over"). */
static ad_status flatten(const ad_pixmap *in, ad_option_color bg, ad_pixmap *out, ad_err *err)
{
    int opaque = bg.a == 255;
    ad_status st = ad_pixmap_init(out, in->width, in->height, opaque ? 3 : 4, err);
    if (st != AD_OK)
        return st;
    size_t n = (size_t)in->width * in->height;
    const float ba = bg.a / 255.0f, bc[3] = {bg.r, bg.g, bg.b};
    for (size_t i = 0; i < n; i++) {
        const uint8_t *p = in->data + 4 * i;
        uint8_t *o = out->data + i * out->bands;
        float a = p[3] / 255.0f, oa = a + ba * (1 - a);
        for (int k = 0; k < 3; k++) {
            float v = oa > 0 ? (p[k] * a + bc[k] * ba * (1 - a)) / oa : 0;
            o[k] = (uint8_t)(v + 0.5f);
        }
        if (!opaque)
            o[3] = (uint8_t)(oa * 255.0f + 0.5f);
    }
    return AD_OK;
}

/* roi: outside the region nothing is the subject; semitransparency=false:
 * the mask cut at half. */
static void restrict_alpha(uint8_t *alpha, int W, int H, const ad_cutout_options *opt)
{
    const ad_option_box *b = &opt->roi;
    int r[4];
    for (int i = 0; i < 4; i++) {
        long long dim = i % 2 ? H : W;
        long long v = b->percent[i] ? (dim * b->v[i] + 50) / 100 : b->v[i];
        r[i] = (int)(v < 0 ? 0 : v > dim ? dim : v);
    }
    if (r[0] > 0 || r[1] > 0 || r[2] < W || r[3] < H)
        for (int y = 0; y < H; y++)
            for (int x = 0; x < W; x++)
                if (x < r[0] || x >= r[2] || y < r[1] || y >= r[3])
                    alpha[(size_t)y * W + x] = 0;
    if (!opt->semitransparency)
        for (size_t i = 0; i < (size_t)W * H; i++)
            alpha[i] = alpha[i] >= 128 ? 255 : 0;
}

/* scale and position: the subject (its box on cur, by its alpha) scaled
 * to fit scale% of the canvas and put at position (center when scaled
 * and no position is given) on a transparent canvas of cur's size. */
static ad_status place(const ad_pixmap *cur, const ad_cutout_options *opt, ad_pixmap *out, ad_err *err)
{
    const int W = cur->width, H = cur->height, nb = cur->bands, ai = nb == 4 ? 3 : nb == 1 ? 0 : -1;
    ad_status st;
    if (ai < 0) /* flattened already: nothing transparent to move within */
        return ad_err_set(err, AD_EINVAL, "scale and position need a result with alpha");
    uint8_t *a = malloc((size_t)W * H);
    if (a == NULL)
        return ad_err_set(err, AD_ENOMEM, "out of memory");
    for (size_t i = 0; i < (size_t)W * H; i++)
        a[i] = cur->data[i * nb + ai];
    ad_cutout_box box = subject_box(a, W, H);
    free(a);
    if ((st = ad_pixmap_init(out, W, H, nb, err)) != AD_OK)
        return st;
    memset(out->data, 0, (size_t)W * H * nb);
    if (box.width <= 0)
        return AD_OK; /* no subject: an empty canvas */
    ad_pixmap sub = {0}, sized = {0};
    if ((st = cut(cur, box, &sub, err)) != AD_OK)
        goto done;
    int sw = box.width, sh = box.height;
    if (opt->scale) {
        double k = fmin((double)W * opt->scale / 100 / sw, (double)H * opt->scale / 100 / sh);
        sw = (int)lround(sw * k), sh = (int)lround(sh * k);
        sw = sw < 1 ? 1 : sw > W ? W : sw;
        sh = sh < 1 ? 1 : sh > H ? H : sh;
    }
    if ((st = ad_image_resize(&sub, sw, sh, &sized, err)) != AD_OK)
        goto done;
    int px = opt->position.set ? opt->position.x : 50, py = opt->position.set ? opt->position.y : 50;
    int left = opt->position.set || opt->scale ? (W - sw) * px / 100 : box.left;
    int top = opt->position.set || opt->scale ? (H - sh) * py / 100 : box.top;
    for (int y = 0; y < sh; y++)
        memcpy(out->data + ((size_t)(top + y) * W + left) * nb, sized.data + (size_t)y * sw * nb, (size_t)sw * nb);
done:
    ad_pixmap_cleanup(&sub);
    ad_pixmap_cleanup(&sized);
    if (st != AD_OK)
        ad_pixmap_cleanup(out);
    return st;
}

static void swap_in(ad_pixmap *cur, ad_pixmap *next)
{
    ad_pixmap_cleanup(cur);
    *cur = *next;
    memset(next, 0, sizeof *next);
}

ad_status ad_cutout_finish(const ad_pixmap *rgb, const ad_matte_scaler *scaler, const ad_cutout_options *opt,
                           int threads, int pixels, ad_cutout_result *out, ad_err *err)
{
    const int W = rgb->width, H = rgb->height;
    const size_t n = (size_t)W * H;
    const int mask_only = opt->channels == AD_CHANNELS_ALPHA;
    ad_pixmap fg = {0}, cur = {0}, next = {0};
    ad_status st;
    uint8_t *alpha = malloc(n);
    if (alpha == NULL)
        return ad_err_set(err, AD_ENOMEM, "out of memory for the mask");
    alpha_ctx ac = {scaler, alpha};
    ad_parallel_for(H, threads, alpha_rows, &ac);
    restrict_alpha(alpha, W, H, opt);
    out->subject = subject_box(alpha, W, H);

    /* the colour: the original's, or the subject's own where alpha is soft */
    const ad_pixmap *colour = rgb;
    if (!mask_only && ad_cutout_options_estimate_fg(opt)) {
        if ((st = ad_pixmap_init(&fg, W, H, 3, err)) != AD_OK ||
            (st = ad_matte_foreground(rgb, alpha, &fg, threads, err)) != AD_OK)
            goto out;
        colour = &fg;
    }
    if ((st = ad_pixmap_init(&cur, W, H, mask_only ? 1 : 4, err)) != AD_OK)
        goto out;
    if (mask_only) {
        memcpy(cur.data, alpha, n);
    } else {
        for (size_t i = 0; i < n; i++) {
            uint8_t *o = cur.data + 4 * i;
            const uint8_t *c = colour->data + 3 * i;
            int clear = opt->clear_transparent && alpha[i] == 0;
            o[0] = clear ? 0 : c[0];
            o[1] = clear ? 0 : c[1];
            o[2] = clear ? 0 : c[2];
            o[3] = alpha[i];
        }
    }
    ad_pixmap_cleanup(&fg);
    free(alpha);
    alpha = NULL;

    if (opt->crop && out->subject.width > 0) {
        if ((st = cut(&cur, crop_rect(out->subject, &opt->crop_margin), &next, err)) != AD_OK)
            goto out;
        swap_in(&cur, &next);
    }
    if (opt->scale || opt->position.set) {
        if ((st = place(&cur, opt, &next, err)) != AD_OK)
            goto out;
        swap_in(&cur, &next);
    }
    if (opt->max_side > 0) {
        if ((st = ad_image_shrink(&cur, opt->max_side, &next, err)) != AD_OK)
            goto out;
        swap_in(&cur, &next);
    }
    const int jpg = !pixels && opt->format == AD_FORMAT_JPG;
    if (!mask_only && (opt->bg_color.set || jpg)) {
        ad_option_color bg = opt->bg_color.set ? opt->bg_color : (ad_option_color){1, 255, 255, 255, 255};
        if (jpg && bg.a < 255) { /* JPEG has no alpha: the colour over white */
            float a = bg.a / 255.0f;
            bg.r = (uint8_t)(bg.r * a + 255 * (1 - a) + 0.5f);
            bg.g = (uint8_t)(bg.g * a + 255 * (1 - a) + 0.5f);
            bg.b = (uint8_t)(bg.b * a + 255 * (1 - a) + 0.5f);
            bg.a = 255;
        }
        if ((st = flatten(&cur, bg, &next, err)) != AD_OK)
            goto out;
        swap_in(&cur, &next);
    }
    out->width = cur.width;
    out->height = cur.height;
    if (pixels) {
        out->pixels = cur;
        memset(&cur, 0, sizeof cur);
        st = AD_OK;
    } else if (opt->format == AD_FORMAT_WEBP) {
        out->content_type = ad_cutout_content_type(opt);
        st = ad_image_encode_webp_lossless(&cur, &out->data, &out->len, err);
    } else if (opt->format == AD_FORMAT_JPG) {
        out->content_type = ad_cutout_content_type(opt);
        st = ad_image_encode_jpeg(&cur, &out->data, &out->len, err);
    } else {
        out->content_type = ad_cutout_content_type(opt);
        ad_png_options po;
        ad_png_options_default(&po);
        po.threads = threads;
        st = ad_png_encode(&cur, &po, &out->data, &out->len, err);
    }
out:
    free(alpha);
    ad_pixmap_cleanup(&fg);
    ad_pixmap_cleanup(&cur);
    ad_pixmap_cleanup(&next);
    return st;
}
