/* head.c — see head.h. */
#include "http/head.h"

#include <string.h>
#include <strings.h>

#include "base/hex.h"

/* RFC 9110 5.6.2: the characters of a token (method, field name). */
static int is_tchar(unsigned char c)
{
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
        return 1;
    return c != 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

size_t ad_http_head_len(const char *buf, size_t len, size_t *scanned)
{
    size_t i = *scanned > 3 ? *scanned - 3 : 0;
    for (; i < len; i++) {
        const char *p = memchr(buf + i, '\n', len - i);
        if (p == NULL)
            break;
        i = (size_t)(p - buf);
        /* a bare LF ends the head here, for ad_http_head_parse to refuse
         * at once: waiting for a CRLF CRLF that a client using LF alone
         * never sends would hold the connection to the idle timeout */
        if (i == 0 || buf[i - 1] != '\r')
            return i + 1;
        if (i >= 3 && memcmp(buf + i - 3, "\r\n\r\n", 4) == 0)
            return i + 1;
    }
    *scanned = len;
    return 0;
}

/* Why a head is refused: set the answer and return AD_HEAD_REFUSED. */
static ad_head_result refuse(int *status, const char **code, const char **message, int s, const char *c, const char *m)
{
    *status = s;
    *code = c;
    *message = m;
    return AD_HEAD_REFUSED;
}
#define REFUSE(s, c, m) refuse(status, code, message, s, c, m)

/* Trim optional white space (SP, HTAB) from both ends of [*b, e), in place. */
static char *trim(char *b, char *e)
{
    while (b < e && (*b == ' ' || *b == '\t'))
        b++;
    while (e > b && (e[-1] == ' ' || e[-1] == '\t'))
        e--;
    *e = '\0';
    return b;
}

/* 1 when the comma-separated list v holds token t (case-insensitive). */
static int list_has(const char *v, const char *t)
{
    size_t n = strlen(t);
    while (*v) {
        while (*v == ' ' || *v == '\t' || *v == ',')
            v++;
        const char *e = v;
        while (*e && *e != ',')
            e++;
        const char *end = e;
        while (end > v && (end[-1] == ' ' || end[-1] == '\t'))
            end--;
        if ((size_t)(end - v) == n && strncasecmp(v, t, n) == 0)
            return 1;
        v = e;
    }
    return 0;
}

/* RFC 9110 7.2 / RFC 3986 3.2.2: Host = uri-host [ ":" port ], a reg-name
 * (unreserved, sub-delims, pct-encoded), an IPv4 or a bracketed IPv6
 * literal. Not empty. */
static int host_ok(const char *v)
{
    const char *p = v;
    if (*p == '[') {
        p = strchr(p, ']');
        if (p == NULL || p == v + 1 || strspn(v + 1, "0123456789abcdefABCDEF:.") != (size_t)(p - v - 1))
            return 0;
        p++;
    } else {
        p += strspn(p, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~!$&'()*+,;=%");
        if (p == v)
            return 0;
    }
    if (*p == ':')
        p += 1 + strspn(p + 1, "0123456789");
    return *p == '\0';
}

/* The request line "METHOD SP target SP HTTP/1.x", NUL-terminated at its
 * CR. */
static ad_head_result parse_request_line(char *line, ad_http_head *out, int *status, const char **code,
                                         const char **message)
{
    char *p = line;
    out->method = p;
    /* methods are upper-case letters (with '_' and '-', as nginx takes
     * them): "get" or "PO0T" is no method a front end would pass on */
    while ((*p >= 'A' && *p <= 'Z') || *p == '_' || *p == '-')
        p++;
    if (p == line || *p != ' ' || p - line > 32)
        return REFUSE(400, "bad_request", "malformed request line: no method");
    *p++ = '\0';
    out->target = p;
    while ((unsigned char)*p > 0x20 && (unsigned char)*p < 0x7f)
        p++;
    if (p == out->target || *p != ' ')
        return REFUSE(400, "bad_request", "malformed request line: no request target");
    *p++ = '\0';
    /* the absolute form (RFC 9112 3.2.2: a server must accept it) is read
     * as the path it names; "*" and the authority form serve nothing here */
    if (strncasecmp(out->target, "http://", 7) == 0 || strncasecmp(out->target, "https://", 8) == 0) {
        char *auth = strstr(out->target, "://") + 3, *slash = strchr(auth, '/');
        if (auth[0] == '/' || auth[0] == '\0' || (slash == NULL && strchr(auth, '?')))
            return REFUSE(400, "bad_request", "malformed absolute request target");
        if (slash == NULL) { /* "http://host": the root; the host's bytes hold "/" */
            auth[-1] = '/';
            auth[0] = '\0';
            out->target = auth - 1;
        } else {
            out->target = slash;
        }
    }
    if (out->target[0] != '/')
        return REFUSE(400, "bad_request", "the request target must be a path starting with '/'");
    if (strncmp(p, "HTTP/", 5) != 0 || p[5] < '0' || p[5] > '9' || p[6] != '.' || p[7] < '0' || p[7] > '9' ||
        p[8] != '\0')
        return REFUSE(400, "bad_request", "malformed request line: no HTTP version");
    if (p[5] != '1' || p[7] > '1')
        return REFUSE(505, "http_version_not_supported", "only HTTP/1.0 and HTTP/1.1 are served");
    out->minor = p[7] - '0';
    return AD_HEAD_OK;
}

/* Content-Length: digits only; a value past 2^63 cannot be any body this
 * server takes. */
static ad_head_result parse_length(const char *v, ad_http_head *out, int *status, const char **code,
                                   const char **message)
{
    uint64_t n = 0;
    if (*v == '\0')
        return REFUSE(400, "invalid_header", "Content-Length is not a valid length");
    for (const char *p = v; *p; p++) {
        if (*p < '0' || *p > '9')
            return REFUSE(400, "invalid_header", "Content-Length is not a valid length");
        if (n > (UINT64_C(1) << 63) / 10)
            return REFUSE(413, "body_too_large", "request body exceeds the configured limit");
        n = n * 10 + (uint64_t)(*p - '0');
    }
    if (n >= UINT64_C(1) << 63)
        return REFUSE(413, "body_too_large", "request body exceeds the configured limit");
    out->length = n;
    return AD_HEAD_OK;
}

ad_head_result ad_http_head_parse(char *buf, size_t len, ad_http_head *out, int *status, const char **code,
                                  const char **message)
{
    memset(out, 0, sizeof *out);
    if (len < 4 || memcmp(buf + len - 4, "\r\n\r\n", 4) != 0)
        return REFUSE(400, "bad_request", "malformed request head");
    /* every line ends in CRLF; a bare CR or LF (or a NUL) anywhere would let
     * a proxy split the lines differently */
    for (size_t i = 0; i < len; i++) {
        if (buf[i] == '\0' || (buf[i] == '\r' && buf[i + 1] != '\n') ||
            (buf[i] == '\n' && (i == 0 || buf[i - 1] != '\r')))
            return REFUSE(400, "bad_request", "malformed request head: a bare CR, LF or NUL");
    }
    char *line = buf, *end = buf + len - 2; /* end: the final CRLF */
    char *cr = memmem(line, (size_t)(buf + len - line), "\r\n", 2);
    *cr = '\0';
    ad_head_result r = parse_request_line(line, out, status, code, message);
    if (r != AD_HEAD_OK)
        return r;
    int hosts = 0, lengths = 0, encodings = 0, authorizations = 0;
    const char *te = NULL, *cl = NULL, *connection = NULL;
    for (line = cr + 2; line < end; line = cr + 2) {
        cr = memmem(line, (size_t)(buf + len - line), "\r\n", 2);
        *cr = '\0';
        if (*line == ' ' || *line == '\t')
            return REFUSE(400, "bad_request", "folded header lines are not accepted");
        char *p = line;
        while (is_tchar((unsigned char)*p))
            p++;
        if (p == line || *p != ':')
            return REFUSE(400, "bad_request", "malformed header field");
        *p = '\0';
        /* a tab around Transfer-Encoding's value is not the chunked nginx
         * reads (501 there): not here either */
        if (strcasecmp(line, "Transfer-Encoding") == 0 && memchr(p + 1, '\t', (size_t)(cr - p - 1)))
            return REFUSE(501, "not_implemented", "the only Transfer-Encoding served is chunked");
        char *value = trim(p + 1, cr);
        for (const char *v = value; *v; v++)
            if (((unsigned char)*v < 0x20 && *v != '\t') || *v == 0x7f)
                return REFUSE(400, "bad_request", "a control character in a header value");
        if (out->n_fields == AD_HTTP_MAX_FIELDS)
            return REFUSE(431, "header_too_large", "more header fields than this server takes");
        out->fields[out->n_fields++] = (ad_http_field){line, value};
        if (strcasecmp(line, "Host") == 0) {
            hosts++;
            if (!host_ok(value))
                return REFUSE(400, "bad_request", "the Host header is empty or not a host[:port]");
        } else if (strcasecmp(line, "Authorization") == 0 && ++authorizations > 1)
            /* which one counts would be anyone's guess: a proxy's may not be ours */
            return REFUSE(400, "bad_request", "more than one Authorization header");
        else if (strcasecmp(line, "Content-Length") == 0)
            lengths++, cl = value;
        else if (strcasecmp(line, "Transfer-Encoding") == 0)
            encodings++, te = value;
        else if (strcasecmp(line, "Connection") == 0)
            connection = value;
        else if (strcasecmp(line, "Expect") == 0 && strcasecmp(value, "100-continue") == 0)
            out->expect_continue = 1;
    }
    if (hosts > 1 || (out->minor == 1 && hosts == 0))
        return REFUSE(400, "bad_request",
                      hosts ? "more than one Host header" : "an HTTP/1.1 request needs a Host header");
    /* one framing only: two lengths, or a length and an encoding, frame the
     * body two ways, and a proxy in front may read it one way and us the
     * other (request smuggling) */
    if (lengths > 1)
        return REFUSE(400, "invalid_header", "more than one Content-Length header");
    if (encodings && (lengths || encodings > 1 || out->minor == 0))
        return REFUSE(400, "invalid_header", "Transfer-Encoding with Content-Length, twice, or in HTTP/1.0");
    if (te) {
        if (strcasecmp(te, "chunked") != 0)
            return REFUSE(501, "not_implemented", "the only Transfer-Encoding served is chunked");
        out->framing = AD_HTTP_BODY_CHUNKED;
    } else if (cl) {
        if ((r = parse_length(cl, out, status, code, message)) != AD_HEAD_OK)
            return r;
        out->framing = out->length ? AD_HTTP_BODY_LENGTH : AD_HTTP_BODY_NONE;
    }
    out->keep_alive = out->minor == 1 ? !(connection && list_has(connection, "close"))
                                      : connection != NULL && list_has(connection, "keep-alive");
    return AD_HEAD_OK;
}

const char *ad_http_head_field(const ad_http_head *h, const char *name)
{
    for (int i = 0; i < h->n_fields; i++)
        if (strcasecmp(h->fields[i].name, name) == 0)
            return h->fields[i].value;
    return NULL;
}

/* ------------------------------------------------------------ chunked */

/* The decoder's states. After a size: BWS, then per extension (RFC 9112
 * 7.1.1) ";" BWS name [BWS "=" BWS (token | quoted-string)] BWS; trailer
 * lines (7.1.2) are fields: a token, ":", a value without control bytes. */
enum {
    C_SIZE,
    C_BWS,       /* whitespace after the size or an extension */
    C_EXT_NAME0, /* after ";": whitespace, then the name's first byte */
    C_EXT_NAME,  /* in the name */
    C_EXT_EQ,    /* after the name: whitespace, "=", ";" or CR */
    C_EXT_VAL0,  /* after "=": whitespace, then a token or a quoted-string */
    C_EXT_TOKEN, /* in a token value */
    C_EXT_QS,    /* in a quoted-string */
    C_EXT_QP,    /* after a backslash in it */
    C_SIZE_LF,
    C_DATA,
    C_DATA_CR,
    C_DATA_LF,
    C_TRAILER,      /* at a trailer line's start (CR: the end) */
    C_TRAILER_NAME, /* in a field name */
    C_TRAILER_VAL,  /* in its value */
    C_TRAILER_LF,
    C_END_LF
};

#define CHUNK_LINE_MAX 4096
#define TRAILER_MAX 16384

ad_chunked_result ad_http_chunked_decode(ad_http_chunked *d, char *in, size_t len, size_t *used, size_t *data_len)
{
    size_t i = 0, out = 0;
    *data_len = 0;
    while (i < len) {
        char c = in[i];
        switch (d->state) {
        case C_SIZE:
            if (ad_hex_value(c) >= 0) {
                if (d->digits == 15) /* 2^60 bytes: absurd, and no overflow */
                    return AD_CHUNKED_ERROR;
                d->left = d->left * 16 + (uint64_t)ad_hex_value(c);
                d->digits++;
                i++;
                break;
            }
            /* after the size only what RFC 9112 allows there: CR, an
             * extension (";"), or the whitespace before one. Anything else
             * ("0x34", "5zz") is refused, as nginx does: a front end that
             * read such a size differently would smuggle a request in the
             * body (issue 30) */
            if (d->digits == 0 || (c != '\r' && c != ';' && c != ' ' && c != '\t'))
                return AD_CHUNKED_ERROR;
            d->state = c == ';' ? C_EXT_NAME0 : c == '\r' ? C_SIZE_LF : C_BWS;
            d->line = 0;
            i++;
            break;
        case C_BWS: /* whitespace, then an extension or the line's end */
        case C_EXT_EQ:
        case C_EXT_NAME0:
        case C_EXT_VAL0:
        case C_EXT_NAME:
        case C_EXT_TOKEN:
        case C_EXT_QS:
        case C_EXT_QP: {
            unsigned char u = (unsigned char)c;
            int ws = c == ' ' || c == '\t', st = d->state;
            if (++d->line > CHUNK_LINE_MAX)
                return AD_CHUNKED_ERROR;
            i++;
            if (st == C_EXT_QS) {
                if (c == '"')
                    d->state = C_BWS;
                else if (c == '\\')
                    d->state = C_EXT_QP;
                else if (!(ws || u == 0x21 || (u >= 0x23 && u != 0x5c && u != 0x7f)))
                    return AD_CHUNKED_ERROR; /* qdtext: no control bytes */
                break;
            }
            if (st == C_EXT_QP) {
                if (!(ws || (u >= 0x21 && u != 0x7f)))
                    return AD_CHUNKED_ERROR;
                d->state = C_EXT_QS;
                break;
            }
            if ((st == C_EXT_NAME || st == C_EXT_TOKEN) && is_tchar(u))
                break;
            if (ws) { /* BWS: wherever whitespace may be, it may go on */
                d->state = st == C_EXT_NAME ? C_EXT_EQ : st == C_EXT_TOKEN ? C_BWS : st;
                break;
            }
            if (st == C_EXT_NAME0 || st == C_EXT_VAL0) {
                if (is_tchar(u))
                    d->state = st == C_EXT_NAME0 ? C_EXT_NAME : C_EXT_TOKEN;
                else if (st == C_EXT_VAL0 && c == '"')
                    d->state = C_EXT_QS;
                else
                    return AD_CHUNKED_ERROR;
                break;
            }
            if (c == '=' && (st == C_EXT_NAME || st == C_EXT_EQ))
                d->state = C_EXT_VAL0;
            else if (c == ';')
                d->state = C_EXT_NAME0;
            else if (c == '\r')
                d->state = C_SIZE_LF;
            else
                return AD_CHUNKED_ERROR;
            break;
        }
        case C_SIZE_LF:
            if (c != '\n')
                return AD_CHUNKED_ERROR;
            i++;
            d->digits = 0;
            d->line = 0;
            d->state = d->left ? C_DATA : C_TRAILER;
            break;
        case C_DATA: {
            size_t n = len - i;
            if ((uint64_t)n > d->left)
                n = (size_t)d->left;
            memmove(in + out, in + i, n);
            out += n;
            i += n;
            d->left -= n;
            if (d->left == 0)
                d->state = C_DATA_CR;
            break;
        }
        case C_DATA_CR:
            if (c != '\r')
                return AD_CHUNKED_ERROR;
            d->state = C_DATA_LF;
            i++;
            break;
        case C_DATA_LF:
            if (c != '\n')
                return AD_CHUNKED_ERROR;
            d->state = C_SIZE;
            i++;
            break;
        case C_TRAILER: /* trailer fields are checked, then dropped */
        case C_TRAILER_NAME:
        case C_TRAILER_VAL: {
            unsigned char u = (unsigned char)c;
            if (++d->trailer > TRAILER_MAX)
                return AD_CHUNKED_ERROR;
            i++;
            if (d->state == C_TRAILER && c == '\r') {
                d->state = C_END_LF;
            } else if (d->state != C_TRAILER_VAL) {
                if (is_tchar(u))
                    d->state = C_TRAILER_NAME;
                else if (c == ':' && d->state == C_TRAILER_NAME)
                    d->state = C_TRAILER_VAL;
                else
                    return AD_CHUNKED_ERROR; /* a line that is no field */
            } else if (c == '\r') {
                d->state = C_TRAILER_LF;
            } else if ((u < 0x20 && c != '\t') || u == 0x7f) {
                return AD_CHUNKED_ERROR;
            }
            break;
        }
        case C_TRAILER_LF:
            if (c != '\n')
                return AD_CHUNKED_ERROR;
            d->line = 0;
            d->state = C_TRAILER;
            i++;
            break;
        case C_END_LF:
            if (c != '\n')
                return AD_CHUNKED_ERROR;
            *used = i + 1;
            *data_len = out;
            return AD_CHUNKED_DONE;
        }
    }
    *used = i;
    *data_len = out;
    return AD_CHUNKED_MORE;
}
