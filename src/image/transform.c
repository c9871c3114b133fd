/* transform.c — see transform.h. */
#include "image/transform.h"

#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <vips/vips.h>

#include "image/image.h"
#include "image/image_impl.h"

#define T(field) .offset = offsetof(ad_transform, field)
const ad_decl ad_transform_params[] = {
    {.name = "w", .type = AD_DECL_INT, .min = 1, .max = 8192, .def = "", T(w), .help = "the box's width, pixels"},
    {.name = "h", .type = AD_DECL_INT, .min = 1, .max = 8192, .def = "", T(h), .help = "the box's height, pixels"},
    {.name = "fit",
     .type = AD_DECL_ENUM,
     .choices = "contain|cover|fill",
     .def = "contain",
     T(fit),
     .help = "as CSS object-fit: contain (inside the box), cover (fills it, cropped centred; on the subject for "
             "bg_remove), fill (stretched to it)"},
    {.name = "enlarge", .type = AD_DECL_BOOL, .def = "false", T(enlarge), .help = "may scale up (never, by default)"},
    {.name = "format",
     .type = AD_DECL_ENUM,
     .choices = "auto|webp|avif|jpg|png",
     .def = "auto",
     T(format),
     .help = "auto: AVIF if the browser takes it (and this build encodes it), else WebP if it takes it, else PNG "
             "with transparency, JPEG without"},
    {.name = "q",
     .type = AD_DECL_INT,
     .min = 1,
     .max = 100,
     .def = "",
     T(q),
     .help = "lossy quality (default: "
             "WebP 80, AVIF 50, JPEG 82)"},
};
#undef T
const int ad_transform_nparams = (int)(sizeof ad_transform_params / sizeof ad_transform_params[0]);

void ad_transform_default(ad_transform *t)
{
    memset(t, 0, sizeof *t);
    ad_decl_defaults(ad_transform_params, ad_transform_nparams, t);
}

static int avif_ok;
static pthread_once_t avif_once = PTHREAD_ONCE_INIT;

/* Debian's libheif encodes AV1 through libaom when it was built with it:
 * try it once on a tiny image rather than trust the loader list */
static void probe_avif(void)
{
    VipsImage *black = NULL;
    void *buf = NULL;
    size_t len = 0;
    if (vips_black(&black, 16, 16, "bands", 3, NULL) == 0 &&
        vips_heifsave_buffer(black, &buf, &len, "compression", VIPS_FOREIGN_HEIF_COMPRESSION_AV1, NULL) == 0)
        avif_ok = len > 0;
    vips_error_clear();
    g_free(buf);
    if (black)
        g_object_unref(black);
}

int ad_image_can_avif(void)
{
    pthread_once(&avif_once, probe_avif);
    return avif_ok;
}

void ad_accept_parse(const char *accept, ad_accept *out)
{
    memset(out, 0, sizeof *out);
    for (const char *p = accept; p && *p;) {
        while (*p == ' ' || *p == ',')
            p++;
        const char *end = strchr(p, ',');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        const char *semi = memchr(p, ';', n);
        size_t tn = semi ? (size_t)(semi - p) : n;
        while (tn > 0 && p[tn - 1] == ' ')
            tn--;
        /* "q=0" refuses the type */
        int refused = 0;
        for (const char *q = semi; q && q < p + n; q = memchr(q + 1, ';', (size_t)(p + n - q - 1))) {
            const char *v = q + 1;
            while (*v == ' ')
                v++;
            if ((v[0] == 'q' || v[0] == 'Q') && v[1] == '=' && strtod(v + 2, NULL) <= 0)
                refused = 1;
        }
        if (!refused && tn == 10 && strncasecmp(p, "image/avif", 10) == 0)
            out->avif = 1;
        if (!refused && tn == 10 && strncasecmp(p, "image/webp", 10) == 0)
            out->webp = 1;
        p = end;
    }
}

int ad_transform_resolve(int format, const ad_accept *acc, int has_alpha)
{
    if (format == AD_OUT_AVIF && !ad_image_can_avif())
        return AD_OUT_WEBP; /* said in assetd help: this libvips has no AV1 encoder */
    if (format != AD_OUT_AUTO)
        return format;
    if (acc && acc->avif && ad_image_can_avif())
        return AD_OUT_AVIF;
    if (acc && acc->webp)
        return AD_OUT_WEBP;
    return has_alpha ? AD_OUT_PNG : AD_OUT_JPG;
}

/* Take *img's reference into *slot's place. */
static void replace(VipsImage **slot, VipsImage *img)
{
    if (*slot)
        g_object_unref(*slot);
    *slot = img;
}

