/* parallel.h — split a range of rows over a few short-lived threads. Used for
 * the per-pixel passes (mask upscale, compose, PNG filtering) that run while
 * the model is idle, so they may use every core. */
#ifndef AD_BASE_PARALLEL_H
#define AD_BASE_PARALLEL_H

/* Called with a half-open range [begin, end) of rows. */
typedef void (*ad_range_fn)(void *ctx, int begin, int end);

/* Run fn over [0, n) split into at most `threads` contiguous ranges (threads
 * <= 0 means the number of online cores). Blocks until all ranges are done. If
 * a thread cannot be started, its range runs on the caller's thread, so the
 * work is always done. */
void ad_parallel_for(int n, int threads, ad_range_fn fn, void *ctx);

/* Number of online cores (at least 1). */
int ad_cpu_count(void);

#endif
