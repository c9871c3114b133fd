/* blobs_fs.c — the blob part as a local folder: DATA/blobs/ab/cd/<sha256>,
 * folders 0700 and files 0600 (the data dir is private to the service).
 * A writer stages into DATA/blobs/stage.tmp.<random>; commit fsyncs it and
 * renames it to its address, then fsyncs the folder, so a blob is either
 * absent or whole. Readers hand out their fd, so downloads use sendfile. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/fsutil.h"
#include "store/blobs.h"
#include "store/staging.h"

typedef struct {
    ad_blobs base;
    char root[3072]; /* DATA/blobs; short enough that every blob path fits PATH_MAX */
} fs_blobs;

typedef ad_staged_writer fs_writer; /* staging.h */

typedef struct {
    ad_blob_reader base;
    int fd;
    int64_t size;
} fs_reader;

static void blob_file(const fs_blobs *b, const char *sha, char *buf, size_t len)
{
    snprintf(buf, len, "%s/%.2s/%.2s/%s", b->root, sha, sha + 2, sha);
}

static ad_status mkdir_private(const char *path, ad_err *err)
{
    if (mkdir(path, 0700) == 0)
        return ad_dir_sync_for(path, err);
    if (errno == EEXIST)
        return AD_OK;
    return ad_err_set(err, AD_EIO, "cannot create a blob folder: %s", strerror(errno));
}

/* Temporaries are left only by a crash between create and rename. Only
 * the process that owns the folder (exclusive) may remove them: another
 * one (`assetd keys create` beside a running server) could be removing a
 * writer's staging file. */
static void sweep_temporaries(const char *dir, int depth)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    if (d == NULL)
        return;
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.')
            continue;
        char p[PATH_MAX];
        snprintf(p, sizeof p, "%.3000s/%s", dir, de->d_name);
        if (strstr(de->d_name, ".tmp."))
            unlink(p);
        else if (depth < 2 && de->d_type == DT_DIR)
            sweep_temporaries(p, depth + 1);
    }
    closedir(d);
}

static ad_status fs_open(const ad_store_config *cfg, ad_blobs **out, ad_err *err)
{
    fs_blobs *b = calloc(1, sizeof *b);
    *out = NULL;
    if (b == NULL)
        return ad_err_set(err, AD_ENOMEM, "out of memory");
    b->base.ops = &ad_blobs_fs_ops;
    if (strlen(cfg->data_dir) + 7 >= sizeof b->root) {
        free(b);
        return ad_err_set(err, AD_EINVAL, "data dir path too long");
    }
    snprintf(b->root, sizeof b->root, "%s/blobs", cfg->data_dir);
    ad_status rc = mkdir_private(b->root, err);
    if (rc != AD_OK) {
        free(b);
        return rc;
    }
    if (cfg->exclusive)
        sweep_temporaries(b->root, 0);
    *out = &b->base;
    return AD_OK;
}

static void fs_close(ad_blobs *base) { free(base); }

static ad_status fs_writer_new(ad_blobs *base, ad_blob_writer **out, ad_err *err)
{
    return ad_staged_writer_new(base, ((fs_blobs *)base)->root, out, err);
}

static ad_status fs_commit(ad_blob_writer *base, const char *sha, ad_err *err)
{
    fs_writer *w = (fs_writer *)base;
    fs_blobs *b = (fs_blobs *)base->blobs;
    char path[PATH_MAX], dir[PATH_MAX];
    ad_status rc;
    blob_file(b, sha, path, sizeof path);
    if (access(path, F_OK) == 0) {
        /* the same bytes are there already (the caller pinned them, so no
         * collector removes them now): keep those */
        ad_staged_abort(base);
        return AD_OK;
    }
    snprintf(dir, sizeof dir, "%s/%.2s", b->root, sha);
    if ((rc = mkdir_private(dir, err)) != AD_OK)
        goto fail;
    snprintf(dir, sizeof dir, "%s/%.2s/%.2s", b->root, sha, sha + 2);
    if ((rc = mkdir_private(dir, err)) != AD_OK)
        goto fail;
    rc = ad_file_publish(w->fd, w->tmp, path, err);
    free(w);
    return rc;
fail:
    ad_staged_abort(base);
    return rc;
}

