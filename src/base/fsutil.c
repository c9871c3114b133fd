/* fsutil.c — see fsutil.h. */
#include "base/fsutil.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

ad_status ad_file_read(const char *path, size_t max_len, void **out, size_t *out_len, ad_err *err)
{
    ad_status rc = AD_OK;
    char *buf = NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    *out = NULL;
    *out_len = 0;
    if (fd < 0) {
        rc = ad_err_set(err, errno == ENOENT ? AD_ENOTFOUND : AD_EIO, "%s: %s", path, strerror(errno));
        goto out;
    }
    struct stat st;
    if (fstat(fd, &st) != 0) {
        rc = ad_err_set(err, AD_EIO, "%s: %s", path, strerror(errno));
        goto out;
    }
    if (!S_ISREG(st.st_mode)) {
        rc = ad_err_set(err, AD_EINVAL, "%s: not a regular file", path);
        goto out;
    }
    if ((size_t)st.st_size > max_len) {
        rc = ad_err_set(err, AD_ETOOBIG, "%s: %lld bytes is over the %zu byte limit", path,
                        (long long)st.st_size, max_len);
        goto out;
    }
    size_t len = (size_t)st.st_size;
    buf = malloc(len ? len : 1);
    if (buf == NULL) {
        rc = ad_err_set(err, AD_ENOMEM, "%s: out of memory", path);
        goto out;
    }
    size_t got = 0;
    while (got < len) {
        ssize_t n = read(fd, buf + got, len - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            rc = ad_err_set(err, AD_EIO, "%s: short read", path);
            goto out;
        }
        got += (size_t)n;
    }
    *out = buf;
    *out_len = len;
    buf = NULL;
out:
    free(buf);
    if (fd >= 0)
        close(fd);
    return rc;
}

ad_status ad_dir_sync_for(const char *path, ad_err *err)
{
    char tmp[PATH_MAX];
    if (snprintf(tmp, sizeof tmp, "%s", path) >= (int)sizeof tmp)
        return ad_err_set(err, AD_EINVAL, "path too long");
    int dfd = open(dirname(tmp), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0)
        return ad_err_set(err, AD_EIO, "open dir of %s: %s", path, strerror(errno));
    int r = fsync(dfd);
    int e = errno;
    close(dfd);
    if (r != 0)
        return ad_err_set(err, AD_EIO, "fsync dir of %s: %s", path, strerror(e));
    return AD_OK;
}

ad_status ad_file_write_atomic(const char *path, const void *data, size_t len, ad_err *err)
{
    ad_status rc = AD_OK;
    char tmp[PATH_MAX];
    int fd = -1;
    if (snprintf(tmp, sizeof tmp, "%s.tmp.XXXXXX", path) >= (int)sizeof tmp)
        return ad_err_set(err, AD_EINVAL, "%s: path too long", path);
    fd = mkostemp(tmp, O_CLOEXEC);
    if (fd < 0) {
        rc = ad_err_set(err, AD_EIO, "%s: cannot create temporary file: %s", path, strerror(errno));
        tmp[0] = '\0';
        goto out;
    }
    const char *p = data;
    size_t left = len;
    while (left > 0) {
        ssize_t n = write(fd, p, left);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            rc = ad_err_set(err, AD_EIO, "%s: write: %s", path, strerror(errno));
            goto out;
        }
        p += n;
        left -= (size_t)n;
    }
    /* mkostemp creates 0600; published files get the usual umask'd mode. */
    mode_t um = umask(0);
    umask(um);
    if (fchmod(fd, 0666 & ~um) != 0 || fsync(fd) != 0) {
        rc = ad_err_set(err, AD_EIO, "%s: fsync: %s", path, strerror(errno));
        goto out;
    }
    if (close(fd) != 0) {
        fd = -1;
        rc = ad_err_set(err, AD_EIO, "%s: close: %s", path, strerror(errno));
        goto out;
    }
    fd = -1;
    if (rename(tmp, path) != 0) {
        rc = ad_err_set(err, AD_EIO, "%s: rename: %s", path, strerror(errno));
        goto out;
    }
    tmp[0] = '\0';
    rc = ad_dir_sync_for(path, err);
out:
    if (fd >= 0)
        close(fd);
    if (tmp[0])
        unlink(tmp);
    return rc;
}
