/* multipart.c — see multipart.h. */
#include "http/multipart.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <strings.h>

/* RFC 2046 bchars, without the space (we never produce or need it at the end) */
static int bchar(int c) { return isalnum(c) || strchr("'()+_,-./:=? ", c) != NULL; }

ad_status ad_multipart_boundary(const char *ct, char boundary[72], ad_err *err)
{
    static const char type[] = "multipart/form-data";
    if (ct == NULL || strncasecmp(ct, type, sizeof type - 1) != 0)
        return ad_err_set(err, AD_EINVAL, "Content-Type is not multipart/form-data");
    const char *p = ct + sizeof type - 1;
    while (*p) {
        while (*p == ' ' || *p == '\t' || *p == ';')
            p++;
        if (strncasecmp(p, "boundary=", 9) == 0) {
            p += 9;
            size_t n = 0;
            if (*p == '"') {
                p++;
                while (p[n] && p[n] != '"')
                    n++;
                if (p[n] != '"')
                    return ad_err_set(err, AD_EINVAL, "unterminated boundary");
            } else {
                while (p[n] && p[n] != ';' && p[n] != ' ' && p[n] != '\t')
                    n++;
            }
            if (n < 1 || n > 70)
                return ad_err_set(err, AD_EINVAL, "boundary must be 1 to 70 characters");
            for (size_t i = 0; i < n; i++)
                if (!bchar((unsigned char)p[i]))
                    return ad_err_set(err, AD_EINVAL, "boundary has a character not allowed");
            memcpy(boundary, p, n);
            boundary[n] = '\0';
            return AD_OK;
        }
        while (*p && *p != ';')
            p++;
    }
    return ad_err_set(err, AD_EINVAL, "multipart/form-data without a boundary");
}

/* Copy a parameter of Content-Disposition (name="..." or name=token) into
 * out. Returns 1 found, 0 absent, -1 malformed or too long. */
static int disposition_param(const char *v, size_t vlen, const char *key, char *out, size_t outlen)
{
    size_t kl = strlen(key);
    for (size_t i = 0; i + kl < vlen; i++) {
        if ((i > 0 && v[i - 1] != ';' && v[i - 1] != ' ' && v[i - 1] != '\t') || strncasecmp(v + i, key, kl) != 0 ||
            v[i + kl] != '=')
            continue;
        size_t j = i + kl + 1, o = 0;
        if (j < vlen && v[j] == '"') {
            for (j++; j < vlen && v[j] != '"'; j++) {
                if (v[j] == '\\' && j + 1 < vlen)
                    j++;
                if (o + 1 >= outlen)
                    return -1;
                out[o++] = v[j];
            }
            if (j >= vlen)
                return -1;
        } else {
            for (; j < vlen && v[j] != ';' && v[j] != ' '; j++) {
                if (o + 1 >= outlen)
                    return -1;
                out[o++] = v[j];
            }
        }
        out[o] = '\0';
        if (memchr(out, '\0', o) != NULL)
            return -1;
        return 1;
    }
    return 0;
}

/* Parse the header block [h, h+len) of one part. */
static ad_status part_headers(const char *h, size_t len, ad_multipart_part *p, ad_err *err)
{
    int disposition = 0;
    while (len > 0) {
        const char *eol = memchr(h, '\r', len);
        if (eol == NULL || (size_t)(eol - h) + 1 >= len || eol[1] != '\n')
            return ad_err_set(err, AD_EINVAL, "part header line not ended by CRLF");
        size_t ll = (size_t)(eol - h);
        const char *colon = memchr(h, ':', ll);
        if (colon == NULL)
            return ad_err_set(err, AD_EINVAL, "part header without ':'");
        size_t nl = (size_t)(colon - h);
        const char *v = colon + 1;
        size_t vl = ll - nl - 1;
        while (vl > 0 && (*v == ' ' || *v == '\t'))
            v++, vl--;
        if (nl == 19 && strncasecmp(h, "Content-Disposition", 19) == 0) {
            if (vl < 9 || strncasecmp(v, "form-data", 9) != 0)
                return ad_err_set(err, AD_EINVAL, "part disposition is not form-data");
            if (disposition_param(v, vl, "name", p->name, sizeof p->name) != 1 || p->name[0] == '\0')
                return ad_err_set(err, AD_EINVAL, "part without a valid name");
            int f = disposition_param(v, vl, "filename", p->filename, sizeof p->filename);
            if (f < 0)
                return ad_err_set(err, AD_EINVAL, "part filename malformed or longer than 255 bytes");
            p->has_filename = f == 1;
            disposition = 1;
        } else if (nl == 12 && strncasecmp(h, "Content-Type", 12) == 0) {
            if (vl == 0 || vl >= sizeof p->content_type)
                return ad_err_set(err, AD_EINVAL, "part Content-Type empty or too long");
            memcpy(p->content_type, v, vl);
            p->content_type[vl] = '\0';
        }
        h = eol + 2;
        len -= ll + 2;
    }
    if (!disposition)
        return ad_err_set(err, AD_EINVAL, "part without Content-Disposition");
    return AD_OK;
}

