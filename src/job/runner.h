/* runner.h — the thread that performs durable background jobs (the saves of
 * bg_remove's get_image_and_save). A job is recorded in the store before the
 * client is answered; the runner claims due jobs one at a time, completes
 * each in one store transaction (effect + status together, so exactly once),
 * and on a transient failure puts it back with exponential backoff until
 * max_attempts, then marks it failed with the reason. At start it requeues
 * jobs a previous process left running. See docs/jobs.md. */
#ifndef AD_JOB_RUNNER_H
#define AD_JOB_RUNNER_H

#include <stdint.h>

#include "store/store.h"

typedef struct {
    int max_attempts;     /* >= 1 */
    int64_t backoff_ms;   /* delay after the first failure; doubles each time */
    int64_t start_delay_ms; /* run nothing until this long after start (0: at once) */
} ad_jobrunner_config;

typedef struct ad_jobrunner ad_jobrunner;

/* Recover unfinished jobs and start the thread. The store must outlive the
 * runner. Errors: AD_ENOMEM, AD_EBACKEND, store errors from recovery. */
ad_status ad_jobrunner_start(ad_store *store, const ad_jobrunner_config *cfg, ad_jobrunner **out, ad_err *err);

/* A job was recorded: look now rather than at the next poll. Thread-safe. */
void ad_jobrunner_kick(ad_jobrunner *r);

/* Finish the job in hand (if any), then stop. Accepts NULL. */
void ad_jobrunner_stop(ad_jobrunner *r);

#endif
