/* asset_query.h — the assets list's filters (records.h: ad_asset_filter) as
 * one SQL statement that both metadata backends run, so that the two
 * answer the same question the same way: the first custom-data filter
 * drives the query through custom_index's (path, key, seq) index, in seq
 * order, so a page costs what it returns; the other filters are residual
 * conditions or index probes (docs/store.md, "Search").
 *
 * Dialects differ in two things only: the placeholder's sigil ('?' for
 * SQLite, '$' for PostgreSQL, both numbered) and the collation a text
 * range needs to compare bytes (PostgreSQL: COLLATE "C"). Every value from
 * the request is a text parameter; only numbers this code made (the
 * cursor, the limit) are written into the SQL. */
#ifndef AD_STORE_ASSET_QUERY_H
#define AD_STORE_ASSET_QUERY_H

#include <stdint.h>

#include "base/err.h"
#include "store/records.h"

#define AD_ASSET_QUERY_PARAMS 64

typedef struct {
    char *sql;                          /* malloc'd */
    char *param[AD_ASSET_QUERY_PARAMS]; /* malloc'd, text */
    int nparams;
} ad_asset_query;

/* flags of ad_asset_query_build */
enum {
    /* SQLite: read the prefix and family ranges as conditions, not through
     * their indexes (a range that matches many rows is cheaper to find
     * in seq order: the caller counted; asset_query.c, "dense ranges") */
    AD_QUERY_DENSE_RANGES = 1,
};

/* The largest count of a range's rows read through its index; a range
 * with more is dense (AD_QUERY_DENSE_RANGES). */
#define AD_QUERY_DENSE_AT 1000

/* A statement counting, up to AD_QUERY_DENSE_AT, the rows of f's first
 * range filter (filename_prefix, else a content_type family), into q;
 * AD_ENOTFOUND when f has none or has a custom-data filter (which drives
 * the query instead). */
ad_status ad_asset_query_range_count(const ad_asset_filter *f, char sigil, const char *collate, ad_asset_query *q,
                                     ad_err *err);

/* The statement selecting cols (columns of assets aliased "a", e.g.
 * "a.id, a.seq") of the page after cursor (a seq; 0: from the start) in
 * f's order, at most limit rows. Free with ad_asset_query_cleanup. */
ad_status ad_asset_query_build(const ad_asset_filter *f, int64_t cursor, int limit, char sigil, const char *collate,
                               const char *cols, int flags, ad_asset_query *q, ad_err *err);
void ad_asset_query_cleanup(ad_asset_query *q);

#endif
