/* fetch.h — a URL fetched on a user's behalf (remove.bg's image_url): GET,
 * http(s) only, through net/guard.h (every address connected to, on every
 * redirect, checked), at most max bytes (the transfer stops the moment it
 * goes over) and timeout_ms in all. */
#ifndef AD_NET_FETCH_H
#define AD_NET_FETCH_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "net/guard.h"

/* *out (malloc'd, caller frees) gets the body. Errors, each with a
 * sentence: AD_EINVAL (the URL, or an address refused), AD_ETOOBIG (over
 * max), AD_ETIMEOUT, AD_EIO (no connection, or a status other than 2xx),
 * AD_ENOMEM. Up to 5 redirects are followed, each checked. */
ad_status ad_fetch_url(const char *url, const ad_guard_policy *policy, size_t max, int64_t timeout_ms, void **out,
                       size_t *len, ad_err *err);

#endif
