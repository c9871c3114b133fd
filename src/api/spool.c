/* spool.c — a request body in an unnamed temporary file. See spool.h. */
#include "api/spool.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api/internal.h"

static int spool_file(const char *dir)
{
    if (dir == NULL || *dir == '\0')
        dir = getenv("TMPDIR") && *getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    int fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
    if (fd >= 0 || (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL))
        return fd;
    char path[4200];
    snprintf(path, sizeof path, "%s/.spool-XXXXXX", dir);
    fd = mkostemp(path, O_CLOEXEC);
    if (fd >= 0)
        unlink(path);
    return fd;
}

void ad_spool_open(ad_spool *s, const char *dir)
{
    memset(s, 0, sizeof *s);
    if ((s->fd = spool_file(dir)) < 0)
        s->refusal =
            ad_reply_error(507, "insufficient_storage", NULL, "no room to spool the body: %s", strerror(errno));
}

void ad_spool_refuse(ad_spool *s, ad_http_resp *r)
{
    if (s->refusal == NULL)
        s->refusal = r;
    else
        ad_http_resp_free(r);
}

ad_http_resp *ad_spool_take_refusal(ad_spool *s)
{
    ad_http_resp *r = s->refusal;
    s->refusal = NULL;
    return r;
}

int ad_spool_write(ad_spool *s, const char *data, size_t len)
{
    while (len > 0) {
        ssize_t n = write(s->fd, data, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            ad_spool_refuse(s, ad_reply_error(507, "insufficient_storage", NULL, "the body could not be spooled: %s",
                                              strerror(n < 0 ? errno : ENOSPC)));
            return -1;
        }
        data += n, len -= (size_t)n, s->len += (size_t)n;
    }
    return 0;
}

ad_http_resp *ad_spool_read(const ad_spool *s, char **out)
{
    char *buf = malloc(s->len + 1);
    *out = NULL;
    if (buf == NULL)
        return ad_reply_error(503, "out_of_memory", NULL, "out of memory; retry later");
    size_t got = 0;
    while (got < s->len) {
        ssize_t n = pread(s->fd, buf + got, s->len - got, (off_t)got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            free(buf);
            return ad_reply_error(507, "insufficient_storage", NULL, "the spooled body could not be read back");
        }
        got += (size_t)n;
    }
    buf[got] = '\0';
    *out = buf;
    return NULL;
}

void ad_spool_close(ad_spool *s)
{
    if (s->fd >= 0)
        close(s->fd);
    s->fd = -1;
    ad_http_resp_free(s->refusal);
    s->refusal = NULL;
}
