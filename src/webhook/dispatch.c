/* dispatch.c — the webhook deliverer. See dispatch.h. */
#include "webhook/dispatch.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/hmac.h"
#include "base/log.h"
#include "base/version.h"
#include "net/guard.h"

/* deliveries a thread claims at once: one, so a lease need only outlive one
 * attempt */
#define BATCH 1

struct ad_dispatcher {
    ad_dispatch_config cfg;
    pthread_t *threads;
    int nthreads;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int stopping;
    int64_t last_prune_ms;
};

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t ad_dispatch_backoff_ms(int n)
{
    int64_t d = 1000;
    for (int i = 1; i < n && d < 3600 * 1000; i++)
        d *= 2;
    return d < 3600 * 1000 ? d : 3600 * 1000;
}

void ad_dispatch_signature(const char *secret, int64_t t, const char *body, size_t len, char out[128])
{
    char ts[24];
    int tl = snprintf(ts, sizeof ts, "%lld.", (long long)t);
    /* HMAC over "<t>.<body>" without copying the body: the prefix and the
     * body as one message */
    size_t n = (size_t)tl + len;
    char *msg = malloc(n ? n : 1);
    uint8_t mac[32];
    if (msg == NULL) {
        snprintf(out, 128, "t=%lld,v1=", (long long)t);
        return;
    }
    memcpy(msg, ts, (size_t)tl);
    memcpy(msg + tl, body, len);
    ad_hmac_sha256(secret, strlen(secret), msg, n, mac);
    free(msg);
    int at = snprintf(out, 128, "t=%lld,v1=", (long long)t);
    for (int i = 0; i < 32; i++)
        snprintf(out + at + 2 * i, 3, "%02x", mac[i]);
}

static size_t discard(char *p, size_t size, size_t n, void *ctx)
{
    (void)p, (void)ctx;
    return size * n;
}

/* One attempt: the status (0 when none came) and, on failure, why. */
static int post(ad_dispatcher *d, const ad_webhook_delivery *dl, char *why, size_t why_len)
{
    CURL *h = curl_easy_init();
    if (h == NULL) {
        snprintf(why, why_len, "out of memory");
        return 0;
    }
    ad_guard_state guard = {.policy = d->cfg.guard};
    char sig[128], hdr_sig[160], hdr_id[96];
    size_t len = strlen(dl->body);
    ad_dispatch_signature(dl->secret, now_ms() / 1000, dl->body, len, sig);
    snprintf(hdr_sig, sizeof hdr_sig, "X-Assetd-Signature: %s", sig);
    snprintf(hdr_id, sizeof hdr_id, "X-Assetd-Event-Id: %s", dl->event_id);
    struct curl_slist *hdrs = curl_slist_append(NULL, "Content-Type: application/json");
    hdrs = curl_slist_append(hdrs, hdr_sig);
    hdrs = curl_slist_append(hdrs, hdr_id);
    hdrs = curl_slist_append(hdrs, "Expect:");
    ad_guard_curl(h, &guard);
    curl_easy_setopt(h, CURLOPT_URL, dl->url);
    curl_easy_setopt(h, CURLOPT_POST, 1L);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, dl->body);
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(h, CURLOPT_USERAGENT, "assetd-webhooks/" AD_VERSION);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)d->cfg.timeout_ms);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, (long)(d->cfg.timeout_ms < 5000 ? d->cfg.timeout_ms : 5000));
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, discard);
    CURLcode cc = curl_easy_perform(h);
    long status = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    if (guard.refused[0])
        snprintf(why, why_len, "refused: %s (allowed only with --allow-private-urls on)", guard.refused);
    else if (cc != CURLE_OK)
        snprintf(why, why_len, "%s", curl_easy_strerror(cc));
    else if (status < 200 || status > 299)
        snprintf(why, why_len, "answered %ld", status);
    else
        why[0] = '\0';
    curl_slist_free_all(hdrs);
    curl_easy_cleanup(h);
    return cc == CURLE_OK ? (int)status : 0;
}

