/* test_blobs.c — the conformance suite of blob parts (store/blobs.h), run
 * unchanged against each: staged writes published whole or not at all, an
 * existing address kept, ranged reads, stat, remove, list. Today: fs. */
#include <unistd.h>

#include "base/sha256.h"
#include "harness.h"
#include "store/blobs.h"
#include "store_env.h"

/* fs always; s3 when the test servers run */
static const ad_blobs_ops *const parts[] = {&ad_blobs_fs_ops, &ad_blobs_s3_ops};
#define NPARTS (getenv("ASSETD_TEST_S3_ENDPOINT") ? 2u : 1u)

typedef struct {
    int n;
    char seen[8][65];
} listing;

static int collect(void *ctx, const char *sha, const ad_blob_info *info)
{
    listing *l = ctx;
    if (l->n < 8 && info->size > 0)
        memcpy(l->seen[l->n++], sha, 65);
    return 0;
}

TEST(blob_parts_conform)
{
    for (size_t p = 0; p < NPARTS; p++) {
        const ad_blobs_ops *ops = parts[p];
        char dir[64] = "/tmp/assetd-blobs-XXXXXX";
        REQUIRE(mkdtemp(dir) != NULL);
        ad_store_config cfg = {.data_dir = dir, .exclusive = 1};
        char bucket[40], url[512];
        if (ops == &ad_blobs_s3_ops) {
            char id[AD_ID_LEN + 1];
            ad_id_new(id, NULL);
            snprintf(bucket, sizeof bucket, "b%.20s", id);
            test_s3_config(&cfg, bucket);
        }
        (void)url;
        ad_blobs *b = NULL;
        ad_err e = AD_ERR_INIT;
        REQUIRE(ops->open(&cfg, &b, &e) == AD_OK);
        const char *text = "bytes of a blob";
        char sha[65];
        ad_sha256_hex(text, strlen(text), sha);
        ad_blob_info info;
        ad_err e1 = AD_ERR_INIT;
        CHECK(ops->stat(b, sha, &info, &e1) == AD_ENOTFOUND);
        /* staged, then published */
        ad_blob_writer *w;
        REQUIRE(ops->writer_new(b, &w, &e) == AD_OK);
        CHECK(ops->write(w, text, 5, &e) == AD_OK && ops->write(w, text + 5, strlen(text) - 5, &e) == AD_OK);
        ad_err e2 = AD_ERR_INIT;
        CHECK(ops->stat(b, sha, &info, &e2) == AD_ENOTFOUND); /* not visible before commit */
        REQUIRE(ops->commit(w, sha, &e) == AD_OK);
        CHECK(ops->stat(b, sha, &info, &e) == AD_OK && info.size == (int64_t)strlen(text));
        CHECK(info.mtime_ms > 0);
        /* the same address again: the first copy stays, whole */
        REQUIRE(ops->writer_new(b, &w, &e) == AD_OK);
        CHECK(ops->write(w, text, strlen(text), &e) == AD_OK);
        CHECK(ops->commit(w, sha, &e) == AD_OK);
        /* an aborted writer publishes nothing */
        REQUIRE(ops->writer_new(b, &w, &e) == AD_OK);
        CHECK(ops->write(w, "never", 5, &e) == AD_OK);
        ops->abort(w);
        /* reads: size, a range, the end */
        ad_blob_reader *r;
        REQUIRE(ops->open_reader(b, sha, &r, &e) == AD_OK);
        CHECK(ops->size(r) == (int64_t)strlen(text));
        char buf[64];
        size_t got = 0;
        CHECK(ops->read(r, 6, buf, 2, &got, &e) == AD_OK && got == 2 && memcmp(buf, "of", 2) == 0);
        CHECK(ops->read(r, strlen(text), buf, 8, &got, &e) == AD_OK && got == 0);
        ops->close_reader(r);
        listing l = {0};
        CHECK(ops->list(b, collect, &l, &e) == AD_OK && l.n == 1 && strcmp(l.seen[0], sha) == 0);
        CHECK(ops->remove(b, sha, &e) == AD_OK);
        ad_err e3 = AD_ERR_INIT, e4 = AD_ERR_INIT;
        CHECK(ops->remove(b, sha, &e3) == AD_OK); /* idempotent */
        CHECK(ops->open_reader(b, sha, &r, &e4) == AD_ENOTFOUND);
        ops->close(b);
        char cmd[160];
        /* nothing staged is left (an object store's local read cache may be) */
        snprintf(cmd, sizeof cmd, "test -z \"$(find %s -type f -name '*.tmp.*')\"", dir);
        CHECK(system(cmd) == 0);
        snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
        CHECK(system(cmd) == 0);
    }
}
