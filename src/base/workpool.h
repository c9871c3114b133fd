/* workpool.h — a fixed set of threads fed from a bounded queue. The server
 * runs CPU-heavy requests (decode, inference, encode) here, never on its I/O
 * threads; when the queue is full a submit is refused at once so the caller
 * can answer 503 instead of piling up memory. */
#ifndef AD_BASE_WORKPOOL_H
#define AD_BASE_WORKPOOL_H

#include "base/err.h"

typedef struct ad_workpool ad_workpool;
typedef void (*ad_work_fn)(void *arg);

/* threads >= 1 workers; depth >= 0 tasks may wait beyond those running.
 * Errors: AD_ENOMEM, AD_EBACKEND (a thread could not be started). */
ad_status ad_workpool_new(int threads, int depth, ad_workpool **out, ad_err *err);

/* Queue fn(arg). AD_EBUSY when threads are all busy and depth tasks already
 * wait (fn is then not called and arg stays the caller's). Thread-safe. */
ad_status ad_workpool_submit(ad_workpool *p, ad_work_fn fn, void *arg);

/* Tasks running + waiting right now. Thread-safe. */
int ad_workpool_load(ad_workpool *p);

/* Run every queued task to completion, then join the threads. Accepts NULL. */
void ad_workpool_free(ad_workpool *p);

#endif