static void deliver(ad_dispatcher *d, const ad_webhook_delivery *dl)
{
    ad_webhook_attempt a = {.attempt = dl->attempts};
    snprintf(a.event_id, sizeof a.event_id, "%s", dl->event_id);
    snprintf(a.type, sizeof a.type, "%s", dl->type);
    int64_t t0 = mono_ms();
    a.status = post(d, dl, a.error, sizeof a.error);
    a.duration_ms = mono_ms() - t0;
    a.at_ms = now_ms();
    ad_time_rfc3339(a.at);
    ad_delivery_outcome o = AD_DELIVERY_SUCCEEDED;
    int64_t next = 0;
    if (a.error[0]) {
        /* jitter: up to a quarter more, so that retries do not march in step */
        uint32_t r = 0;
        ad_random_bytes(&r, sizeof r);
        int64_t delay = ad_dispatch_backoff_ms(dl->attempts);
        delay += (int64_t)(r % 1000) * delay / 4000;
        next = a.at_ms + delay;
        o = dl->attempts >= d->cfg.max_attempts || next > dl->created_ms + d->cfg.max_age_ms ? AD_DELIVERY_GAVE_UP
                                                                                             : AD_DELIVERY_RETRY;
    }
    ad_err err = AD_ERR_INIT;
    if (ad_store_end_delivery(d->cfg.store, dl, o, next, &a, &err) != AD_OK)
        ad_log(AD_LOG_WARN, "webhooks", "delivery of %s to %s: %s", dl->event_id, dl->webhook_id, err.msg);
    if (d->cfg.metrics)
        ad_metrics_add(d->cfg.metrics, "assetd_webhook_deliveries_total",
                       o == AD_DELIVERY_SUCCEEDED ? "outcome=\"succeeded\""
                       : o == AD_DELIVERY_RETRY   ? "outcome=\"retried\""
                                                  : "outcome=\"gave_up\"",
                       1);
    if (o != AD_DELIVERY_SUCCEEDED)
        ad_log(o == AD_DELIVERY_GAVE_UP ? AD_LOG_WARN : AD_LOG_INFO, "webhooks",
               "%s %s to webhook %s, attempt %d: %s%s", dl->type, dl->event_id, dl->webhook_id, dl->attempts, a.error,
               o == AD_DELIVERY_GAVE_UP ? " (given up)" : "");
}

/* Forget old log rows now and then (one thread does it). */
static void prune(ad_dispatcher *d)
{
    int64_t now = now_ms();
    pthread_mutex_lock(&d->lock);
    int due = now - d->last_prune_ms > 600 * 1000;
    if (due)
        d->last_prune_ms = now;
    pthread_mutex_unlock(&d->lock);
    ad_err err = AD_ERR_INIT;
    if (due && ad_store_prune_webhooks(d->cfg.store, now - d->cfg.log_keep_ms, 10000, &err) != AD_OK)
        ad_log(AD_LOG_WARN, "webhooks", "pruning the log: %s", err.msg);
}

static void *run(void *arg)
{
    ad_dispatcher *d = arg;
    for (;;) {
        pthread_mutex_lock(&d->lock);
        int stop = d->stopping;
        pthread_mutex_unlock(&d->lock);
        if (stop)
            break;
        prune(d);
        ad_webhook_delivery v[BATCH];
        int n = 0;
        ad_err err = AD_ERR_INIT;
        /* the lease outlives an attempt (its timeout, and 5 s to record
         * it): a deliverer alive is never overtaken, one killed mid-attempt
         * is 15 s later, by any instance */
        if (ad_store_claim_deliveries(d->cfg.store, d->cfg.timeout_ms * BATCH + 5000, BATCH, v, &n, &err) != AD_OK)
            ad_log(AD_LOG_WARN, "webhooks", "claiming deliveries: %s", err.msg);
        for (int i = 0; i < n; i++) {
            deliver(d, &v[i]);
            ad_webhook_delivery_cleanup(&v[i]);
        }
        if (n == BATCH)
            continue; /* more may be due */
        pthread_mutex_lock(&d->lock);
        if (!d->stopping) {
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            int64_t ns = ts.tv_nsec + (d->cfg.poll_ms % 1000) * 1000000;
            ts.tv_sec += d->cfg.poll_ms / 1000 + ns / 1000000000;
            ts.tv_nsec = ns % 1000000000;
            pthread_cond_timedwait(&d->cond, &d->lock, &ts);
        }
        pthread_mutex_unlock(&d->lock);
    }
    return NULL;
}

