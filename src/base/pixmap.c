/* pixmap.c — allocation of ad_pixmap with overflow checks. */
#include "base/pixmap.h"

#include <stdlib.h>
#include <string.h>

ad_status ad_pixmap_init(ad_pixmap *pm, int width, int height, int bands, ad_err *err)
{
    memset(pm, 0, sizeof *pm);
    if (width <= 0 || height <= 0 || bands < 1 || bands > 4)
        return ad_err_set(err, AD_EINVAL, "bad pixmap geometry %dx%dx%d", width, height, bands);
    size_t n = (size_t)width * (size_t)height;
    if (n / (size_t)width != (size_t)height || n > SIZE_MAX / 4)
        return ad_err_set(err, AD_ETOOBIG, "pixmap %dx%d too large", width, height);
    pm->data = malloc(n * (size_t)bands);
    if (pm->data == NULL)
        return ad_err_set(err, AD_ENOMEM, "out of memory for %dx%d pixmap", width, height);
    pm->width = width;
    pm->height = height;
    pm->bands = bands;
    return AD_OK;
}

void ad_pixmap_cleanup(ad_pixmap *pm)
{
    if (pm == NULL)
        return;
    free(pm->data);
    memset(pm, 0, sizeof *pm);
}
