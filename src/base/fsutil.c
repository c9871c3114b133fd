/* fsutil.c — see fsutil.h. */
#include "base/fsutil.h"
#include "base/sha256.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdint.h>
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
        rc = ad_err_set(err, AD_ETOOBIG, "%s: %lld bytes is over the %zu byte limit", path, (long long)st.st_size,
                        max_len);
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

/* A random suffix: the name must not be guessable or repeat across
 * processes (mkostemp's would do, but it creates 0600 whatever mode says). */
static ad_status tmp_name(const char *path, char *buf, size_t len, ad_err *err)
{
    unsigned char rnd[8];
    int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
    ssize_t n = fd >= 0 ? read(fd, rnd, sizeof rnd) : -1;
    if (fd >= 0)
        close(fd);
    if (n != (ssize_t)sizeof rnd)
        return ad_err_set(err, AD_EIO, "no random bytes for a temporary name");
    if (snprintf(buf, len, "%s.tmp.%02x%02x%02x%02x%02x%02x%02x%02x", path, rnd[0], rnd[1], rnd[2], rnd[3], rnd[4],
                 rnd[5], rnd[6], rnd[7]) >= (int)len)
        return ad_err_set(err, AD_EINVAL, "path too long");
    return AD_OK;
}

ad_status ad_file_tmp_open(const char *path, int mode, char tmp[PATH_MAX], int *fd, ad_err *err)
{
    *fd = -1;
    for (int attempt = 0; attempt < 8; attempt++) {
        ad_status rc = tmp_name(path, tmp, PATH_MAX, err);
        if (rc != AD_OK)
            return rc;
        /* the kernel applies the umask: the process umask is never changed
         * (another thread could create a file meanwhile) */
        *fd = open(tmp, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, (mode_t)mode);
        if (*fd >= 0)
            return AD_OK;
        if (errno != EEXIST)
            break;
    }
    ad_status rc =
        ad_err_set(err, errno == ENOSPC ? AD_EIO : AD_EIO, "cannot create a temporary file: %s", strerror(errno));
    tmp[0] = '\0';
    return rc;
}

ad_status ad_file_write_all(int fd, const void *data, size_t len, ad_err *err)
{
    const char *p = data;
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return ad_err_set(err, AD_EIO, "write: %s", strerror(errno));
        p += n;
        len -= (size_t)n;
    }
    return AD_OK;
}

ad_status ad_file_publish(int fd, const char *tmp, const char *path, ad_err *err)
{
    ad_status rc = AD_OK;
    if (fsync(fd) != 0) {
        rc = ad_err_set(err, AD_EIO, "fsync: %s", strerror(errno));
        close(fd);
        goto out;
    }
    if (close(fd) != 0) {
        rc = ad_err_set(err, AD_EIO, "close: %s", strerror(errno));
        goto out;
    }
    if (rename(tmp, path) != 0) {
        rc = ad_err_set(err, AD_EIO, "rename: %s", strerror(errno));
        goto out;
    }
    return ad_dir_sync_for(path, err);
out:
    unlink(tmp);
    return rc;
}

ad_status ad_file_write_atomic(const char *path, const void *data, size_t len, int mode, ad_err *err)
{
    char tmp[PATH_MAX];
    int fd;
    ad_status rc = ad_file_tmp_open(path, mode, tmp, &fd, err);
    if (rc != AD_OK)
        return ad_err_set(err, rc, "%s: cannot create a temporary file", path);
    if ((rc = ad_file_write_all(fd, data, len, err)) != AD_OK) {
        close(fd);
        unlink(tmp);
        return rc;
    }
    return ad_file_publish(fd, tmp, path, err);
}

void ad_file_ends_sha256(const char *path, char out[65])
{
    snprintf(out, 65, "-");
    FILE *f = fopen(path, "rb");
    uint8_t *chunk = f ? malloc(2u << 20) : NULL;
    if (chunk) {
        size_t got = fread(chunk, 1, 1u << 20, f);
        if (fseek(f, -(1L << 20), SEEK_END) == 0)
            got += fread(chunk + got, 1, 1u << 20, f);
        ad_sha256_hex(chunk, got, out);
    }
    free(chunk);
    if (f)
        fclose(f);
}
