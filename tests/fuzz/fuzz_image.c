/* fuzz_image.c — the decode path under our limits (image/): header probe,
 * then a full decode to 8-bit sRGB with a pixel limit, as a bg_remove worker
 * does. Decompression bombs, huge dimensions, truncated and polyglot files
 * must give an error, never a crash, a hang or an allocation past the limit
 * (libFuzzer's -rss_limit_mb and -timeout catch the last two). */
#include <stdint.h>
#include <stdlib.h>

#include "image/image.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    /* one libvips worker: no thread start-up per decode, so far more
     * executions per second (the code paths are the same) */
    setenv("VIPS_CONCURRENCY", "1", 1);
    return ad_image_startup((*argv)[0], NULL) == AD_OK ? 0 : 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ad_image_info info;
    if (ad_image_probe(data, size, &info, NULL) != AD_OK)
        return 0;
    ad_pixmap pm;
    if (ad_image_decode_rgb(data, size, 4000000, &pm, NULL) == AD_OK) {
        if ((uint64_t)pm.width * (uint64_t)pm.height > 4000000 || pm.bands != 3)
            abort();
        ad_pixmap_cleanup(&pm);
    }
    return 0;
}
