/* metrics.c — what the API counts and GET /metrics (Prometheus text):
 * requests by route template and status class, latency per route, cut-out
 * stages, the work pool, saturation, the cache, jobs, the store, and the
 * build. Labels come from bounded vocabularies only (route templates,
 * status classes, stage names): no ids, names or key material. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/internal.h"
#include "webhook/dispatch.h"
#include "base/version.h"

static const double latency_buckets[] = {0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30};
static const double stage_buckets[] = {0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5};

void ad_api_metrics_declare(ad_metrics *m)
{
    ad_metrics_declare(m, "assetd_http_requests_total", AD_METRIC_COUNTER,
                       "Requests answered, by route template, method and status class.", NULL, 0);
    ad_metrics_declare(m, "assetd_http_request_duration_seconds", AD_METRIC_HISTOGRAM,
                       "Time from a request's headers to the end of its answer, by route template.", latency_buckets,
                       (int)(sizeof latency_buckets / sizeof latency_buckets[0]));
    ad_metrics_declare(
        m, "assetd_cutout_stage_seconds", AD_METRIC_HISTOGRAM,
        "Time of each stage of a cut-out (mask: a stored mask read; decode, resize, infer, encode; mask_write).",
        stage_buckets, (int)(sizeof stage_buckets / sizeof stage_buckets[0]));
    ad_metrics_declare(m, "assetd_cutout_queue_depth", AD_METRIC_GAUGE, "Cut-outs waiting for a worker.", NULL, 0);
    ad_metrics_declare(m, "assetd_cutout_workers_busy", AD_METRIC_GAUGE, "Cut-out workers running one.", NULL, 0);
    ad_metrics_declare(m, "assetd_cutout_workers", AD_METRIC_GAUGE, "Cut-out workers.", NULL, 0);
    ad_metrics_declare(m, "assetd_saturated_total", AD_METRIC_COUNTER,
                       "Cut-outs refused with 503 because the queue was full or the wait too long.", NULL, 0);
    ad_metrics_declare(m, "assetd_cutout_cache_total", AD_METRIC_COUNTER,
                       "Cut-out cache lookups, by result (hit, miss).", NULL, 0);
    ad_metrics_declare(m, "assetd_cutout_mask_total", AD_METRIC_COUNTER,
                       "Masks of asset cut-outs by result: stored (no model pass), computed, damaged (dropped).", NULL,
                       0);
    ad_metrics_declare(m, "assetd_mask_store_masks", AD_METRIC_GAUGE,
                       "Masks kept in the store (all instances' on a shared store).", NULL, 0);
    ad_metrics_declare(m, "assetd_mask_store_bytes", AD_METRIC_GAUGE,
                       "Bytes of the masks kept in the store (bounded by --mask-store-mb).", NULL, 0);
    ad_metrics_declare(m, "assetd_delivery_total", AD_METRIC_COUNTER,
                       "Public URL requests by result: original, stored, rendered, joined (waited for a render), "
                       "not_modified, forbidden, expired, not_found, busy.",
                       NULL, 0);
    ad_metrics_declare(m, "assetd_delivery_bytes_total", AD_METRIC_COUNTER, "Bytes of variants rendered and served.",
                       NULL, 0);
    ad_metrics_declare(m, "assetd_delivery_render_seconds", AD_METRIC_HISTOGRAM,
                       "Time to render a delivery variant (read, transform, encode, store).", stage_buckets,
                       (int)(sizeof stage_buckets / sizeof stage_buckets[0]));
    ad_metrics_declare(m, "assetd_variant_store_variants", AD_METRIC_GAUGE,
                       "Delivery variants kept in the store (all instances' on a shared store).", NULL, 0);
    ad_metrics_declare(m, "assetd_variant_store_bytes", AD_METRIC_GAUGE,
                       "Bytes of the delivery variants kept in the store (bounded by --variant-store-mb).", NULL, 0);
    ad_metrics_declare(m, "assetd_jobs_total", AD_METRIC_COUNTER,
                       "Background job attempts, by kind and outcome (succeeded, retried, failed).", NULL, 0);
    ad_metrics_declare(m, "assetd_jobs", AD_METRIC_GAUGE,
                       "Background jobs in the store by status (all instances' jobs on a shared store).", NULL, 0);
    ad_dispatch_metrics_declare(m);
    ad_metrics_declare(m, "assetd_store_calls_total", AD_METRIC_COUNTER, "Calls into the store.", NULL, 0);
    ad_metrics_declare(m, "assetd_gc_candidates_total", AD_METRIC_COUNTER,
                       "Collection candidates this instance claimed from the shared queue and looked at.", NULL, 0);
    ad_metrics_declare(m, "assetd_gc_removed_total", AD_METRIC_COUNTER, "Unreferenced blobs this instance removed.",
                       NULL, 0);
    ad_metrics_declare(m, "assetd_store_errors_total", AD_METRIC_COUNTER,
                       "Store calls that failed (not counting \"not found\").", NULL, 0);
    ad_metrics_declare(m, "assetd_store_seconds_total", AD_METRIC_COUNTER, "Time spent in store calls.", NULL, 0);
    ad_metrics_declare(m, "assetd_build_info", AD_METRIC_GAUGE,
                       "The build and model this instance runs (the value is 1; set by serve once the model is "
                       "loaded).",
                       NULL, 0);
}

void ad_api_metrics_count_request(ad_metrics *m, const ad_http_done *d)
{
    /* methods outside this list are one label, so a client cannot make
     * series */
    static const char *const methods[] = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"};
    const char *method = "other";
    for (size_t i = 0; i < sizeof methods / sizeof methods[0]; i++)
        if (strcmp(d->method, methods[i]) == 0)
            method = methods[i];
    char labels[200];
    snprintf(labels, sizeof labels, "route=\"%s\",method=\"%s\",code=\"%dxx\"", d->label, method, d->status / 100);
    ad_metrics_add(m, "assetd_http_requests_total", labels, 1);
    snprintf(labels, sizeof labels, "route=\"%s\"", d->label);
    ad_metrics_observe(m, "assetd_http_request_duration_seconds", labels, d->ms / 1000.0);
}

