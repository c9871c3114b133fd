/* blobs.h — the blob part of a store: immutable byte strings under their
 * SHA-256, in a folder (blobs_fs.c) or an S3 bucket (blobs_s3.c). A backend hands
 * out writers and readers, never paths (as sqlite's xOpen hands back a file
 * object), so callers cannot tell a file from an object. Nobody but store.c
 * calls these functions: everyone else uses the ad_store_* wrappers.
 *
 * A writer stages bytes privately; commit publishes them under their
 * address durably (or drops them when that blob exists already), so a blob
 * is either absent or whole. Threads: any; a writer or reader is used by
 * one thread at a time. */
#ifndef AD_STORE_BLOBS_H
#define AD_STORE_BLOBS_H

#include <stddef.h>
#include <stdint.h>

#include "store/records.h"

typedef struct ad_blobs ad_blobs;
typedef struct ad_blob_writer ad_blob_writer;
typedef struct ad_blob_reader ad_blob_reader;

/* Called for each blob by list; return non-zero to stop. */
typedef int (*ad_blobs_list_fn)(void *ctx, const char *sha256, const ad_blob_info *info);

typedef struct {
    const char *name;
    int remote; /* calls cross a network: keep them off event-loop threads */
    ad_status (*open)(const ad_store_config *cfg, ad_blobs **out, ad_err *err);
    void (*close)(ad_blobs *b);
    /* 1 while the part's dependency is not answering (its circuit is open),
     * with why; NULL: never (a local part) */
    int (*down)(ad_blobs *b, char *why, size_t len);

    ad_status (*writer_new)(ad_blobs *b, ad_blob_writer **out, ad_err *err);
    ad_status (*write)(ad_blob_writer *w, const void *data, size_t len, ad_err *err);
    /* publish the staged bytes as sha256, durably; frees w either way */
    ad_status (*commit)(ad_blob_writer *w, const char *sha256, ad_err *err);
    void (*abort)(ad_blob_writer *w); /* frees w */

    /* AD_ENOTFOUND when absent */
    ad_status (*open_reader)(ad_blobs *b, const char *sha256, ad_blob_reader **out, ad_err *err);
    int64_t (*size)(ad_blob_reader *r);
    /* up to len bytes from offset into buf; *got 0 at the end */
    ad_status (*read)(ad_blob_reader *r, uint64_t offset, void *buf, size_t len, size_t *got, ad_err *err);
    /* a file descriptor of the bytes for sendfile, or -1 (lent) */
    int (*fd)(ad_blob_reader *r);
    void (*close_reader)(ad_blob_reader *r);

    ad_status (*stat)(ad_blobs *b, const char *sha256, ad_blob_info *out, ad_err *err); /* AD_ENOTFOUND */
    ad_status (*remove)(ad_blobs *b, const char *sha256, ad_err *err);                  /* AD_ENOTFOUND */
    ad_status (*list)(ad_blobs *b, ad_blobs_list_fn fn, void *ctx, ad_err *err);
} ad_blobs_ops;

struct ad_blobs {
    const ad_blobs_ops *ops;
};

struct ad_blob_writer {
    ad_blobs *blobs;
};

struct ad_blob_reader {
    ad_blobs *blobs;
};

extern const ad_blobs_ops ad_blobs_fs_ops;
extern const ad_blobs_ops ad_blobs_s3_ops;

#endif
