/* zip.c — stored ZIP archives (APPNOTE.TXT 6.3: local headers, the data,
 * the central directory, its end record; no compression, no ZIP64). */
#include "base/zip.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

static uint8_t *le16(uint8_t *p, unsigned v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    return p + 2;
}

static uint8_t *le32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
    return p + 4;
}

ad_status ad_zip_store(const ad_zip_entry *e, int n, void **out, size_t *len, ad_err *err)
{
    *out = NULL;
    *len = 0;
    size_t total = 22;
    for (int i = 0; i < n; i++) {
        size_t nl = strlen(e[i].name);
        if (nl == 0 || nl > 255 || e[i].len >= 0xffffffffu)
            return ad_err_set(err, AD_EINVAL, "a ZIP entry is too large or badly named");
        total += 30 + nl + e[i].len + 46 + nl;
    }
    if (total >= 0xffffffffu)
        return ad_err_set(err, AD_ETOOBIG, "the ZIP archive would be larger than 4 GiB");
    uint8_t *buf = malloc(total), *p = buf;
    uint32_t *offsets = calloc((size_t)n + 1, sizeof *offsets), *crcs = calloc((size_t)n + 1, sizeof *crcs);
    if (buf == NULL || offsets == NULL || crcs == NULL) {
        free(buf), free(offsets), free(crcs);
        return ad_err_set(err, AD_ENOMEM, "out of memory");
    }
    /* 1980-01-01 00:00, a fixed time: the same input makes the same bytes */
    const unsigned dos_time = 0, dos_date = (0 << 9) | (1 << 5) | 1;
    for (int i = 0; i < n; i++) {
        unsigned nl = (unsigned)strlen(e[i].name);
        offsets[i] = (uint32_t)(p - buf);
        crcs[i] = (uint32_t)crc32(crc32(0L, Z_NULL, 0), e[i].data, (uInt)e[i].len);
        p = le32(p, 0x04034b50);
        p = le16(p, 10); /* version needed: 1.0 */
        p = le16(p, 0);  /* flags */
        p = le16(p, 0);  /* stored */
        p = le16(p, dos_time);
        p = le16(p, dos_date);
        p = le32(p, crcs[i]);
        p = le32(p, (uint32_t)e[i].len);
        p = le32(p, (uint32_t)e[i].len);
        p = le16(p, nl);
        p = le16(p, 0);
        memcpy(p, e[i].name, nl);
        p += nl;
        if (e[i].len)
            memcpy(p, e[i].data, e[i].len);
        p += e[i].len;
    }
    uint32_t cd = (uint32_t)(p - buf);
    for (int i = 0; i < n; i++) {
        unsigned nl = (unsigned)strlen(e[i].name);
        p = le32(p, 0x02014b50);
        p = le16(p, 20); /* made by: 2.0 */
        p = le16(p, 10);
        p = le16(p, 0);
        p = le16(p, 0);
        p = le16(p, dos_time);
        p = le16(p, dos_date);
        p = le32(p, crcs[i]);
        p = le32(p, (uint32_t)e[i].len);
        p = le32(p, (uint32_t)e[i].len);
        p = le16(p, nl);
        p = le16(p, 0); /* extra */
        p = le16(p, 0); /* comment */
        p = le16(p, 0); /* disk */
        p = le16(p, 0); /* internal attributes */
        p = le32(p, 0); /* external attributes */
        p = le32(p, offsets[i]);
        memcpy(p, e[i].name, nl);
        p += nl;
    }
    uint32_t cd_len = (uint32_t)(p - buf) - cd;
    p = le32(p, 0x06054b50);
    p = le16(p, 0);
    p = le16(p, 0);
    p = le16(p, (unsigned)n);
    p = le16(p, (unsigned)n);
    p = le32(p, cd_len);
    p = le32(p, cd);
    p = le16(p, 0);
    free(offsets);
    free(crcs);
    *out = buf;
    *len = (size_t)(p - buf);
    return AD_OK;
}
