/* runner.h — durable background jobs, as redis' bio is built: a job is a
 * kind (which handler runs it) and a payload (JSON text only the handler
 * reads), recorded in the store before anyone is told about it. The runner
 * claims due jobs one at a time under a lease (an expiry and an owner,
 * renewed by a heartbeat while the job runs, taken over by any instance
 * once it expires), runs the kind's handler inside a store transaction and
 * records "succeeded" in that same transaction, so a job's effect happens
 * exactly once even when two instances ran it. A transient failure puts
 * the job back with exponential backoff until max_attempts, then it fails
 * with the reason. The same thread collects unreferenced blobs whose grace
 * period has passed. See docs/jobs.md. */
#ifndef AD_JOB_RUNNER_H
#define AD_JOB_RUNNER_H

#include <stdint.h>

#include "base/metrics.h"
#include "store/store.h"

/* One kind of job, in two steps, both called on the runner's thread:
 *  - prepare (may be NULL): the slow part (a download, a webhook call),
 *    outside any transaction while the heartbeat renews the lease; it may
 *    leave *state for apply;
 *  - apply: the effect, inside tx (lent: do not commit it), which the
 *    runner commits together with "succeeded"; it may set *result to a new
 *    malloc'd JSON object text.
 * Either sets *final when retrying cannot help. free_state (may be NULL)
 * releases what prepare left, whatever happened next. */
typedef struct {
    const char *name;
    ad_status (*prepare)(void *ctx, ad_store *s, const ad_job *job, void **state, int *final, ad_err *err);
    ad_status (*apply)(void *ctx, ad_store_tx *tx, const ad_job *job, void *state, char **result, int *final,
                       ad_err *err);
    void (*free_state)(void *state);
    void *ctx;
} ad_job_kind;

typedef struct {
    const ad_job_kind *kinds; /* lent; must outlive the runner */
    int nkinds;
    int max_attempts;       /* >= 1 */
    int64_t backoff_ms;     /* delay after the first failure; doubles each time */
    int64_t start_delay_ms; /* run nothing until this long after start (0: at once) */
    int64_t lease_ms;       /* a claimed job is this instance's for this long, renewed while it runs */
    int64_t retention_ms;   /* finished jobs are forgotten this long after they end (0: kept) */
    int64_t pause_ms;       /* test hook: hold each claimed job this long before running it */
    int64_t first_prune_ms; /* the first retention pass this long after start (0: 10 s) */
    ad_metrics *metrics;    /* lent; NULL: none (counts assetd_jobs_total) */
} ad_jobrunner_config;

typedef struct ad_jobrunner ad_jobrunner;

/* Start the runner's threads. The store must outlive the runner. Errors:
 * AD_ENOMEM, AD_EBACKEND. */
ad_status ad_jobrunner_start(ad_store *store, const ad_jobrunner_config *cfg, ad_jobrunner **out, ad_err *err);

/* A job was recorded: look now rather than at the next poll. Thread-safe. */
void ad_jobrunner_kick(ad_jobrunner *r);

/* Finish the job in hand (if any), then stop. Accepts NULL. */
void ad_jobrunner_stop(ad_jobrunner *r);

#endif
