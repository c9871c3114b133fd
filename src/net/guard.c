/* guard.c — where outbound requests may go. See guard.h. */
#include "net/guard.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int v4_ok(uint32_t a, const char **why)
{
    static const struct {
        uint32_t net, mask;
        const char *what;
    } refused[] = {
        {0x00000000, 0xff000000, "an unspecified address"},           /* 0.0.0.0/8 */
        {0x0a000000, 0xff000000, "a private address"},                /* 10/8 */
        {0x64400000, 0xffc00000, "a private address"},                /* 100.64/10 (carrier-grade NAT) */
        {0x7f000000, 0xff000000, "a loopback address"},               /* 127/8 */
        {0xa9fe0000, 0xffff0000, "a link-local or metadata address"}, /* 169.254/16 */
        {0xac100000, 0xfff00000, "a private address"},                /* 172.16/12 */
        {0xc0000000, 0xffffff00, "a reserved address"},               /* 192.0.0/24 */
        {0xc0a80000, 0xffff0000, "a private address"},                /* 192.168/16 */
        {0xc6120000, 0xfffe0000, "a reserved address"},               /* 198.18/15 (benchmarking) */
        {0xe0000000, 0xf0000000, "a multicast address"},              /* 224/4 */
        {0xf0000000, 0xf0000000, "a reserved or broadcast address"},  /* 240/4 */
    };
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++)
        if ((a & refused[i].mask) == refused[i].net) {
            *why = refused[i].what;
            return 0;
        }
    return 1;
}

ad_status ad_guard_policy_parse(const char *text, ad_guard_policy *p, ad_err *err)
{
    memset(p, 0, sizeof *p);
    if (text == NULL || *text == '\0' || strcmp(text, "off") == 0 || strcmp(text, "0") == 0)
        return AD_OK;
    if (strcmp(text, "on") == 0 || strcmp(text, "1") == 0) {
        p->all = 1;
        return AD_OK;
    }
    char buf[1024];
    snprintf(buf, sizeof buf, "%s", text);
    for (char *save = NULL, *t = strtok_r(buf, ", ", &save); t; t = strtok_r(NULL, ", ", &save)) {
        if (p->n == AD_GUARD_NETS)
            return ad_err_set(err, AD_EINVAL, "allow_private_urls: at most %d networks", AD_GUARD_NETS);
        char *slash = strchr(t, '/');
        if (slash)
            *slash = '\0';
        int family = strchr(t, ':') ? AF_INET6 : AF_INET, max = family == AF_INET ? 32 : 128;
        int prefix = max;
        if (slash) {
            char *end;
            long v = strtol(slash + 1, &end, 10);
            if (*end || end == slash + 1 || v < 0 || v > max)
                return ad_err_set(err, AD_EINVAL, "allow_private_urls: '%s/%s' is not a network", t, slash + 1);
            prefix = (int)v;
        }
        if (inet_pton(family, t, p->nets[p->n].addr) != 1)
            return ad_err_set(err, AD_EINVAL,
                              "allow_private_urls: '%s' is not on, off or an address or network (10.0.0.0/8)", t);
        p->nets[p->n].family = family;
        p->nets[p->n].prefix = prefix;
        p->n++;
    }
    return AD_OK;
}

static int in_net(const unsigned char *a, const unsigned char *net, int prefix)
{
    for (int i = 0; prefix > 0; i++, prefix -= 8) {
        unsigned char mask = prefix >= 8 ? 0xff : (unsigned char)(0xff << (8 - prefix));
        if ((a[i] & mask) != (net[i] & mask))
            return 0;
    }
    return 1;
}

/* The operator trusts sa's network. */
static int trusted(const struct sockaddr *sa, const ad_guard_policy *p)
{
    if (p == NULL)
        return 0;
    if (p->all)
        return 1;
    const unsigned char *a = sa->sa_family == AF_INET
                                 ? (const unsigned char *)&((const struct sockaddr_in *)sa)->sin_addr
                                 : ((const struct sockaddr_in6 *)sa)->sin6_addr.s6_addr;
    for (int i = 0; i < p->n; i++)
        if (p->nets[i].family == sa->sa_family && in_net(a, p->nets[i].addr, p->nets[i].prefix))
            return 1;
    return 0;
}

static int addr_ok(const struct sockaddr *sa, const char **why);

int ad_guard_addr_ok(const struct sockaddr *sa, const ad_guard_policy *p, const char **why)
{
    *why = "";
    return addr_ok(sa, why) || (sa->sa_family != AF_INET && sa->sa_family != AF_INET6 ? 0 : trusted(sa, p));
}

