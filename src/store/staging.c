/* staging.c — see staging.h. */
#include "store/staging.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "base/fsutil.h"

ad_status ad_staged_writer_new(ad_blobs *owner, const char *dir, ad_blob_writer **out, ad_err *err)
{
    ad_staged_writer *w = calloc(1, sizeof *w);
    char stage[PATH_MAX];
    *out = NULL;
    if (w == NULL)
        return ad_err_set(err, AD_ENOMEM, "out of memory");
    w->base.blobs = owner;
    snprintf(stage, sizeof stage, "%.4000s/stage", dir);
    ad_status rc = ad_file_tmp_open(stage, 0600, w->tmp, &w->fd, err);
    if (rc != AD_OK) {
        free(w);
        return rc;
    }
    *out = &w->base;
    return AD_OK;
}

ad_status ad_staged_write(ad_blob_writer *w, const void *data, size_t len, ad_err *err)
{
    return ad_file_write_all(((ad_staged_writer *)w)->fd, data, len, err);
}

void ad_staged_abort(ad_blob_writer *base)
{
    ad_staged_writer *w = (ad_staged_writer *)base;
    if (w == NULL)
        return;
    if (w->fd >= 0)
        close(w->fd);
    unlink(w->tmp);
    free(w);
}
