/* test_base.c — errors, pixmaps, durable files, parallel-for, settings. */
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>
#include <dirent.h>

#include "base/fsutil.h"
#include "base/parallel.h"
#include "base/pixmap.h"
#include "harness.h"

TEST(first_error_wins)
{
    ad_err e = AD_ERR_INIT;
    CHECK(ad_err_set(&e, AD_ENOTFOUND, "first %d", 1) == AD_ENOTFOUND);
    CHECK(ad_err_set(&e, AD_EIO, "second") == AD_EIO);
    CHECK(e.code == AD_ENOTFOUND && strcmp(e.msg, "first 1") == 0);
    CHECK(ad_status_http(AD_ETOOBIG) == 413 && ad_status_http(AD_EUNSUPPORTED) == 415);
    CHECK(ad_status_http(AD_EBUSY) == 503 && ad_status_exit(AD_OK) == 0);
    CHECK(strcmp(ad_status_name(AD_EINVAL), "invalid") == 0);
}

TEST(pixmap_refuses_overflowing_sizes)
{
    ad_pixmap pm;
    ad_err e = AD_ERR_INIT;
    CHECK(ad_pixmap_init(&pm, 0, 10, 3, &e) == AD_EINVAL);
    CHECK(pm.data == NULL);
    ad_err e2 = AD_ERR_INIT;
    CHECK(ad_pixmap_init(&pm, 1 << 30, 1 << 30, 4, &e2) != AD_OK);
    CHECK(pm.data == NULL);
    ad_pixmap_cleanup(&pm);
}

static int count_entries(const char *dir)
{
    int n = 0;
    DIR *d = opendir(dir);
    struct dirent *de;
    while (d && (de = readdir(d)))
        if (de->d_name[0] != '.')
            n++;
    if (d)
        closedir(d);
    return n;
}

TEST(atomic_write_replaces_and_leaves_no_temporary)
{
    char dir[] = "/tmp/assetd-fsutil-XXXXXX";
    REQUIRE(mkdtemp(dir) != NULL);
    char path[256];
    snprintf(path, sizeof path, "%s/out.bin", dir);
    ad_err e = AD_ERR_INIT;
    CHECK(ad_file_write_atomic(path, "old", 3, 0644, &e) == AD_OK);
    CHECK(ad_file_write_atomic(path, "newer", 5, 0644, &e) == AD_OK);
    void *buf;
    size_t len;
    REQUIRE(ad_file_read(path, 100, &buf, &len, &e) == AD_OK);
    CHECK(len == 5 && memcmp(buf, "newer", 5) == 0);
    free(buf);
    CHECK(count_entries(dir) == 1);
    ad_err e2 = AD_ERR_INIT;
    CHECK(ad_file_read(path, 4, &buf, &len, &e2) == AD_ETOOBIG);
    /* a write into a missing folder fails and creates nothing */
    char bad[300];
    snprintf(bad, sizeof bad, "%s/missing/out.bin", dir);
    ad_err e3 = AD_ERR_INIT;
    CHECK(ad_file_write_atomic(bad, "x", 1, 0644, &e3) == AD_EIO);
    CHECK(count_entries(dir) == 1);
    ad_err e4 = AD_ERR_INIT;
    snprintf(bad, sizeof bad, "%s/nope", dir);
    CHECK(ad_file_read(bad, 10, &buf, &len, &e4) == AD_ENOTFOUND);
    unlink(path);
    rmdir(dir);
}

static void mark(void *ctx, int b, int e)
{
    int *v = ctx;
    for (int i = b; i < e; i++)
        v[i]++;
}

TEST(parallel_for_covers_every_index_once)
{
    int v[1000] = {0};
    ad_parallel_for(1000, 7, mark, v);
    ad_parallel_for(3, 16, mark, v);
    int ok = 1;
    for (int i = 0; i < 1000; i++)
        ok &= v[i] == (i < 3 ? 2 : 1);
    CHECK(ok);
}

/* regression (issue 11): the mode came from flipping the process umask to
 * 0 and back, racing every thread that created a file meanwhile; now the
 * kernel applies the umask to the mode asked for, which is never touched */
TEST(atomic_writes_take_their_mode_without_touching_the_umask)
{
    char dir[] = "/tmp/assetd-mode-XXXXXX";
    REQUIRE(mkdtemp(dir) != NULL);
    char priv[256], pub[256];
    snprintf(priv, sizeof priv, "%s/private", dir);
    snprintf(pub, sizeof pub, "%s/public", dir);
    mode_t old = umask(022);
    ad_err e = AD_ERR_INIT;
    CHECK(ad_file_write_atomic(priv, "k", 1, 0600, &e) == AD_OK);
    CHECK(ad_file_write_atomic(pub, "p", 1, 0666, &e) == AD_OK);
    mode_t now = umask(old);
    CHECK(now == 022); /* unchanged by the writes */
    struct stat st;
    CHECK(stat(priv, &st) == 0 && (st.st_mode & 0777) == 0600);
    CHECK(stat(pub, &st) == 0 && (st.st_mode & 0777) == 0644);
    unlink(priv);
    unlink(pub);
    rmdir(dir);
}
