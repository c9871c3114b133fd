/* base64.h — RFC 4648 base64, for remove.bg's image_file_b64 and
 * result_b64. The decoder takes what clients send: the standard or the
 * URL-safe alphabet, with or without padding, whitespace anywhere, and a
 * data: URL's "data:<type>;base64," prefix. */
#ifndef AD_BASE_BASE64_H
#define AD_BASE_BASE64_H

#include <stddef.h>

#include "base/err.h"

/* *out (malloc'd, NUL-terminated, caller frees) gets the encoding. */
ad_status ad_base64_encode(const void *data, size_t len, char **out, size_t *out_len, ad_err *err);

/* *out (malloc'd, caller frees) gets the bytes; AD_EINVAL for a character
 * outside the alphabet or a length no encoding has. */
ad_status ad_base64_decode(const char *text, size_t len, void **out, size_t *out_len, ad_err *err);

#endif
