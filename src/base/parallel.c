/* parallel.c — see parallel.h. */
#include "base/parallel.h"

#include <pthread.h>
#include <unistd.h>

#define MAX_THREADS 64

typedef struct {
    ad_range_fn fn;
    void *ctx;
    int begin, end;
} range_task;

static void *run_range(void *arg)
{
    range_task *t = arg;
    t->fn(t->ctx, t->begin, t->end);
    return NULL;
}

int ad_cpu_count(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : (int)n;
}

void ad_parallel_for(int n, int threads, ad_range_fn fn, void *ctx)
{
    if (n <= 0)
        return;
    if (threads <= 0)
        threads = ad_cpu_count();
    if (threads > MAX_THREADS)
        threads = MAX_THREADS;
    if (threads > n)
        threads = n;
    if (threads <= 1) {
        fn(ctx, 0, n);
        return;
    }
    range_task tasks[MAX_THREADS];
    pthread_t tids[MAX_THREADS];
    int started[MAX_THREADS] = {0};
    for (int i = 0; i < threads; i++) {
        tasks[i] = (range_task){fn, ctx, (int)((long long)n * i / threads), (int)((long long)n * (i + 1) / threads)};
    }
    /* Task 0 runs on this thread; the others on helpers. */
    for (int i = 1; i < threads; i++)
        started[i] = pthread_create(&tids[i], NULL, run_range, &tasks[i]) == 0;
    run_range(&tasks[0]);
    for (int i = 1; i < threads; i++) {
        if (started[i])
            pthread_join(tids[i], NULL);
        else
            run_range(&tasks[i]);
    }
}
