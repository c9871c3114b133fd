/* mkimage.c — makes the test inputs the suites need from a real photo, with
 * libvips: `mkimage KIND IN OUT [W H]`.
 *   resize      IN resized to W x H (format from OUT's extension)
 *   rot6        stored rotated 90 degrees counter-clockwise with EXIF
 *               orientation 6, so an EXIF-aware reader shows IN upright
 *   grey, grey16, rgb16, cmyk, rgba, palette   colour variants
 *   truncate    the first half of IN's bytes
 *   mask        band 4 (alpha) of an RGBA PNG as a grey PNG
 * Test tooling only: src/ sees libvips through src/image alone. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <vips/vips.h>

static int fail(const char *what)
{
    fprintf(stderr, "mkimage: %s: %s\n", what, vips_error_buffer());
    return 1;
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: mkimage KIND IN OUT [W H]\n");
        return 2;
    }
    if (VIPS_INIT(argv[0]))
        return fail("init");
    const char *kind = argv[1], *in = argv[2], *out = argv[3];
    if (strcmp(kind, "truncate") == 0) {
        FILE *f = fopen(in, "rb");
        if (!f)
            return 1;
        fseek(f, 0, SEEK_END);
        long n = ftell(f);
        rewind(f);
        char *buf = malloc((size_t)n);
        if (!buf || fread(buf, 1, (size_t)n, f) != (size_t)n)
            return 1;
        fclose(f);
        FILE *o = fopen(out, "wb");
        if (!o || fwrite(buf, 1, (size_t)n / 2, o) != (size_t)n / 2)
            return 1;
        fclose(o);
        free(buf);
        return 0;
    }
    VipsImage *img = vips_image_new_from_file(in, NULL), *t = NULL;
    if (!img)
        return fail(in);
    int r = 0;
    if (strcmp(kind, "resize") == 0 && argc >= 6) {
        double w = atof(argv[4]), h = atof(argv[5]);
        r = vips_resize(img, &t, w / img->Xsize, "vscale", h / img->Ysize, "kernel", VIPS_KERNEL_LANCZOS3, NULL);
        if (!r)
            r = vips_image_write_to_file(t, out, "Q", 90, NULL);
    } else if (strcmp(kind, "rot6") == 0) {
        r = vips_rot(img, &t, VIPS_ANGLE_D270, NULL);
        if (!r) {
            vips_image_set_int(t, VIPS_META_ORIENTATION, 6);
            r = vips_image_write_to_file(t, out, NULL);
        }
    } else if (strcmp(kind, "grey") == 0) {
        r = vips_colourspace(img, &t, VIPS_INTERPRETATION_B_W, NULL) || vips_image_write_to_file(t, out, NULL);
    } else if (strcmp(kind, "grey16") == 0) {
        r = vips_colourspace(img, &t, VIPS_INTERPRETATION_GREY16, NULL) || vips_image_write_to_file(t, out, NULL);
    } else if (strcmp(kind, "rgb16") == 0) {
        r = vips_colourspace(img, &t, VIPS_INTERPRETATION_RGB16, NULL) || vips_image_write_to_file(t, out, NULL);
    } else if (strcmp(kind, "cmyk") == 0) {
        r = vips_colourspace(img, &t, VIPS_INTERPRETATION_CMYK, NULL) || vips_image_write_to_file(t, out, NULL);
    } else if (strcmp(kind, "rgba") == 0) {
        /* alpha 0 on the left half: the model must ignore it */
        VipsImage *a = NULL;
        r = vips_black(&a, img->Xsize, img->Ysize, NULL);
        VipsImage *ramp = NULL, *cmp = NULL, *alpha = NULL;
        if (!r)
            r = vips_xyz(&ramp, img->Xsize, img->Ysize, NULL);
        if (!r) {
            VipsImage *xb = NULL;
            r = vips_extract_band(ramp, &xb, 0, NULL) || vips_more_const1(xb, &cmp, img->Xsize / 2.0, NULL) ||
                vips_cast(cmp, &alpha, VIPS_FORMAT_UCHAR, NULL) || vips_bandjoin2(img, alpha, &t, NULL);
            if (!r)
                r = vips_image_write_to_file(t, out, NULL);
        }
    } else if (strcmp(kind, "palette") == 0) {
        r = vips_image_write_to_file(img, out, "palette", TRUE, NULL);
    } else if (strcmp(kind, "mask") == 0) {
        r = vips_extract_band(img, &t, img->Bands - 1, NULL) || vips_image_write_to_file(t, out, NULL);
    } else {
        fprintf(stderr, "mkimage: unknown kind %s\n", kind);
        return 2;
    }
    if (r)
        return fail(kind);
    return 0;
}
