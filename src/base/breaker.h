/* breaker.h — a circuit breaker for one dependency (PostgreSQL, the object
 * store): after a failure that says the dependency is not answering (a
 * deadline passed, a connection refused or lost), calls fail at once for a
 * cool-down instead of each waiting out its own deadline; then one call at
 * a time is let through as a probe, and its success closes the circuit.
 * Thread-safe. Failures of the request itself (a conflict, a 404) are not
 * the dependency's: report them as successes. */
#ifndef AD_BASE_BREAKER_H
#define AD_BASE_BREAKER_H

#include <pthread.h>
#include <stddef.h>

typedef struct {
    pthread_mutex_t lock;
    double cooldown_ms;
    int open;          /* failing fast */
    int probing;       /* the one call let through while open */
    double retry_at;   /* ad_clock_ms() of the next probe */
    unsigned failures; /* since the circuit last closed */
    char why[160];
} ad_breaker;

void ad_breaker_init(ad_breaker *b, double cooldown_ms);
void ad_breaker_destroy(ad_breaker *b);

/* 1: make the call (closed, or this call is the probe); 0: fail it now. */
int ad_breaker_allow(ad_breaker *b);
void ad_breaker_ok(ad_breaker *b);
/* The call says nothing of the dependency (a connection it had found
 * closed since: a new one will tell): a probe slot it held is free again. */
void ad_breaker_release(ad_breaker *b);
void ad_breaker_fail(ad_breaker *b, const char *why);

/* 1 when the circuit is open, with the last failure's words in why. */
int ad_breaker_down(ad_breaker *b, char *why, size_t len);

#endif
