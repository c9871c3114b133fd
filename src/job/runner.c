/* runner.c — see runner.h. One thread runs jobs (they are short store
 * transactions: the expensive part happened before the job was recorded),
 * so a single runner keeps up with the inference pool and never competes
 * with it for cores; a second one renews the lease of the job in hand. */
#include "job/runner.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/clock.h"
#include "base/log.h"

struct ad_jobrunner {
    ad_store *store;
    ad_jobrunner_config cfg;
    pthread_t thread, heartbeat;
    int heartbeat_started;
    pthread_mutex_t lock;
    pthread_cond_t wake, beat;
    int kicked, stopping;
    char current[AD_ID_LEN + 1]; /* the job in hand, "" when none */
};

/* Poll period when idle: picks up retries whose backoff has passed. */
#define IDLE_POLL_MS 250
/* How often due blobs are collected. */
#define GC_PERIOD_MS 1000

static void deadline(struct timespec *ts, int64_t ms)
{
    clock_gettime(CLOCK_REALTIME, ts);
    ts->tv_sec += ms / 1000;
    ts->tv_nsec += (ms % 1000) * 1000000;
    if (ts->tv_nsec >= 1000000000) {
        ts->tv_sec++;
        ts->tv_nsec -= 1000000000;
    }
}

static void wait_ms(ad_jobrunner *r, int64_t ms)
{
    struct timespec ts;
    deadline(&ts, ms);
    pthread_mutex_lock(&r->lock);
    while (!r->kicked && !r->stopping)
        if (pthread_cond_timedwait(&r->wake, &r->lock, &ts) == ETIMEDOUT)
            break;
    r->kicked = 0;
    pthread_mutex_unlock(&r->lock);
}

static int stopping(ad_jobrunner *r)
{
    pthread_mutex_lock(&r->lock);
    int s = r->stopping;
    pthread_mutex_unlock(&r->lock);
    return s;
}

static void set_current(ad_jobrunner *r, const char *id)
{
    pthread_mutex_lock(&r->lock);
    snprintf(r->current, sizeof r->current, "%s", id);
    pthread_mutex_unlock(&r->lock);
}

/* Renew the lease of the job in hand every third of the lease, so it is
 * not taken over while it runs; another instance takes it only when this
 * one stopped renewing (it died or lost the database). */
static void *heartbeat(void *arg)
{
    ad_jobrunner *r = arg;
    int64_t period = r->cfg.lease_ms / 3 > 0 ? r->cfg.lease_ms / 3 : 1;
    pthread_mutex_lock(&r->lock);
    while (!r->stopping) {
        struct timespec ts;
        deadline(&ts, period);
        pthread_cond_timedwait(&r->beat, &r->lock, &ts);
        if (r->stopping || !r->current[0])
            continue;
        char id[AD_ID_LEN + 1];
        memcpy(id, r->current, sizeof id);
        pthread_mutex_unlock(&r->lock);
        ad_err err = AD_ERR_INIT;
        if (ad_store_renew_lease(r->store, id, r->cfg.lease_ms, &err) != AD_OK)
            ad_log(AD_LOG_WARN, "job", "job=%s lease not renewed: %s", id, err.msg);
        pthread_mutex_lock(&r->lock);
    }
    pthread_mutex_unlock(&r->lock);
    return NULL;
}

/* Failures worth another attempt: the store was busy or an I/O error that
 * space or time may cure. */
static int transient(ad_status st) { return st == AD_EBUSY || st == AD_EIO || st == AD_EBACKEND || st == AD_ENOMEM; }

static const ad_job_kind *kind_of(ad_jobrunner *r, const char *name)
{
    for (int i = 0; i < r->cfg.nkinds; i++)
        if (strcmp(r->cfg.kinds[i].name, name) == 0)
            return &r->cfg.kinds[i];
    return NULL;
}

