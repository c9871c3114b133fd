/* pbwire.h — the protocol-buffers wire format, read and written field by
 * field, with no schema and no generated code. Enough to edit a serialized
 * message in place of a protobuf library: iterate its fields as byte spans
 * of the input, copy the ones kept verbatim, write the changed ones anew.
 *
 * Readers borrow the buffer they iterate; spans point into it. A writer owns
 * its growing buffer; the first allocation failure sticks in `failed` and
 * makes every later call a no-op, so a sequence of puts is checked once. */
#ifndef AD_BASE_PBWIRE_H
#define AD_BASE_PBWIRE_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

enum { AD_PB_VARINT = 0, AD_PB_I64 = 1, AD_PB_LEN = 2, AD_PB_I32 = 5 };

typedef struct {
    const uint8_t *p, *end;
} ad_pb_reader;

typedef struct {
    uint32_t field;       /* field number */
    int wire;             /* AD_PB_* */
    uint64_t varint;      /* value of a VARINT field */
    const uint8_t *data;  /* payload of a LEN field (also I32/I64 bytes) */
    size_t len;           /* bytes */
    const uint8_t *start; /* the whole field, tag included, for verbatim copies */
    size_t whole_len;     /* bytes */
} ad_pb_field;

static inline void ad_pb_reader_init(ad_pb_reader *r, const void *buf, size_t len)
{
    r->p = buf;
    r->end = r->p + len;
}

/* Read the next field. Returns 1 on a field, 0 at the end, -1 on malformed
 * input (truncated, overlong varint, group or unknown wire type). */
int ad_pb_next(ad_pb_reader *r, ad_pb_field *f);

/* Read one varint (e.g. from a packed repeated field's payload): 0, or -1
 * when truncated or longer than 10 bytes. */
int ad_pb_read_varint(ad_pb_reader *r, uint64_t *v);

/* Does a LEN field hold exactly the NUL-free string s? */
static inline int ad_pb_field_is(const ad_pb_field *f, const char *s)
{
    size_t n = strlen(s);
    return f->len == n && memcmp(f->data, s, n) == 0;
}

typedef struct {
    uint8_t *buf;
    size_t len, cap; /* bytes */
    int failed;      /* an allocation failed; the contents are incomplete */
} ad_pb_writer;

/* A writer starts zeroed ({0}); cleanup frees its buffer. */
void ad_pb_writer_cleanup(ad_pb_writer *w);
/* Hand the buffer to the caller (free() it); the writer is left empty. */
uint8_t *ad_pb_writer_take(ad_pb_writer *w, size_t *len);

void ad_pb_put_raw(ad_pb_writer *w, const void *data, size_t len);
void ad_pb_put_varint(ad_pb_writer *w, uint32_t field, uint64_t v);
void ad_pb_put_bytes(ad_pb_writer *w, uint32_t field, const void *data, size_t len);
void ad_pb_put_string(ad_pb_writer *w, uint32_t field, const char *s);
/* A nested message: the sub-writer's bytes as a LEN field (sub is left as is). */
void ad_pb_put_message(ad_pb_writer *w, uint32_t field, const ad_pb_writer *sub);

#endif
