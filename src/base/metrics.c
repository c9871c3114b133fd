/* metrics.c — see metrics.h. Families and their series in small arrays:
 * the vocabularies are bounded (a few dozen series), so a linear search
 * under one mutex is simpler than a hash and fast enough. */
#include "base/metrics.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_BUCKETS 16
#define MAX_SERIES 512

typedef struct {
    int family;
    char labels[160];
    double value;             /* counter, gauge; histogram: sum */
    unsigned long long count; /* histogram */
    unsigned long long bucket[MAX_BUCKETS];
} series;

typedef struct {
    char name[64];
    char help[160];
    ad_metric_type type;
    double bounds[MAX_BUCKETS];
    int nbounds;
} family;

struct ad_metrics {
    pthread_mutex_t lock;
    family families[64];
    int nfamilies;
    series *series;
    int nseries;
};

ad_metrics *ad_metrics_new(void)
{
    ad_metrics *m = calloc(1, sizeof *m);
    if (m == NULL)
        return NULL;
    if ((m->series = calloc(MAX_SERIES, sizeof *m->series)) == NULL) {
        free(m);
        return NULL;
    }
    pthread_mutex_init(&m->lock, NULL);
    return m;
}

void ad_metrics_free(ad_metrics *m)
{
    if (m == NULL)
        return;
    pthread_mutex_destroy(&m->lock);
    free(m->series);
    free(m);
}

static int find_family(ad_metrics *m, const char *name)
{
    for (int i = 0; i < m->nfamilies; i++)
        if (strcmp(m->families[i].name, name) == 0)
            return i;
    return -1;
}

void ad_metrics_declare(ad_metrics *m, const char *name, ad_metric_type type, const char *help, const double *buckets,
                        int nbuckets)
{
    pthread_mutex_lock(&m->lock);
    if (find_family(m, name) < 0 && m->nfamilies < (int)(sizeof m->families / sizeof m->families[0])) {
        family *f = &m->families[m->nfamilies++];
        snprintf(f->name, sizeof f->name, "%s", name);
        snprintf(f->help, sizeof f->help, "%s", help);
        f->type = type;
        f->nbounds = nbuckets < MAX_BUCKETS ? nbuckets : MAX_BUCKETS;
        for (int i = 0; buckets && i < f->nbounds; i++)
            f->bounds[i] = buckets[i];
    }
    pthread_mutex_unlock(&m->lock);
}

/* The series of name{labels}, made on first use; NULL when the family is
 * unknown or the table is full. Called with the lock held. */
static series *find_series(ad_metrics *m, const char *name, const char *labels)
{
    int f = find_family(m, name);
    if (f < 0)
        return NULL;
    for (int i = 0; i < m->nseries; i++)
        if (m->series[i].family == f && strcmp(m->series[i].labels, labels) == 0)
            return &m->series[i];
    if (m->nseries == MAX_SERIES)
        return NULL;
    series *s = &m->series[m->nseries++];
    memset(s, 0, sizeof *s);
    s->family = f;
    snprintf(s->labels, sizeof s->labels, "%s", labels ? labels : "");
    return s;
}

void ad_metrics_add(ad_metrics *m, const char *name, const char *labels, double by)
{
    pthread_mutex_lock(&m->lock);
    series *s = find_series(m, name, labels ? labels : "");
    if (s)
        s->value += by;
    pthread_mutex_unlock(&m->lock);
}

void ad_metrics_set(ad_metrics *m, const char *name, const char *labels, double value)
{
    pthread_mutex_lock(&m->lock);
    series *s = find_series(m, name, labels ? labels : "");
    if (s)
        s->value = value;
    pthread_mutex_unlock(&m->lock);
}

void ad_metrics_observe(ad_metrics *m, const char *name, const char *labels, double value)
{
    pthread_mutex_lock(&m->lock);
    series *s = find_series(m, name, labels ? labels : "");
    if (s) {
        const family *f = &m->families[s->family];
        s->value += value;
        s->count++;
        for (int i = 0; i < f->nbounds; i++)
            if (value <= f->bounds[i])
                s->bucket[i]++;
    }
    pthread_mutex_unlock(&m->lock);
}

typedef struct {
    char *p;
    size_t len, cap;
    int failed;
} out;

__attribute__((format(printf, 2, 3))) static void put(out *o, const char *fmt, ...)
{
    va_list ap;
    for (int tries = 0; tries < 2 && !o->failed; tries++) {
        va_start(ap, fmt);
        int n = vsnprintf(o->p + o->len, o->cap - o->len, fmt, ap);
        va_end(ap);
        if (n < 0) {
            o->failed = 1;
            return;
        }
        if ((size_t)n < o->cap - o->len) {
            o->len += (size_t)n;
            return;
        }
        size_t cap = (o->cap + (size_t)n) * 2;
        char *p = realloc(o->p, cap);
        if (p == NULL) {
            o->failed = 1;
            return;
        }
        o->p = p;
        o->cap = cap;
    }
}

char *ad_metrics_render(ad_metrics *m, size_t *len)
{
    static const char *const types[] = {"counter", "gauge", "histogram"};
    out o = {malloc(16384), 0, 16384, 0};
    if (o.p == NULL)
        return NULL;
    o.p[0] = '\0';
    pthread_mutex_lock(&m->lock);
    for (int f = 0; f < m->nfamilies; f++) {
        const family *fa = &m->families[f];
        put(&o, "# HELP %s %s\n# TYPE %s %s\n", fa->name, fa->help, fa->name, types[fa->type]);
        for (int i = 0; i < m->nseries; i++) {
            const series *s = &m->series[i];
            if (s->family != f)
                continue;
            const char *l = s->labels;
            if (fa->type != AD_METRIC_HISTOGRAM) {
                put(&o, "%s%s%s%s %.15g\n", fa->name, l[0] ? "{" : "", l, l[0] ? "}" : "", s->value);
                continue;
            }
            for (int b = 0; b < fa->nbounds; b++)
                put(&o, "%s_bucket{%s%sle=\"%g\"} %llu\n", fa->name, l, l[0] ? "," : "", fa->bounds[b], s->bucket[b]);
            put(&o, "%s_bucket{%s%sle=\"+Inf\"} %llu\n", fa->name, l, l[0] ? "," : "", s->count);
            put(&o, "%s_sum%s%s%s %.15g\n", fa->name, l[0] ? "{" : "", l, l[0] ? "}" : "", s->value);
            put(&o, "%s_count%s%s%s %llu\n", fa->name, l[0] ? "{" : "", l, l[0] ? "}" : "", s->count);
        }
    }
    pthread_mutex_unlock(&m->lock);
    if (o.failed) {
        free(o.p);
        return NULL;
    }
    *len = o.len;
    return o.p;
}
