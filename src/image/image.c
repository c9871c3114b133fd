/* image.c — see image.h. */
#include "image/image.h"
#include "image/image_impl.h"

#include <stdlib.h>
#include <string.h>
#include <vips/vips.h>

/* See image_impl.h. */
ad_status ad_image_vips_fail(ad_err *err, ad_status code, const char *what)
{
    const char *msg = vips_error_buffer();
    char line[200];
    snprintf(line, sizeof line, "%s", msg && *msg ? msg : "unknown error");
    /* keep the first line only: error JSON and CLI errors are one line */
    char *nl = strchr(line, '\n');
    if (nl)
        *nl = '\0';
    vips_error_clear();
    return ad_err_set(err, code, "%s: %s", what, line);
}

/* libvips reports warnings (e.g. "not enough data" for a truncated file)
 * through GLib logging; we turn the conditions that matter into errors and
 * keep stderr to our own one-line logs. */
static void drop_log(const gchar *domain, GLogLevelFlags level, const gchar *msg, gpointer data) {}

ad_status ad_image_startup(const char *argv0, ad_err *err)
{
    g_log_set_handler("VIPS", G_LOG_LEVEL_WARNING | G_LOG_LEVEL_MESSAGE | G_LOG_LEVEL_INFO, drop_log, NULL);
    if (VIPS_INIT(argv0 ? argv0 : "assetd") != 0)
        return ad_image_vips_fail(err, AD_EBACKEND, "libvips init");
    /* A service decodes every image once; the operation cache would only
     * hold on to memory between requests. */
    vips_cache_set_max(0);
    vips_cache_set_max_mem(0);
    /* Network bytes only reach loaders libvips marks as fuzzed and safe
     * (no ImageMagick, PDF, SVG, MATLAB...); open_image allowlists too. */
    vips_block_untrusted_set(TRUE);
    return AD_OK;
}

void ad_image_shutdown(void) { vips_shutdown(); }

static int orientation_of(VipsImage *img)
{
    int o = 1;
    if (vips_image_get_typeof(img, VIPS_META_ORIENTATION) && vips_image_get_int(img, VIPS_META_ORIENTATION, &o) != 0) {
        o = 1;
        vips_error_clear(); /* a field of another type: its text is nobody's error */
    }
    return o >= 1 && o <= 8 ? o : 1;
}

/* The photo formats a cut-out service takes. Everything else libvips can
 * open (SVG, PDF, ImageMagick, FITS, MATLAB, CSV, its own format...) is a
 * larger attack surface than it is worth here. */
static int loader_allowed(const char *loader)
{
    static const char *const allowed[] = {"VipsForeignLoadJpeg", "VipsForeignLoadPng",  "VipsForeignLoadWebp",
                                          "VipsForeignLoadTiff", "VipsForeignLoadGif",  "VipsForeignLoadNsgif",
                                          "VipsForeignLoadHeif", "VipsForeignLoadJp2k", "VipsForeignLoadJxl"};
    for (size_t i = 0; i < sizeof allowed / sizeof allowed[0]; i++)
        if (strncmp(loader, allowed[i], strlen(allowed[i])) == 0)
            return 1;
    return 0;
}

static void avif_or_heif(VipsImage *img, char format[16]);

/* "VipsForeignLoadJpegBuffer" -> "jpeg", "VipsForeignLoadNsgifSource" ->
 * "gif", into format[16]. */
static void format_of(const char *loader, char format[16])
{
    const char *p = loader + (strncmp(loader, "VipsForeignLoad", 15) == 0 ? 15 : 0);
    if (strncmp(p, "Ns", 2) == 0)
        p += 2;
    size_t n = 0;
    while (n < 15 && p[n] && strncmp(p + n, "Buffer", 6) != 0 && strncmp(p + n, "Source", 6) != 0 &&
           strncmp(p + n, "File", 4) != 0) {
        format[n] = (char)(p[n] >= 'A' && p[n] <= 'Z' ? p[n] - 'A' + 'a' : p[n]);
        n++;
    }
    format[n] = '\0';
}

