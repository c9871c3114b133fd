/* id.h — identifiers: 128 random bits as 32 lowercase hex characters. Every
 * id from the network is checked with ad_id_valid before it reaches a path
 * or a query. */
#ifndef AD_BASE_ID_H
#define AD_BASE_ID_H

#include <stddef.h>

#include "base/err.h"

#define AD_ID_LEN 32

/* Fill out (AD_ID_LEN + 1 bytes) with a new random id. AD_EIO if the kernel's
 * random source fails. */
ad_status ad_id_new(char out[AD_ID_LEN + 1], ad_err *err);

/* 1 when s is exactly AD_ID_LEN lowercase hex characters. */
int ad_id_valid(const char *s);

/* 1 when s is 64 lowercase hex characters (a SHA-256). */
int ad_sha256_valid(const char *s);

/* Current UTC time as RFC 3339 with milliseconds ("2026-11-25T10:00:00.123Z")
 * into out[32]. */
void ad_time_rfc3339(char out[32]);

#endif
