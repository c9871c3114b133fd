/* dispatch.h — the webhook deliverer (integrations.md section 1): threads
 * that claim due deliveries from the store's outbox under a lease (on a
 * shared PostgreSQL store every instance delivers; SKIP LOCKED divides
 * the work), POST each event's body to its endpoint signed with the
 * endpoint's secret, and record the attempt: 2xx within the timeout is
 * success; anything else is retried with exponential backoff (1 s, 2 s,
 * 4 s ... up to an hour, with jitter) until the attempts or the event's
 * age reach their bounds. A deliverer killed mid-attempt loses nothing:
 * its lease passes and the delivery is claimed again (at least once; the
 * event id is stable so receivers deduplicate).
 *
 * Requests go through net/guard.h: no redirects, and no private address
 * unless allowed, checked on the address each connection uses. */
#ifndef AD_WEBHOOK_DISPATCH_H
#define AD_WEBHOOK_DISPATCH_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "base/metrics.h"
#include "net/guard.h"
#include "store/store.h"

typedef struct {
    ad_store *store;              /* lent; must outlive the dispatcher */
    ad_metrics *metrics;          /* lent; NULL: none (families declared by ad_dispatch_metrics_declare) */
    int threads;                  /* deliveries in flight at once */
    const ad_guard_policy *guard; /* lent; where deliveries may go (--allow-private-urls) */
    int max_attempts;             /* then the delivery is given up */
    int64_t max_age_ms;           /* an event older than this is given up */
    int64_t timeout_ms;           /* one attempt's whole time (10 s) */
    int64_t log_keep_ms;          /* attempts logged and deliveries ended are forgotten after this */
    int64_t poll_ms;              /* how often an idle deliverer looks for due work */
} ad_dispatch_config;

typedef struct ad_dispatcher ad_dispatcher;

ad_status ad_dispatcher_start(const ad_dispatch_config *cfg, ad_dispatcher **out, ad_err *err);
/* Stop: attempts in flight finish (at most the timeout); accepts NULL. */
void ad_dispatcher_stop(ad_dispatcher *d);

/* The delay before attempt n + 1 after n failed ones (n >= 1), without
 * jitter: 1 s, 2 s, 4 s ... capped at an hour. */
int64_t ad_dispatch_backoff_ms(int n);

/* The X-Assetd-Signature value for body sent at unix time t:
 * "t=<t>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>" into out. */
void ad_dispatch_signature(const char *secret, int64_t t, const char *body, size_t len, char out[128]);

/* Declare the deliverer's metric families, and set the queue's gauges
 * from the store (a scrape). */
void ad_dispatch_metrics_declare(ad_metrics *m);
void ad_dispatch_metrics_sample(ad_metrics *m, ad_store *s);

#endif