ad_http_resp *ad_handle_metrics(ad_api *api, ad_http_req *req, const ad_route_args *a)
{
    (void)req, (void)a;
    ad_metrics *m = api->cfg.metrics;
    if (m == NULL)
        return ad_reply_error(404, "not_found", NULL, "metrics are off (--metrics on)");
    /* sampled now: the pool, the store */
    int load = ad_workpool_load(api->cfg.pool), workers = api->cfg.workers > 0 ? api->cfg.workers : 1;
    ad_metrics_set(m, "assetd_cutout_workers", "", workers);
    ad_metrics_set(m, "assetd_cutout_workers_busy", "", load < workers ? load : workers);
    ad_metrics_set(m, "assetd_cutout_queue_depth", "", load > workers ? load - workers : 0);
    int64_t jobs[4];
    ad_err err = AD_ERR_INIT;
    if (ad_store_count_jobs(api->cfg.store, jobs, &err) == AD_OK) {
        static const char *const status[] = {"status=\"queued\"", "status=\"running\"", "status=\"succeeded\"",
                                             "status=\"failed\""};
        for (int i = 0; i < 4; i++)
            ad_metrics_set(m, "assetd_jobs", status[i], (double)jobs[i]);
    }
    int64_t masks, mask_bytes;
    if (ad_store_derived_usage(api->cfg.store, "mask", &masks, &mask_bytes, &err) == AD_OK) {
        ad_metrics_set(m, "assetd_mask_store_masks", "", (double)masks);
        ad_metrics_set(m, "assetd_mask_store_bytes", "", (double)mask_bytes);
    }
    if (ad_store_derived_usage(api->cfg.store, "variant", &masks, &mask_bytes, &err) == AD_OK) {
        ad_metrics_set(m, "assetd_variant_store_variants", "", (double)masks);
        ad_metrics_set(m, "assetd_variant_store_bytes", "", (double)mask_bytes);
    }
    ad_dispatch_metrics_sample(m, api->cfg.store);
    ad_store_stats st;
    ad_store_get_stats(api->cfg.store, &st);
    ad_metrics_set(m, "assetd_store_calls_total", "", (double)st.calls);
    ad_metrics_set(m, "assetd_store_errors_total", "", (double)st.errors);
    ad_metrics_set(m, "assetd_store_seconds_total", "", (double)st.total_us / 1e6);
    ad_metrics_set(m, "assetd_gc_candidates_total", "", (double)st.gc_candidates);
    ad_metrics_set(m, "assetd_gc_removed_total", "", (double)st.gc_removed);
    size_t len;
    char *text = ad_metrics_render(m, &len);
    if (text == NULL)
        return ad_reply_error(503, "out_of_memory", NULL, "out of memory");
    return ad_http_resp_take(200, "text/plain; version=0.0.4; charset=utf-8", text, len);
}