static ad_status fs_open_reader(ad_blobs *base, const char *sha, ad_blob_reader **out, ad_err *err)
{
    fs_blobs *b = (fs_blobs *)base;
    char path[PATH_MAX];
    struct stat st;
    *out = NULL;
    blob_file(b, sha, path, sizeof path);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return ad_err_set(err, errno == ENOENT ? AD_ENOTFOUND : AD_EIO, "blob %.12s: %s", sha, strerror(errno));
    if (fstat(fd, &st) != 0) {
        int e = errno;
        close(fd);
        return ad_err_set(err, AD_EIO, "blob %.12s: %s", sha, strerror(e));
    }
    fs_reader *r = calloc(1, sizeof *r);
    if (r == NULL) {
        close(fd);
        return ad_err_set(err, AD_ENOMEM, "out of memory");
    }
    r->base.blobs = base;
    r->fd = fd;
    r->size = st.st_size;
    *out = &r->base;
    return AD_OK;
}

static int64_t fs_size(ad_blob_reader *r) { return ((fs_reader *)r)->size; }
static int fs_fd(ad_blob_reader *r) { return ((fs_reader *)r)->fd; }

static ad_status fs_read(ad_blob_reader *base, uint64_t offset, void *buf, size_t len, size_t *got, ad_err *err)
{
    fs_reader *r = (fs_reader *)base;
    ssize_t n;
    do
        n = pread(r->fd, buf, len, (off_t)offset);
    while (n < 0 && errno == EINTR);
    if (n < 0)
        return ad_err_set(err, AD_EIO, "blob read: %s", strerror(errno));
    *got = (size_t)n;
    return AD_OK;
}

static void fs_close_reader(ad_blob_reader *base)
{
    fs_reader *r = (fs_reader *)base;
    if (r == NULL)
        return;
    close(r->fd);
    free(r);
}

static ad_status fs_stat(ad_blobs *base, const char *sha, ad_blob_info *out, ad_err *err)
{
    char path[PATH_MAX];
    struct stat st;
    blob_file((fs_blobs *)base, sha, path, sizeof path);
    if (stat(path, &st) != 0)
        return ad_err_set(err, errno == ENOENT ? AD_ENOTFOUND : AD_EIO, "blob %.12s: %s", sha, strerror(errno));
    out->size = st.st_size;
    out->mtime_ms = (int64_t)st.st_mtim.tv_sec * 1000 + st.st_mtim.tv_nsec / 1000000;
    return AD_OK;
}

static ad_status fs_remove(ad_blobs *base, const char *sha, ad_err *err)
{
    char path[PATH_MAX];
    blob_file((fs_blobs *)base, sha, path, sizeof path);
    if (unlink(path) != 0)
        return errno == ENOENT ? AD_OK : ad_err_set(err, AD_EIO, "blob %.12s: %s", sha, strerror(errno));
    return ad_dir_sync_for(path, err);
}

static int hex2(const char *s) { return strlen(s) == 2 && s[0] != '.'; }

static ad_status fs_list(ad_blobs *base, ad_blobs_list_fn fn, void *ctx, ad_err *err)
{
    fs_blobs *b = (fs_blobs *)base;
    char l2[PATH_MAX], l3[PATH_MAX];
    DIR *d1 = opendir(b->root);
    if (d1 == NULL)
        return ad_err_set(err, AD_EIO, "cannot list blobs: %s", strerror(errno));
    struct dirent *x, *y, *z;
    int stop = 0;
    while (!stop && (x = readdir(d1))) {
        if (!hex2(x->d_name))
            continue;
        snprintf(l2, sizeof l2, "%.3100s/%.2s", b->root, x->d_name);
        DIR *d2 = opendir(l2);
        while (!stop && d2 && (y = readdir(d2))) {
            if (!hex2(y->d_name))
                continue;
            snprintf(l3, sizeof l3, "%.3200s/%.2s", l2, y->d_name);
            DIR *d3 = opendir(l3);
            while (!stop && d3 && (z = readdir(d3))) {
                ad_blob_info info;
                if (!ad_sha256_valid(z->d_name) || fs_stat(base, z->d_name, &info, NULL) != AD_OK)
                    continue;
                stop = fn(ctx, z->d_name, &info);
            }
            if (d3)
                closedir(d3);
        }
        if (d2)
            closedir(d2);
    }
    closedir(d1);
    return AD_OK;
}

const ad_blobs_ops ad_blobs_fs_ops = {
    .name = "fs",
    .remote = 0,
    .open = fs_open,
    .close = fs_close,
    .writer_new = fs_writer_new,
    .write = ad_staged_write,
    .commit = fs_commit,
    .abort = ad_staged_abort,
    .open_reader = fs_open_reader,
    .size = fs_size,
    .read = fs_read,
    .fd = fs_fd,
    .close_reader = fs_close_reader,
    .stat = fs_stat,
    .remove = fs_remove,
    .list = fs_list,
};