static uint32_t be16(const uint8_t *p) { return (uint32_t)p[0] << 8 | p[1]; }
static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}
static uint32_t le16(const uint8_t *p) { return (uint32_t)p[1] << 8 | p[0]; }
static uint32_t le24(const uint8_t *p) { return (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | p[0]; }

/* The size an image's header declares, read from its first bytes by hand,
 * for images libvips refuses to open because they are too large for it
 * (a JPEG of 65535², a PNG 2^31-1 wide): those are over the pixel limit
 * (413, with their size), not "not an image" (415). JPEG, PNG, GIF, WebP.
 * Returns 1 and fills w, h when the header says. */
static int declared_size(const uint8_t *b, size_t n, uint64_t *w, uint64_t *h)
{
    if (n >= 24 && memcmp(b, "\x89PNG\r\n\x1a\n", 8) == 0 && memcmp(b + 12, "IHDR", 4) == 0) {
        *w = be32(b + 16), *h = be32(b + 20);
        return 1;
    }
    if (n >= 10 && (memcmp(b, "GIF87a", 6) == 0 || memcmp(b, "GIF89a", 6) == 0)) {
        *w = le16(b + 6), *h = le16(b + 8);
        return 1;
    }
    if (n >= 30 && memcmp(b, "RIFF", 4) == 0 && memcmp(b + 8, "WEBP", 4) == 0) {
        const uint8_t *c = b + 12;
        if (memcmp(c, "VP8X", 4) == 0) {
            *w = le24(c + 12) + 1, *h = le24(c + 15) + 1;
            return 1;
        }
        if (memcmp(c, "VP8L", 4) == 0 && c[8] == 0x2f) {
            uint32_t bits = (uint32_t)c[9] | (uint32_t)c[10] << 8 | (uint32_t)c[11] << 16 | (uint32_t)c[12] << 24;
            *w = (bits & 0x3fff) + 1, *h = ((bits >> 14) & 0x3fff) + 1;
            return 1;
        }
        if (memcmp(c, "VP8 ", 4) == 0 && c[11] == 0x9d && c[12] == 0x01 && c[13] == 0x2a) {
            *w = le16(c + 14) & 0x3fff, *h = le16(c + 16) & 0x3fff;
            return 1;
        }
        return 0;
    }
    if (n >= 4 && b[0] == 0xff && b[1] == 0xd8) { /* JPEG: walk the markers to a SOFn */
        size_t i = 2;
        while (i + 9 < n) {
            if (b[i] != 0xff)
                return 0;
            uint8_t m = b[i + 1];
            if (m == 0xff) {
                i++;
                continue;
            }
            if (m >= 0xc0 && m <= 0xcf && m != 0xc4 && m != 0xc8 && m != 0xcc) {
                *h = be16(b + i + 5), *w = be16(b + i + 7);
                return 1;
            }
            i += 2 + be16(b + i + 2);
        }
    }
    return 0;
}

/* libvips could not open buf: when its header declares a size libvips
 * does not take, say so with the size. */
static ad_status too_large_for_decoder(const void *buf, size_t len, ad_image_info *info, ad_err *err)
{
    uint64_t w, h;
    if (!declared_size(buf, len, &w, &h) || w == 0 || h == 0)
        return AD_EUNSUPPORTED;
    if (w <= 65500 && h <= 65500 && w * h <= 100000000u)
        return AD_EUNSUPPORTED; /* a size libvips takes: something else is wrong */
    if (info) {
        info->width = w > INT32_MAX ? INT32_MAX : (int)w;
        info->height = h > INT32_MAX ? INT32_MAX : (int)h;
    }
    ad_err_clear(err);
    return ad_err_set(err, AD_ETOOBIG, "the image is %llux%llu pixels, larger than this service decodes",
                      (unsigned long long)w, (unsigned long long)h);
}

/* How strict a decode is: see open_image. */
static VipsFailOn fail_on_for(const char *loader)
{
    return strstr(loader, "Jpeg") ? VIPS_FAIL_ON_WARNING : VIPS_FAIL_ON_ERROR;
}

/* Open the header; pixels are decoded later, when the pipeline is written. */
static ad_status open_image(const void *buf, size_t len, VipsImage **out, char format[16], ad_err *err)
{
    *out = NULL;
    if (len == 0)
        return ad_err_set(err, AD_EUNSUPPORTED, "empty file is not an image");
    const char *loader = vips_foreign_find_load_buffer(buf, len);
    if (loader == NULL) {
        vips_error_clear();
        return ad_err_set(err, AD_EUNSUPPORTED, "not a recognised image format");
    }
    if (!loader_allowed(loader))
        return ad_err_set(err, AD_EUNSUPPORTED, "image format %s is not accepted", loader);
    if (format)
        format_of(loader, format);
    /* A truncated or corrupt file is an error, not a grey bottom half:
     * fail_on=error, and for JPEG fail_on=warning, since libjpeg reports
     * missing or corrupt entropy data ("premature end of data segment", a
     * frame header that claims more pixels than the file holds) as
     * warnings and fills the rest with grey. (libpng's warnings are about
     * metadata, such as an sRGB profile, and stay warnings.) 325 real
     * photos of the evaluation sets all decode under this rule.
     * Sequential access: pixels stream once, top to bottom. */
    VipsFailOn fail_on = fail_on_for(loader);
    VipsImage *img =
        vips_image_new_from_buffer(buf, len, "", "access", VIPS_ACCESS_SEQUENTIAL, "fail_on", fail_on, NULL);
    if (img == NULL) {
        ad_status big = too_large_for_decoder(buf, len, NULL, err);
        if (big == AD_ETOOBIG) {
            /* libvips' error buffer is the process's: left there, this
             * request's text would be the next failed decode's, another
             * client's (issue 30) */
            vips_error_clear();
            return big;
        }
        return ad_image_vips_fail(err, AD_EUNSUPPORTED, "cannot read image");
    }
    *out = img;
    return AD_OK;
}

ad_status ad_image_probe(const void *buf, size_t len, ad_image_info *info, ad_err *err)
{
    VipsImage *img = NULL;
    memset(info, 0, sizeof *info);
    ad_status rc = open_image(buf, len, &img, info->format, err);
    if (rc == AD_ETOOBIG)
        too_large_for_decoder(buf, len, info, NULL);
    if (rc != AD_OK)
        return rc;
    int o = orientation_of(img);
    int swap = o >= 5; /* 5..8 transpose the axes */
    info->width = swap ? img->Ysize : img->Xsize;
    info->height = swap ? img->Xsize : img->Ysize;
    avif_or_heif(img, info->format);
    g_object_unref(img);
    return AD_OK;
}

/* The heif loader reads AVIF too: tell them apart by the compression. */
static void avif_or_heif(VipsImage *img, char format[16])
{
    const char *c = NULL;
    if (strcmp(format, "heif") == 0 && vips_image_get_typeof(img, "heif-compression") &&
        vips_image_get_string(img, "heif-compression", &c) == 0 && c && strcmp(c, "av1") == 0)
        snprintf(format, 16, "avif");
}

typedef struct {
    ad_image_read_fn read;
    void *ctx;
    uint64_t size, pos;
} reader_source;

static gint64 source_read(VipsSourceCustom *src, void *buf, gint64 len, void *user)
{
    reader_source *r = user;
    (void)src;
    if (r->pos >= r->size || len <= 0)
        return 0;
    long n = r->read(r->ctx, r->pos, buf, (size_t)len);
    if (n > 0)
        r->pos += (uint64_t)n;
    return n;
}

static gint64 source_seek(VipsSourceCustom *src, gint64 offset, int whence, void *user)
{
    reader_source *r = user;
    (void)src;
    int64_t at = whence == SEEK_SET   ? offset
                 : whence == SEEK_CUR ? (int64_t)r->pos + offset
                                      : (int64_t)r->size + offset;
    if (at < 0)
        return -1;
    r->pos = (uint64_t)at;
    return at;
}

ad_status ad_image_probe_reader(ad_image_read_fn read, void *ctx, uint64_t size, ad_image_info *info, ad_err *err)
{
    reader_source rs = {read, ctx, size, 0};
    VipsImage *img = NULL;
    ad_status rc = AD_OK;
    memset(info, 0, sizeof *info);
    if (size == 0)
        return ad_err_set(err, AD_EUNSUPPORTED, "empty file is not an image");
    VipsSourceCustom *src = vips_source_custom_new();
    if (src == NULL)
        return ad_err_set(err, AD_ENOMEM, "out of memory");
    g_signal_connect(src, "read", G_CALLBACK(source_read), &rs);
    g_signal_connect(src, "seek", G_CALLBACK(source_seek), &rs);
    const char *loader = vips_foreign_find_load_source(VIPS_SOURCE(src));
    if (loader == NULL) {
        vips_error_clear();
        rc = ad_err_set(err, AD_EUNSUPPORTED, "not a recognised image format");
        goto out;
    }
    if (!loader_allowed(loader)) {
        rc = ad_err_set(err, AD_EUNSUPPORTED, "image format %s is not accepted", loader);
        goto out;
    }
    format_of(loader, info->format);
    img = vips_image_new_from_source(VIPS_SOURCE(src), "", "access", VIPS_ACCESS_SEQUENTIAL, "fail_on",
                                     VIPS_FAIL_ON_ERROR, NULL);
    if (img == NULL) {
        /* the first bytes hold the declared size of the formats that have
         * a hard limit in their decoder */
        uint8_t head[65536];
        long got = read(ctx, 0, head, size < sizeof head ? (size_t)size : sizeof head);
        rc = got > 0 ? too_large_for_decoder(head, (size_t)got, info, err) : AD_EUNSUPPORTED;
        if (rc != AD_ETOOBIG)
            rc = ad_image_vips_fail(err, AD_EUNSUPPORTED, "cannot read image");
        else
            vips_error_clear(); /* not left for another request's failure (issue 30) */
        goto out;
    }
    int o = orientation_of(img);
    info->width = o >= 5 ? img->Ysize : img->Xsize;
    info->height = o >= 5 ? img->Xsize : img->Ysize;
    avif_or_heif(img, info->format);
out:
    if (img)
        g_object_unref(img);
    g_object_unref(src);
    return rc;
}

/* Each format ad_image_probe names: its media type and its usual file
 * extension. */
static const struct {
    const char *format, *type, *ext;
} image_types[] = {{"jpeg", "image/jpeg", "jpg"},  {"png", "image/png", "png"},  {"webp", "image/webp", "webp"},
                   {"tiff", "image/tiff", "tif"},  {"gif", "image/gif", "gif"},  {"heif", "image/heif", "heic"},
                   {"avif", "image/avif", "avif"}, {"jp2k", "image/jp2", "jp2"}, {"jxl", "image/jxl", "jxl"}};

const char *ad_image_media_type(const char *format)
{
    for (size_t i = 0; format && i < sizeof image_types / sizeof image_types[0]; i++)
        if (strcmp(format, image_types[i].format) == 0)
            return image_types[i].type;
    return NULL;
}

const char *ad_image_extension(const char *media_type)
{
    for (size_t i = 0; media_type && i < sizeof image_types / sizeof image_types[0]; i++)
        if (strcmp(media_type, image_types[i].type) == 0)
            return image_types[i].ext;
    return NULL;
}

/* A profile whose description says sRGB needs no transform: skipping lcms on
 * the common case saves ~10 ns/pixel. */
static int profile_is_srgb(VipsImage *img)
{
    const void *data;
    size_t len;
    if (vips_image_get_blob(img, VIPS_META_ICC_NAME, &data, &len) != 0)
        return 0;
    return memmem(data, len, "sRGB", 4) != NULL;
}

/* in -> 8-bit sRGB with 3 bands (or 1..4 bands kept as they are when
 * keep_bands). Consumes the reference to *img and replaces it. */
static ad_status to_srgb8(VipsImage **img, int keep_alpha, ad_err *err)
{
    VipsImage *t = NULL, *cur = *img;
    ad_status rc = AD_OK;
    *img = NULL;
    if (!keep_alpha && vips_image_hasalpha(cur) && cur->Bands > 1) {
        if (vips_extract_band(cur, &t, 0, "n", cur->Bands - 1, NULL) != 0) {
            rc = ad_image_vips_fail(err, AD_EUNSUPPORTED, "cannot drop alpha");
            goto out;
        }
        g_object_unref(cur);
        cur = t;
    }
    VipsInterpretation in = vips_image_guess_interpretation(cur);
    int has_icc = vips_image_get_typeof(cur, VIPS_META_ICC_NAME) != 0;
    if (has_icc && (in == VIPS_INTERPRETATION_CMYK || !profile_is_srgb(cur)) && !keep_alpha) {
        if (vips_icc_transform(cur, &t, "srgb", "embedded", TRUE, "intent", VIPS_INTENT_RELATIVE, NULL) != 0) {
            /* A broken profile should not make the image unusable. */
            vips_error_clear();
        } else {
            g_object_unref(cur);
            cur = t;
        }
    }
    in = vips_image_guess_interpretation(cur);
    if (!(keep_alpha && (in == VIPS_INTERPRETATION_B_W || in == VIPS_INTERPRETATION_GREY16)) &&
        in != VIPS_INTERPRETATION_sRGB) {
        if (vips_colourspace(cur, &t, VIPS_INTERPRETATION_sRGB, NULL) != 0) {
            rc = ad_image_vips_fail(err, AD_EUNSUPPORTED, "cannot convert to sRGB");
            goto out;
        }
        g_object_unref(cur);
        cur = t;
    }
    if (cur->BandFmt != VIPS_FORMAT_UCHAR) {
        /* 16-bit sRGB/grey: shift, don't clip (colourspace already did it for
         * RGB16 -> sRGB; this catches the rest). */
        int shift = cur->BandFmt == VIPS_FORMAT_USHORT;
        if (shift ? vips_rshift_const1(cur, &t, 8, NULL) : vips_cast(cur, &t, VIPS_FORMAT_UCHAR, NULL)) {
            rc = ad_image_vips_fail(err, AD_EUNSUPPORTED, "cannot convert to 8-bit");
            goto out;
        }
        g_object_unref(cur);
        cur = t;
        if (shift) {
            if (vips_cast(cur, &t, VIPS_FORMAT_UCHAR, NULL) != 0) {
                rc = ad_image_vips_fail(err, AD_EUNSUPPORTED, "cannot convert to 8-bit");
                goto out;
            }
            g_object_unref(cur);
            cur = t;
        }
    }
    if (!keep_alpha && cur->Bands != 3) {
        rc = ad_err_set(err, AD_EUNSUPPORTED, "unsupported colour layout (%d bands)", cur->Bands);
        goto out;
    }
    *img = cur;
    cur = NULL;
out:
    if (cur)
        g_object_unref(cur);
    return rc;
}

/* Evaluate img into a freshly allocated pixmap of its size and bands. */
static ad_status materialise(VipsImage *img, ad_pixmap *out, ad_err *err)
{
    ad_status rc = ad_pixmap_init(out, img->Xsize, img->Ysize, img->Bands, err);
    if (rc != AD_OK)
        return rc;
    size_t size = (size_t)img->Xsize * (size_t)img->Ysize * (size_t)img->Bands;
    VipsImage *dst = vips_image_new_from_memory(out->data, size, img->Xsize, img->Ysize, img->Bands, VIPS_FORMAT_UCHAR);
    if (dst == NULL || vips_image_write(img, dst) != 0) {
        rc = ad_image_vips_fail(err, AD_EUNSUPPORTED, "cannot decode image");
        ad_pixmap_cleanup(out);
    }
    if (dst)
        g_object_unref(dst);
    return rc;
}

ad_status ad_image_decode_rgb(const void *buf, size_t len, uint64_t max_pixels, ad_pixmap *out, ad_err *err)
{
    VipsImage *img = NULL;
    ad_pixmap raw = {0};
    memset(out, 0, sizeof *out);
    ad_status rc = open_image(buf, len, &img, NULL, err);
    if (rc != AD_OK)
        return rc;
    uint64_t pixels = (uint64_t)img->Xsize * (uint64_t)img->Ysize;
    if (max_pixels && pixels > max_pixels) {
        rc = ad_err_set(err, AD_ETOOBIG, "image is %dx%d, over the %llu pixel limit", img->Xsize, img->Ysize,
                        (unsigned long long)max_pixels);
        goto out;
    }
    int o = orientation_of(img);
    if ((rc = to_srgb8(&img, 0, err)) != AD_OK)
        goto out;
    if ((rc = materialise(img, o == 1 ? out : &raw, err)) != AD_OK)
        goto out;
    if (o != 1)
        rc = ad_image_orient(&raw, o, out, err);
out:
    ad_pixmap_cleanup(&raw);
    if (img)
        g_object_unref(img);
    return rc;
}

ad_status ad_image_preview(const void *buf, size_t len, uint64_t max_pixels, int side, void **out, size_t *out_len,
                           ad_err *err)
{
    VipsImage *img = NULL, *thumb = NULL;
    void *webp = NULL;
    size_t webp_len = 0;
    *out = NULL;
    *out_len = 0;
    /* the same gate as a cut-out: accepted loaders, corrupt data refused,
     * the pixel limit from the header */
    ad_status rc = open_image(buf, len, &img, NULL, err);
    if (rc != AD_OK)
        return rc;
    uint64_t pixels = (uint64_t)img->Xsize * (uint64_t)img->Ysize;
    if (max_pixels && pixels > max_pixels) {
        rc = ad_err_set(err, AD_ETOOBIG, "image is over the %llu pixel limit", (unsigned long long)max_pixels);
        goto out;
    }
    /* from the image opened above, so its strictness holds: a corrupt JPEG
     * fails when its pixels are read, in the save below (the thumbnail of
     * the buffer, which shrinks on load, let a truncated JPEG through with
     * fail_on set: tests/api/test_preview.c). EXIF orientation applied,
     * colour to sRGB, never enlarged. */
    if (vips_thumbnail_image(img, &thumb, side, "height", side, "size", VIPS_SIZE_DOWN, NULL) != 0) {
        rc = ad_image_vips_fail(err, AD_EUNSUPPORTED, "cannot make a preview");
        goto out;
    }
    if (vips_webpsave_buffer(thumb, &webp, &webp_len, "Q", 80, "strip", TRUE, NULL) != 0) {
        rc = ad_image_vips_fail(err, AD_EUNSUPPORTED, "cannot read the image");
        goto out;
    }
    if ((*out = malloc(webp_len)) == NULL) {
        rc = ad_err_set(err, AD_ENOMEM, "out of memory");
        goto out;
    }
    memcpy(*out, webp, webp_len);
    *out_len = webp_len;
out:
    g_free(webp);
    if (thumb)
        g_object_unref(thumb);
    if (img)
        g_object_unref(img);
    return rc;
}

ad_status ad_image_decode_raw(const void *buf, size_t len, ad_pixmap *out, ad_err *err)
{
    VipsImage *img = NULL;
    memset(out, 0, sizeof *out);
    ad_status rc = open_image(buf, len, &img, NULL, err);
    if (rc == AD_OK)
        rc = to_srgb8(&img, 1, err);
    if (rc == AD_OK)
        rc = materialise(img, out, err);
    if (img)
        g_object_unref(img);
    return rc;
}

ad_status ad_image_orient(const ad_pixmap *in, int o, ad_pixmap *out, ad_err *err)
{
    int w = in->width, h = in->height, b = in->bands;
    int swap = o >= 5;
    ad_status rc = ad_pixmap_init(out, swap ? h : w, swap ? w : h, b, err);
    if (rc != AD_OK)
        return rc;
    int ow = out->width, oh = out->height;
    for (int y = 0; y < oh; y++) {
        uint8_t *dst = out->data + (size_t)y * (size_t)ow * (size_t)b;
        for (int x = 0; x < ow; x++) {
            /* (sx, sy): where output pixel (x, y) comes from, per the EXIF
             * definition of each orientation. */
            int sx, sy;
            switch (o) {
            case 2:
                sx = w - 1 - x;
                sy = y;
                break;
            case 3:
                sx = w - 1 - x;
                sy = h - 1 - y;
                break;
            case 4:
                sx = x;
                sy = h - 1 - y;
                break;
            case 5:
                sx = y;
                sy = x;
                break;
            case 6:
                sx = y;
                sy = h - 1 - x;
                break;
            case 7:
                sx = w - 1 - y;
                sy = h - 1 - x;
                break;
            case 8:
                sx = w - 1 - y;
                sy = x;
                break;
            default:
                sx = x;
                sy = y;
                break;
            }
            memcpy(dst, in->data + ((size_t)sy * (size_t)w + (size_t)sx) * (size_t)b, (size_t)b);
            dst += b;
        }
    }
    return AD_OK;
}

ad_status ad_image_encode_png_vips(const ad_pixmap *pm, void **png, size_t *len, ad_err *err)
{
    *png = NULL;
    *len = 0;
    VipsImage *img = vips_image_new_from_memory(pm->data, (size_t)pm->width * pm->height * pm->bands, pm->width,
                                                pm->height, pm->bands, VIPS_FORMAT_UCHAR);
    if (img == NULL)
        return ad_image_vips_fail(err, AD_EBACKEND, "png encode");
    void *buf = NULL;
    size_t n = 0;
    int r = vips_pngsave_buffer(img, &buf, &n, NULL);
    g_object_unref(img);
    if (r != 0)
        return ad_image_vips_fail(err, AD_EBACKEND, "png encode");
    *png = malloc(n);
    if (*png == NULL) {
        g_free(buf);
        return ad_err_set(err, AD_ENOMEM, "out of memory");
    }
    memcpy(*png, buf, n);
    g_free(buf);
    *len = n;
    return AD_OK;
}

/* A vips image over the pixmap's memory (which must outlive it). */
static VipsImage *wrap(const ad_pixmap *pm)
{
    VipsImage *img = vips_image_new_from_memory(pm->data, (size_t)pm->width * pm->height * pm->bands, pm->width,
                                                pm->height, pm->bands, VIPS_FORMAT_UCHAR);
    if (img)
        img->Type = pm->bands >= 3 ? VIPS_INTERPRETATION_sRGB : VIPS_INTERPRETATION_B_W;
    return img;
}

/* Copy a vips buffer into a malloc'd one (the API hands out malloc'd bytes). */
static ad_status take_buffer(void *buf, size_t n, void **out, size_t *len, ad_err *err)
{
    *out = malloc(n ? n : 1);
    if (*out == NULL) {
        g_free(buf);
        return ad_err_set(err, AD_ENOMEM, "out of memory");
    }
    memcpy(*out, buf, n);
    g_free(buf);
    *len = n;
    return AD_OK;
}

/* in scaled by h x v (lanczos3; alpha premultiplied while filtering, so
 * no dark fringes) into *out. */
static ad_status scale_pixmap(const ad_pixmap *in, double h, double v, ad_pixmap *out, ad_err *err)
{
    VipsImage *img = wrap(in), *t[4] = {0};
    if (img == NULL)
        return ad_image_vips_fail(err, AD_EBACKEND, "resize");
    ad_status st = AD_OK;
    VipsImage *cur = img;
    int alpha = in->bands == 4;
    if ((alpha && vips_premultiply(cur, &t[0], NULL) != 0) ||
        vips_resize(alpha ? t[0] : cur, &t[1], h, "vscale", v, "kernel", VIPS_KERNEL_LANCZOS3, NULL) != 0 ||
        (alpha && vips_unpremultiply(t[1], &t[2], NULL) != 0) ||
        vips_cast(alpha ? t[2] : t[1], &t[3], VIPS_FORMAT_UCHAR, NULL) != 0) {
        st = ad_image_vips_fail(err, AD_EBACKEND, "resize");
        goto out;
    }
    size_t n = 0;
    void *mem = vips_image_write_to_memory(t[3], &n);
    if (mem == NULL) {
        st = ad_image_vips_fail(err, AD_EBACKEND, "resize");
        goto out;
    }
    if ((st = ad_pixmap_init(out, t[3]->Xsize, t[3]->Ysize, in->bands, err)) == AD_OK)
        memcpy(out->data, mem,
               n < (size_t)out->width * out->height * out->bands ? n : (size_t)out->width * out->height * out->bands);
    g_free(mem);
out:
    for (int i = 0; i < 4; i++)
        if (t[i])
            g_object_unref(t[i]);
    g_object_unref(img);
    return st;
}

static ad_status copy_pixmap(const ad_pixmap *in, ad_pixmap *out, ad_err *err)
{
    ad_status st = ad_pixmap_init(out, in->width, in->height, in->bands, err);
    if (st == AD_OK)
        memcpy(out->data, in->data, (size_t)in->width * in->height * in->bands);
    return st;
}

ad_status ad_image_shrink(const ad_pixmap *in, int max_side, ad_pixmap *out, ad_err *err)
{
    memset(out, 0, sizeof *out);
    int longest = in->width > in->height ? in->width : in->height;
    if (max_side <= 0 || longest <= max_side)
        return copy_pixmap(in, out, err);
    double scale = (double)max_side / longest;
    return scale_pixmap(in, scale, scale, out, err);
}

ad_status ad_image_resize(const ad_pixmap *in, int width, int height, ad_pixmap *out, ad_err *err)
{
    memset(out, 0, sizeof *out);
    if (width < 1 || height < 1)
        return ad_err_set(err, AD_EINVAL, "resize to %dx%d", width, height);
    if (width == in->width && height == in->height)
        return copy_pixmap(in, out, err);
    ad_status st = scale_pixmap(in, (double)width / in->width, (double)height / in->height, out, err);
    if (st == AD_OK && (out->width != width || out->height != height)) {
        /* vips rounds the scale's product: fix the size exactly */
        ad_pixmap exact;
        if ((st = ad_pixmap_init(&exact, width, height, in->bands, err)) == AD_OK) {
            for (int y = 0; y < height; y++)
                for (int x = 0; x < width; x++) {
                    int sx = x < out->width ? x : out->width - 1, sy = y < out->height ? y : out->height - 1;
                    memcpy(exact.data + ((size_t)y * width + x) * in->bands,
                           out->data + ((size_t)sy * out->width + sx) * in->bands, (size_t)in->bands);
                }
            ad_pixmap_cleanup(out);
            *out = exact;
        }
    }
    return st;
}

ad_status ad_image_encode_webp_lossless(const ad_pixmap *pm, void **out, size_t *len, ad_err *err)
{
    *out = NULL;
    *len = 0;
    VipsImage *img = wrap(pm);
    if (img == NULL)
        return ad_image_vips_fail(err, AD_EBACKEND, "webp encode");
    void *buf = NULL;
    size_t n = 0;
    /* libvips 8.14 (Debian 12) has no "exact": libwebp may then change the
     * colour of fully transparent pixels, which nobody can see */
    int r = vips_webpsave_buffer(img, &buf, &n, "lossless", TRUE, "strip", TRUE, NULL);
    g_object_unref(img);
    if (r != 0)
        return ad_image_vips_fail(err, AD_EBACKEND, "webp encode");
    return take_buffer(buf, n, out, len, err);
}

ad_status ad_image_encode_jpeg(const ad_pixmap *pm, void **out, size_t *len, ad_err *err)
{
    *out = NULL;
    *len = 0;
    if (pm->bands != 1 && pm->bands != 3)
        return ad_err_set(err, AD_EINVAL, "jpeg encode: %d bands (want 1 or 3)", pm->bands);
    VipsImage *img = wrap(pm);
    if (img == NULL)
        return ad_image_vips_fail(err, AD_EBACKEND, "jpeg encode");
    void *buf = NULL;
    size_t n = 0;
    int r = vips_jpegsave_buffer(img, &buf, &n, "Q", 90, "strip", TRUE, NULL);
    g_object_unref(img);
    if (r != 0)
        return ad_image_vips_fail(err, AD_EBACKEND, "jpeg encode");
    return take_buffer(buf, n, out, len, err);
}