/* Longest block of part headers accepted. */
#define MAX_HEADERS 8192

typedef enum { PREAMBLE, AFTER_DELIM, HEADERS, DATA, DONE, FAILED } state_t;

struct ad_multipart {
    const ad_multipart_callbacks *cb;
    void *ctx;
    char delim[80]; /* "\r\n--boundary" */
    size_t dl;
    int max_parts, parts;
    int at_start; /* nothing consumed yet: the first delimiter may lack its CRLF */
    state_t state;
    ad_status failed;
    char failed_msg[256];
    /* unconsumed bytes: at most MAX_HEADERS + a delimiter */
    char buf[MAX_HEADERS + 160];
    size_t len;
};

ad_status ad_multipart_new(const char *boundary, int max_parts, const ad_multipart_callbacks *cb, void *ctx,
                           ad_multipart **out, ad_err *err)
{
    size_t bl = strlen(boundary);
    *out = NULL;
    if (bl < 1 || bl > 70)
        return ad_err_set(err, AD_EINVAL, "bad boundary");
    ad_multipart *m = calloc(1, sizeof *m);
    if (m == NULL)
        return ad_err_set(err, AD_ENOMEM, "out of memory");
    m->cb = cb;
    m->ctx = ctx;
    m->dl = (size_t)snprintf(m->delim, sizeof m->delim, "\r\n--%s", boundary);
    m->max_parts = max_parts;
    m->at_start = 1;
    m->state = PREAMBLE;
    *out = m;
    return AD_OK;
}

void ad_multipart_free(ad_multipart *m) { free(m); }

static ad_status fail(ad_multipart *m, ad_err *err, ad_status st, const char *msg)
{
    m->state = FAILED;
    m->failed = st;
    snprintf(m->failed_msg, sizeof m->failed_msg, "%s", msg);
    return ad_err_set(err, st, "%s", msg);
}

static void consume(ad_multipart *m, size_t n)
{
    memmove(m->buf, m->buf + n, m->len - n);
    m->len -= n;
    m->at_start = 0;
}

/* Take as much of the buffer as the current state can; returns AD_OK with
 * *more set when it needs more input. */
