/* test_read_cache.c — store/read_cache: the local copies of a remote
 * store's blobs, bounded by disk blocks and by entries, least recently used
 * out first; copies an earlier run left are learned lazily (nothing at
 * open), by use or a folder per kept copy. Real files in a temp folder. */
#include "harness.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store/read_cache.h"

static char root[256];

static void sha_of(int i, char out[65]) { snprintf(out, 65, "%02x%062x", i & 0xff, i); }

/* A staged file of n bytes, as a fetch leaves it. */
static void stage(const char *dir, char *tmp, size_t len, size_t n)
{
    snprintf(tmp, len, "%s/tmp.XXXXXX", dir);
    int fd = mkstemp(tmp);
    char buf[4096];
    memset(buf, 'x', sizeof buf);
    for (size_t done = 0; fd >= 0 && done < n; done += sizeof buf)
        if (write(fd, buf, n - done < sizeof buf ? n - done : sizeof buf) < 0)
            break;
    if (fd >= 0)
        close(fd);
}

static int on_disk(const char *dir, const char *sha)
{
    char p[600];
    snprintf(p, sizeof p, "%s/%.2s/%s", dir, sha, sha);
    return access(p, F_OK) == 0;
}

static void fresh_dir(char *dir, size_t len, const char *tag)
{
    snprintf(dir, len, "%s/%s", root, tag);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        printf("    could not clear %s\n", dir);
}

static void setup(void)
{
    snprintf(root, sizeof root, "%s/read-cache-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (mkdtemp(root) == NULL)
        root[0] = '\0';
}

TEST(the_least_recently_used_copies_go_first_and_the_disk_bound_counts_blocks)
{
    setup();
    char dir[300], tmp[400], sha[65];
    fresh_dir(dir, sizeof dir, "bytes");
    ad_read_cache *c;
    ad_err err = AD_ERR_INIT;
    /* 10 blocks of 4 KiB: ten 100-byte copies fill it, not four hundred */
    REQUIRE(ad_read_cache_open(dir, 40960, 1000, &c, &err) == AD_OK);
    for (int i = 0; i < 10; i++) {
        sha_of(i, sha);
        stage(root, tmp, sizeof tmp, 100);
        ad_read_cache_keep(c, tmp, sha);
        CHECK(access(tmp, F_OK) != 0); /* the staged file became the copy */
    }
    int64_t bytes, entries;
    ad_read_cache_usage(c, &bytes, &entries);
    CHECKF(entries == 10 && bytes == 40960, "%lld entries, %lld bytes", (long long)entries, (long long)bytes);
    /* 0 used now: 1 is the least recently used, and goes first */
    sha_of(0, sha);
    int fd = ad_read_cache_open_copy(c, sha);
    CHECK(fd >= 0);
    close(fd);
    sha_of(10, sha);
    stage(root, tmp, sizeof tmp, 100);
    ad_read_cache_keep(c, tmp, sha);
    sha_of(0, sha);
    CHECK(on_disk(dir, sha));
    sha_of(1, sha);
    CHECK(!on_disk(dir, sha) && ad_read_cache_open_copy(c, sha) == -1);
    sha_of(2, sha);
    CHECK(on_disk(dir, sha));
    ad_read_cache_usage(c, &bytes, &entries);
    CHECK(entries == 10 && bytes <= 40960);
    /* a copy over the whole bound: kept by its reader, not by the cache */
    sha_of(11, sha);
    stage(root, tmp, sizeof tmp, 100000);
    ad_read_cache_keep(c, tmp, sha);
    ad_read_cache_usage(c, &bytes, &entries);
    CHECK(bytes <= 40960 && !on_disk(dir, sha));
    /* dropped: gone from the disk and the index */
    sha_of(0, sha);
    ad_read_cache_drop(c, sha);
    CHECK(!on_disk(dir, sha) && ad_read_cache_open_copy(c, sha) == -1);
    /* not an address: never a path */
    CHECK(ad_read_cache_open_copy(c, "../../etc/passwd") == -1);
    ad_read_cache_close(c);
}

TEST(the_entries_bound_holds_for_tiny_copies)
{
    setup();
    char dir[300], tmp[400], sha[65];
    fresh_dir(dir, sizeof dir, "entries");
    ad_read_cache *c;
    ad_err err = AD_ERR_INIT;
    REQUIRE(ad_read_cache_open(dir, 1 << 30, 16, &c, &err) == AD_OK);
    for (int i = 0; i < 100; i++) {
        sha_of(i, sha);
        stage(root, tmp, sizeof tmp, 1);
        ad_read_cache_keep(c, tmp, sha);
    }
    int64_t bytes, entries;
    ad_read_cache_usage(c, &bytes, &entries);
    CHECK(entries == 16);
    int kept = 0;
    for (int i = 0; i < 100; i++) {
        sha_of(i, sha);
        kept += on_disk(dir, sha);
    }
    CHECKF(kept == 16, "%d copies on disk", kept);
    sha_of(99, sha);
    CHECK(on_disk(dir, sha));
    ad_read_cache_close(c);
}

TEST(copies_an_earlier_run_left_are_learned_lazily_and_then_bounded)
{
    setup();
    char dir[300], tmp[400], sha[65];
    fresh_dir(dir, sizeof dir, "learn");
    ad_read_cache *c;
    ad_err err = AD_ERR_INIT;
    /* an earlier run kept 300 copies, one in each of 256 folders and more */
    REQUIRE(ad_read_cache_open(dir, 1 << 30, 1000, &c, &err) == AD_OK);
    for (int i = 0; i < 300; i++) {
        sha_of(i, sha);
        stage(root, tmp, sizeof tmp, 10);
        ad_read_cache_keep(c, tmp, sha);
    }
    ad_read_cache_close(c);
    /* a new run with a bound of 100: nothing is read at open */
    REQUIRE(ad_read_cache_open(dir, 1 << 30, 100, &c, &err) == AD_OK);
    int64_t bytes, entries;
    ad_read_cache_usage(c, &bytes, &entries);
    CHECK(entries == 0 && bytes == 0);
    /* a copy that is used is known from then on */
    sha_of(7, sha);
    int fd = ad_read_cache_open_copy(c, sha);
    CHECK(fd >= 0);
    close(fd);
    ad_read_cache_usage(c, &bytes, &entries);
    CHECK(entries == 1);
    /* each kept copy learns one folder: after 256 the earlier run's copies
     * are all known, and the bound holds on the disk */
    for (int i = 1000; i < 1256; i++) {
        sha_of(i, sha);
        stage(root, tmp, sizeof tmp, 10);
        ad_read_cache_keep(c, tmp, sha);
    }
    ad_read_cache_usage(c, &bytes, &entries);
    CHECK(entries == 100);
    int kept = 0;
    for (int i = 0; i < 300; i++) {
        sha_of(i, sha);
        kept += on_disk(dir, sha);
    }
    for (int i = 1000; i < 1256; i++) {
        sha_of(i, sha);
        kept += on_disk(dir, sha);
    }
    CHECKF(kept == 100, "%d copies on disk", kept);
    /* the newest are what is kept: the learned ones were the oldest */
    sha_of(1255, sha);
    CHECK(on_disk(dir, sha));
    ad_read_cache_close(c);
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
    if (system(cmd) != 0)
        printf("    could not remove %s\n", root);
}