/* Encode img (consumed) in the format resolved for it. */
static ad_status encode(VipsImage *img, const ad_transform *t, const ad_accept *acc, ad_transformed *out, ad_err *err)
{
    VipsImage *x = NULL;
    void *buf = NULL;
    size_t len = 0;
    ad_status rc = AD_OK;
    int r;
    /* 8-bit sRGB (or grey) whatever the source's depth and model */
    VipsInterpretation in = vips_image_guess_interpretation(img);
    if (img->BandFmt != VIPS_FORMAT_UCHAR || (in != VIPS_INTERPRETATION_sRGB && in != VIPS_INTERPRETATION_B_W)) {
        if (vips_colourspace(img, &x,
                             in == VIPS_INTERPRETATION_GREY16 ? VIPS_INTERPRETATION_B_W : VIPS_INTERPRETATION_sRGB,
                             NULL) != 0) {
            rc = ad_image_vips_fail(err, AD_EUNSUPPORTED, "colour conversion");
            goto out;
        }
        replace(&img, x);
        x = NULL;
        if (img->BandFmt != VIPS_FORMAT_UCHAR) {
            if (vips_cast_uchar(img, &x, NULL) != 0) {
                rc = ad_image_vips_fail(err, AD_EUNSUPPORTED, "depth conversion");
                goto out;
            }
            replace(&img, x);
            x = NULL;
        }
    }
    int fmt = ad_transform_resolve(t->format, acc, vips_image_hasalpha(img));
    if (fmt == AD_OUT_JPG && vips_image_hasalpha(img)) {
        double white[] = {255, 255, 255};
        VipsArrayDouble *bg = vips_array_double_new(white, img->Bands - 1 >= 3 ? 3 : 1);
        r = vips_flatten(img, &x, "background", bg, NULL);
        vips_area_unref(VIPS_AREA(bg));
        if (r != 0) {
            rc = ad_image_vips_fail(err, AD_EUNSUPPORTED, "flatten");
            goto out;
        }
        replace(&img, x);
        x = NULL;
    }
    switch (fmt) {
    case AD_OUT_WEBP:
        r = vips_webpsave_buffer(img, &buf, &len, "Q", t->q ? t->q : 80, "strip", TRUE, NULL);
        out->content_type = "image/webp";
        break;
    case AD_OUT_AVIF:
        /* effort 2 of 9: within a few percent of the size at 4, twice as fast */
        r = vips_heifsave_buffer(img, &buf, &len, "compression", VIPS_FOREIGN_HEIF_COMPRESSION_AV1, "Q",
                                 t->q ? t->q : 50, "effort", 2, "strip", TRUE, NULL);
        out->content_type = "image/avif";
        break;
    case AD_OUT_JPG:
        r = vips_jpegsave_buffer(img, &buf, &len, "Q", t->q ? t->q : 82, "interlace", TRUE, "optimize_coding", TRUE,
                                 "strip", TRUE, NULL);
        out->content_type = "image/jpeg";
        break;
    default:
        r = vips_pngsave_buffer(img, &buf, &len, "compression", 6, "strip", TRUE, NULL);
        out->content_type = "image/png";
        break;
    }
    if (r != 0) {
        rc = ad_image_vips_fail(err, AD_EUNSUPPORTED, "encode");
        goto out;
    }
    if ((out->data = malloc(len ? len : 1)) == NULL) {
        rc = ad_err_set(err, AD_ENOMEM, "out of memory");
        goto out;
    }
    memcpy(out->data, buf, len);
    out->len = len;
    out->width = img->Xsize;
    out->height = img->Ysize;
out:
    g_free(buf);
    if (x)
        g_object_unref(x);
    g_object_unref(img);
    return rc;
}

ad_status ad_image_transform(const void *buf, size_t len, uint64_t max_pixels, const ad_transform *t,
                             const ad_accept *acc, ad_transformed *out, ad_err *err)
{
    ad_image_info info;
    VipsImage *img = NULL;
    memset(out, 0, sizeof *out);
    /* the upload gate: accepted loaders, the size from the header */
    ad_status rc = ad_image_probe(buf, len, &info, err);
    if (rc != AD_OK)
        return rc;
    if (max_pixels && (uint64_t)info.width * (uint64_t)info.height > max_pixels)
        return ad_err_set(err, AD_ETOOBIG, "the image has %dx%d pixels; the limit is %llu", info.width, info.height,
                          (unsigned long long)max_pixels);
    int tw = t->w ? t->w : VIPS_MAX_COORD, th = t->h ? t->h : VIPS_MAX_COORD;
    VipsSize size = t->enlarge ? VIPS_SIZE_BOTH : VIPS_SIZE_DOWN;
    VipsInteresting crop = VIPS_INTERESTING_NONE;
    if (!t->w && !t->h) {
        tw = info.width;
        th = info.height;
        size = VIPS_SIZE_DOWN;
    } else if (t->w && t->h && t->fit == AD_FIT_COVER) {
        crop = VIPS_INTERESTING_CENTRE;
    } else if (t->w && t->h && t->fit == AD_FIT_FILL) {
        size = VIPS_SIZE_FORCE;
        if (!t->enlarge) {
            tw = tw < info.width ? tw : info.width;
            th = th < info.height ? th : info.height;
        }
    }
    /* shrink-on-load (JPEG by 2/4/8 in the decoder, WebP at the size
     * asked), orientation, colour to sRGB from an embedded profile */
    if (vips_thumbnail_buffer((void *)buf, len, &img, tw, "height", th, "size", size, "crop", crop, "option_string",
                              "fail_on=error", NULL) != 0)
        return ad_image_vips_fail(err, AD_EUNSUPPORTED, "cannot read the image");
    return encode(img, t, acc, out, err);
}

