/* multipart.c — see multipart.h. */
#include "http/multipart.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
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

ad_status ad_multipart_parse(const char *boundary, const char *body, size_t len, ad_multipart_part *parts, int max,
                             int *n, ad_err *err)
{
    char delim[80];
    size_t bl = strlen(boundary);
    *n = 0;
    if (bl < 1 || bl > 70)
        return ad_err_set(err, AD_EINVAL, "bad boundary");
    /* "\r\n--boundary"; the first delimiter may start the body without CRLF */
    int dl = snprintf(delim, sizeof delim, "\r\n--%s", boundary);
    const char *end = body + len;
    const char *p;
    if (len >= (size_t)dl - 2 && memcmp(body, delim + 2, (size_t)dl - 2) == 0)
        p = body + dl - 2;
    else if ((p = memmem(body, len, delim, (size_t)dl)) != NULL)
        p += dl; /* after a preamble */
    else
        return ad_err_set(err, AD_EINVAL, "no multipart delimiter in the body");
    for (;;) {
        /* after a delimiter: "--" closes, CRLF opens a part */
        if (end - p >= 2 && p[0] == '-' && p[1] == '-')
            return AD_OK; /* the epilogue is ignored */
        while (p < end && (*p == ' ' || *p == '\t'))
            p++;
        if (end - p < 2 || p[0] != '\r' || p[1] != '\n')
            return ad_err_set(err, AD_EINVAL, "multipart delimiter not followed by CRLF");
        p += 2;
        if (*n >= max)
            return ad_err_set(err, AD_ETOOBIG, "more than %d parts", max);
        ad_multipart_part *part = &parts[*n];
        memset(part, 0, sizeof *part);
        const char *hend;
        if (end - p >= 2 && p[0] == '\r' && p[1] == '\n')
            hend = p; /* no headers */
        else if ((hend = memmem(p, (size_t)(end - p), "\r\n\r\n", 4)) != NULL)
            hend += 2;
        else
            return ad_err_set(err, AD_EINVAL, "part headers not terminated");
        ad_status rc = part_headers(p, (size_t)(hend - p), part, err);
        if (rc != AD_OK)
            return rc;
        const char *data = hend + 2;
        const char *next = memmem(data, (size_t)(end - data), delim, (size_t)dl);
        if (next == NULL)
            return ad_err_set(err, AD_EINVAL, "part not closed by a delimiter (truncated body?)");
        part->data = data;
        part->len = (size_t)(next - data);
        (*n)++;
        p = next + dl;
    }
}
