/* query.h — the query string of a request as an ordered list of parameters,
 * duplicates kept (the API must see them to reject them). Network input:
 * percent-decoding is strict and a decoded NUL is refused. */
#ifndef AD_API_QUERY_H
#define AD_API_QUERY_H

#include "base/err.h"

typedef struct {
    char *key;
    char *value; /* NULL when the parameter has no '=' */
} ad_query_param;

typedef struct {
    ad_query_param *v;
    int n;
} ad_query;

/* Parse "a=1&b=%20x&c" (without the '?'). '+' decodes to a space. At most
 * max_params parameters. Errors: AD_EINVAL (bad escape, NUL, too many). The
 * caller frees q with ad_query_cleanup in every case. */
ad_status ad_query_parse(const char *qs, int max_params, ad_query *q, ad_err *err);
void ad_query_cleanup(ad_query *q);

#endif