static ad_status step(ad_multipart *m, int *more, ad_err *err)
{
    const size_t dl = m->dl;
    *more = 0;
    switch (m->state) {
    case PREAMBLE: {
        if (m->at_start) {
            size_t n = m->len < dl - 2 ? m->len : dl - 2;
            if (memcmp(m->buf, m->delim + 2, n) == 0) {
                if (n < dl - 2) {
                    *more = 1;
                    return AD_OK;
                }
                consume(m, dl - 2);
                m->state = AFTER_DELIM;
                return AD_OK;
            }
        }
        const char *d = memmem(m->buf, m->len, m->delim, dl);
        if (d) {
            consume(m, (size_t)(d - m->buf) + dl);
            m->state = AFTER_DELIM;
            return AD_OK;
        }
        /* a preamble: drop it, keeping what may begin a delimiter */
        if (m->len > dl - 1)
            consume(m, m->len - (dl - 1));
        *more = 1;
        return AD_OK;
    }
    case AFTER_DELIM: {
        if (m->len < 2) {
            *more = 1;
            return AD_OK;
        }
        if (m->buf[0] == '-' && m->buf[1] == '-') {
            m->state = DONE; /* the epilogue is ignored */
            m->len = 0;
            return AD_OK;
        }
        size_t i = 0;
        while (i < m->len && (m->buf[i] == ' ' || m->buf[i] == '\t'))
            i++;
        if (i > 64)
            return fail(m, err, AD_EINVAL, "multipart delimiter not followed by CRLF");
        if (m->len - i < 2) {
            *more = 1;
            return AD_OK;
        }
        if (m->buf[i] != '\r' || m->buf[i + 1] != '\n')
            return fail(m, err, AD_EINVAL, "multipart delimiter not followed by CRLF");
        consume(m, i + 2);
        m->state = HEADERS;
        return AD_OK;
    }
    case HEADERS: {
        size_t hlen;
        if (m->len >= 2 && m->buf[0] == '\r' && m->buf[1] == '\n') {
            hlen = 0; /* no headers */
        } else {
            const char *e = memmem(m->buf, m->len, "\r\n\r\n", 4);
            if (e == NULL) {
                if (m->len >= MAX_HEADERS)
                    return fail(m, err, AD_ETOOBIG, "part headers longer than 8192 bytes");
                *more = 1;
                return AD_OK;
            }
            hlen = (size_t)(e - m->buf) + 2;
        }
        if (m->parts >= m->max_parts) {
            char msg[64];
            snprintf(msg, sizeof msg, "more than %d parts", m->max_parts);
            return fail(m, err, AD_ETOOBIG, msg);
        }
        ad_multipart_part part;
        memset(&part, 0, sizeof part);
        ad_err perr = AD_ERR_INIT;
        ad_status rc = part_headers(m->buf, hlen, &part, &perr);
        if (rc != AD_OK)
            return fail(m, err, rc, perr.msg);
        m->parts++;
        consume(m, hlen + 2);
        m->state = DATA;
        ad_err cerr = AD_ERR_INIT;
        if (m->cb->begin && (rc = m->cb->begin(m->ctx, &part, &cerr)) != AD_OK)
            return fail(m, err, rc, cerr.msg[0] ? cerr.msg : "refused");
        return AD_OK;
    }
    case DATA: {
        const char *d = memmem(m->buf, m->len, m->delim, dl);
        size_t n = d ? (size_t)(d - m->buf) : (m->len > dl - 1 ? m->len - (dl - 1) : 0);
        ad_status rc;
        ad_err cerr = AD_ERR_INIT;
        if (n > 0 && m->cb->data && (rc = m->cb->data(m->ctx, m->buf, n, &cerr)) != AD_OK)
            return fail(m, err, rc, cerr.msg[0] ? cerr.msg : "refused");
        if (d == NULL) {
            consume(m, n);
            *more = 1;
            return AD_OK;
        }
        consume(m, n + dl);
        m->state = AFTER_DELIM;
        if (m->cb->end && (rc = m->cb->end(m->ctx, &cerr)) != AD_OK)
            return fail(m, err, rc, cerr.msg[0] ? cerr.msg : "refused");
        return AD_OK;
    }
    case DONE:
        m->len = 0;
        *more = 1;
        return AD_OK;
    case FAILED:
        return ad_err_set(err, m->failed, "%s", m->failed_msg);
    }
    return AD_OK;
}

ad_status ad_multipart_feed(ad_multipart *m, const char *data, size_t len, ad_err *err)
{
    if (m->state == FAILED)
        return ad_err_set(err, m->failed, "%s", m->failed_msg);
    while (len > 0) {
        size_t room = sizeof m->buf - m->len;
        size_t n = len < room ? len : room;
        if (m->state == DONE)
            return AD_OK;
        memcpy(m->buf + m->len, data, n);
        m->len += n;
        data += n;
        len -= n;
        for (int more = 0; !more;) {
            ad_status rc = step(m, &more, err);
            if (rc != AD_OK)
                return rc;
        }
    }
    return AD_OK;
}

ad_status ad_multipart_finish(ad_multipart *m, ad_err *err)
{
    switch (m->state) {
    case DONE:
        return AD_OK;
    case FAILED:
        return ad_err_set(err, m->failed, "%s", m->failed_msg);
    case PREAMBLE:
        return fail(m, err, AD_EINVAL, "no multipart delimiter in the body");
    case HEADERS:
        return fail(m, err, AD_EINVAL, "part headers not terminated");
    case DATA:
        return fail(m, err, AD_EINVAL, "part not closed by a delimiter (truncated body?)");
    default:
        return fail(m, err, AD_EINVAL, "multipart delimiter not followed by CRLF");
    }
}
