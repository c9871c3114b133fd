/* guard.h — where a request the server makes on a user's behalf (webhook
 * deliveries; later, images fetched by URL) may go. Refused by default:
 * loopback, private (RFC 1918, unique local, carrier-grade NAT),
 * link-local (and so the cloud metadata address 169.254.169.254),
 * multicast, unspecified, broadcast and reserved addresses, in IPv4 and
 * IPv6 (v4-mapped addresses are judged as IPv4); allowed only by
 * --allow-private-urls (on: all of them; or a list of the networks an
 * operator trusts, "10.0.0.0/8,fd00::/8"), one setting for every such
 * request.
 *
 * The check is made twice: on the URL's name when it is given (every
 * address it resolves to), and on the address each connection is about to
 * use (ad_guard_curl), so a name that resolves elsewhere later (DNS
 * rebinding) is still refused. Redirects are never followed. */
#ifndef AD_NET_GUARD_H
#define AD_NET_GUARD_H

#include <curl/curl.h>
#include <sys/socket.h>

#include "base/err.h"

#define AD_GUARD_NETS 16

/* Which private addresses are allowed after all. */
typedef struct {
    int all; /* every one ("on") */
    int n;
    struct {
        int family; /* AF_INET, AF_INET6 */
        unsigned char addr[16];
        int prefix; /* bits */
    } nets[AD_GUARD_NETS];
} ad_guard_policy;

/* "off" (or ""), "on", or a comma-separated list of addresses and
 * networks (CIDR) into p. AD_EINVAL naming what does not parse. */
ad_status ad_guard_policy_parse(const char *text, ad_guard_policy *p, ad_err *err);

/* 1 when a request may reach sa (p may be NULL: the default, none
 * allowed); else 0 with what it is in why (static). */
int ad_guard_addr_ok(const struct sockaddr *sa, const ad_guard_policy *p, const char **why);

/* A URL a user gives: http or https, a host, no user:password, at most
 * 2048 bytes, and every address its host resolves to allowed. AD_EINVAL
 * with a sentence saying why. */
ad_status ad_guard_check_url(const char *url, const ad_guard_policy *p, ad_err *err);

/* What ad_guard_curl's check remembers of a refused connection. */
typedef struct {
    const ad_guard_policy *policy; /* lent */
    char refused[96];              /* "" when none was: else the address and why */
} ad_guard_state;

/* Set up an easy handle for such a request: http and https only, no
 * redirects, no proxy from the environment, and every connection's
 * address checked as it opens (st is lent for the handle's transfers). */
void ad_guard_curl(CURL *h, ad_guard_state *st);

#endif
