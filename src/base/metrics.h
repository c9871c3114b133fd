/* metrics.h — counters, gauges and histograms with labels, rendered in the
 * Prometheus text format (GET /metrics). A family is declared once (name,
 * type, help, histogram buckets); a series is a family plus a label set
 * given as text ("route=\"/api/v1/assets\",status=\"2xx\""), which the
 * caller builds from bounded vocabularies only (route templates, status
 * classes, stage names: never ids, names or key material). Thread-safe;
 * updates take one mutex, which is cheap next to a request. */
#ifndef AD_BASE_METRICS_H
#define AD_BASE_METRICS_H

#include <stddef.h>

typedef struct ad_metrics ad_metrics;

typedef enum { AD_METRIC_COUNTER, AD_METRIC_GAUGE, AD_METRIC_HISTOGRAM } ad_metric_type;

/* NULL on allocation failure. */
ad_metrics *ad_metrics_new(void);
void ad_metrics_free(ad_metrics *m); /* accepts NULL */

/* Declare a family; buckets (upper bounds, ascending, nbuckets of them) for
 * histograms only. Declaring it again is a no-op. */
void ad_metrics_declare(ad_metrics *m, const char *name, ad_metric_type type, const char *help, const double *buckets,
                        int nbuckets);

/* Update a series of a declared family (labels may be "" for none). */
void ad_metrics_add(ad_metrics *m, const char *name, const char *labels, double by);        /* counters, gauges */
void ad_metrics_set(ad_metrics *m, const char *name, const char *labels, double value);     /* gauges */
void ad_metrics_observe(ad_metrics *m, const char *name, const char *labels, double value); /* histograms */

/* The exposition text (a new malloc'd, NUL-terminated buffer; *len its
 * length), or NULL on allocation failure. */
char *ad_metrics_render(ad_metrics *m, size_t *len);

#endif