static void count(ad_jobrunner *r, const ad_job *job, const char *outcome)
{
    char l[96];
    if (r->cfg.metrics == NULL)
        return;
    snprintf(l, sizeof l, "kind=\"%s\",outcome=\"%s\"", kind_of(r, job->kind) ? job->kind : "unknown", outcome);
    ad_metrics_add(r->cfg.metrics, "assetd_jobs_total", l, 1);
}

static void run_one(ad_jobrunner *r, const ad_job *job)
{
    ad_err err = AD_ERR_INIT;
    ad_store_tx *tx = NULL;
    char *result = NULL;
    void *state = NULL;
    int final = 0, lost = 0;
    const ad_job_kind *k = kind_of(r, job->kind);
    ad_status st;
    set_current(r, job->id);
    if (r->cfg.pause_ms > 0) /* tests: a job held under its lease */
        wait_ms(r, r->cfg.pause_ms);
    if (k == NULL) {
        st = ad_err_set(&err, AD_EUNSUPPORTED, "unknown job kind '%s'", job->kind);
        final = 1;
    } else if ((st = k->prepare ? k->prepare(k->ctx, r->store, job, &state, &final, &err) : AD_OK) == AD_OK &&
               (st = ad_store_begin(r->store, &tx, &err)) == AD_OK) {
        st = k->apply(k->ctx, tx, job, state, &result, &final, &err);
        /* the effect and "succeeded" commit together: a crash leaves
         * neither, and the job runs again */
        if (st == AD_OK && (st = ad_store_tx_finish_job(tx, job->id, result, &err)) == AD_ECONFLICT)
            lost = 1;
        if (st == AD_OK)
            st = ad_store_commit(tx, &err);
        else
            ad_store_rollback(tx);
    }
    free(result);
    if (k && k->free_state && state)
        k->free_state(state);
    set_current(r, "");
    if (st == AD_OK) {
        ad_log(AD_LOG_INFO, "job", "job=%s kind=%s succeeded attempts=%d", job->id, job->kind, job->attempts);
        count(r, job, "succeeded");
        return;
    }
    if (lost) {
        ad_log(AD_LOG_WARN, "job", "job=%s lease lost to another instance: %s", job->id, err.msg);
        return;
    }
    final = final || !transient(st) || job->attempts >= r->cfg.max_attempts;
    int64_t delay = r->cfg.backoff_ms;
    for (int i = 1; i < job->attempts && delay < 3600000; i++)
        delay *= 2;
    ad_err e2 = AD_ERR_INIT;
    if (ad_store_fail_job(r->store, job->id, err.msg, final, delay, &e2) != AD_OK)
        ad_log(AD_LOG_ERROR, "job", "job=%s cannot record failure: %s", job->id, e2.msg);
    ad_log(final ? AD_LOG_ERROR : AD_LOG_WARN, "job", "job=%s kind=%s attempt=%d %s: %s", job->id, job->kind,
           job->attempts, final ? "failed for good" : "will retry", err.msg);
    count(r, job, final ? "failed" : "retried");
}

static void collect(ad_jobrunner *r, double *last_gc, double *last_prune)
{
    double now = ad_clock_ms();
    ad_err err = AD_ERR_INIT;
    int n = 0;
    if (now - *last_gc >= GC_PERIOD_MS) {
        *last_gc = now;
        if (ad_store_gc_run(r->store, &n, &err) != AD_OK)
            ad_log(AD_LOG_WARN, "gc", "collection failed: %s", err.msg);
        else if (n)
            ad_log(AD_LOG_INFO, "gc", "removed %d unreferenced blob(s)", n);
    }
    /* retention: finished jobs older than it go, a batch at a time, every
     * ten minutes (the cost is the jobs that ended, not the table) */
    if (r->cfg.retention_ms > 0 && now - *last_prune >= 600000.0) {
        *last_prune = now;
        int total = 0;
        ad_err_clear(&err);
        do { /* batches of their own transactions: writers wait for none long */
            n = 0;
            if (ad_store_prune_jobs(r->store, r->cfg.retention_ms, 5000, &n, &err) != AD_OK) {
                ad_log(AD_LOG_WARN, "job", "retention failed: %s", err.msg);
                break;
            }
            total += n;
        } while (n == 5000 && !stopping(r));
        if (total)
            ad_log(AD_LOG_INFO, "job", "forgot %d job(s) finished before the retention", total);
    }
}

