/* fetch.c — a URL fetched on a user's behalf. See fetch.h. */
#include "net/fetch.h"

#include <curl/curl.h>
#include <stdlib.h>
#include <string.h>

#include "base/version.h"
#include "net/guard.h"

typedef struct {
    char *buf;
    size_t len, max;
    int over;
} sink;

static size_t take(char *p, size_t size, size_t n, void *ctx)
{
    sink *s = ctx;
    size_t k = size * n;
    if (s->len + k > s->max) {
        s->over = 1;
        return 0; /* stops the transfer */
    }
    char *g = realloc(s->buf, s->len + k + 1);
    if (g == NULL)
        return 0;
    memcpy(g + s->len, p, k);
    s->buf = g;
    s->len += k;
    return k;
}

ad_status ad_fetch_url(const char *url, const ad_guard_policy *policy, size_t max, int64_t timeout_ms, void **out,
                       size_t *len, ad_err *err)
{
    *out = NULL;
    *len = 0;
    ad_status rc = ad_guard_check_url(url, policy, err);
    if (rc != AD_OK)
        return rc;
    CURL *h = curl_easy_init();
    if (h == NULL)
        return ad_err_set(err, AD_ENOMEM, "out of memory");
    ad_guard_state guard = {.policy = policy};
    sink s = {.max = max};
    ad_guard_curl(h, &guard);
    /* redirects: followed, each connection checked by the guard */
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(h, CURLOPT_MAXREDIRS, 5L);
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_USERAGENT, "assetd/" AD_VERSION);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)timeout_ms);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, (long)(timeout_ms < 5000 ? timeout_ms : 5000));
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)max);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, take);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &s);
    CURLcode cc = curl_easy_perform(h);
    long status = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    if (guard.refused[0])
        rc = ad_err_set(err, AD_EINVAL, "refused: %s (allowed only with --allow-private-urls on)", guard.refused);
    else if (s.over || cc == CURLE_FILESIZE_EXCEEDED)
        rc = ad_err_set(err, AD_ETOOBIG, "the image at the URL is larger than %zu bytes", max);
    else if (cc == CURLE_OPERATION_TIMEDOUT)
        rc = ad_err_set(err, AD_ETIMEOUT, "the image at the URL did not arrive within %lld ms", (long long)timeout_ms);
    else if (cc == CURLE_TOO_MANY_REDIRECTS)
        rc = ad_err_set(err, AD_EIO, "the URL redirects more than 5 times");
    else if (cc != CURLE_OK)
        rc = ad_err_set(err, AD_EIO, "the URL could not be fetched: %s", curl_easy_strerror(cc));
    else if (status < 200 || status > 299)
        rc = ad_err_set(err, AD_EIO, "the URL answered %ld", status);
    curl_easy_cleanup(h);
    if (rc != AD_OK) {
        free(s.buf);
        return rc;
    }
    *out = s.buf ? s.buf : malloc(1);
    *len = s.len;
    return *out ? AD_OK : ad_err_set(err, AD_ENOMEM, "out of memory");
}