static int addr_ok(const struct sockaddr *sa, const char **why)
{
    *why = "";
    if (sa->sa_family == AF_INET)
        return v4_ok(ntohl(((const struct sockaddr_in *)sa)->sin_addr.s_addr), why);
    if (sa->sa_family != AF_INET6) {
        *why = "not an internet address";
        return 0;
    }
    const uint8_t *b = ((const struct sockaddr_in6 *)sa)->sin6_addr.s6_addr;
    static const uint8_t zero[16] = {0};
    /* ::ffff:a.b.c.d and the NAT64 prefix 64:ff9b::/96 carry IPv4 */
    static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    static const uint8_t nat64[12] = {0, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0};
    if (memcmp(b, mapped, 12) == 0 || memcmp(b, nat64, 12) == 0)
        return v4_ok((uint32_t)b[12] << 24 | (uint32_t)b[13] << 16 | (uint32_t)b[14] << 8 | b[15], why);
    if (memcmp(b, zero, 15) == 0 && (b[15] == 0 || b[15] == 1)) {
        *why = b[15] ? "a loopback address" : "an unspecified address";
        return 0;
    }
    if (memcmp(b, zero, 12) == 0) { /* IPv4-compatible (deprecated) */
        *why = "a reserved address";
        return 0;
    }
    if ((b[0] & 0xfe) == 0xfc) {
        *why = "a private address"; /* fc00::/7, AWS's metadata fd00:ec2::254 too */
        return 0;
    }
    if (b[0] == 0xfe && (b[1] & 0xc0) == 0x80) {
        *why = "a link-local address";
        return 0;
    }
    if (b[0] == 0xff) {
        *why = "a multicast address";
        return 0;
    }
    return 1;
}

static void addr_text(const struct sockaddr *sa, char *buf, size_t len)
{
    const void *a = sa->sa_family == AF_INET ? (const void *)&((const struct sockaddr_in *)sa)->sin_addr
                                             : (const void *)&((const struct sockaddr_in6 *)sa)->sin6_addr;
    if (inet_ntop(sa->sa_family, a, buf, (socklen_t)len) == NULL)
        snprintf(buf, len, "?");
}

ad_status ad_guard_check_url(const char *url, const ad_guard_policy *p, ad_err *err)
{
    if (url == NULL || strlen(url) > 2048)
        return ad_err_set(err, AD_EINVAL, "must be an http(s) URL of at most 2048 bytes");
    CURLU *u = curl_url();
    char *scheme = NULL, *host = NULL, *user = NULL;
    ad_status rc = AD_OK;
    if (u == NULL)
        return ad_err_set(err, AD_ENOMEM, "out of memory");
    if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK || host[0] == '\0') {
        rc = ad_err_set(err, AD_EINVAL, "must be an absolute http(s) URL with a host");
        goto out;
    }
    if (strcmp(scheme, "http") != 0 && strcmp(scheme, "https") != 0) {
        rc = ad_err_set(err, AD_EINVAL, "must be an http or https URL (not %s)", scheme);
        goto out;
    }
    if (curl_url_get(u, CURLUPART_USER, &user, 0) == CURLUE_OK) {
        rc = ad_err_set(err, AD_EINVAL, "must not carry a user name or password");
        goto out;
    }
    for (const char *c = url; *c; c++)
        if ((unsigned char)*c <= ' ' || *c == 0x7f) {
            rc = ad_err_set(err, AD_EINVAL, "must not contain spaces or control characters");
            goto out;
        }
    if (p && p->all)
        goto out;
    /* the host as curl will connect to it: "[::1]" is ::1 */
    char name[256];
    size_t hl = strlen(host);
    if (hl >= 2 && host[0] == '[' && host[hl - 1] == ']')
        snprintf(name, sizeof name, "%.*s", (int)(hl - 2), host + 1);
    else
        snprintf(name, sizeof name, "%s", host);
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *res = NULL;
    int g = getaddrinfo(name, NULL, &hints, &res);
    if (g != 0) {
        rc = ad_err_set(err, AD_EINVAL, "its host %s does not resolve (%s)", name, gai_strerror(g));
        goto out;
    }
    for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
        const char *why;
        if (!ad_guard_addr_ok(ai->ai_addr, p, &why)) {
            char at[64];
            addr_text(ai->ai_addr, at, sizeof at);
            rc =
                ad_err_set(err, AD_EINVAL, "its host %s resolves to %s, %s (allowed only with --allow-private-urls on)",
                           name, at, why);
            break;
        }
    }
    freeaddrinfo(res);
out:
    curl_free(scheme);
    curl_free(host);
    curl_free(user);
    curl_url_cleanup(u);
    return rc;
}

static curl_socket_t open_checked(void *ctx, curlsocktype purpose, struct curl_sockaddr *a)
{
    ad_guard_state *st = ctx;
    const char *why;
    (void)purpose;
    if (!ad_guard_addr_ok(&a->addr, st->policy, &why)) {
        char at[64];
        addr_text(&a->addr, at, sizeof at);
        snprintf(st->refused, sizeof st->refused, "%s is %s", at, why);
        return CURL_SOCKET_BAD;
    }
    return socket(a->family, a->socktype, a->protocol);
}

void ad_guard_curl(CURL *h, ad_guard_state *st)
{
    st->refused[0] = '\0';
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(h, CURLOPT_NOPROXY, "*");
    curl_easy_setopt(h, CURLOPT_OPENSOCKETFUNCTION, open_checked);
    curl_easy_setopt(h, CURLOPT_OPENSOCKETDATA, st);
}
