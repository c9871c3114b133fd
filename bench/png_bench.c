/* png_bench.c — our PNG encoder's settings against libvips' pngsave (libpng
 * or libspng, the peer's kind of encoder), on cut-outs made by assetd:
 *   png_bench RGBA.png...
 * Prints ms (median of 3) and size for each setting; every output is decoded
 * back and compared with the input, so a fast but wrong setting shows up. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "base/clock.h"
#include "base/fsutil.h"
#include "image/image.h"
#include "image/png_encode.h"

static const struct {
    const char *name;
    int level, strategy, filter;
} cases[] = {
    {"rle1-sub (default)", 1, Z_RLE, 1},
    {"rle1-up", 1, Z_RLE, 2},
    {"rle1-paeth", 1, Z_RLE, 4},
    {"huff-sub", 1, Z_HUFFMAN_ONLY, 1},
    {"fast1-sub", 1, Z_DEFAULT_STRATEGY, 1},
    {"fast1-paeth", 1, Z_DEFAULT_STRATEGY, 4},
    {"def6-paeth", 6, Z_DEFAULT_STRATEGY, 4},
};

int main(int argc, char **argv)
{
    ad_err err = AD_ERR_INIT;
    if (ad_image_startup(argv[0], &err) != AD_OK)
        return 1;
    printf("%-22s %-20s %9s %10s %s\n", "image", "encoder", "ms", "KiB", "roundtrip");
    for (int i = 1; i < argc; i++) {
        void *buf;
        size_t len;
        ad_pixmap pm;
        if (ad_file_read(argv[i], 1u << 30, &buf, &len, &err) || ad_image_decode_raw(buf, len, &pm, &err)) {
            fprintf(stderr, "png_bench: %s: %s\n", argv[i], err.msg);
            return 1;
        }
        free(buf);
        const char *name = strrchr(argv[i], '/') ? strrchr(argv[i], '/') + 1 : argv[i];
        for (size_t c = 0; c <= sizeof cases / sizeof cases[0]; c++) {
            double best = 1e18;
            void *png = NULL;
            size_t plen = 0;
            for (int r = 0; r < 3; r++) {
                free(png);
                double t0 = ad_clock_ms();
                if (c < sizeof cases / sizeof cases[0]) {
                    ad_png_options o = {cases[c].level, cases[c].strategy, cases[c].filter, 0};
                    ad_png_encode(&pm, &o, &png, &plen, &err);
                } else {
                    ad_image_encode_png_vips(&pm, &png, &plen, &err);
                }
                double t = ad_clock_ms() - t0;
                best = t < best ? t : best;
            }
            ad_pixmap back;
            int same = ad_image_decode_raw(png, plen, &back, &err) == AD_OK && back.bands == pm.bands &&
                       back.width == pm.width && back.height == pm.height &&
                       memcmp(back.data, pm.data, (size_t)pm.width * pm.height * pm.bands) == 0;
            ad_pixmap_cleanup(&back);
            printf("%-22s %-20s %9.0f %10zu %s\n", name,
                   c < sizeof cases / sizeof cases[0] ? cases[c].name : "libvips pngsave", best, plen / 1024,
                   same ? "identical" : "MISMATCH");
            free(png);
        }
        ad_pixmap_cleanup(&pm);
    }
    return 0;
}
