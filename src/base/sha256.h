/* sha256.h — SHA-256 (FIPS 180-4) for content addresses and API key hashes. */
#ifndef AD_BASE_SHA256_H
#define AD_BASE_SHA256_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    uint32_t h[8];
    uint64_t len; /* bytes */
    uint8_t buf[64];
    size_t fill;
} ad_sha256;

void ad_sha256_init(ad_sha256 *s);
void ad_sha256_update(ad_sha256 *s, const void *data, size_t len);
void ad_sha256_final(ad_sha256 *s, uint8_t out[32]);

/* One-shot digest as 64 lowercase hex characters + NUL. */
void ad_sha256_hex(const void *data, size_t len, char out[65]);

#endif
