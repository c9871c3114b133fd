/* spool.h — a request body (or one part of it) streamed into a private
 * temporary file that has no name (O_TMPFILE, 0600): memory holds none of
 * it, a client that goes away leaves nothing behind, and the file is gone
 * with the request. What the one-shot route (oneshot.c) and remove.bg's
 * (removebg.c) take their images with. The first refusal met while the
 * body streams is kept, to answer once the body is in.
 *
 * Ownership: ad_spool_close releases the file and the refusal not taken. */
#ifndef AD_API_SPOOL_H
#define AD_API_SPOOL_H

#include <stddef.h>

#include "http/server.h"

typedef struct {
    int fd; /* -1 when none could be made (refusal says why) */
    size_t len;
    ad_http_resp *refusal; /* the first refusal, or NULL */
} ad_spool;

/* A new unnamed file in dir (NULL: $TMPDIR or /tmp); on failure s->fd is
 * -1 and s->refusal a 507. */
void ad_spool_open(ad_spool *s, const char *dir);
/* Append; -1 (and a 507 refusal) when the disk says no. */
int ad_spool_write(ad_spool *s, const char *data, size_t len);
/* Keep r as the refusal unless one is kept already (then r is freed). */
void ad_spool_refuse(ad_spool *s, ad_http_resp *r);
/* Take the kept refusal (NULL: none). */
ad_http_resp *ad_spool_take_refusal(ad_spool *s);
/* The whole content into a new buffer (NUL-terminated, caller frees):
 * NULL, or the answer when it cannot (503, 507). */
ad_http_resp *ad_spool_read(const ad_spool *s, char **out);
void ad_spool_close(ad_spool *s);

#endif
