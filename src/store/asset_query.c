/* asset_query.c — the assets list's filters as SQL. See asset_query.h. */
#include "store/asset_query.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/custom_index.h"

/* The largest code point, in UTF-8: a prefix's range ends below the
 * prefix followed by it (and the exact prefix test removes the rest). */
#define TOP "\xf4\x8f\xbf\xbf"

typedef struct {
    ad_asset_query *q;
    char *buf;
    size_t len, cap;
    char sigil;
    const char *collate;
    int dense; /* AD_QUERY_DENSE_RANGES */
    int oom;
} builder;

static void put(builder *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void put(builder *b, const char *fmt, ...)
{
    va_list ap;
    for (;;) {
        va_start(ap, fmt);
        int n = vsnprintf(b->buf + b->len, b->cap - b->len, fmt, ap);
        va_end(ap);
        if (n < 0) {
            b->oom = 1;
            return;
        }
        if ((size_t)n < b->cap - b->len) {
            b->len += (size_t)n;
            return;
        }
        size_t cap = (b->cap + (size_t)n) * 2;
        char *g = realloc(b->buf, cap);
        if (g == NULL) {
            b->oom = 1;
            return;
        }
        b->buf = g;
        b->cap = cap;
    }
}

/* A new text parameter; its placeholder is written. */
static void param(builder *b, const char *value)
{
    ad_asset_query *q = b->q;
    if (q->nparams == AD_ASSET_QUERY_PARAMS || (q->param[q->nparams] = strdup(value)) == NULL) {
        b->oom = 1;
        return;
    }
    put(b, "%c%d", b->sigil, ++q->nparams);
}

/* alias.path = P AND (alias.key = K AND alias.tag IN (...) OR ...) */
static void custom(builder *b, const char *alias, const ad_custom_match *m)
{
    ad_custom_probe p[4];
    int n = ad_custom_index_probes(m->value, p);
    put(b, " AND %s.path = ", alias);
    param(b, m->path);
    put(b, " AND (");
    for (int i = 0; i < n; i++) {
        put(b, "%s%s.key = ", i ? " OR " : "", alias);
        param(b, p[i].key);
        put(b, " AND %s.tag IN (", alias);
        for (const char *t = p[i].tags; *t; t++) /* tags are our own letters */
            put(b, "%s'%c'", t == p[i].tags ? "" : ", ", *t);
        put(b, ")");
    }
    put(b, ")");
}

/* column starts with prefix: a range the index serves, then the exact test */
static void prefix(builder *b, const char *column, const char *value)
{
    size_t len = strlen(value);
    char *top = malloc(len + sizeof TOP);
    if (top == NULL) {
        b->oom = 1;
        return;
    }
    memcpy(top, value, len);
    memcpy(top + len, TOP, sizeof TOP);
    /* SQLite's unary + keeps a term off its index */
    const char *plus = b->dense ? "+" : "";
    put(b, " AND %sa.%s%s >= ", plus, column, b->collate);
    param(b, value);
    int at = b->q->nparams;
    put(b, " AND %sa.%s%s < ", plus, column, b->collate);
    param(b, top);
    put(b, " AND substr(a.%s, 1, length(%c%d)) = %c%d", column, b->sigil, at, b->sigil, at);
    free(top);
}

static int family(const ad_asset_filter *f)
{
    size_t n = strlen(f->content_type);
    return n && f->content_type[n - 1] == '/';
}

/* Dense ranges: a prefix or family that matches many rows costs its
 * matches through its index (all read, then sorted by seq), but only
 * about limit x rows / matches when the rows are read in seq order and
 * the range is a condition. The SQLite backend counts a range's rows up
 * to AD_QUERY_DENSE_AT first and asks for the cheaper plan; PostgreSQL's
 * planner weighs the same from its statistics. */
ad_status ad_asset_query_range_count(const ad_asset_filter *f, char sigil, const char *collate, ad_asset_query *q,
                                     ad_err *err)
{
    memset(q, 0, sizeof *q);
    if (f->ncustom || (!f->filename_prefix[0] && !family(f)))
        return AD_ENOTFOUND;
    builder b = {.q = q, .sigil = sigil, .collate = collate};
    put(&b, "SELECT count(*) FROM (SELECT 1 FROM assets a WHERE 1 = 1");
    if (f->filename_prefix[0])
        prefix(&b, "filename", f->filename_prefix);
    else
        prefix(&b, "content_type", f->content_type);
    put(&b, " LIMIT %d)", AD_QUERY_DENSE_AT);
    q->sql = b.buf;
    if (b.oom) {
        ad_asset_query_cleanup(q);
        return ad_err_set(err, AD_ENOMEM, "out of memory");
    }
    return AD_OK;
}

ad_status ad_asset_query_build(const ad_asset_filter *f, int64_t cursor, int limit, char sigil, const char *collate,
                               const char *cols, int flags, ad_asset_query *q, ad_err *err)
{
    memset(q, 0, sizeof *q);
    builder b = {.q = q, .sigil = sigil, .collate = collate, .dense = flags & AD_QUERY_DENSE_RANGES};
    /* the first custom filter drives: its index holds seq in order */
    const char *seq = f->ncustom ? "c0.seq" : "a.seq";
    put(&b, "SELECT %s FROM assets a", cols);
    if (f->ncustom)
        put(&b, " JOIN custom_index c0 ON c0.seq = a.seq");
    put(&b, " WHERE 1 = 1");
    if (f->ncustom)
        custom(&b, "c0", &f->custom[0]);
    for (int i = 1; i < f->ncustom; i++) {
        put(&b, " AND EXISTS (SELECT 1 FROM custom_index ci WHERE ci.seq = a.seq");
        custom(&b, "ci", &f->custom[i]);
        put(&b, ")");
    }
    if (cursor > 0)
        put(&b, " AND %s %c %" PRId64, seq, f->oldest_first ? '>' : '<', cursor);
    if (f->filename_prefix[0])
        prefix(&b, "filename", f->filename_prefix);
    if (f->content_type[0]) {
        if (family(f)) {
            prefix(&b, "content_type", f->content_type);
        } else {
            put(&b, " AND a.content_type = ");
            param(&b, f->content_type);
        }
    }
    if (f->created_after[0]) {
        put(&b, " AND a.created_at%s >= ", collate);
        param(&b, f->created_after);
    }
    if (f->created_before[0]) {
        put(&b, " AND a.created_at%s < ", collate);
        param(&b, f->created_before);
    }
    if (f->source_asset_id[0]) {
        put(&b, " AND a.source_asset_id = ");
        param(&b, f->source_asset_id);
    }
    if (f->has_conversion[0]) {
        put(&b, " AND a.id IN (SELECT cv.asset_id FROM conversions cv WHERE cv.name = ");
        param(&b, f->has_conversion);
        put(&b, ")");
    }
    put(&b, " ORDER BY %s %s LIMIT %d", seq, f->oldest_first ? "ASC" : "DESC", limit);
    q->sql = b.buf;
    if (b.oom) {
        ad_asset_query_cleanup(q);
        return ad_err_set(err, AD_ENOMEM, "out of memory");
    }
    return AD_OK;
}

void ad_asset_query_cleanup(ad_asset_query *q)
{
    free(q->sql);
    for (int i = 0; i < q->nparams; i++)
        free(q->param[i]);
    memset(q, 0, sizeof *q);
}
