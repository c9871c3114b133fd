/* staging.h — the first half of every blob part's writer: bytes go to a
 * private staging file (0600) in the part's staging folder; the part's
 * commit then publishes it (fs: fsync and rename into place; s3: upload,
 * then keep it as the cached copy) and frees the writer, or calls
 * ad_staged_abort. A part's writer struct is an ad_staged_writer (first
 * member) or this type itself. */
#ifndef AD_STORE_STAGING_H
#define AD_STORE_STAGING_H

#include <limits.h>

#include "store/blobs.h"

typedef struct {
    ad_blob_writer base;
    int fd;             /* open on tmp, or -1 once the part closed it */
    char tmp[PATH_MAX]; /* the staging file's path */
} ad_staged_writer;

/* A writer of blobs for owner, staging in dir (which exists). */
ad_status ad_staged_writer_new(ad_blobs *owner, const char *dir, ad_blob_writer **out, ad_err *err);

/* The parts' write and abort: append; close and unlink the staging file,
 * free the writer (accepts NULL). */
ad_status ad_staged_write(ad_blob_writer *w, const void *data, size_t len, ad_err *err);
void ad_staged_abort(ad_blob_writer *w);

#endif
