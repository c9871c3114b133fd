/* pbwire.c — see pbwire.h. */
#include "base/pbwire.h"

#include <stdlib.h>

int ad_pb_read_varint(ad_pb_reader *r, uint64_t *v)
{
    uint64_t out = 0;
    for (int shift = 0; shift < 64; shift += 7) {
        if (r->p >= r->end)
            return -1;
        uint8_t c = *r->p++;
        out |= (uint64_t)(c & 0x7f) << shift;
        if (c < 0x80) {
            *v = out;
            return 0;
        }
    }
    return -1;
}

int ad_pb_next(ad_pb_reader *r, ad_pb_field *f)
{
    uint64_t key, n;
    if (r->p >= r->end)
        return 0;
    memset(f, 0, sizeof *f);
    f->start = r->p;
    if (ad_pb_read_varint(r, &key) != 0 || (key >> 3) == 0 || (key >> 3) > 0x1fffffff)
        return -1;
    f->field = (uint32_t)(key >> 3);
    f->wire = (int)(key & 7);
    switch (f->wire) {
    case AD_PB_VARINT:
        if (ad_pb_read_varint(r, &f->varint) != 0)
            return -1;
        break;
    case AD_PB_I64:
    case AD_PB_I32:
        n = f->wire == AD_PB_I64 ? 8 : 4;
        goto span;
    case AD_PB_LEN:
        if (ad_pb_read_varint(r, &n) != 0)
            return -1;
    span:
        if (n > (uint64_t)(r->end - r->p))
            return -1;
        f->data = r->p;
        f->len = (size_t)n;
        r->p += n;
        break;
    default: /* groups (3, 4) are deprecated and absent from the messages we read */
        return -1;
    }
    f->whole_len = (size_t)(r->p - f->start);
    return 1;
}

void ad_pb_writer_cleanup(ad_pb_writer *w)
{
    free(w->buf);
    memset(w, 0, sizeof *w);
}

uint8_t *ad_pb_writer_take(ad_pb_writer *w, size_t *len)
{
    uint8_t *b = w->buf;
    *len = w->len;
    memset(w, 0, sizeof *w);
    return b;
}

static int reserve(ad_pb_writer *w, size_t more)
{
    if (w->failed)
        return -1;
    if (w->cap - w->len >= more)
        return 0;
    size_t cap = w->cap ? w->cap : 256;
    while (cap - w->len < more) {
        if (cap > SIZE_MAX / 2)
            goto fail;
        cap *= 2;
    }
    uint8_t *b = realloc(w->buf, cap);
    if (b == NULL)
        goto fail;
    w->buf = b;
    w->cap = cap;
    return 0;
fail:
    w->failed = 1;
    return -1;
}

void ad_pb_put_raw(ad_pb_writer *w, const void *data, size_t len)
{
    if (len == 0 || reserve(w, len) != 0)
        return;
    memcpy(w->buf + w->len, data, len);
    w->len += len;
}

static void put_uvarint(ad_pb_writer *w, uint64_t v)
{
    uint8_t tmp[10];
    size_t n = 0;
    do {
        tmp[n++] = (uint8_t)((v & 0x7f) | (v > 0x7f ? 0x80 : 0));
        v >>= 7;
    } while (v);
    ad_pb_put_raw(w, tmp, n);
}

void ad_pb_put_varint(ad_pb_writer *w, uint32_t field, uint64_t v)
{
    put_uvarint(w, (uint64_t)field << 3 | AD_PB_VARINT);
    put_uvarint(w, v);
}

void ad_pb_put_bytes(ad_pb_writer *w, uint32_t field, const void *data, size_t len)
{
    put_uvarint(w, (uint64_t)field << 3 | AD_PB_LEN);
    put_uvarint(w, len);
    ad_pb_put_raw(w, data, len);
}

void ad_pb_put_string(ad_pb_writer *w, uint32_t field, const char *s) { ad_pb_put_bytes(w, field, s, strlen(s)); }

void ad_pb_put_message(ad_pb_writer *w, uint32_t field, const ad_pb_writer *sub)
{
    if (sub->failed) {
        w->failed = 1;
        return;
    }
    ad_pb_put_bytes(w, field, sub->buf, sub->len);
}
