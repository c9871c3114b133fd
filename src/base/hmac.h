/* hmac.h — HMAC-SHA256 and a constant-time compare, from libcrypto (already
 * in the process through libcurl): what signs and verifies delivery URLs. */
#ifndef AD_BASE_HMAC_H
#define AD_BASE_HMAC_H

#include <stddef.h>
#include <stdint.h>

void ad_hmac_sha256(const void *key, size_t key_len, const void *data, size_t len, uint8_t out[32]);

/* 1 when the n bytes at a and b are equal, in a time that does not depend
 * on where they differ. */
int ad_ct_equal(const void *a, const void *b, size_t n);

/* n random bytes from the kernel's generator; 0 on failure. */
int ad_random_bytes(void *buf, size_t n);

#endif
