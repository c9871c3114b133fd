/* id.c — see id.h. */
#include "base/id.h"

#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

ad_status ad_id_new(char out[AD_ID_LEN + 1], ad_err *err)
{
    unsigned char r[AD_ID_LEN / 2];
    if (getrandom(r, sizeof r, 0) != (ssize_t)sizeof r)
        return ad_err_set(err, AD_EIO, "no random bytes for an id");
    for (size_t i = 0; i < sizeof r; i++)
        snprintf(out + 2 * i, 3, "%02x", r[i]);
    return AD_OK;
}

static int hex_of_len(const char *s, size_t n)
{
    if (s == NULL)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return 0;
    return s[n] == '\0';
}

int ad_id_valid(const char *s) { return hex_of_len(s, AD_ID_LEN); }
int ad_sha256_valid(const char *s) { return hex_of_len(s, 64); }

void ad_time_rfc3339(char out[32])
{
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    size_t n = strftime(out, 32, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out + n, 32 - n, ".%03dZ", (int)(ts.tv_nsec / 1000000) % 1000);
}