ad_status ad_image_transform_pixmap(const ad_pixmap *px, const int focus[4], const ad_transform *t,
                                    const ad_accept *acc, ad_transformed *out, ad_err *err)
{
    VipsImage *mem = NULL, *img = NULL, *x = NULL;
    memset(out, 0, sizeof *out);
    const int W = px->width, H = px->height;
    mem = vips_image_new_from_memory(px->data, (size_t)W * H * px->bands, W, H, px->bands, VIPS_FORMAT_UCHAR);
    if (mem == NULL)
        return ad_image_vips_fail(err, AD_ENOMEM, "image from memory");
    if (vips_copy(mem, &img, "interpretation", px->bands <= 2 ? VIPS_INTERPRETATION_B_W : VIPS_INTERPRETATION_sRGB,
                  NULL) != 0) {
        g_object_unref(mem);
        return ad_image_vips_fail(err, AD_ENOMEM, "image from memory");
    }
    g_object_unref(mem);
    ad_status rc = AD_OK;
    if (t->w && t->h && t->fit == AD_FIT_COVER) {
        /* scale to cover the box, then cut the box around the focus */
        double s = fmax((double)t->w / W, (double)t->h / H);
        if (!t->enlarge && s > 1)
            s = 1;
        int sw = (int)lround(W * s), sh = (int)lround(H * s);
        sw = sw < 1 ? 1 : sw;
        sh = sh < 1 ? 1 : sh;
        if (vips_thumbnail_image(img, &x, sw, "height", sh, "size", VIPS_SIZE_FORCE, NULL) != 0) {
            rc = ad_image_vips_fail(err, AD_EUNSUPPORTED, "resize");
            goto out;
        }
        replace(&img, x);
        x = NULL;
        int cw = t->w < img->Xsize ? t->w : img->Xsize, ch = t->h < img->Ysize ? t->h : img->Ysize;
        double cx = focus && focus[2] > 0 ? (focus[0] + focus[2] / 2.0) * s : img->Xsize / 2.0;
        double cy = focus && focus[3] > 0 ? (focus[1] + focus[3] / 2.0) * s : img->Ysize / 2.0;
        int left = (int)lround(cx - cw / 2.0), top = (int)lround(cy - ch / 2.0);
        left = left < 0 ? 0 : left + cw > img->Xsize ? img->Xsize - cw : left;
        top = top < 0 ? 0 : top + ch > img->Ysize ? img->Ysize - ch : top;
        if (vips_extract_area(img, &x, left, top, cw, ch, NULL) != 0) {
            rc = ad_image_vips_fail(err, AD_EUNSUPPORTED, "crop");
            goto out;
        }
        replace(&img, x);
        x = NULL;
    } else if (t->w || t->h) {
        int tw = t->w ? t->w : VIPS_MAX_COORD, th = t->h ? t->h : VIPS_MAX_COORD;
        VipsSize size = t->enlarge ? VIPS_SIZE_BOTH : VIPS_SIZE_DOWN;
        if (t->w && t->h && t->fit == AD_FIT_FILL) {
            size = VIPS_SIZE_FORCE;
            if (!t->enlarge) {
                tw = tw < W ? tw : W;
                th = th < H ? th : H;
            }
        }
        if (vips_thumbnail_image(img, &x, tw, "height", th, "size", size, NULL) != 0) {
            rc = ad_image_vips_fail(err, AD_EUNSUPPORTED, "resize");
            goto out;
        }
        replace(&img, x);
        x = NULL;
    }
    /* the pixels are read here, while px is still the caller's */
    rc = encode(img, t, acc, out, err);
    img = NULL;
out:
    if (img)
        g_object_unref(img);
    return rc;
}
