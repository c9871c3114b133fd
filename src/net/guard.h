/* guard.h — where a request the server makes on a user's behalf (webhook
 * deliveries; later, images fetched by URL) may go. Refused by default:
 * loopback, private (RFC 1918, unique local, carrier-grade NAT),
 * link-local (and so the cloud metadata address 169.254.169.254),
 * multicast, unspecified, broadcast and reserved addresses, in IPv4 and
 * IPv6 (v4-mapped addresses are judged as IPv4); allowed only with
 * --allow-private-urls on, one setting for every such request.
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

/* 1 when a request may reach sa; else 0 with what it is in why (static). */
int ad_guard_addr_ok(const struct sockaddr *sa, const char **why);

/* A URL a user gives: http or https, a host, no user:password, at most
 * 2048 bytes, and (unless allow_private) every address its host resolves
 * to allowed. AD_EINVAL with a sentence saying why. */
ad_status ad_guard_check_url(const char *url, int allow_private, ad_err *err);

/* What ad_guard_curl's check remembers of a refused connection. */
typedef struct {
    int allow_private;
    char refused[96]; /* "" when none was: else the address and why */
} ad_guard_state;

/* Set up an easy handle for such a request: http and https only, no
 * redirects, no proxy from the environment, and every connection's
 * address checked as it opens (st is lent for the handle's transfers). */
void ad_guard_curl(CURL *h, ad_guard_state *st);

#endif
