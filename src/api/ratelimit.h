/* ratelimit.h — per-key token buckets (issue 30): each key may make rate
 * requests a second with bursts of burst, and, in a budget of its own,
 * cut-outs (the expensive work). Kept in this instance's memory: on a
 * postgres store each instance counts for itself (docs/robustness.md).
 * Bounded: at most AD_RATELIMIT_KEYS keys are tracked, the least recently
 * seen forgotten first (a forgotten key starts with a full bucket). */
#ifndef AD_API_RATELIMIT_H
#define AD_API_RATELIMIT_H

#define AD_RATELIMIT_KEYS 4096

typedef enum { AD_BUCKET_REQUESTS, AD_BUCKET_CUTOUTS, AD_BUCKET_COUNT } ad_bucket;

typedef struct ad_ratelimit ad_ratelimit;

/* rates per second and bursts per bucket; a rate of 0 is no limit. NULL
 * on allocation failure. */
ad_ratelimit *ad_ratelimit_new(const int rate[AD_BUCKET_COUNT], const int burst[AD_BUCKET_COUNT]);
void ad_ratelimit_free(ad_ratelimit *rl); /* accepts NULL */

/* The answer of a take: whether it was allowed, what is left, and how
 * long until the next token (retry_s) and until the bucket is full. */
typedef struct {
    int limited; /* the bucket has a limit at all */
    int allowed;
    int remaining;
    int retry_s, reset_s;
    int rate, burst;
} ad_ratelimit_take;

/* Take one token of bucket b for key id at time now (s, monotonic).
 * Thread-safe. */
void ad_ratelimit_take_one(ad_ratelimit *rl, const char *key_id, ad_bucket b, double now, ad_ratelimit_take *out);

#endif