ad_status ad_dispatcher_start(const ad_dispatch_config *cfg, ad_dispatcher **out, ad_err *err)
{
    *out = NULL;
    ad_dispatcher *d = calloc(1, sizeof *d);
    if (d == NULL)
        return ad_err_set(err, AD_ENOMEM, "out of memory");
    d->cfg = *cfg;
    if (d->cfg.threads < 1)
        d->cfg.threads = 1;
    if (d->cfg.poll_ms < 10)
        d->cfg.poll_ms = 1000;
    d->last_prune_ms = now_ms() - 590 * 1000; /* the first prune 10 s after start */
    pthread_mutex_init(&d->lock, NULL);
    pthread_cond_init(&d->cond, NULL);
    d->threads = calloc((size_t)d->cfg.threads, sizeof *d->threads);
    if (d->threads == NULL) {
        ad_dispatcher_stop(d);
        return ad_err_set(err, AD_ENOMEM, "out of memory");
    }
    for (int i = 0; i < d->cfg.threads; i++) {
        if (pthread_create(&d->threads[i], NULL, run, d) != 0) {
            ad_dispatcher_stop(d);
            return ad_err_set(err, AD_EIO, "cannot start the webhook deliverer");
        }
        d->nthreads++;
    }
    *out = d;
    return AD_OK;
}

void ad_dispatcher_stop(ad_dispatcher *d)
{
    if (d == NULL)
        return;
    pthread_mutex_lock(&d->lock);
    d->stopping = 1;
    pthread_cond_broadcast(&d->cond);
    pthread_mutex_unlock(&d->lock);
    for (int i = 0; i < d->nthreads; i++)
        pthread_join(d->threads[i], NULL);
    free(d->threads);
    pthread_cond_destroy(&d->cond);
    pthread_mutex_destroy(&d->lock);
    free(d);
}

void ad_dispatch_metrics_declare(ad_metrics *m)
{
    ad_metrics_declare(m, "assetd_webhook_deliveries_total", AD_METRIC_COUNTER,
                       "Webhook delivery attempts by this instance, by outcome (succeeded, retried, gave_up).", NULL,
                       0);
    ad_metrics_declare(m, "assetd_webhook_queue_depth", AD_METRIC_GAUGE,
                       "Webhook deliveries pending (all instances' on a shared store).", NULL, 0);
    ad_metrics_declare(m, "assetd_webhook_oldest_pending_seconds", AD_METRIC_GAUGE,
                       "Age of the oldest pending webhook delivery (0 when none).", NULL, 0);
}

void ad_dispatch_metrics_sample(ad_metrics *m, ad_store *s)
{
    int64_t pending = 0, oldest = 0;
    ad_err err = AD_ERR_INIT;
    if (ad_store_webhook_queue(s, &pending, &oldest, &err) != AD_OK)
        return;
    ad_metrics_set(m, "assetd_webhook_queue_depth", "", (double)pending);
    ad_metrics_set(m, "assetd_webhook_oldest_pending_seconds", "",
                   oldest > 0 && now_ms() > oldest ? (double)(now_ms() - oldest) / 1000.0 : 0);
}
