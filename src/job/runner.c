/* runner.c — see runner.h. One thread: jobs are short store transactions
 * (the PNG was encoded and spooled before the job was recorded), so a single
 * runner keeps up with the inference pool by a wide margin and never competes
 * with it for cores. */
#include "job/runner.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#include "base/clock.h"
#include "base/log.h"

struct ad_jobrunner {
    ad_store *store;
    ad_jobrunner_config cfg;
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    int kicked, stopping;
};

/* Poll period when idle: picks up retries whose backoff has passed. */
#define IDLE_POLL_MS 250

static void wait_ms(ad_jobrunner *r, int64_t ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += ms / 1000;
    ts.tv_nsec += (ms % 1000) * 1000000;
    if (ts.tv_nsec >= 1000000000) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000;
    }
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

/* Failures worth another attempt: the store was busy or an I/O error that
 * space or time may cure. A vanished source asset is final. */
static int transient(ad_status st) { return st == AD_EBUSY || st == AD_EIO || st == AD_EBACKEND || st == AD_ENOMEM; }

static void run_one(ad_jobrunner *r, const char *id, const ad_save *save, int attempts)
{
    ad_err err = AD_ERR_INIT;
    ad_status st = r->store->ops->complete_job(r->store, id, save, &err);
    if (st == AD_OK) {
        ad_log(AD_LOG_INFO, "job", "job=%s succeeded attempts=%d", id, attempts);
        return;
    }
    int final = !transient(st) || attempts >= r->cfg.max_attempts;
    int64_t delay = r->cfg.backoff_ms;
    for (int i = 1; i < attempts && delay < 3600000; i++)
        delay *= 2;
    ad_err e2 = AD_ERR_INIT;
    if (r->store->ops->fail_job(r->store, id, err.msg, final, delay, &e2) != AD_OK)
        ad_log(AD_LOG_ERROR, "job", "job=%s cannot record failure: %s", id, e2.msg);
    ad_log(final ? AD_LOG_ERROR : AD_LOG_WARN, "job", "job=%s attempt=%d %s: %s", id, attempts,
           final ? "failed for good" : "will retry", err.msg);
}

static void *loop(void *arg)
{
    ad_jobrunner *r = arg;
    if (r->cfg.start_delay_ms > 0) {
        double until = ad_clock_ms() + (double)r->cfg.start_delay_ms;
        while (!stopping(r) && ad_clock_ms() < until)
            wait_ms(r, (int64_t)(until - ad_clock_ms()) + 1);
    }
    while (!stopping(r)) {
        char id[AD_ID_LEN + 1];
        ad_save save;
        int attempts = 0;
        ad_err err = AD_ERR_INIT;
        ad_status st = r->store->ops->claim_job(r->store, id, &save, &attempts, &err);
        if (st == AD_OK) {
            run_one(r, id, &save, attempts);
            continue;
        }
        if (st != AD_ENOTFOUND)
            ad_log(AD_LOG_WARN, "job", "claim failed: %s", err.msg);
        wait_ms(r, IDLE_POLL_MS);
    }
    return NULL;
}

ad_status ad_jobrunner_start(ad_store *store, const ad_jobrunner_config *cfg, ad_jobrunner **out, ad_err *err)
{
    int n = 0;
    ad_status rc = store->ops->recover_jobs(store, &n, err);
    *out = NULL;
    if (rc != AD_OK)
        return rc;
    if (n > 0)
        ad_log(AD_LOG_INFO, "job", "requeued %d job(s) left running by a previous process", n);
    ad_jobrunner *r = calloc(1, sizeof *r);
    if (r == NULL)
        return ad_err_set(err, AD_ENOMEM, "out of memory");
    r->store = store;
    r->cfg = *cfg;
    if (r->cfg.max_attempts < 1)
        r->cfg.max_attempts = 1;
    if (r->cfg.backoff_ms < 1)
        r->cfg.backoff_ms = 1;
    pthread_mutex_init(&r->lock, NULL);
    pthread_cond_init(&r->wake, NULL);
    if (pthread_create(&r->thread, NULL, loop, r) != 0) {
        pthread_cond_destroy(&r->wake);
        pthread_mutex_destroy(&r->lock);
        free(r);
        return ad_err_set(err, AD_EBACKEND, "cannot start the job thread");
    }
    *out = r;
    return AD_OK;
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
    pthread_mutex_unlock(&r->lock);
    pthread_join(r->thread, NULL);
    pthread_cond_destroy(&r->wake);
    pthread_mutex_destroy(&r->lock);
    free(r);
}