static void *loop(void *arg)
{
    ad_jobrunner *r = arg;
    /* the first prune 10 s after start: not in the way of the start itself */
    double first = r->cfg.first_prune_ms > 0 ? (double)r->cfg.first_prune_ms : 10000.0;
    double last_gc = 0, last_prune = ad_clock_ms() - 600000.0 + first;
    if (r->cfg.start_delay_ms > 0) {
        double until = ad_clock_ms() + (double)r->cfg.start_delay_ms;
        while (!stopping(r) && ad_clock_ms() < until)
            wait_ms(r, (int64_t)(until - ad_clock_ms()) + 1);
    }
    while (!stopping(r)) {
        ad_job job;
        ad_err err = AD_ERR_INIT;
        ad_status st = ad_store_claim_job(r->store, r->cfg.lease_ms, &job, &err);
        if (st == AD_OK) {
            run_one(r, &job);
            ad_job_cleanup(&job);
            continue;
        }
        if (st != AD_ENOTFOUND)
            ad_log(AD_LOG_WARN, "job", "claim failed: %s", err.msg);
        collect(r, &last_gc, &last_prune);
        wait_ms(r, IDLE_POLL_MS);
    }
    return NULL;
}

ad_status ad_jobrunner_start(ad_store *store, const ad_jobrunner_config *cfg, ad_jobrunner **out, ad_err *err)
{
    *out = NULL;
    ad_jobrunner *r = calloc(1, sizeof *r);
    if (r == NULL)
        return ad_err_set(err, AD_ENOMEM, "out of memory");
    r->store = store;
    r->cfg = *cfg;
    if (r->cfg.max_attempts < 1)
        r->cfg.max_attempts = 1;
    if (r->cfg.backoff_ms < 1)
        r->cfg.backoff_ms = 1;
    if (r->cfg.lease_ms < 100)
        r->cfg.lease_ms = 100;
    pthread_mutex_init(&r->lock, NULL);
    pthread_cond_init(&r->wake, NULL);
    pthread_cond_init(&r->beat, NULL);
    if (pthread_create(&r->heartbeat, NULL, heartbeat, r) != 0)
        goto fail;
    r->heartbeat_started = 1;
    if (pthread_create(&r->thread, NULL, loop, r) != 0)
        goto fail;
    *out = r;
    return AD_OK;
fail:
    if (r->heartbeat_started) {
        pthread_mutex_lock(&r->lock);
        r->stopping = 1;
        pthread_cond_signal(&r->beat);
        pthread_mutex_unlock(&r->lock);
        pthread_join(r->heartbeat, NULL);
    }
    pthread_cond_destroy(&r->beat);
    pthread_cond_destroy(&r->wake);
    pthread_mutex_destroy(&r->lock);
    free(r);
    return ad_err_set(err, AD_EBACKEND, "cannot start the job threads");
}

void ad_jobrunner_kick(ad_jobrunner *r)
{
    pthread_mutex_lock(&r->lock);
    r->kicked = 1;
    pthread_cond_signal(&r->wake);
    pthread_mutex_unlock(&r->lock);
}

void ad_jobrunner_stop(ad_jobrunner *r)
{
    if (r == NULL)
        return;
    pthread_mutex_lock(&r->lock);
    r->stopping = 1;
    pthread_cond_signal(&r->wake);
    pthread_cond_signal(&r->beat);
    pthread_mutex_unlock(&r->lock);
    pthread_join(r->thread, NULL);
    pthread_join(r->heartbeat, NULL);
    pthread_cond_destroy(&r->beat);
    pthread_cond_destroy(&r->wake);
    pthread_mutex_destroy(&r->lock);
    free(r);
}
